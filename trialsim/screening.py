"""The screening test, the visit schedule, the steps before screening and
staging, for arrays of (survivor, visit) pairs.

A test is positive with probability ``sensitivity`` when MRD is detectable at
the visit, ``1 - specificity`` otherwise; a share ``failure`` of tests give no
result (the assay is still used and paid for). The result comes back after
the lab turnaround. At a positive result the survivor is staged: one whose
recurrence is already visible on imaging (``imaging_lead`` months before it is
clinically overt) is not eligible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trialsim import curves

#: tolerance of the visit grid, relative to the time (months): 12.000000001 is month 12
GRID_TOL = 1e-9

# Uniform columns drawn per test, in this order (reproducibility contract).
U_FAIL, U_RESULT, U_TURNAROUND = range(3)
N_UNIFORMS = 3


@dataclass(frozen=True)
class TestModel:
    name: str
    sensitivity: float
    specificity: float
    failure: float
    turnaround: curves.Curve
    cost: float | None

    @classmethod
    def from_scenario(cls, scenario) -> "TestModel":
        return cls.from_spec(scenario.screening.test)

    @classmethod
    def from_spec(cls, t) -> "TestModel":
        return cls(t.name, t.sensitivity, t.specificity, t.failure, t.turnaround.build(), t.cost)


@dataclass
class TestResults:
    failed: np.ndarray      # bool: no result
    positive: np.ndarray    # bool: a positive result (never when failed)
    turnaround: np.ndarray  # months from sample to result


def run_tests(test: TestModel, detectable: np.ndarray, u: np.ndarray,
              person: tuple[np.ndarray, np.ndarray] | None = None) -> TestResults:
    """Results of one test per row, from uniforms ``u`` of shape (n, N_UNIFORMS).
    ``person``: each row's own (sensitivity, false-positive rate) where they
    vary from person to person (:func:`person_propensities`)."""
    failed = u[:, U_FAIL] < test.failure
    if person is None:
        p_pos = np.where(detectable, test.sensitivity, 1.0 - test.specificity)
    else:
        p_pos = np.where(detectable, person[0], person[1])
    positive = ~failed & (u[:, U_RESULT] < p_pos)
    return TestResults(failed, positive, test.turnaround.quantile(u[:, U_TURNAROUND]))


def eligible_at_staging(t_stage, t_rec, t_death, imaging_lead: float) -> np.ndarray:
    """Alive at staging, and the recurrence not yet visible on imaging (times from entry)."""
    return (t_death > t_stage) & (t_rec - imaging_lead > t_stage)


def expected_yield(prevalence: float, sensitivity: float, specificity: float, failure: float = 0.0) -> float:
    """Probability that one test is positive: (1 - failure) (p Se + (1 - p)(1 - Sp))."""
    return (1.0 - failure) * (prevalence * sensitivity + (1.0 - prevalence) * (1.0 - specificity))


def positive_predictive_value(prevalence: float, sensitivity: float, specificity: float) -> float:
    """Share of positive tests with detectable MRD: p Se / (p Se + (1 - p)(1 - Sp))."""
    tp = prevalence * sensitivity
    fp = (1.0 - prevalence) * (1.0 - specificity)
    return tp / (tp + fp) if tp + fp > 0 else float("nan")


def person_propensities(test: TestModel, rho: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each person's own sensitivity and false-positive rate when the results
    of her samples are correlated (``mrd.shedding``, rho per person in [0, 1)):
    Beta-distributed around the test's sensitivity and 1 - specificity with
    intra-person correlation rho, Beta(m (1 - rho) / rho, (1 - m)(1 - rho) / rho),
    at her uniform ``v``. rho = 0 gives the test's values to everyone.

    Two samples of a person with detectable MRD then agree with probability
    1 - 2 Se (1 - Se)(1 - rho); of one without, 1 - 2 f (1 - f)(1 - rho),
    f = 1 - specificity (docs/model.md: calibrating rho from a test-retest
    agreement)."""
    # deferred: scipy.special costs about 0.15 s of start-up; only correlated samples need it
    from scipy import special

    rho = np.asarray(rho, dtype=float)
    v = np.asarray(v, dtype=float)

    def draw(m: float) -> np.ndarray:
        if m <= 0.0 or m >= 1.0:
            return np.full(v.shape, m)
        with np.errstate(divide="ignore", invalid="ignore"):
            k = (1.0 - rho) / rho
            out = special.betaincinv(m * k, (1.0 - m) * k, v)
        return np.where(rho > 0, out, m)

    return draw(test.sensitivity), draw(1.0 - test.specificity)


def serial_agreement_expected(prevalence: float, sensitivity: float, specificity: float, rho: float) -> float:
    """P(two consecutive samples of a person agree) under a fixed MRD status
    with share ``prevalence`` detectable, and intra-person correlation ``rho``
    of the results: p (1 - 2 Se (1 - Se)(1 - rho)) + (1 - p)(1 - 2 f (1 - f)(1 - rho)), f = 1 - Sp."""
    f = 1.0 - specificity
    return (prevalence * (1 - 2 * sensitivity * (1 - sensitivity) * (1 - rho))
            + (1 - prevalence) * (1 - 2 * f * (1 - f) * (1 - rho)))


@dataclass(frozen=True)
class PrescreenModel:
    """Consent to surveillance, assay set-up and the months from registration
    to the first sample (``screening.prescreen``). Its uniforms come from the
    replicate's own prescreen stream, one row per survivor approached."""

    consent: float
    assay_setup: float
    setup_time: curves.Curve

    @classmethod
    def from_scenario(cls, scenario) -> "PrescreenModel | None":
        pre = scenario.screening.prescreen
        if pre is None:
            return None
        return cls(pre.consent, pre.assay_setup, pre.setup_time.build())


# Uniform columns of the prescreen stream, per survivor approached.
U_PRE_CONSENT, U_PRE_SETUP, U_PRE_TIME = range(3)
N_PRESCREEN_UNIFORMS = 3


@dataclass(frozen=True)
class VisitPlan:
    """The grid of visit times since the anchor (entry or diagnosis): 0, then
    in each piece ``start + n every`` up to its end; a piece starts at the last
    visit of the piece before (``VisitsSpec.grid_starts``). Vectorised over
    survivors: :meth:`at_or_after` gives the first visit, :meth:`after` the
    next one; ``inf`` when the schedule has no more visits."""

    starts: np.ndarray
    every: np.ndarray
    ends: np.ndarray
    anchor: str = "entry"
    count: int | None = None

    @classmethod
    def from_spec(cls, visits) -> "VisitPlan":
        g = visits.grid_starts()
        return cls(np.array([x[0] for x in g]), np.array([x[1] for x in g]), np.array([x[2] for x in g]),
                   visits.anchor, visits.count)

    def _piece(self, x, strict: bool):
        tol = GRID_TOL * np.maximum(1.0, np.abs(x))
        # the piece holding x: the first whose end is beyond x (at x itself, for at_or_after)
        key = x + tol if strict else x - tol
        i = np.searchsorted(self.ends, key, side="right" if strict else "left")
        return np.minimum(i, self.ends.size - 1), i >= self.ends.size, tol

    def at_or_after(self, x) -> np.ndarray:
        """The first grid time at or after ``x`` (months since the anchor)."""
        x = np.asarray(x, dtype=float)
        i, beyond, tol = self._piece(x, strict=False)
        start, every, end = self.starts[i], self.every[i], self.ends[i]
        n = np.maximum(np.ceil((x - start) / every - GRID_TOL), 0.0)
        g = start + n * every
        g = np.where(g > end + tol, np.inf, g)
        return np.where(beyond, np.inf, np.where(x <= 0, 0.0, g))

    def after(self, x) -> np.ndarray:
        """The first grid time strictly after ``x``."""
        x = np.asarray(x, dtype=float)
        i, beyond, tol = self._piece(x, strict=True)
        start, every, end = self.starts[i], self.every[i], self.ends[i]
        n = np.floor((x - start) / every + GRID_TOL) + 1.0
        n = np.maximum(n, 1.0)
        g = start + n * every
        g = np.where(g > end + tol, np.inf, g)
        return np.where(beyond | ~np.isfinite(x), np.inf, np.where(x < 0, 0.0, g))
