"""The screening test and staging, for arrays of (survivor, visit) pairs.

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
        t = scenario.screening.test
        return cls(t.name, t.sensitivity, t.specificity, t.failure, t.turnaround.build(), t.cost)


@dataclass
class TestResults:
    failed: np.ndarray      # bool: no result
    positive: np.ndarray    # bool: a positive result (never when failed)
    turnaround: np.ndarray  # months from sample to result


def run_tests(test: TestModel, detectable: np.ndarray, u: np.ndarray) -> TestResults:
    """Results of one test per row, from uniforms ``u`` of shape (n, N_UNIFORMS)."""
    failed = u[:, U_FAIL] < test.failure
    p_pos = np.where(detectable, test.sensitivity, 1.0 - test.specificity)
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
