"""Piecewise-constant accrual with exponential survival and dropout: the
patients randomised and the events expected by calendar time, in closed
form."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from trialsim.design.common import _check_positive


class _Accrual:
    """Piecewise-constant accrual: pieces (duration, rate per month) from month
    0; the last duration may be None (open-ended)."""

    def __init__(self, pieces):
        try:
            pieces = [(None if d is None else float(d), float(r)) for d, r in pieces]
        except (TypeError, ValueError):
            raise ValueError("accrual must be a list of (duration, rate) pairs, e.g. [(6, 10), (None, 20)], "
                             f"got {pieces!r}") from None
        if not pieces:
            raise ValueError("accrual needs at least one (duration, rate) piece")
        for i, (d, r) in enumerate(pieces):
            if d is None and i < len(pieces) - 1:
                raise ValueError("only the last accrual piece may be open-ended (duration None)")
            if d is not None and not (math.isfinite(d) and d > 0):
                raise ValueError(f"accrual durations must be positive, got {d}")
            if not (math.isfinite(r) and r >= 0):
                raise ValueError(f"accrual rates must be non-negative, got {r}")
        if pieces[-1][1] <= 0 and pieces[-1][0] is None:
            raise ValueError("an open-ended last accrual piece needs a positive rate")
        d = np.array([np.inf if p[0] is None else p[0] for p in pieces])
        self.start = np.concatenate([[0.0], np.cumsum(d)[:-1]])
        self.end = np.cumsum(d)
        self.rate = np.array([p[1] for p in pieces])

    @property
    def capacity(self) -> float:
        return float(np.sum(self.rate * (self.end - self.start))) if np.isfinite(self.end[-1]) else math.inf

    def count(self, t: float) -> float:
        return float(np.sum(self.rate * np.clip(np.minimum(self.end, t) - self.start, 0, None)))

    def time_to(self, n: float) -> float:
        if n > self.capacity * (1 + 1e-12):
            raise ValueError(f"the accrual brings {self.capacity:g} patients, fewer than {n:g}")
        cum = 0.0
        for s, e, r in zip(self.start, self.end, self.rate):
            m = r * (e - s)
            if cum + m >= n and r > 0:
                return float(s + (n - cum) / r)
            cum += m
        return float(self.end[-1])

    def cut(self, duration: float) -> "_Accrual":
        out = _Accrual.__new__(_Accrual)
        keep = self.start < duration
        out.start = self.start[keep]
        out.end = np.minimum(self.end[keep], duration)
        out.rate = self.rate[keep]
        return out

    def events(self, t: float, hazard: float, dropout: float) -> float:
        """Expected events by calendar time t among everyone accrued:
        sum over pieces of rate * int_s^min(e,t) h/k (1 - exp(-k (t - a))) da, k = h + dropout."""
        if hazard <= 0 or t <= 0:
            return 0.0
        k = hazard + dropout
        s = np.minimum(self.start, t)
        e = np.minimum(self.end, t)
        # int_s^e (1 - exp(-k (t - a))) da = (e - s) - (exp(-k (t - e)) - exp(-k (t - s))) / k
        inner = (e - s) - (np.exp(-k * (t - e)) - np.exp(-k * (t - s))) / k
        return float(hazard / k * np.sum(self.rate * inner))


def _dropouts(dropout_rate) -> tuple[float, float]:
    """(control, treatment) dropout hazards per month."""
    if isinstance(dropout_rate, Mapping):
        unknown = set(dropout_rate) - {"control", "treatment"}
        if unknown:
            raise ValueError(f"dropout_rate keys are control and treatment, got {sorted(unknown)}")
        c, t = dropout_rate.get("control", 0.0), dropout_rate.get("treatment", 0.0)
    else:
        c = t = dropout_rate
    for v in (c, t):
        if not (isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v) and v >= 0):
            raise ValueError(f"dropout_rate must be a non-negative hazard per month, got {v!r}")
    return float(c), float(t)


def _control_rate(control_rate, control_median) -> float:
    if (control_rate is None) == (control_median is None):
        raise ValueError("give exactly one of control_rate (per month) or control_median (months)")
    if control_median is not None:
        _check_positive(control_median=control_median)
        return math.log(2) / control_median
    _check_positive(control_rate=control_rate)
    return float(control_rate)


@dataclass(frozen=True)
class ExpectedEvents:
    """Expected numbers by calendar time (months from the first patient)."""

    time: tuple[float, ...]
    randomized: tuple[float, ...]
    control: tuple[float, ...]
    treatment: tuple[float, ...]

    @property
    def total(self) -> tuple[float, ...]:
        return tuple(c + t for c, t in zip(self.control, self.treatment))


def expected_events(time, *, accrual, hazard_ratio: float, control_rate: float | None = None,
                    control_median: float | None = None, allocation: float = 1.0, dropout_rate=0.0,
                    n: float | None = None) -> ExpectedEvents:
    """Expected events by calendar ``time`` (a number or a sequence) under
    exponential survival in both arms, piecewise-constant accrual and
    exponential dropout (independent censoring): for an arm with hazard h and
    dropout hazard e, each patient entering at a has an observed event by t
    with probability ``h / (h + e) (1 - exp(-(h + e)(t - a)))``, integrated
    over the accrual in closed form.

    accrual: list of (duration, rate per month) pieces; the last duration may
        be None when ``n`` stops the accrual.
    dropout_rate: hazard per month, one number or {'control': .., 'treatment': ..}.
        rpact's ``dropoutRate q`` at ``dropoutTime T`` is ``-log(1 - q) / T``.
    """
    lam_c = _control_rate(control_rate, control_median)
    _check_positive(hazard_ratio=hazard_ratio, allocation=allocation)
    eta_c, eta_t = _dropouts(dropout_rate)
    acc = _Accrual(accrual)
    if n is not None:
        _check_positive(n=n)
        acc = acc.cut(acc.time_to(n))
    elif not math.isfinite(acc.capacity):
        raise ValueError("an open-ended accrual needs n (the number of patients to accrue)")
    times = np.atleast_1d(np.asarray(time, dtype=float))
    if np.any(~np.isfinite(times)) or np.any(times < 0):
        raise ValueError("time must be non-negative and finite")
    qc, qt = 1 / (1 + allocation), allocation / (1 + allocation)
    rnd = tuple(acc.count(x) for x in times)
    ec = tuple(qc * acc.events(x, lam_c, eta_c) for x in times)
    et = tuple(qt * acc.events(x, lam_c * hazard_ratio, eta_t) for x in times)
    return ExpectedEvents(tuple(float(x) for x in times), rnd, ec, et)
