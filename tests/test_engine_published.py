"""Published tier: the published MRD trials (scenarios/published/) simulated
with a fixed seed, each published stage of the screening funnel compared
with the simulated one.

A published share k/n passes when it lies within the 95% range that its own
sample size implies around the simulated share p, widened by the Monte Carlo
error of p: ``|k/n - p| <= 1.96 sqrt(p (1 - p) / n) + 1.96 mcse``. The
scenarios are written from the trials' designs, never tuned to these counts;
where a count cannot be reached with defensible inputs, its check is an
expected failure (strict) whose reason says why. docs/published-trials.md
shows the tables."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from trialsim import load_scenario, simulate

PUBLISHED = Path(__file__).resolve().parent.parent / "scenarios" / "published"

#: replicates and seed of each trial's validation run (each well under 10 s on one core)
RUNS = {"zest": (300, 20261201), "ctrak_tn": (1000, 20261202), "treat_ctc": (300, 20261203),
        "dare": (400, 20261204)}


@lru_cache(maxsize=None)
def run(trial: str):
    replicates, seed = RUNS[trial]
    return simulate(load_scenario(PUBLISHED / f"{trial}.yaml"), replicates=replicates, seed=seed, workers=1)


@dataclass(frozen=True)
class Stage:
    """One published stage: ``events`` of ``n`` (published), and the
    simulated columns whose ratio is the same share."""
    trial: str
    name: str
    events: int
    n: int
    numerator: str
    denominator: str

    def simulated(self) -> tuple[float, float]:
        """The pooled simulated share and its Monte Carlo SE (ratio estimator
        over replicates)."""
        t = run(self.trial).table
        num = np.asarray(t[self.numerator], dtype=float)
        den = np.asarray(t[self.denominator], dtype=float)
        p = float(num.sum() / den.sum())
        resid = num - p * den
        mcse = float(np.sqrt(np.var(resid, ddof=1) / len(num)) / den.mean())
        return p, mcse

    def half_width(self, p: float, mcse: float) -> float:
        return 1.96 * math.sqrt(p * (1 - p) / self.n) + 1.96 * mcse


NO_IMAGING_CURVE = ("no source gives how far ahead staging scans see a TNBC metastasis: with the "
                    "unsourced imaging_lead of 3 months the model puts too few positives beyond the "
                    "reach of scans, and an imaging lead or curve (screening.staging.imaging) chosen "
                    "to give 72% would be an input tuned to the count")
CTRAK_EARLY = ("55.7% of high-risk patients detected by 12 months needs about 70% of them (at "
               "sensitivity 0.8) to carry detectable ctDNA within the first year; with a lead-time "
               "model that means recurrence within about 18 months, far above any sourced risk for "
               "TNBC with residual disease. Much of it was metastatic disease already present at "
               "entry (72% metastatic at staging), which the model can only express as an early "
               "recurrence")
CTC_PREVALENCE = ("the post-chemotherapy CTC prevalence and the per-draw sensitivity of CellSearch are "
                  "not published in the sources we read; the at-diagnosis prevalence (Janni 2016) with "
                  "an assumed sensitivity of 0.5 overestimates the positive share")
CTC_RANDOMISED = ("the losses between CTC-positive and randomised (95 to 63) are not published by "
                  "reason; the model has only staging and an assumed consent of 0.8 for them, and the "
                  "positive share it starts from is already too high")

STAGES = [
    pytest.param(Stage("zest", "ctDNA-positive of tested", 147, 1901, "test_positive", "tested"),
                 id="zest-positive"),
    pytest.param(Stage("zest", "randomised of tested", 40, 1901, "randomized", "tested"),
                 id="zest-randomised"),
    pytest.param(Stage("ctrak_tn", "detected by 12 months", 44, 161, "test_positive", "tested"),
                 id="ctrak-detected", marks=pytest.mark.xfail(strict=True, reason=CTRAK_EARLY)),
    pytest.param(Stage("ctrak_tn", "detected by 12 months, high risk", 32, 57,
                       "test_positive[high risk]", "tested[high risk]"),
                 id="ctrak-detected-high", marks=pytest.mark.xfail(strict=True, reason=CTRAK_EARLY)),
    pytest.param(Stage("ctrak_tn", "detected by 12 months, moderate risk", 12, 104,
                       "test_positive[moderate risk]", "tested[moderate risk]"),
                 id="ctrak-detected-moderate"),
    pytest.param(Stage("ctrak_tn", "metastatic at staging, pembrolizumab arm", 23, 32,
                       "metastatic_randomized_treatment", "treatment_randomized"),
                 id="ctrak-metastatic", marks=pytest.mark.xfail(strict=True, reason=NO_IMAGING_CURVE)),
    pytest.param(Stage("treat_ctc", "CTC-positive of screened", 95, 1317, "test_positive", "tested"),
                 id="treatctc-positive", marks=pytest.mark.xfail(strict=True, reason=CTC_PREVALENCE)),
    pytest.param(Stage("treat_ctc", "randomised of screened", 63, 1317, "randomized", "tested"),
                 id="treatctc-randomised", marks=pytest.mark.xfail(strict=True, reason=CTC_RANDOMISED)),
    pytest.param(Stage("dare", "assay set up of enrolled", 364, 508, "assay_ready", "registered"),
                 id="dare-assay"),
]


@pytest.mark.parametrize("stage", STAGES)
def test_published_stage_within_the_simulated_range(stage):
    p, mcse = stage.simulated()
    observed = stage.events / stage.n
    half = stage.half_width(p, mcse)
    assert abs(observed - p) <= half, (
        f"{stage.trial}, {stage.name}: published {stage.events}/{stage.n} = {observed:.3f}, "
        f"simulated {p:.3f} (95% range {max(p - half, 0):.3f}-{min(p + half, 1):.3f})")


def test_published_dare_enrolled_count_within_the_poisson_range():
    """DARE's accrual is derived from its 508 enrolled over 25 months: the
    simulated registrations must then be Poisson around 508 (a consistency
    check of the prescreen counts, not an independent validation)."""
    registered = np.asarray(run("dare").table["registered"], dtype=float)
    mean = registered.mean()
    assert abs(508 - mean) <= 1.96 * math.sqrt(mean) + 1.96 * registered.std(ddof=1) / math.sqrt(len(registered))


def test_published_scenarios_cap_the_screened_at_the_published_counts():
    """The published denominators are inputs (max_screened), so every
    replicate screens exactly that many: the shares above are per published
    cohort, not per an arbitrary simulated one."""
    for trial, n in (("zest", 1901), ("ctrak_tn", 161), ("treat_ctc", 1317)):
        screened = np.asarray(run(trial).table["screened"])
        assert (screened == n).all(), (trial, np.unique(screened))


def test_published_ctrak_allocation_is_two_to_one():
    """c-TRAK TN allocated 2:1: the simulated arms keep the ratio (a check
    that the scenario says what the trial did)."""
    t = run("ctrak_tn").table
    share = float(np.sum(t["treatment_randomized"]) / np.sum(t["randomized"]))
    n = float(np.sum(t["randomized"]))
    assert abs(share - 2 / 3) <= 4 * math.sqrt(2 / 9 / n)
