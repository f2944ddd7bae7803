"""The arm effect in the lead_time model: the hazard ratio acts on each
patient's own progression from MRD to a visible metastasis.

Before this definition, the effect multiplied the stratum's population
recurrence hazard from the effect's start; among patients whose MRD was
already present (the ones a screening trial randomises) that is a change of
time scale, and an input hazard ratio of 0.7 showed as about 0.60 in the
trial (0.58 with the ctDNA reference scenario's lead time, Weibull shape 1.4).
"""

from __future__ import annotations

import math

import numpy as np

from trialsim import load_scenario, simulate
from trialsim.cohort import N_UNIFORMS, PopulationModel, draw_survivors
from trialsim.intervention import ArmModel, apply_arm
from trialsim.scenario import Scenario

CTDNA = "scenarios/ctdna_er_positive.yaml"


def _scenario(shape: float, hazard_ratio: float = 0.7, **trial) -> Scenario:
    d = load_scenario(CTDNA).to_dict()
    d["arms"]["treatment"].update(eradication=0.0, hazard_ratio=hazard_ratio, delay=0.0)
    d["screening"]["test"]["specificity"] = 1.0          # every randomised patient has MRD
    d["mrd"]["lead_time"] = {"weibull": {"median": 10.5, "shape": shape}}
    d["trial"].update(trial)
    return Scenario.from_dict(d)


def test_theory_each_patient_progression_hazard_is_multiplied():
    """Exact, per patient: with c the imaging lead and a the MRD's age when the
    effect starts, the treated patient's survival beyond a + c is the untreated
    one to the power hazard_ratio, and the same uniform draw is mapped:
    (S_L(L') / S_L(a + c)) ** hazard_ratio = S_L(L) / S_L(a + c)."""
    sc = _scenario(1.4)
    pop = PopulationModel.from_scenario(sc)
    s = draw_survivors(pop, np.random.default_rng(20261203).random((200_000, N_UNIFORMS)))
    t0 = 24.0
    c = sc.screening.staging.imaging_lead
    present = (s.mrd_start <= t0) & (t0 < s.t_rec - c) & np.isfinite(s.t_rec)
    assert present.sum() > 500
    idx = np.flatnonzero(present)
    sub = s.take(idx)
    hr = 0.7
    out = apply_arm(pop, sub, np.full(idx.size, t0), ArmModel("treatment", 1.0, 0.0, hr, 0.0),
                    np.ones(idx.size), imaging_lead=c)
    lead_curve = pop.strata[0].mrd.lead_time
    shown = t0 - sub.mrd_start + c
    before = lead_curve.survival(sub.t_rec - sub.mrd_start) / lead_curve.survival(shown)
    after = lead_curve.survival(out.t_rec - sub.mrd_start) / lead_curve.survival(shown)
    np.testing.assert_allclose(after ** hr, before, rtol=1e-9, atol=1e-12)
    assert np.all(out.t_rec > sub.t_rec)                # a hazard ratio below 1 only delays
    np.testing.assert_array_equal(out.mrd_start, sub.mrd_start)   # the MRD started when it started


def test_theory_trial_sees_the_input_hazard_ratio_with_an_exponential_lead_time():
    """With an exponential lead time the effect is proportional on the trial's
    time scale too: the mean log hazard-ratio estimate over simulated trials is
    log(0.7) within four Monte Carlo standard errors (the old definition gave 0.60)."""
    result = simulate(_scenario(1.0, enrollment=600), replicates=200, seed=3, workers=1)
    log_hr = np.log(result.to_frame()["hazard_ratio_estimate"].to_numpy())
    mean, se = log_hr.mean(), log_hr.std(ddof=1) / math.sqrt(log_hr.size)
    assert abs(mean - math.log(0.7)) < 4 * se, (math.exp(mean), se)
    assert abs(mean - math.log(0.60)) > 4 * se          # the old definition is excluded


def test_theory_model_hazard_ratio_of_a_conventional_design_is_the_input():
    """Proportional hazards, every patient in both arms: the model's hazard
    ratio is the input 0.7 (mean log within four Monte Carlo SE), and it
    varies far less from trial to trial than the trial's own estimate."""
    result = simulate(load_scenario("scenarios/conventional_logrank.yaml"), replicates=200, seed=5, workers=1)
    f = result.to_frame()
    log_ahr = np.log(f["average_hazard_ratio"].to_numpy())
    se = log_ahr.std(ddof=1) / math.sqrt(log_ahr.size)
    assert abs(log_ahr.mean() - math.log(0.7)) < 4 * se, (math.exp(log_ahr.mean()), se)
    assert log_ahr.std() < 0.8 * np.log(f["hazard_ratio_estimate"]).std()
    s = result.summary()
    assert s["average_hazard_ratio_mrd"] is None and s["effect_diluted_share"] is None


def test_theory_no_effect_gives_a_model_hazard_ratio_of_one_and_true_positives_alone_dilute_nothing():
    null = _scenario(1.4, hazard_ratio=1.0, enrollment=60, analysis={"events": 30, "months": 24})
    s = simulate(null, replicates=20, seed=2, workers=1).summary()
    assert s["average_hazard_ratio"] == 1.0
    # specificity 1: every randomised patient is truly MRD-positive, so nothing dilutes the effect
    f = simulate(_scenario(1.4, enrollment=60, analysis={"events": 30, "months": 24}), replicates=20, seed=2, workers=1).to_frame()
    np.testing.assert_array_equal(f["average_hazard_ratio"], f["average_hazard_ratio_mrd"])
