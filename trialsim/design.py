"""Analytic companions of the simulation: the closed forms a statistician
checks simulated figures against. Every function is pure (no simulation, no
random numbers); formulas, sources and the comparisons with rpact are in
docs/design.md.

* Log-rank events and power: :func:`schoenfeld_events`, :func:`schoenfeld_power`
  (Schoenfeld 1981), :func:`freedman_events`, :func:`freedman_power`
  (Freedman 1982).
* Group-sequential boundaries by recursive numerical integration
  (Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000, ch. 19):
  :func:`boundaries` and :func:`exit_probabilities`.
* Sample size and duration with piecewise accrual and dropout:
  :func:`lachin_foulkes` (Lachin & Foulkes 1986) and :func:`expected_events`.
* The screening funnel of this model in closed form: :func:`screening_funnel`,
  :func:`lead_time_staging`; and the effect the log-rank test sees when false
  positives and non-eradicated patients are randomised:
  :func:`diluted_hazard_ratio`.

Conventions: time in months, rates per month, allocation ``r`` = patients on
treatment per patient on control, hazard ratio = treatment / control. The
standardised log-rank statistic Z is positive when treatment is better; under
the canonical joint distribution of a group-sequential trial,
``E[Z_k] = drift * sqrt(t_k)`` at information fraction ``t_k`` and
``cov(Z_j, Z_k) = sqrt(t_j / t_k)`` for ``j <= k``. For the log-rank test with
``D`` target events, ``drift = sqrt(D r) / (1 + r) * |log HR|``.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np
from scipy import special

if TYPE_CHECKING:
    from trialsim.scenario import Scenario

_N = NormalDist()


def _z(alpha: float, sided: int) -> float:
    if sided not in (1, 2):
        raise ValueError(f"sided must be 1 or 2, got {sided}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    return _N.inv_cdf(1 - alpha / sided)


def _check_power(power: float) -> float:
    if not 0 < power < 1:
        raise ValueError(f"power must lie in (0, 1), got {power}")
    return _N.inv_cdf(power)


def _check_positive(**kw) -> None:
    for name, v in kw.items():
        if not (isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive number, got {v!r}")


def _check_hr(hazard_ratio: float) -> None:
    _check_positive(hazard_ratio=hazard_ratio)
    if hazard_ratio == 1:
        raise ValueError("hazard_ratio must not be 1 (no effect: no sample size gives power)")


# --------------------------------------------------------------------------
# Events and power of the log-rank test


def schoenfeld_power(*, events: float, hazard_ratio: float, alpha: float = 0.025, sided: int = 1,
                     allocation: float = 1.0) -> float:
    """Power of the log-rank test at ``events`` events (Schoenfeld 1981).

    allocation: patients on treatment per patient on control. Two-sided power
    ignores rejection in the wrong direction, as rpact and gsDesign do.
    """
    if hazard_ratio <= 0 or events <= 0 or allocation <= 0:
        raise ValueError("hazard_ratio, events and allocation must be positive")
    drift = math.sqrt(events * allocation) / (1 + allocation) * abs(math.log(hazard_ratio))
    return _N.cdf(drift - _z(alpha, sided))


def schoenfeld_events(*, hazard_ratio: float, alpha: float = 0.025, power: float = 0.8, sided: int = 1,
                      allocation: float = 1.0) -> float:
    """Events needed for ``power`` (not rounded): (1+r)^2/r (z_a + z_b)^2 / log(HR)^2."""
    if hazard_ratio <= 0 or hazard_ratio == 1:
        raise ValueError("hazard_ratio must be positive and not 1")
    if not 0 < power < 1:
        raise ValueError(f"power must lie in (0, 1), got {power}")
    _check_positive(allocation=allocation)
    zb = _N.inv_cdf(power)
    return (1 + allocation) ** 2 / allocation * (_z(alpha, sided) + zb) ** 2 / math.log(hazard_ratio) ** 2


def freedman_events(*, hazard_ratio: float, alpha: float = 0.025, power: float = 0.8, sided: int = 1,
                    allocation: float = 1.0) -> float:
    """Events needed for ``power`` by Freedman (1982), not rounded:
    ``d = (1 + r HR)^2 / (r (1 - HR)^2) (z_a + z_b)^2``; for r = 1 this is
    Freedman's ``(1 + HR)^2 / (1 - HR)^2 (z_a + z_b)^2``. Same as rpact's
    ``typeOfComputation = "Freedman"``."""
    _check_hr(hazard_ratio)
    _check_positive(allocation=allocation)
    zb = _check_power(power)
    r = allocation
    return (1 + r * hazard_ratio) ** 2 / (r * (1 - hazard_ratio) ** 2) * (_z(alpha, sided) + zb) ** 2


def freedman_power(*, events: float, hazard_ratio: float, alpha: float = 0.025, sided: int = 1,
                   allocation: float = 1.0) -> float:
    """Power of the log-rank test at ``events`` events by Freedman (1982):
    ``Phi(sqrt(d r) |1 - HR| / (1 + r HR) - z_a)`` (rejection in the wrong
    direction ignored, as rpact does)."""
    _check_positive(events=events, hazard_ratio=hazard_ratio, allocation=allocation)
    r = allocation
    drift = math.sqrt(events * r) * abs(1 - hazard_ratio) / (1 + r * hazard_ratio)
    return _N.cdf(drift - _z(alpha, sided))


# --------------------------------------------------------------------------
# Group-sequential boundaries: spending functions

_SPENDINGS = ("obrien_fleming", "pocock", "hsd", "classical_obrien_fleming", "classical_pocock")
_HSD = re.compile(r"^hsd\(\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*\)$")


def _parse_spending(spending: str, gamma: float | None, *, what: str = "spending",
                    classical: bool = True) -> tuple[str, float | None]:
    """Canonical (kind, gamma). kind in obrien_fleming, pocock, hsd, classical_*."""
    if not isinstance(spending, str):
        raise ValueError(f"{what} must be a string such as 'obrien_fleming', got {spending!r}")
    s = spending.strip().replace(" ", "")
    m = _HSD.match(s)
    allowed = _SPENDINGS if classical else _SPENDINGS[:3]
    if m:
        g = float(m.group(1))
        if gamma is not None and float(gamma) != g:
            raise ValueError(f"{what} '{spending}' and gamma={gamma} disagree; give gamma once")
        s, gamma = "hsd", g
    if s not in allowed:
        names = ", ".join(x if x != "hsd" else "hsd(gamma)" for x in allowed)
        raise ValueError(f"unknown {what} '{spending}'; one of {names}")
    if s == "hsd":
        if gamma is None:
            raise ValueError(f"{what} 'hsd' needs its gamma: write 'hsd(-4)' or pass gamma=-4")
        if not math.isfinite(float(gamma)):
            raise ValueError(f"hsd gamma must be finite, got {gamma}")
        return s, float(gamma)
    if gamma is not None:
        raise ValueError(f"gamma applies to hsd spending only, not to '{spending}'")
    return s, None


def _spending_name(kind: str, gamma: float | None) -> str:
    return f"hsd({gamma:g})" if kind == "hsd" else kind


def _alpha_spending(kind: str, gamma: float | None, alpha: float, t: np.ndarray, sided: int) -> np.ndarray:
    """Cumulative alpha (total over both sides when sided = 2) spent by
    information fraction t, as rpact defines it (``getSpendingValueCpp``)."""
    t = np.asarray(t, dtype=float)
    if kind == "obrien_fleming":
        # Lan-DeMets O'Brien-Fleming type: 2 s (1 - Phi(z_{1 - alpha/(2 s)} / sqrt(t))), s = sided
        z = -special.ndtri(alpha / (2 * sided))
        return 2 * sided * special.ndtr(-z / np.sqrt(t))
    if kind == "pocock":
        return alpha * np.log1p((math.e - 1) * t)
    if kind == "hsd":
        if gamma == 0:
            return alpha * t
        return alpha * -np.expm1(-gamma * t) / -math.expm1(-gamma)
    raise AssertionError(kind)


def _beta_spending(kind: str, gamma: float | None, beta: float, t: np.ndarray) -> np.ndarray:
    """Cumulative beta spent (rpact's bsOF, bsP, bsHSD; bsOF has no sided factor)."""
    if kind == "obrien_fleming":
        z = -special.ndtri(beta / 2)
        return 2 * special.ndtr(-z / np.sqrt(np.asarray(t, dtype=float)))
    return _alpha_spending(kind, gamma, beta, t, 1)


# --------------------------------------------------------------------------
# Group-sequential boundaries: the recursion

# Jennison & Turnbull's grid constant r: 12 r - 3 grid points per look at most.
# r = 64 puts the integration error near 1e-9 in z (r = 32: about 5e-8; rpact works to 1e-8).
_GRID_R = 64
_WIDE = 40.0   # "infinite" bound in z


def _grid(mu: float, lo: float, hi: float, r: int = _GRID_R) -> tuple[np.ndarray, np.ndarray]:
    """Points and composite Simpson weights on (lo, hi) for a density centred
    at mu (Jennison & Turnbull 2000, section 19.2.1): dense within 3 of mu,
    logarithmically sparser out to mu +- (3 + 4 log r)."""
    i = np.arange(1, 6 * r)
    x = np.where(i < r, mu - 3 - 4 * np.log(r / np.maximum(i, 1)),
                 np.where(i <= 5 * r, mu - 3 + 3 * (i - r) / (2 * r),
                          mu + 3 + 4 * np.log(r / np.maximum(6 * r - i, 1))))
    inside = x[(x > lo) & (x < hi)]
    lo_, hi_ = max(lo, x[0]), min(hi, x[-1])
    pts = np.concatenate([[lo_], inside, [hi_]]) if hi_ > lo_ else np.array([lo_, lo_])
    pts = np.unique(pts)
    if pts.size < 2:
        pts = np.array([lo_, lo_ + 1e-12])
    mids = (pts[:-1] + pts[1:]) / 2
    h = np.diff(pts)
    z = np.empty(2 * pts.size - 1)
    z[0::2], z[1::2] = pts, mids
    w = np.zeros_like(z)
    w[0:-1:2] += h / 6
    w[2::2] += h / 6
    w[1::2] += 4 * h / 6
    return z, w


class _Path:
    """The sub-density of Z_k on the continuation region, stage by stage, for
    a drift theta: h_1(z) = phi(z - theta sqrt(t_1)) and
    h_k(z) = int h_{k-1}(u) sqrt(t_k / D) phi((z sqrt(t_k) - u sqrt(t_{k-1}) - theta D) / sqrt(D)) du,
    D = t_k - t_{k-1} (Armitage, McPherson & Rowe 1969)."""

    def __init__(self, t: np.ndarray, theta: float):
        self.t = t
        self.theta = theta
        self.k = 0           # looks passed
        self.z = None        # grid of the last look passed (continuation region)
        self.wh = None       # weights * density on that grid

    def _args(self, c: float) -> np.ndarray | float:
        """Standardised argument of the next look's bound c, given each grid point."""
        k, t, th = self.k, self.t, self.theta
        if k == 0:
            return c - th * math.sqrt(t[0])
        d = t[k] - t[k - 1]
        return (c * math.sqrt(t[k]) - self.z * math.sqrt(t[k - 1]) - th * d) / math.sqrt(d)

    def above(self, c: float) -> float:
        """P(continue so far, Z_next >= c)."""
        a = self._args(c)
        return float(special.ndtr(-a)) if self.k == 0 else float(special.ndtr(-a) @ self.wh)

    def below(self, c: float) -> float:
        """P(continue so far, Z_next <= c)."""
        a = self._args(c)
        return float(special.ndtr(a)) if self.k == 0 else float(special.ndtr(a) @ self.wh)

    def mass(self) -> float:
        """P(continue so far)."""
        return 1.0 if self.k == 0 else float(self.wh.sum())

    def advance(self, lo: float, hi: float) -> None:
        """Condition on lo < Z_next < hi and move to the next look."""
        k, t, th = self.k, self.t, self.theta
        mu = th * math.sqrt(t[k])
        z, w = _grid(mu, lo, hi)
        if k == 0:
            dens = np.exp(-0.5 * (z - mu) ** 2) / math.sqrt(2 * math.pi)
        else:
            d = t[k] - t[k - 1]
            arg = (z[:, None] * math.sqrt(t[k]) - self.z[None, :] * math.sqrt(t[k - 1]) - th * d) / math.sqrt(d)
            dens = (np.exp(-0.5 * arg ** 2) / math.sqrt(2 * math.pi)) @ self.wh * math.sqrt(t[k] / d)
        self.z, self.wh = z, w * dens
        self.k += 1


def _solve(f, lo: float, hi: float) -> float:
    """Root of an increasing or decreasing f on [lo, hi] (brentq, tight)."""
    from scipy import optimize  # lazily: scipy.optimize and .integrate cost 0.3 s at start-up
    return optimize.brentq(f, lo, hi, xtol=1e-13, rtol=4 * np.finfo(float).eps, maxiter=200)


def _efficacy_from_spending(t: np.ndarray, spent: np.ndarray, sided: int) -> np.ndarray:
    """Critical values c_k with P_0(first crossing at k) = spent_k - spent_{k-1}
    (two-sided: crossing |Z_k| >= c_k, symmetric)."""
    path = _Path(t, 0.0)
    out = np.empty(t.size)
    prev = 0.0
    for k in range(t.size):
        target = spent[k] - prev
        if sided == 1:
            f = lambda c: path.above(c) - target  # noqa: E731
        else:
            f = lambda c: path.above(c) + path.below(-c) - target  # noqa: E731
        lo = 0.0 if sided == 2 else -_WIDE
        if target <= 0:
            c = _WIDE
        elif f(lo) <= 0:       # spends more than is left: reject everything that continues
            c = lo
        else:
            c = _solve(f, lo, _WIDE)
        out[k] = c
        prev = spent[k]
        if k < t.size - 1:
            path.advance(-c if sided == 2 else -_WIDE, c)
    return out


def _crossing_probabilities(t: np.ndarray, upper: np.ndarray, lower: np.ndarray, theta: float,
                            two_sided: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """By look: P(exit above upper_k), P(exit below lower_k), P(reach look k).
    Continuation region at look k: (lower_k, upper_k). With two_sided the
    lower exit is a rejection (lower_k = -upper_k); otherwise it is futility."""
    path = _Path(t, theta)
    up, down, reach = np.zeros(t.size), np.zeros(t.size), np.zeros(t.size)
    for k in range(t.size):
        reach[k] = path.mass()
        up[k] = path.above(upper[k])
        down[k] = path.below(lower[k]) if lower[k] > -_WIDE else 0.0
        if k < t.size - 1:
            path.advance(lower[k], upper[k])
    return up, down, reach


def _futility_for_drift(t: np.ndarray, efficacy: np.ndarray, beta_spent: np.ndarray,
                        theta: float) -> tuple[np.ndarray, float]:
    """Futility bounds a_k with P_theta(continue to k, Z_k <= a_k) = beta spent
    at look k, continuation (a_j, b_j) before (non-binding efficacy b_j);
    bounds capped at the efficacy bound. Also returns P_theta(reach the last
    look and not reject), the beta actually left for the final analysis."""
    path = _Path(t, theta)
    fut = np.empty(t.size)
    prev = 0.0
    for k in range(t.size - 1):
        target = beta_spent[k] - prev
        prev = beta_spent[k]
        b = efficacy[k]
        if path.below(b) <= target:
            a = b
        elif path.below(-_WIDE + theta * math.sqrt(t[k])) >= target:
            a = -_WIDE
        else:
            a = _solve(lambda c: path.below(c) - target, -_WIDE + theta * math.sqrt(t[k]), b)
        fut[k] = a
        path.advance(a, b)
    fut[-1] = efficacy[-1]
    return fut, path.below(efficacy[-1])


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
    nominal = special.ndtr(-efficacy)

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


# --------------------------------------------------------------------------
# Accrual, expected events, Lachin-Foulkes


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


# --------------------------------------------------------------------------
# The screening funnel


def _prob(name: str, v) -> float:
    if not (isinstance(v, (int, float, np.floating, np.integer)) and 0 <= v <= 1):
        raise ValueError(f"{name} must be a probability in [0, 1], got {v!r}")
    return float(v)


@dataclass(frozen=True)
class ScreeningFunnel:
    """Expected funnel per survivor entering screening (closed form)."""

    visits: int
    persistence: str
    tested: float
    """P(at least one test result)."""
    test_positive: float
    """P(a positive result at some visit)."""
    eligible: float
    """P(positive and not already visible on imaging at staging)."""
    randomized: float
    """P(randomised) = eligible x consent."""
    assays: float
    """Expected tests performed (failures included) per survivor screened."""
    true_positive_share: float
    """Share of the randomised whose MRD was detectable at the positive test."""

    @property
    def screened_per_randomized(self) -> float:
        return 1.0 / self.randomized if self.randomized > 0 else math.inf

    @property
    def assays_per_randomized(self) -> float:
        return self.assays / self.randomized if self.randomized > 0 else math.inf

    def __str__(self) -> str:
        return (f"Screening funnel ({self.visits} visit{'s' if self.visits > 1 else ''}, {self.persistence}): "
                f"per survivor screened P(positive) {self.test_positive:.5f}, P(eligible) {self.eligible:.5f}, "
                f"P(randomised) {self.randomized:.5f}; {self.screened_per_randomized:.1f} screened and "
                f"{self.assays_per_randomized:.1f} assays per patient randomised; "
                f"{self.true_positive_share:.3f} of the randomised truly MRD-positive")


def screening_funnel(*, prevalence: float, sensitivity: float, specificity: float, failure: float = 0.0,
                     staging_ineligible: float = 0.0, consent: float = 1.0, visits: int = 1,
                     persistence: str = "stationary") -> ScreeningFunnel:
    """The screening funnel of docs/model.md in closed form.

    prevalence: P(MRD detectable at a visit). staging_ineligible: the share of
    true positives whose recurrence is already visible on imaging when the
    result comes back (a number; :func:`lead_time_staging` derives it for the
    lead_time model). False positives are taken as always eligible, and deaths
    between sample and result are neglected.

    One visit: ``P(randomised) = c (1 - f) [p Se (1 - s) + (1 - p)(1 - Sp)]``.

    ``visits = k`` (testing stops at the first positive), two approximations:
      * ``persistence="stationary"``: each visit sees detectable MRD with the
        same probability p, independently of the other visits, and test
        errors are independent: with q = (1 - f)(p Se + (1 - p)(1 - Sp)),
        P(positive) = 1 - (1 - q)^k and the positive is true with the PPV.
        The visit interval does not enter (it would, through a prevalence
        that changes between visits).
      * ``persistence="fixed"``: MRD status fixed over the visits (the
        prevalence model without onset or clearance, recurrences and deaths
        during screening neglected), independent test errors:
        P(positive | MRD+) = 1 - (1 - (1 - f) Se)^k and
        P(positive | MRD-) = 1 - (1 - (1 - f)(1 - Sp))^k.
    """
    p = _prob("prevalence", prevalence)
    se = _prob("sensitivity", sensitivity)
    sp = _prob("specificity", specificity)
    f = _prob("failure", failure)
    s = _prob("staging_ineligible", staging_ineligible)
    c = _prob("consent", consent)
    if not isinstance(visits, (int, np.integer)) or isinstance(visits, bool) or visits < 1:
        raise ValueError(f"visits must be a whole number >= 1, got {visits!r}")
    if persistence not in ("stationary", "fixed"):
        raise ValueError(f"persistence must be 'stationary' or 'fixed', got {persistence!r}")
    k = int(visits)
    tested = 1 - f ** k

    def geometric(q):  # expected tests until the first positive, at most k: sum_{j<k} (1-q)^j
        return float(k) if q == 0 else (1 - (1 - q) ** k) / q

    if persistence == "stationary":
        q = (1 - f) * (p * se + (1 - p) * (1 - sp))
        pos = 1 - (1 - q) ** k
        tp = (1 - f) * p * se / q * pos if q > 0 else 0.0
        assays = geometric(q)
    else:
        q1, q0 = (1 - f) * se, (1 - f) * (1 - sp)
        tp = p * (1 - (1 - q1) ** k)
        pos = tp + (1 - p) * (1 - (1 - q0) ** k)
        assays = p * geometric(q1) + (1 - p) * geometric(q0)
    fp = pos - tp
    eligible = tp * (1 - s) + fp
    return ScreeningFunnel(visits=k, persistence=persistence, tested=float(tested), test_positive=float(pos),
                           eligible=float(eligible), randomized=float(eligible * c), assays=float(assays),
                           true_positive_share=float(tp * (1 - s) / eligible) if eligible > 0 else math.nan)


@dataclass(frozen=True)
class LeadTimeStaging:
    """Detectable MRD at entry and staging in the lead_time model (one visit at entry)."""

    prevalence: float
    """P(MRD detectable at entry)."""
    staging_ineligible: float
    """Share of those whose recurrence is visible on imaging when the result comes back."""


def lead_time_staging(*, recurrence_rate: float, lead_time, imaging_lead: float, turnaround: float = 0.0,
                      dormant_share: float = 0.0, death_rate: float = 0.0) -> LeadTimeStaging:
    """Prevalence of detectable MRD at entry and the staging-ineligible share
    of true positives, for the lead_time model with exponential recurrence
    (rate per month from entry), an independent lead time L, and exponential
    other-cause death.

    MRD is detectable at entry when T_R < L (and T_R < T_D); a survivor who
    never recurs in her life (T_D < T_R) carries dormant detectable MRD with
    probability ``dormant_share``. The recurrence is visible at the result
    when T_R <= m = imaging_lead + turnaround. With S_L the lead time's
    survival function and lam, mu the recurrence and death rates:
    ``prevalence = int_0^inf lam e^{-(lam+mu) x} S_L(x) dx + dormant mu / (lam + mu)``,
    ``ineligible = int_0^m lam e^{-(lam+mu) x} S_L(x) dx / prevalence``.
    As lam -> 0 the share tends to ``int_0^m S_L / E[L]`` (the forward
    recurrence time of the lead interval).

    lead_time: a trialsim curve (anything with ``survival(t)``) or a number
    (a fixed lead time).
    """
    from scipy import integrate  # lazily: scipy.integrate and .optimize cost 0.3 s at start-up
    _check_positive(recurrence_rate=recurrence_rate)
    for name, v in (("imaging_lead", imaging_lead), ("turnaround", turnaround), ("death_rate", death_rate)):
        if not (isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a non-negative number, got {v!r}")
    dormant = _prob("dormant_share", dormant_share)
    if isinstance(lead_time, (int, float, np.floating, np.integer)):
        if not (math.isfinite(lead_time) and lead_time >= 0):
            raise ValueError(f"a fixed lead_time must be a non-negative number, got {lead_time!r}")
        fixed = float(lead_time)
        surv = lambda x: 1.0 if x < fixed else 0.0  # noqa: E731
        points = [fixed]
    elif hasattr(lead_time, "survival"):
        surv = lambda x: float(np.asarray(lead_time.survival(x)))  # noqa: E731
        points = None
    else:
        raise ValueError("lead_time must be a number or a curve with a survival(t) method")
    lam, mu = float(recurrence_rate), float(death_rate)
    dens = lambda x: lam * math.exp(-(lam + mu) * x) * surv(x)  # noqa: E731
    m = float(imaging_lead) + float(turnaround)

    def quad(a, b):
        if b <= a:
            return 0.0
        pts = [p for p in (points or []) if a < p < b] or None
        return integrate.quad(dens, a, b, points=pts, limit=200, epsabs=1e-13, epsrel=1e-11)[0]

    near = quad(0.0, m)
    far = integrate.quad(dens, m, math.inf, limit=200, epsabs=1e-13, epsrel=1e-11)[0] if points is None else \
        quad(m, max(points[0], m)) if points[0] > m else 0.0
    prev = near + far + (dormant * mu / (lam + mu) if mu > 0 else 0.0)
    return LeadTimeStaging(prevalence=prev, staging_ineligible=near / prev if prev > 0 else math.nan)


# --------------------------------------------------------------------------
# The diluted hazard ratio


@dataclass(frozen=True)
class DilutedHazardRatio:
    """The effect the log-rank test sees in a randomised mixture."""

    hazard_ratio: float
    """exp(average log HR(t) over [0, horizon], log-rank information weights)."""
    true_positive_share: float
    event_probability_control: float
    """P(event observed by the end of follow-up), control arm."""
    event_probability_treatment: float
    allocation: float

    @property
    def log_hazard_ratio(self) -> float:
        return math.log(self.hazard_ratio)

    def drift(self, events: float) -> float:
        """Schoenfeld drift at ``events`` events: sqrt(d r) / (1 + r) |log HR|."""
        _check_positive(events=events)
        r = self.allocation
        return math.sqrt(events * r) / (1 + r) * abs(self.log_hazard_ratio)

    def power(self, events: float, *, alpha: float = 0.025, sided: int = 1) -> float:
        """Schoenfeld's power at ``events`` events with the diluted hazard ratio."""
        return _N.cdf(self.drift(events) - _z(alpha, sided))


def _mixture_arms(pi, erad, hr, lam_pos, lam_neg, lam_erad):
    """Per arm, (weights, rates) of the exponential mixture."""
    control = (np.array([pi, 1 - pi]), np.array([lam_pos, lam_neg]))
    treatment = (np.array([pi * erad, pi * (1 - erad), 1 - pi]), np.array([lam_erad, hr * lam_pos, hr * lam_neg]))
    return control, treatment


def diluted_hazard_ratio(*, true_positive_share: float, positive_rate: float, hazard_ratio: float = 1.0,
                         eradication: float = 0.0, negative_rate: float = 0.0, eradicated_rate: float = 0.0,
                         horizon: float, allocation: float = 1.0, dropout_rate: float = 0.0,
                         accrual_time: float = 0.0) -> DilutedHazardRatio:
    """The hazard ratio the log-rank test sees when a share ``1 - pi`` of the
    randomised are false positives and a share ``eradication`` of true
    positives on treatment is eradicated, under exponential hazards.

    Arms (docs/model.md, arm effects): control = pi Exp(positive_rate) +
    (1 - pi) Exp(negative_rate); treatment = pi [e Exp(eradicated_rate) +
    (1 - e) Exp(HR positive_rate)] + (1 - pi) Exp(HR negative_rate).
    eradicated_rate is 0 in the lead_time model (the recurrence is removed)
    and the MRD-negative rate in the prevalence model.

    The arm hazards h_c(t), h_t(t) of these mixtures are not proportional, so
    the answer is the average of log(h_t / h_c) over [0, horizon] weighted by
    the log-rank information density
    ``w(t) = G(t) S_c S_t n_c n_t / (n_c S_c + n_t S_t)^2 (n_c S_c h_c + n_t S_t h_t)``
    (Schoenfeld 1981; the expected variance increment of the log-rank
    statistic), with censoring survival G(t) = exp(-dropout t) times the
    share of patients followed at least t (uniform accrual over
    ``accrual_time`` months, analysis ``horizon`` months after the first
    randomisation; all followed for ``horizon`` when accrual_time = 0). The
    log-rank drift at d events is then close to ``sqrt(d r)/(1 + r) |log HR|``.
    """
    from scipy import integrate  # lazily: scipy.integrate and .optimize cost 0.3 s at start-up
    pi = _prob("true_positive_share", true_positive_share)
    e = _prob("eradication", eradication)
    _check_positive(hazard_ratio=hazard_ratio, horizon=horizon, allocation=allocation)
    for name, v in (("positive_rate", positive_rate), ("negative_rate", negative_rate),
                    ("eradicated_rate", eradicated_rate), ("dropout_rate", dropout_rate),
                    ("accrual_time", accrual_time)):
        if not (isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a non-negative number, got {v!r}")
    if accrual_time > horizon:
        raise ValueError("accrual_time must not exceed horizon (the analysis is after the last randomisation)")
    (wc, rc), (wt, rt) = _mixture_arms(pi, e, hazard_ratio, positive_rate, negative_rate, eradicated_rate)
    if not np.any((wc > 0) & (rc > 0)):
        raise ValueError("the control arm has no events (positive_rate and negative_rate are 0 where it has patients)")
    if not np.any((wt > 0) & (rt > 0)):
        raise ValueError("the treatment arm has no events: the hazard ratio is 0")
    nc, nt = 1 / (1 + allocation), allocation / (1 + allocation)

    def arm(w, rates, t):
        ex = w * np.exp(-rates * t)
        s = ex.sum()
        return s, (rates * ex).sum() / s

    def censor(t):
        g = math.exp(-dropout_rate * t)
        if accrual_time > 0:
            g *= min(1.0, max(0.0, (horizon - t) / accrual_time))
        return g

    def weight(t):
        sc, hc = arm(wc, rc, t)
        st, ht = arm(wt, rt, t)
        yc, yt = nc * sc, nt * st
        return censor(t) * yc * yt / (yc + yt) ** 2 * (yc * hc + yt * ht), hc, ht

    def num(t):
        w, hc, ht = weight(t)
        return w * (math.log(ht) - math.log(hc)) if w > 0 else 0.0

    opts = dict(limit=200, epsabs=1e-14, epsrel=1e-10)
    den = integrate.quad(lambda t: weight(t)[0], 0.0, horizon, **opts)[0]
    if den <= 0:
        raise ValueError("no information: no events expected before horizon")
    avg = integrate.quad(num, 0.0, horizon, **opts)[0] / den

    def event_probability(w, rates):
        # P(event before censoring) = int_0^horizon f(t) G(t) dt
        f = lambda t: float((w * rates * np.exp(-rates * t)).sum()) * censor(t)  # noqa: E731
        return integrate.quad(f, 0.0, horizon, **opts)[0]

    return DilutedHazardRatio(hazard_ratio=math.exp(avg), true_positive_share=pi,
                              event_probability_control=event_probability(wc, rc),
                              event_probability_treatment=event_probability(wt, rt), allocation=float(allocation))


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
