"""The screening funnel of this model in closed form: how many survivors
are screened, tested and randomised per patient, and, for the lead_time
model, the prevalence of detectable MRD and the share already visible on
imaging at staging."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trialsim.design.common import _check_positive, _prob


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
    from scipy import integrate  # deferred: scipy.integrate and .optimize cost 0.3 s at start-up
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
