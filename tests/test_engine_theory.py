"""Theory tier of simulate(): whole simulated trials against closed forms,
with tolerances of four Monte Carlo standard errors (|estimate - truth| <=
4 SE), never pinned numbers. The long forms, with more replicates, are
marked slow (``make verify``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from tests.conftest import CONVENTIONAL, CTDNA, SCENARIOS, SCREEN_ONCE, write
from tests.support.montecarlo import within
from trialsim import Scenario, load_scenario, simulate
from trialsim.design import schoenfeld_power
from trialsim.screening import expected_yield, positive_predictive_value


def test_theory_type_one_error_conventional(tmp_path):
    sc = load_scenario(write(tmp_path, CONVENTIONAL.replace("hazard_ratio: 0.7", "hazard_ratio: 1.0")))
    n = 4000
    r = simulate(sc, replicates=n, seed=101, workers=2)
    within(r.power, 0.025, math.sqrt(0.025 * 0.975 / n))
    z = r.table["z"]
    within(z.mean(), 0.0, 1 / math.sqrt(n))
    within(z.std(), 1.0, 1 / math.sqrt(2 * n))


def test_theory_type_one_error_two_sided(tmp_path):
    text = CONVENTIONAL.replace("hazard_ratio: 0.7", "hazard_ratio: 1.0").replace("sided: 1", "sided: 2")
    text = text.replace("alpha: 0.025", "alpha: 0.05")
    n = 4000
    r = simulate(load_scenario(write(tmp_path, text)), replicates=n, seed=102, workers=2)
    within(r.power, 0.05, math.sqrt(0.05 * 0.95 / n))


def test_theory_type_one_error_with_mrd_screening(tmp_path):
    """No effect in either arm: screening, staging and enrolment must not bias the test."""
    text = CTDNA.replace("eradication: 0.3, hazard_ratio: 0.7", "eradication: 0.0, hazard_ratio: 1.0")
    n = 1500
    r = simulate(load_scenario(write(tmp_path, text)), replicates=n, seed=103, workers=2)
    within(r.power, 0.025, math.sqrt(0.025 * 0.975 / n))


def test_theory_power_against_schoenfeld(conventional):
    n = 4000
    r = simulate(conventional, replicates=n, seed=104, workers=2)
    truth = schoenfeld_power(events=247, hazard_ratio=0.7, alpha=0.025)
    within(r.power, truth, math.sqrt(truth * (1 - truth) / n))
    # the log-rank estimate of the hazard ratio is centred on the truth
    log_hr = np.log(r.table["hazard_ratio_estimate"])
    within(log_hr.mean(), math.log(0.7), log_hr.std() / math.sqrt(n) + 0.005)


def test_theory_screening_yield_and_ppv_prevalence_model(tmp_path):
    """One test at entry: P(result) = 1 - failure, P(positive) = (1-f)(p Se + (1-p)(1-Sp)),
    and the share of positives truly MRD-positive is the PPV p Se / (p Se + (1-p)(1-Sp))."""
    sc = load_scenario(write(tmp_path, SCREEN_ONCE))
    t = simulate(sc, replicates=150, seed=105, workers=2).table
    screened = t["screened"].sum()
    assert np.all(t["screened"] == 3000)
    within(t["tested"].sum() / screened, 0.9, math.sqrt(0.9 * 0.1 / screened))
    y = expected_yield(0.2, 0.8, 0.95, 0.1)
    within(t["test_positive"].sum() / screened, y, math.sqrt(y * (1 - y) / screened))
    # no staging lead, consent 1, no turnaround: every positive is randomised
    np.testing.assert_array_equal(t["randomized"], t["test_positive"])
    ppv = positive_predictive_value(0.2, 0.8, 0.95)
    pos = t["randomized"].sum()
    within(t["truly_mrd_positive"].sum() / pos, ppv, math.sqrt(ppv * (1 - ppv) / pos))


def test_theory_lead_time_prevalence_closed_form(tmp_path):
    """lead_time model, exponential recurrence (rate λ from entry), fixed lead L,
    no other-cause death: MRD is detectable at entry with p = 1 - exp(-λ L)."""
    lam, lead = 0.01, 10.0
    text = SCREEN_ONCE.replace("mrd: {model: prevalence, prevalence: 0.2, hazard_ratio: 2.0}",
                               f"mrd: {{model: lead_time, lead_time: {lead}}}")
    sc = load_scenario(write(tmp_path, text))
    t = simulate(sc, replicates=150, seed=106, workers=2).table
    p = 1 - math.exp(-lam * lead)
    screened = t["screened"].sum()
    y = expected_yield(p, 0.8, 0.95, 0.1)
    within(t["test_positive"].sum() / screened, y, math.sqrt(y * (1 - y) / screened))
    ppv = positive_predictive_value(p, 0.8, 0.95)
    pos = t["randomized"].sum()
    within(t["truly_mrd_positive"].sum() / pos, ppv, math.sqrt(ppv * (1 - ppv) / pos))


def test_theory_staging_excludes_visible_recurrences(tmp_path):
    """Perfect test, lead time 6 months, imaging shows recurrence 4 months before
    it is overt: a true positive at entry is eligible iff T_R > 4 given T_R <= 6.
    With exponential T_R (rate λ), P(eligible | detectable) =
    (e^{-4λ} - e^{-6λ}) / (1 - e^{-6λ})."""
    lam = 0.05
    text = (SCREEN_ONCE.replace("mrd: {model: prevalence, prevalence: 0.2, hazard_ratio: 2.0}",
                                "mrd: {model: lead_time, lead_time: 6}")
            .replace("{rate: 0.01}", f"{{rate: {lam}}}")
            .replace("sensitivity: 0.8, specificity: 0.95, failure: 0.1", "sensitivity: 1, specificity: 1")
            .replace("visits: {every: 12, count: 1}", "visits: {every: 12, count: 1}\n  staging: {imaging_lead: 4}"))
    t = simulate(load_scenario(write(tmp_path, text)), replicates=100, seed=107, workers=2).table
    truth = (math.exp(-4 * lam) - math.exp(-6 * lam)) / (1 - math.exp(-6 * lam))
    pos = t["test_positive"].sum()
    within(t["eligible"].sum() / pos, truth, math.sqrt(truth * (1 - truth) / pos))


def test_theory_calibrated_prevalence_curves_reproduce_the_marginal():
    """Prevalence model: the MRD-positive/negative mixture at entry reproduces the
    stratum's curve conditional on time since diagnosis (KS, p > 0.001), and the
    MRD-positive have survival S_-(t)^HR."""
    from trialsim.cohort import N_UNIFORMS, Baseline, PopulationModel, draw_survivors
    from trialsim.scenario import Scenario

    sc = Scenario.from_dict({
        "accrual": {"rate": 1},
        "population": {"strata": [{"name": "a", "share": 1, "time_since_diagnosis": 30,
                                   "recurrence": {"weibull": {"median": 80, "shape": 1.3}}}]},
        "mrd": {"model": "prevalence", "prevalence": 0.15, "hazard_ratio": 3.0},
        "arms": {"c": {}, "t": {}}, "trial": {"enrollment": 10, "analysis": {"months": 1}},
    })
    pop = PopulationModel.from_scenario(sc)
    rng = np.random.default_rng(108)
    s = draw_survivors(pop, rng.random((40000, N_UNIFORMS)))
    curve = pop.strata[0].recurrence
    s_tsd = curve.survival(30.0)
    cond_cdf = lambda t: 1 - curve.survival(30.0 + np.asarray(t)) / s_tsd
    assert stats.kstest(s.t_rec, cond_cdf).pvalue > 0.001
    pos = s.mrd_start == 0
    within(pos.mean(), 0.15, math.sqrt(0.15 * 0.85 / pos.size))
    base = Baseline(pop.strata[0])
    t = np.array([5.0, 20.0, 60.0, 150.0])
    u = np.exp(-base.B(np.full(4, 30.0), t))
    np.testing.assert_allclose(0.15 * u ** 3 + 0.85 * u, curve.survival(30 + t) / s_tsd, rtol=1e-9)
    pos_cdf = lambda x: 1 - np.exp(-3 * base.B(np.full(np.size(x), 30.0), np.asarray(x)))
    assert stats.kstest(s.t_rec[pos], pos_cdf).pvalue > 0.001


# --------------------------------------------------------------------------
# Long forms (slow): more replicates, every reference scenario.


def null_version(path):
    sc = load_scenario(path)
    arms = {name: arm.model_copy(update={"eradication": 0.0, "hazard_ratio": 1.0}) for name, arm in sc.arms.items()}
    return sc.model_copy(update={"arms": arms})


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ctdna_er_positive", "dtc_bone_marrow", "zest_like_tnbc", "conventional_logrank"])
def test_theory_type_one_error_of_reference_scenarios(name):
    sc = null_version(SCENARIOS / f"{name}.yaml")
    n = 4000
    r = simulate(sc, replicates=n, seed=2026_11_22, workers=2)
    a = sc.trial.analysis.alpha
    assert abs(r.power - a) <= 4 * math.sqrt(a * (1 - a) / n), r.power


@pytest.mark.slow
@pytest.mark.parametrize("hr,events", [(0.8, 631), (0.75, 380), (0.65, 170)])
def test_theory_schoenfeld_grid(hr, events):
    """1:1 designs with moderate effects, where Schoenfeld's approximation is accurate."""
    sc = Scenario.from_dict({
        "accrual": {"rate": 40}, "arms": {"control": {}, "treatment": {"hazard_ratio": hr}},
        "population": {"strata": [{"name": "all", "share": 1, "recurrence": {"exponential": {"median": 18}}}]},
        "trial": {"enrollment": int(events * 1.6), "analysis": {"events": events}},
    })
    n = 6000
    r = simulate(sc, replicates=n, seed=5, workers=2)
    truth = schoenfeld_power(events=events, hazard_ratio=hr)
    assert abs(r.power - truth) <= 4 * math.sqrt(truth * (1 - truth) / n), (r.power, truth)
