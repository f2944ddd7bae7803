"""Theory tier of the trial after randomisation (trialsim/followup.py):
interim looks, test choice, the MRD-clearance endpoint (closed forms, 4 Monte Carlo SE)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.conftest import CONVENTIONAL, write
from tests.support.montecarlo import within
from trialsim import load_scenario, simulate
from trialsim.screening import positive_predictive_value

CLEARANCE = """\
name: clearance
accrual: {rate: 400}
population:
  strata: [{name: all, share: 1, time_since_diagnosis: 24, recurrence: {exponential: {rate: 0.00001}}}]
mrd: {model: prevalence, prevalence: 0.3, hazard_ratio: 2.0}
screening:
  test: {sensitivity: 0.85, specificity: 0.97}
  visits: {every: 12, count: 1}
arms:
  control: {}
  treatment: {eradication: ERAD}
trial:
  enrollment: 400
  endpoint: [mrd_clearance, drfs]
  clearance: {at: 6, alpha: 0.025}
  analysis: {months: 7}
"""


@pytest.mark.parametrize("erad", [0.0, 0.5])
def test_theory_clearance_shares_match_closed_form(tmp_path, erad):
    """Randomised test-positives are truly positive with probability PPV; MRD stays
    (no transitions, recurrence negligible within 6 months) unless eradicated.
    Measured negative: PPV((1-e)(1-Se) + e Sp) + (1-PPV) Sp."""
    sc = load_scenario(write(tmp_path, CLEARANCE.replace("ERAD", str(erad))))
    r = simulate(sc, replicates=60, seed=31, workers=2)
    t = r.table
    ppv = positive_predictive_value(0.3, 0.85, 0.97)
    se, sp = 0.85, 0.97
    ctrl = ppv * (1 - se) + (1 - ppv) * sp
    trt = ppv * ((1 - erad) * (1 - se) + erad * sp) + (1 - ppv) * sp
    n_arm = t["clearance_measured"].sum() / 2
    within(np.nanmean(t["clearance_share_control"]), ctrl, math.sqrt(ctrl * (1 - ctrl) / n_arm))
    within(np.nanmean(t["clearance_share_treatment"]), trt, math.sqrt(trt * (1 - trt) / n_arm))
    assert np.array_equal(t["rejected"], t["clearance_rejected"])   # the first endpoint is primary
    assert "drfs_rejected" in t


def test_theory_clearance_type_one_error_is_at_most_alpha(tmp_path):
    """Fisher's exact test is conservative: rejection rate <= alpha (+ 4 SE)."""
    sc = load_scenario(write(tmp_path, CLEARANCE.replace("ERAD", "0.0")))
    n = 1000
    r = simulate(sc, replicates=n, seed=32, workers=2)
    assert r.table["clearance_rejected"].mean() <= 0.025 + 4 * math.sqrt(0.025 * 0.975 / n)


def test_theory_group_sequential_type_one_error(tmp_path):
    text = CONVENTIONAL.replace("hazard_ratio: 0.7", "hazard_ratio: 1.0").replace(
        "sided: 1}", "sided: 1, looks: [0.33, 0.67], spending: obrien_fleming}")
    n = 4000
    r = simulate(load_scenario(write(tmp_path, text)), replicates=n, seed=33, workers=2)
    within(r.power, 0.025, math.sqrt(0.025 * 0.975 / n))


def test_theory_group_sequential_rejection_by_look_matches_exit_probabilities(tmp_path):
    """Rejection probability at each look against the canonical joint
    distribution (design.exit_probabilities) with Schoenfeld's drift
    sqrt(D)/2 |log HR| (D = 247 events, 1:1)."""
    from trialsim.design import boundaries, exit_probabilities

    text = CONVENTIONAL.replace("sided: 1}", "sided: 1, looks: [0.5], spending: pocock}")
    n = 4000
    r = simulate(load_scenario(write(tmp_path, text)), replicates=n, seed=34, workers=2)
    b = boundaries([124 / 247, 1.0], alpha=0.025, sided=1, spending="pocock")   # the look is at the 124th event
    drift = math.sqrt(247) / 2 * abs(math.log(0.7))
    ex = exit_probabilities(b, drift)
    by_look = np.asarray(getattr(ex, "efficacy", ex), dtype=float)
    t = r.table
    for j, p in enumerate(by_look[:2], start=1):
        share = np.mean(t["rejected"] & (t["stopped_at_look"] == j))
        within(share, p, math.sqrt(p * (1 - p) / n))
    looks = r.looks
    assert set(np.unique(looks["look"])) == {1, 2}
    first = looks["look"] == 1
    assert np.all(np.abs(looks["events"][first] - 124) <= 1)   # ceil(0.5 * 247)


@pytest.mark.parametrize("test,sided,alpha", [("fh(0,1)", 1, 0.025), ("cox", 1, 0.025), ("rmst(30)", 1, 0.025),
                                               ("maxcombo", 1, 0.025), ("maxcombo", 2, 0.05)])
def test_theory_other_tests_hold_type_one_error(tmp_path, test, sided, alpha):
    text = CONVENTIONAL.replace("hazard_ratio: 0.7", "hazard_ratio: 1.0").replace(
        "alpha: 0.025, sided: 1}", f'alpha: {alpha}, sided: {sided}, test: "{test}"}}')
    n = 2000
    r = simulate(load_scenario(write(tmp_path, text)), replicates=n, seed=35, workers=2)
    within(r.power, alpha, math.sqrt(alpha * (1 - alpha) / n))


def _three_arm_null(multiplicity: str):
    from trialsim.scenario import Scenario

    return Scenario.from_dict({
        "name": "three arms, no effect", "accrual": {"rate": 30},
        "population": {"strata": [{"name": "all", "share": 1, "recurrence": {"exponential": {"median": 24}}}]},
        "arms": {"control": {"allocation": 1}, "a": {"allocation": 1}, "b": {"allocation": 1}},
        "trial": {"enrollment": 300, "analysis": {"events": 150, "alpha": 0.025, "multiplicity": multiplicity}}})


def test_theory_familywise_error_of_two_comparisons_with_one_control():
    """Global null, two treatment arms against one control (correlation 1/2):
    Dunnett's family-wise error is alpha; unadjusted it is
    P(max(Z1, Z2) >= z_alpha) = 1 - Phi2(z, z; 1/2) (0.0455 at 0.025); Holm and
    Bonferroni reject at least one in exactly the same trials (the smallest
    p-value at alpha / 2), at most alpha. Within four Monte Carlo SE; the same
    seed for every adjustment, so the trials are the same."""
    from scipy.stats import multivariate_normal, norm

    n, seed = 3000, 17
    runs = {m: simulate(_three_arm_null(m), replicates=n, seed=seed, workers=1) for m in
            ("dunnett", "holm", "bonferroni", "none")}
    fwer = {m: r.summary()["familywise_error"] for m, r in runs.items()}
    zc = norm.isf(0.025)
    unadjusted = 1 - multivariate_normal.cdf([zc, zc], mean=[0, 0], cov=[[1, 0.5], [0.5, 1]])
    within(fwer["dunnett"], 0.025, math.sqrt(0.025 * 0.975 / n))
    within(fwer["none"], unadjusted, math.sqrt(unadjusted * (1 - unadjusted) / n))
    np.testing.assert_array_equal(runs["holm"].table["rejected"], runs["bonferroni"].table["rejected"])
    assert fwer["bonferroni"] <= 0.025 + 4 * math.sqrt(0.025 * 0.975 / n)
    assert fwer["bonferroni"] <= fwer["dunnett"] <= fwer["none"]
    s = runs["dunnett"].summary()
    assert [c["arm"] for c in s["comparisons"]] == ["a", "b"] and s["multiplicity"] == "dunnett"
    for c in s["comparisons"]:       # each comparison alone: rejected in about alpha / 2 of the trials or less
        assert c["power"] <= 0.025
