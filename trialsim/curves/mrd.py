"""MRD in the curves: the one calibration of the prevalence model, and detectable MRD.

The ``prevalence`` model splits a stratum's marginal recurrence curve into an
MRD-positive and an MRD-negative component whose mixture at entry reproduces
the marginal curve: with p the prevalence, h the hazard ratio and m(t) the
marginal survival from entry, the MRD-negative survival u(t) solves

    p·u^h + (1 - p)·u = m.

:func:`negative_survival` is the one solver of that equation: the simulator's
draws (``trialsim.cohort.Baseline``) and the :class:`MrdComponent` curves both
use it. The ``lead_time`` model leaves the marginal curve alone; its share of
survivors with detectable MRD has a closed form
(:func:`detectable_mrd_prevalence`).
"""

from __future__ import annotations

import math
from typing import Any

from trialsim.curves._numeric import LazyNumpy, _as_float, _at_least, _fmt, _number, _ret
from trialsim.curves.kinds import Curve, Fixed

np = LazyNumpy(globals())      # numpy, imported when the MRD components first compute


def _special():
    """scipy.special, imported on first use."""
    # deferred: scipy.special costs about 0.15 s of start-up; only the prevalence model's calibration needs it
    from scipy import special

    return special


def negative_survival(m: Any, p: float, h: float, iterations: int = 60) -> np.ndarray:
    """u in [0, 1] with p·u^h + (1 - p)·u = m: the MRD-negative survival at marginal survival m.

    The one calibration of the prevalence model (p the prevalence at entry,
    h the MRD hazard ratio), vectorised: safeguarded Newton, falling back to
    bisection of the bracket [lo, hi] whenever a Newton step leaves it. The
    simulator's draws go through this arithmetic (trialsim.cohort.Baseline),
    so any change to it changes seeded results.
    """
    m = np.asarray(m, dtype=float)
    lo = np.zeros_like(m)
    hi = np.ones_like(m)
    u = m.copy()
    for _ in range(iterations):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            g = p * u ** h + (1 - p) * u - m
            dg = p * h * u ** (h - 1) + (1 - p)
            lo = np.where(g < 0, u, lo)
            hi = np.where(g > 0, u, hi)
            step = u - g / dg
        bad = ~np.isfinite(step) | (step <= lo) | (step >= hi)
        new = np.where(bad, 0.5 * (lo + hi), step)
        if np.all(np.abs(new - u) <= 1e-15 * np.maximum(1.0, u)):
            u = new
            break
        u = new
    return u


def negative_cumhaz(lam_m: Any, p: float, h: float) -> np.ndarray:
    """y = Λ_neg with p·exp(-h·y) + (1 - p)·exp(-y) = exp(-lam_m): :func:`negative_survival` on the hazard scale.

    The two ends are exact: y = 0 where lam_m = 0 (nobody has recurred yet)
    and y = inf where lam_m = inf (nobody is left), rather than what the
    solver's tolerance leaves there.
    """
    lam_m = np.asarray(lam_m, dtype=float)
    u = negative_survival(np.exp(-lam_m), p, h)
    with np.errstate(divide="ignore"):
        y = -np.log(u)
    return np.where(lam_m == 0.0, 0.0, np.where(np.isposinf(lam_m), np.inf, y))


class MrdComponent(Curve):
    """One MRD stratum of the ``prevalence`` model, calibrated to a marginal curve.

    Time is measured from entry, ``time_since_diagnosis`` (tsd) months after
    diagnosis; the marginal curve from entry is m(t) = S(tsd + t) / S(tsd).
    The MRD-negative cumulative hazard y(t) solves

        p·exp(-h·y(t)) + (1 - p)·exp(-y(t)) = m(t)

    (p the prevalence at entry, h the MRD hazard ratio), and the MRD-positive
    one is h·y(t): MRD-positive survivors have h times the hazard of the
    MRD-negative ones at every time, and the mixture at entry reproduces the
    marginal curve exactly. It is solved by :func:`negative_survival`, the
    calibration the simulator's draws use (``trialsim.cohort.Baseline``).

    Use :func:`mrd_components` to build the pair. A component has no YAML form
    of its own: a scenario gets it from its ``mrd`` block (prevalence,
    hazard_ratio), so ``to_spec`` raises.
    """

    def __init__(self, marginal: Curve, *, prevalence: float, hazard_ratio: float,
                 time_since_diagnosis: float = 0.0, status: str = "negative"):
        owner = "MrdComponent"
        if not isinstance(marginal, Curve):
            raise ValueError(f"{owner}: marginal must be a Curve, got {marginal!r}")
        p = _number(owner, "prevalence", prevalence)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{owner}: prevalence must be in [0, 1], got {p:g}")
        self.marginal = marginal
        self.prevalence = p
        self.hazard_ratio = _at_least(owner, "hazard_ratio", hazard_ratio, 0.0, strict=True)
        self.time_since_diagnosis = _at_least(owner, "time_since_diagnosis", time_since_diagnosis, 0.0,
                                              strict=False)
        if status not in ("negative", "positive"):
            raise ValueError(f"{owner}: status must be 'negative' or 'positive', got {status!r}")
        self.status = status
        self._lam0 = float(marginal.cumhaz(self.time_since_diagnosis))
        if math.isinf(self._lam0):
            raise ValueError(f"{owner}: the marginal curve has survival 0 at time_since_diagnosis "
                             f"{self.time_since_diagnosis:g}; nobody is left to calibrate")
        self._mult = self.hazard_ratio if status == "positive" else 1.0

    def _marginal_cumhaz(self, t):
        """Λ_m(t) = Λ(tsd + t) - Λ(tsd), the marginal cumulative hazard from entry."""
        tsd = self.time_since_diagnosis
        out = _as_float(self.marginal.cumhaz(tsd + t)) - self._lam0
        return np.where(t == 0, 0.0, np.maximum(out, 0.0))

    def _cumhaz(self, t):
        y = negative_cumhaz(self._marginal_cumhaz(t), self.prevalence, self.hazard_ratio)
        return self._mult * y

    def _inv_cumhaz(self, x):
        # closed form: at Λ_neg = y the marginal survival is p e^{-hy} + (1-p) e^{-y};
        # t is where the marginal curve from entry reaches it
        p, h = self.prevalence, self.hazard_ratio
        y = x / self._mult
        s = p * np.expm1(-h * y) + (1.0 - p) * np.expm1(-y)
        lam_m = np.where(s > -0.5, -np.log1p(s),
                         -np.logaddexp(math.log(p) - h * y if p > 0 else -np.inf,
                                       math.log1p(-p) - y if p < 1 else -np.inf))
        tsd = self.time_since_diagnosis
        t = _as_float(self.marginal.inv_cumhaz(self._lam0 + lam_m)) - tsd
        return np.maximum(t, 0.0)

    def _hazard(self, t):
        # differentiate the calibration identity: λ_neg = λ_m·m / (p·h·u^h + (1-p)·u), u = e^{-y}
        p, h = self.prevalence, self.hazard_ratio
        tsd = self.time_since_diagnosis
        lam_m = self._marginal_cumhaz(t)
        y = negative_cumhaz(lam_m, p, h)
        hm = _as_float(self.marginal.hazard(tsd + t))
        # m / (p h u^h + (1-p) u) = 1 / (h w_pos + 1 - w_pos), w_pos = p u^h / m the
        # MRD-positive share among those still recurrence-free
        w_pos = _special().expit(np.log(p) - np.log1p(-p) - (h - 1.0) * y)
        ratio = 1.0 / (h * w_pos + (1.0 - w_pos))
        return self._mult * hm * ratio

    def _support_start(self):
        start = self.marginal._support_start() - self.time_since_diagnosis
        return max(start, 0.0)

    @property
    def cured_fraction(self) -> float:
        lam_inf = float(self.marginal.cumhaz(np.inf)) - self._lam0
        y = float(negative_cumhaz(np.asarray(lam_inf), self.prevalence, self.hazard_ratio))
        return math.exp(-self._mult * y)

    def to_spec(self) -> Any:
        raise NotImplementedError(
            "a calibrated MRD component has no YAML form: in a scenario it comes from the mrd block "
            "(model: prevalence, prevalence, hazard_ratio) and the stratum's recurrence curve")

    def describe(self) -> str:
        return (f"MRD-{self.status} component at entry (prevalence {_fmt(self.prevalence)}, hazard ratio "
                f"{_fmt(self.hazard_ratio)}, {_fmt(self.time_since_diagnosis)} months after diagnosis) of "
                f"{self.marginal.describe()}")

    def _fields(self):
        return {"marginal": self.marginal, "prevalence": self.prevalence, "hazard_ratio": self.hazard_ratio,
                "time_since_diagnosis": self.time_since_diagnosis, "status": self.status}


def mrd_components(curve: Curve, *, prevalence: float, hazard_ratio: float,
                   time_since_diagnosis: float = 0.0) -> tuple[MrdComponent, MrdComponent]:
    """(MRD-positive, MRD-negative) curves of the ``prevalence`` model, time from entry.

    ``curve`` is the stratum's marginal recurrence curve (time from diagnosis);
    survivors enter ``time_since_diagnosis`` months after diagnosis,
    recurrence-free, MRD-positive with probability ``prevalence``, and the
    MRD-positive hazard is ``hazard_ratio`` times the MRD-negative one. The
    pair satisfies, for every t >= 0,

        prevalence·S_pos(t) + (1 - prevalence)·S_neg(t) = S(tsd + t) / S(tsd).
    """
    kw = dict(prevalence=prevalence, hazard_ratio=hazard_ratio, time_since_diagnosis=time_since_diagnosis)
    return (MrdComponent(curve, status="positive", **kw), MrdComponent(curve, status="negative", **kw))


def _distribution_nodes(dist: Any, nodes: int) -> np.ndarray:
    """Midpoint quantiles of a time distribution (a number gives itself)."""
    if isinstance(dist, Fixed):
        return np.array([dist.value])
    if isinstance(dist, Curve):
        u = (np.arange(nodes) + 0.5) / nodes
        return _as_float(dist.quantile(u))
    return np.array([_number("time_since_diagnosis", "value", dist)])


def detectable_mrd_prevalence(curve: Curve, lead_time: Curve, t: Any, *, dormant_share: float = 0.0,
                              time_since_diagnosis: Any = 0.0, nodes: int = 2000) -> np.ndarray:
    """Share of survivors with detectable MRD at time t after entry (``lead_time`` model).

    MRD is detectable on [T_R - L, T_R), T_R the recurrence time from entry
    (drawn from ``curve`` conditional on being recurrence-free at entry,
    ``time_since_diagnosis`` months after diagnosis) and L ~ ``lead_time``,
    independent of T_R; a share ``dormant_share`` of the never-recurring
    survivors carries detectable MRD throughout. Assuming no death from other
    causes (so "never recurring" means cured, T_R = inf):

        P(T_R - L <= t < T_R) + d·P(T_R = inf)
            = E_L[m(t) - m(t + L)] + d·m(inf),   m(t) = S(tsd + t) / S(tsd),

    because T_R - L <= t < T_R means T_R in (t, t + L]. The share counts every
    survivor who entered (those who recurred before t are not detectable, they
    are in neither term). The expectation over L (and over
    ``time_since_diagnosis`` when it is a distribution) is a midpoint rule in
    probability with ``nodes`` points; the error is far below Monte Carlo
    error for any practical number of draws.
    """
    t = _as_float(t)
    lead = _distribution_nodes(lead_time, nodes)
    tsds = _distribution_nodes(time_since_diagnosis, max(nodes // 10, 50))
    d = _number("detectable_mrd_prevalence", "dormant_share", dormant_share)
    out = np.zeros(t.shape)
    for s in tsds:
        lam0 = float(curve.cumhaz(s))
        m_t = np.exp(lam0 - _as_float(curve.cumhaz(s + t)))
        m_tl = np.exp(lam0 - _as_float(curve.cumhaz(s + t[..., None] + lead)))
        m_inf = math.exp(lam0 - float(curve.cumhaz(np.inf)))
        out += m_t - m_tl.mean(axis=-1) + d * m_inf
    return _ret(out / tsds.size)
