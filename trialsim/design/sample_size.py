"""Sample size and duration of a fixed-design survival trial: Lachin &
Foulkes (1986), or Schoenfeld's / Freedman's events over the probability of
an event, with piecewise accrual and exponential dropout."""

from __future__ import annotations

import math
from dataclasses import dataclass

from trialsim.design.accrual import _Accrual, _control_rate, _dropouts
from trialsim.design.common import _N, _check_hr, _check_positive, _check_power, _solve, _z
from trialsim.design.logrank_events import freedman_events, freedman_power, schoenfeld_events, schoenfeld_power


@dataclass(frozen=True)
class SampleSize:
    """A fixed-design survival sample size (not rounded). ``events`` are the
    expected events at the analysis (``study_duration`` months after the first
    patient); ``required_events`` the events the method asks for (Schoenfeld,
    Freedman; for Lachin-Foulkes the expected events at its n)."""

    method: str
    n: float
    n_control: float
    n_treatment: float
    required_events: float
    events: float
    events_control: float
    events_treatment: float
    accrual_duration: float
    follow_up: float
    study_duration: float
    power: float
    alpha: float
    sided: int
    hazard_ratio: float
    control_rate: float
    allocation: float

    def __str__(self) -> str:
        return (f"{self.method}: n = {self.n:.1f} ({self.n_control:.1f} control, {self.n_treatment:.1f} "
                f"treatment), {self.events:.1f} expected events (control {self.events_control:.1f}, "
                f"treatment {self.events_treatment:.1f}); accrual {self.accrual_duration:.2f} + follow-up "
                f"{self.follow_up:.2f} = {self.study_duration:.2f} months; power {self.power:.4f} at "
                f"{'one' if self.sided == 1 else 'two'}-sided alpha {self.alpha:g}, HR {self.hazard_ratio:g}")


_METHODS = ("lachin_foulkes", "schoenfeld", "freedman")


def lachin_foulkes(*, hazard_ratio: float, control_rate: float | None = None, control_median: float | None = None,
                   alpha: float = 0.025, power: float = 0.8, sided: int = 1, allocation: float = 1.0,
                   accrual=None, accrual_time: float | None = None, follow_up: float | None = None,
                   n: float | None = None, dropout_rate=0.0, method: str = "lachin_foulkes") -> SampleSize:
    """Sample size and duration of a two-arm survival trial with exponential
    survival, piecewise accrual and exponential dropout (Lachin & Foulkes 1986).

    Accrual, one of:
      * ``accrual_time=A``: uniform accrual over A months at the rate the
        sample size needs (n / A);
      * ``accrual=[(duration, rate), ...]``: rates in patients per month; the
        last duration may be None (accrual goes on as long as needed).

    Then exactly one of:
      * ``follow_up=F`` (months from the end of accrual to the analysis):
        solve n (with ``accrual`` pieces: solve the accrual duration, hence n);
      * ``n=N``: solve the follow-up (the duration needed for a given n).

    method: ``lachin_foulkes`` (the test of the difference of exponential
    hazards, with the variance under H0 at the pooled hazard
    ``lam_bar = Qc lam_c + Qt lam_t``:
    ``sqrt(n) |lam_c - lam_t| = z_a sqrt(phi(lam_bar)(1/Qc + 1/Qt)) + z_b sqrt(phi(lam_c)/Qc + phi(lam_t)/Qt)``,
    ``phi(lam) = lam^2 / P(event | lam)``), or ``schoenfeld`` / ``freedman``
    (required log-rank events, n = events / P(event); rpact's
    getSampleSizeSurvival). dropout_rate: hazard per month, one number or
    {'control': .., 'treatment': ..}; the pooled H0 variance uses the
    allocation-weighted dropout.
    """
    if method not in _METHODS:
        raise ValueError(f"unknown method '{method}'; one of {', '.join(_METHODS)}")
    lam_c = _control_rate(control_rate, control_median)
    _check_hr(hazard_ratio)
    _check_positive(allocation=allocation)
    za = _z(alpha, sided)
    zb = _check_power(power)
    eta_c, eta_t = _dropouts(dropout_rate)
    lam_t = lam_c * hazard_ratio
    r = allocation
    qc, qt = 1 / (1 + r), r / (1 + r)
    if (accrual is None) == (accrual_time is None):
        raise ValueError("give exactly one of accrual_time (uniform, months) or accrual [(duration, rate), ...]")
    if (follow_up is None) == (n is None):
        raise ValueError("give exactly one of follow_up (solve n) or n (solve the follow-up)")
    if follow_up is not None and not (math.isfinite(follow_up) and follow_up >= 0):
        raise ValueError(f"follow_up must be a non-negative number of months, got {follow_up}")
    if n is not None:
        _check_positive(n=n)
    if accrual_time is not None:
        _check_positive(accrual_time=accrual_time)
    pieces = None if accrual is None else _Accrual(accrual)

    def probs(acc: _Accrual, total: float) -> tuple[float, float, float]:
        """P(event by the analysis) per patient: control, treatment, pooled-H0 (Lachin-Foulkes)."""
        m = acc.count(total)
        pc = acc.events(total, lam_c, eta_c) / m
        pt = acc.events(total, lam_t, eta_t) / m
        lam_bar, eta_bar = qc * lam_c + qt * lam_t, qc * eta_c + qt * eta_t
        pb = acc.events(total, lam_bar, eta_bar) / m
        return pc, pt, pb

    d_needed = None
    if method == "schoenfeld":
        d_needed = schoenfeld_events(hazard_ratio=hazard_ratio, alpha=alpha, power=power, sided=sided, allocation=r)
    elif method == "freedman":
        d_needed = freedman_events(hazard_ratio=hazard_ratio, alpha=alpha, power=power, sided=sided, allocation=r)

    def n_required(acc: _Accrual, total: float) -> float:
        pc, pt, pb = probs(acc, total)
        if d_needed is not None:
            return d_needed / (qc * pc + qt * pt)
        phi = lambda lam, p: lam ** 2 / p  # noqa: E731
        lam_bar = qc * lam_c + qt * lam_t
        root = (za * math.sqrt(phi(lam_bar, pb) * (1 / qc + 1 / qt))
                + zb * math.sqrt(phi(lam_c, pc) / qc + phi(lam_t, pt) / qt)) / abs(lam_c - lam_t)
        return root ** 2

    def achieved_power(acc: _Accrual, total: float, size: float) -> float:
        pc, pt, pb = probs(acc, total)
        if method == "lachin_foulkes":
            lam_bar = qc * lam_c + qt * lam_t
            num = (math.sqrt(size) * abs(lam_c - lam_t)
                   - za * math.sqrt(lam_bar ** 2 / pb * (1 / qc + 1 / qt)))
            return _N.cdf(num / math.sqrt(lam_c ** 2 / pc / qc + lam_t ** 2 / pt / qt))
        ev = size * (qc * pc + qt * pt)
        f = schoenfeld_power if method == "schoenfeld" else freedman_power
        return f(events=ev, hazard_ratio=hazard_ratio, alpha=alpha, sided=sided, allocation=r)

    if follow_up is not None:
        if pieces is None:
            a = float(accrual_time)
            acc = _Accrual([(a, 1.0)])
            size = n_required(acc, a + follow_up)
        else:
            def gap(a):
                acc_a = pieces.cut(a)
                return acc_a.count(a) - n_required(acc_a, a + follow_up)
            hi = pieces.end[-1] if math.isfinite(pieces.end[-1]) else 12.0
            lo = 1e-9
            if not math.isfinite(pieces.end[-1]):
                while gap(hi) < 0:
                    hi *= 2
                    if hi > 1e6:
                        raise ValueError("no accrual duration reaches the power with this accrual")
            elif gap(hi) < 0:
                need = n_required(pieces, hi + follow_up)
                raise ValueError(f"the accrual brings {pieces.capacity:g} patients over {hi:g} months; "
                                 f"{need:.1f} are needed: extend the last piece (duration None) or the follow-up")
            a = _solve(gap, lo, hi)
            acc = pieces.cut(a)
            size = acc.count(a)
    else:
        size = float(n)
        if pieces is None:
            a = float(accrual_time)
            acc = _Accrual([(a, size / a)])
        else:
            a = pieces.time_to(size)
            acc = pieces.cut(a)

        def gap_f(f):
            return size - n_required(acc, a + f)
        if gap_f(0.0) >= 0:
            follow_up = 0.0
        else:
            hi = 12.0
            while gap_f(hi) < 0:
                hi *= 2
                if hi > 1e5:
                    most = size * (qc * lam_c / (lam_c + eta_c) + qt * lam_t / (lam_t + eta_t))
                    raise ValueError(f"n = {size:g} cannot reach power {power} even with unlimited follow-up "
                                     f"(at most {most:.1f} events with this dropout)")
            follow_up = _solve(gap_f, 0.0, hi)
    total = a + follow_up
    pc, pt, _ = probs(acc, total)
    nc, nt = qc * size, qt * size
    ec, et = nc * pc, nt * pt
    return SampleSize(method=method, n=float(size), n_control=nc, n_treatment=nt,
                      required_events=float(d_needed if d_needed is not None else ec + et),
                      events=ec + et, events_control=ec, events_treatment=et, accrual_duration=float(a),
                      follow_up=float(follow_up), study_duration=float(total),
                      power=float(achieved_power(acc, total, size)), alpha=float(alpha), sided=int(sided),
                      hazard_ratio=float(hazard_ratio), control_rate=lam_c, allocation=float(r))
