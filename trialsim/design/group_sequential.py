"""Group-sequential boundaries in z (efficacy, optional non-binding
futility), the probabilities of stopping at each look, and the boundaries of
a scenario's interim looks as the simulator uses them."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from trialsim.design.common import _N, _check_hr, _check_positive, _solve, _special, _z
from trialsim.design.integration import _WIDE, _crossing_probabilities, _efficacy_from_spending, _futility_for_drift
from trialsim.design.spending import _alpha_spending, _beta_spending, _parse_spending, _spending_name

if TYPE_CHECKING:
    from trialsim.scenario import Scenario


@dataclass(frozen=True, eq=False)
class Boundaries:
    """Group-sequential boundaries in z (statistic positive when treatment is
    better). Reject H0 at look k when ``Z_k >= efficacy[k]`` (two-sided:
    ``|Z_k| >= efficacy[k]``); stop for futility at an interim look when
    ``Z_k <= futility[k]``. ``futility[-1] == efficacy[-1]``: at the final
    look not rejecting is accepting. Futility is non-binding: the efficacy
    bounds ignore it. Arrays are read-only; ``eq=False`` (compare fields)."""

    information_fractions: np.ndarray
    efficacy: np.ndarray
    futility: np.ndarray | None
    cumulative_alpha_spent: np.ndarray
    """Type I error spent by each look ignoring futility (total over both
    sides when sided = 2), from the recursion."""
    nominal_p: np.ndarray
    """One-sided nominal p-value of each efficacy bound: 1 - Phi(efficacy)."""
    alpha: float
    sided: int
    spending: str
    futility_spending: str | None = None
    beta: float | None = None
    cumulative_beta_spent: np.ndarray | None = None
    """Type II error spent by each look at ``drift`` (futility stops; the final
    entry includes acceptance at the final look)."""
    drift: float | None = None
    """The drift theta the futility bounds (or beta) refer to: E[Z_k] = theta sqrt(t_k)."""
    inflation_factor: float | None = None
    """(drift / (z_alpha + z_beta))^2 when the drift was solved for power 1 - beta:
    maximum events = fixed-design events x inflation factor."""

    @property
    def looks(self) -> int:
        return int(self.information_fractions.size)

    def __str__(self) -> str:
        side = "one-sided" if self.sided == 1 else "two-sided"
        head = f"Group-sequential boundaries: {self.spending} spending, {side} alpha {self.alpha:g}"
        if self.futility is not None:
            head += f"; non-binding futility by {self.futility_spending} beta-spending (beta {self.beta:g})"
        if self.drift is not None:
            head += f"; drift {self.drift:.4f}"
            if self.inflation_factor is not None:
                head += f", inflation factor {self.inflation_factor:.4f}"
        cols = ["look", "info", "efficacy z", "nominal p", "cum. alpha"]
        if self.futility is not None:
            cols += ["futility z", "cum. beta"]
        rows = []
        for k in range(self.looks):
            row = [f"{k + 1}", f"{self.information_fractions[k]:.4f}", f"{self.efficacy[k]:.4f}",
                   f"{self.nominal_p[k]:.6f}", f"{self.cumulative_alpha_spent[k]:.6f}"]
            if self.futility is not None:
                row += [f"{self.futility[k]:.4f}", f"{self.cumulative_beta_spent[k]:.4f}"]
            rows.append(row)
        widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
        lines = [head, "  ".join(c.rjust(w) for c, w in zip(cols, widths))]
        lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in rows]
        return "\n".join(lines)


def _readonly(a) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


def _information_fractions(information_fractions) -> np.ndarray:
    try:
        t = np.array(list(information_fractions), dtype=float)
    except (TypeError, ValueError):
        raise ValueError("information_fractions must be a sequence of numbers in (0, 1], "
                         f"got {information_fractions!r}") from None
    if t.size == 0:
        raise ValueError("information_fractions must hold at least one look")
    if not np.all(np.isfinite(t)) or np.any(t <= 0) or np.any(t > 1):
        raise ValueError(f"information fractions must lie in (0, 1], got {t.tolist()}")
    if np.any(np.diff(t) <= 0):
        raise ValueError(f"information fractions must be strictly increasing, got {t.tolist()}")
    if t[-1] < 1:
        t = np.append(t, 1.0)
    return t


_FUTILITY_KEYS = {"spending", "beta", "gamma", "drift", "hazard_ratio", "events", "allocation"}


def _futility_spec(futility, beta) -> tuple[str, float | None, float, float | None]:
    """(kind, gamma, beta, drift or None)."""
    if isinstance(futility, str):
        futility = {"spending": futility}
    if not isinstance(futility, Mapping):
        raise ValueError("futility must be a spending name such as 'obrien_fleming' or a mapping "
                         "{'spending': ..., 'beta': ..., 'drift': ...}, got " + repr(futility))
    unknown = set(futility) - _FUTILITY_KEYS
    if unknown:
        raise ValueError(f"unknown futility key(s) {sorted(unknown)}; allowed: {sorted(_FUTILITY_KEYS)}")
    kind, gamma = _parse_spending(futility.get("spending", "obrien_fleming"), futility.get("gamma"),
                                  what="futility spending", classical=False)
    b = futility.get("beta", beta if beta is not None else 0.2)
    if b is None or not 0 < b < 1:
        raise ValueError(f"futility beta must lie in (0, 1), got {b}")
    drift = futility.get("drift")
    if "hazard_ratio" in futility or "events" in futility:
        if drift is not None:
            raise ValueError("give the futility drift, or hazard_ratio and events, not both")
        if "hazard_ratio" not in futility or "events" not in futility:
            raise ValueError("futility needs both hazard_ratio and events (the target events) to set the drift")
        hr, d = futility["hazard_ratio"], futility["events"]
        r = futility.get("allocation", 1.0)
        _check_hr(hr)
        _check_positive(events=d, allocation=r)
        drift = math.sqrt(d * r) / (1 + r) * abs(math.log(hr))
    elif "allocation" in futility:
        raise ValueError("futility allocation is used with hazard_ratio and events only")
    if drift is not None:
        if not (math.isfinite(drift) and drift > 0):
            raise ValueError(f"futility drift must be a positive number, got {drift}")
        drift = float(drift)
    return kind, gamma, float(b), drift


def boundaries(information_fractions: Sequence[float], *, alpha: float = 0.025, sided: int = 1,
               spending: str = "obrien_fleming", gamma: float | None = None, beta: float | None = None,
               futility: str | Mapping | None = None) -> Boundaries:
    """Efficacy (and optional non-binding futility) boundaries in z for looks
    at ``information_fractions``.

    information_fractions: strictly increasing in (0, 1]; the final analysis
        (1.0) is appended when the last fraction is below 1, so ``[0.5]`` and
        ``[0.5, 1.0]`` give the same two-look design.
    spending: ``obrien_fleming`` or ``pocock`` (Lan-DeMets alpha-spending,
        rpact's asOF / asP), ``hsd(gamma)`` (Hwang-Shih-DeCani; or
        ``spending="hsd", gamma=...``), ``classical_obrien_fleming`` or
        ``classical_pocock`` (Wang-Tsiatis boundaries ``c t_k^(Delta - 1/2)``,
        Delta = 0 and 0.5, with c such that the total alpha is exact).
    sided: 1, or 2 for symmetric two-sided boundaries spending ``alpha`` over
        both sides (crossing probabilities of |Z|), as rpact does.
    beta: with no futility, solve the drift for power ``1 - beta`` (reported
        as ``drift`` and ``inflation_factor``); also the default futility beta.
    futility: non-binding futility bounds by beta-spending (one-sided designs).
        A spending name (``"obrien_fleming"``), or a mapping with ``spending``,
        ``beta`` (default ``beta`` or 0.2) and optionally the drift under the
        alternative: ``drift`` (E[Z at the final look]), or ``hazard_ratio``
        and ``events`` (and ``allocation``, default 1) for the log-rank drift
        ``sqrt(events r) / (1 + r) |log HR|``. Without a drift it is solved so
        that the final futility and efficacy bounds meet (power exactly
        ``1 - beta`` with futility stopping; rpact's typeBetaSpending). With a
        given drift the interim bounds spend beta at that drift and the final
        futility bound is the efficacy bound.
    """
    t = _information_fractions(information_fractions)
    _z(alpha, sided)
    kind, g = _parse_spending(spending, gamma)
    if beta is not None and not 0 < beta < 1:
        raise ValueError(f"beta must lie in (0, 1), got {beta}")
    fspec = None
    if futility is not None:
        if sided != 1:
            raise ValueError("futility bounds are implemented for one-sided designs only (sided=1)")
        if t.size < 2:
            raise ValueError("futility bounds need at least one interim look")
        fspec = _futility_spec(futility, beta)
    # Boundaries are immutable: the simulator may ask for the same design once per chunk.
    return _boundaries(tuple(float(x) for x in t), float(alpha), int(sided), kind, g,
                       None if beta is None else float(beta), fspec)


@functools.lru_cache(maxsize=256)
def _boundaries(t: tuple, alpha: float, sided: int, kind: str, g: float | None, beta: float | None,
                fspec: tuple | None) -> Boundaries:
    t = np.array(t)
    name = _spending_name(kind, g)
    if kind.startswith("classical_"):
        delta = 0.0 if kind == "classical_obrien_fleming" else 0.5
        shape = t ** (delta - 0.5)

        def total(c):
            up, down, _ = _crossing_probabilities(t, c * shape, -c * shape if sided == 2 else
                                                  np.full(t.size, -_WIDE), 0.0, sided == 2)
            return up.sum() + down.sum() - alpha

        efficacy = _solve(total, 0.0, _WIDE) * shape
    else:
        efficacy = _efficacy_from_spending(t, _alpha_spending(kind, g, alpha, t, sided), sided)
    lower = -efficacy if sided == 2 else np.full(t.size, -_WIDE)
    up, down, _ = _crossing_probabilities(t, efficacy, lower, 0.0, sided == 2)
    alpha_spent = np.cumsum(up + down)
    nominal = _special().ndtr(-efficacy)

    fut = fut_name = beta_spent = drift = inflation = None
    fbeta = beta
    if fspec is not None:
        fkind, fg, fbeta, drift = fspec
        fut_name = _spending_name(fkind, fg)
        bspent = _beta_spending(fkind, fg, fbeta, t)
        if drift is None:
            # rpact: the drift at which the last futility bound meets the last efficacy bound,
            # i.e. P_theta(accept) = beta with futility stopping.
            def left(theta):
                _, last = _futility_for_drift(t, efficacy, bspent, theta)
                return last - (fbeta - bspent[-2])
            hi = 1.0
            while left(hi) > 0:
                hi *= 2
                if hi > 200:
                    raise ValueError("cannot find a drift for this futility design")
            drift = _solve(left, -10.0, hi)
            zsum = _z(alpha, sided) + _N.inv_cdf(1 - fbeta)
            inflation = (drift / zsum) ** 2
        fut, _ = _futility_for_drift(t, efficacy, bspent, drift)
        _, down1, _ = _crossing_probabilities(t, efficacy, fut, drift, False)
        beta_spent = np.cumsum(down1)   # the last look's entry: reach it and not reject
    elif beta is not None:
        def power_gap(theta):
            u, _, _ = _crossing_probabilities(t, efficacy, lower, theta, sided == 2)
            return u.sum() - (1 - beta)
        drift = _solve(power_gap, 0.0, 60.0)
        inflation = (drift / (_z(alpha, sided) + _N.inv_cdf(1 - beta))) ** 2

    return Boundaries(
        information_fractions=_readonly(t), efficacy=_readonly(efficacy),
        futility=None if fut is None else _readonly(fut),
        cumulative_alpha_spent=_readonly(alpha_spent), nominal_p=_readonly(nominal),
        alpha=float(alpha), sided=int(sided), spending=name, futility_spending=fut_name,
        beta=None if fbeta is None else float(fbeta),
        cumulative_beta_spent=None if beta_spent is None else _readonly(beta_spent),
        drift=None if drift is None else float(drift),
        inflation_factor=None if inflation is None else float(inflation))


@dataclass(frozen=True, eq=False)
class ExitProbabilities:
    """Where a trial with these boundaries stops, for one drift (arrays by look)."""

    drift: float
    efficacy: np.ndarray
    """P(stop at look k rejecting H0 with Z_k >= efficacy bound)."""
    efficacy_lower: np.ndarray
    """Two-sided designs: P(stop at look k with Z_k <= -bound); zeros when one-sided."""
    futility: np.ndarray
    """P(stop at interim look k for futility); the final entry is 0."""
    reach: np.ndarray
    """P(look k is performed)."""
    power: float
    """P(reject H0) over all looks, either direction."""
    expected_information_fraction: float
    """E[information fraction at stopping] (x target events = expected events at the analysis)."""

    def __str__(self) -> str:
        lines = [f"Exit probabilities at drift {self.drift:.4f}: power {self.power:.4f}, "
                 f"expected information {self.expected_information_fraction:.4f}",
                 " look   reach  efficacy  futility"]
        for k in range(self.efficacy.size):
            lines.append(f"{k + 1:5d}  {self.reach[k]:.4f}  {self.efficacy[k] + self.efficacy_lower[k]:.6f}"
                         f"  {self.futility[k]:.6f}")
        return "\n".join(lines)


def exit_probabilities(boundaries: Boundaries, drift: float, *, futility: bool = True) -> ExitProbabilities:
    """Stopping probabilities by look when ``E[Z_k] = drift * sqrt(t_k)``, by
    the same recursion as :func:`boundaries`. ``futility=False`` ignores the
    futility bounds (the non-binding view used for the type I error)."""
    if not isinstance(boundaries, Boundaries):
        raise ValueError("exit_probabilities needs a Boundaries object from boundaries()")
    if not (isinstance(drift, (int, float, np.floating, np.integer)) and math.isfinite(drift)):
        raise ValueError(f"drift must be a finite number, got {drift!r}")
    t, eff = boundaries.information_fractions, boundaries.efficacy
    two = boundaries.sided == 2
    if two:
        lower = -eff
    elif futility and boundaries.futility is not None:
        lower = np.array(boundaries.futility, dtype=float)
        lower[-1] = -_WIDE
    else:
        lower = np.full(t.size, -_WIDE)
    up, down, reach = _crossing_probabilities(t, eff, lower, float(drift), two)
    eff_low = down if two else np.zeros(t.size)
    fut = np.zeros(t.size) if two else down
    stop = up + eff_low + fut
    stop[-1] = reach[-1]
    return ExitProbabilities(
        drift=float(drift), efficacy=_readonly(up), efficacy_lower=_readonly(eff_low),
        futility=_readonly(fut), reach=_readonly(reach), power=float(up.sum() + eff_low.sum()),
        expected_information_fraction=float(stop @ t))


def plan_boundaries(sc: "Scenario"):
    """The group-sequential boundaries (design.Boundaries) of a scenario with
    interim looks, at the information fractions the simulator uses (a look
    comes at the ceil(f * D)-th event); None without looks."""
    an = sc.trial.analysis
    if not an.looks:
        return None
    fut = None
    if an.futility is not None:
        fut = {"spending": an.futility.spending, "beta": an.futility.beta,
               "hazard_ratio": an.futility.hazard_ratio, "events": an.events,
               "allocation": sc.arms[sc.treatment_arm].allocation / sc.arms[sc.control_arm].allocation}
    actual = [math.ceil(f * an.events) / an.events for f in an.looks]
    return boundaries(actual + [1.0], alpha=an.alpha, sided=an.sided, spending=an.spending, futility=fut)
