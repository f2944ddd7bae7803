"""Theory tier of trialsim.des: the pathway stages and the visits against
their closed forms, within four Monte Carlo standard errors; and the two
visit loops (the lattice of ``every`` from entry, and per-survivor
schedules) agreeing exactly where both apply."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tests.conftest import SCENARIOS
from tests.support.montecarlo import within
from trialsim import load_scenario, simulate

PATHWAY = """\
name: pathway theory
simulation: {seed: 8, replicates: 40}
accrual: {rate: 30}
population:
  strata: [{name: all, share: 1, recurrence: {exponential: {median: 200}}}]
mrd: {model: prevalence, prevalence: 0.15, hazard_ratio: 2}
screening:
  test: {sensitivity: 1, specificity: 1}
  visits: VISITS
PRESCREEN
  max_months: 24
arms: {control: {}, treatment: {hazard_ratio: 0.7}}
trial: {enrollment: 2000, analysis: {events: 20}}
"""


def run(visits="{every: 3, count: 4}", prescreen="", replicates=None, workers=1, **kw):
    text = PATHWAY.replace("VISITS", visits).replace("PRESCREEN", prescreen)
    return simulate(load_scenario(text=text), replicates=replicates, workers=workers, **kw)


def test_registration_and_assay_setup_shares_are_their_probabilities():
    p, q = 0.7, 0.6
    r = run(prescreen=f"  prescreen: {{consent: {p}, assay_setup: {q}, setup_time: {{uniform: [0.5, 1.5]}}}}")
    t = r.table
    approached, registered, ready = (int(t[k].sum()) for k in ("approached", "registered", "assay_ready"))
    within(registered / approached, p, math.sqrt(p * (1 - p) / approached))
    within(ready / registered, q, math.sqrt(q * (1 - q) / registered))
    fun = r.summary()["analytic"]["funnel"]
    assert (fun["registered_per_approached"], fun["assay_ready_per_registered"]) == (p, q)


def test_fixed_prevalence_and_a_perfect_test_find_every_positive_at_the_first_visit():
    r = run(visits="{schedule: [{every: 3, until: 12}, {every: 6}]}")
    visits = r.summary()["by_visit"]
    assert len(visits) >= 5
    assert visits[0]["positive"] > 0
    assert all(v["positive"] == 0 for v in visits[1:])
    # the first visit is at entry, where MRD is present with the prevalence
    n = int(r.by_visit["tests"][:, 0].sum())
    within(visits[0]["positive_share"], 0.15, math.sqrt(0.15 * 0.85 / n))


def test_results_do_not_depend_on_workers_or_chunks():
    kw = dict(visits="{schedule: [{every: 2, until: 6}, {every: 5}], anchor: diagnosis}",
              prescreen="  prescreen: {consent: 0.9, assay_setup: 0.8, setup_time: {exponential: {median: 1}}}",
              replicates=12)
    one = run(workers=1, **kw)
    two = run(workers=2, chunk_size=5, **kw)
    assert one.columns() == two.columns()
    for k in one.table:
        assert np.array_equal(one.table[k], two.table[k], equal_nan=True), k
    for k in ("tests", "positive"):
        assert np.array_equal(one.by_visit[k], two.by_visit[k])
    s1, s2 = one.summary(), two.summary()
    for key in ("by_stratum", "by_visit", "approached", "metastatic_at_staging_share"):
        assert s1[key] == s2[key]


@pytest.mark.parametrize("name", ["ctdna_er_positive", "dtc_bone_marrow"])
def test_a_one_piece_schedule_gives_the_every_form_exactly(name):
    """The per-survivor visit loop reproduces the lattice of `every` from entry
    draw for draw, so a schedule changes results only through its times."""
    sc = load_scenario(SCENARIOS / f"{name}.yaml")
    data = sc.to_dict()
    visits = data["screening"]["visits"]
    data["screening"]["visits"] = {"schedule": [{"every": visits["every"]}],
                                   **({"count": visits["count"]} if "count" in visits else {})}
    other = load_scenario(data)
    a = simulate(sc, replicates=15, seed=3, workers=1)
    b = simulate(other, replicates=15, seed=3, workers=1)
    for k in a.table:
        assert np.array_equal(a.table[k], b.table[k], equal_nan=True), k
    assert a.summary()["by_visit"] == b.summary()["by_visit"]


def _serial(rho: float, *, mode: str = "surveillance", confirm: int | None = None, count: int = 2):
    """A fixed MRD status (prevalence 0.2, no onset or clearance), recurrence
    so rare that nobody leaves, two visits three months apart, nearly nobody
    randomised (so nobody leaves surveillance)."""
    from trialsim.scenario import Scenario

    screening = {"test": {"sensitivity": 0.7, "specificity": 0.9}, "visits": {"every": 3, "count": count},
                 "mode": mode, "consent": 0.001, "max_screened": 5000, "staging": {"imaging_lead": 0}}
    if confirm is not None:
        screening["confirm"] = {"tests": confirm}
    return Scenario.from_dict({
        "name": "serial samples", "accrual": {"rate": 1000},
        "population": {"strata": [{"name": "all", "share": 1, "recurrence": {"exponential": {"median": 1e5}}}]},
        "mrd": {"model": "prevalence", "prevalence": 0.2, "hazard_ratio": 1.0, "shedding": rho},
        "screening": screening, "arms": {"control": {}, "treatment": {"hazard_ratio": 0.7}},
        "trial": {"enrollment": 1000, "analysis": {"months": 12}}})


@pytest.mark.parametrize("rho", [0.0, 0.5])
def test_theory_serial_agreement_of_surveillance_samples(rho):
    """Two samples of each survivor: they agree with probability
    p (1 - 2 Se (1 - Se)(1 - rho)) + (1 - p)(1 - 2 f (1 - f)(1 - rho)), f = 1 - Sp
    (0.772 without shedding, 0.886 at rho 0.5), within four Monte Carlo SE."""
    from trialsim.screening import serial_agreement_expected

    s = simulate(_serial(rho), replicates=6, seed=1, workers=1).summary()
    pairs = s["serial_pairs"]["mean"] * 6
    want = serial_agreement_expected(0.2, 0.7, 0.9, rho)
    within(s["serial_agreement"], want, math.sqrt(want * (1 - want) / pairs))
    # surveillance: the second visit is sampled whatever the first result
    assert s["by_visit"][1]["tests"] == pytest.approx(s["by_visit"][0]["tests"], rel=0.01)


def test_theory_confirmation_needs_two_consecutive_positives():
    """Enrol at the first positive, confirmed by a second: a survivor is
    confirmed with probability p Se^2 + (1 - p) f^2 over two visits; without
    shedding, the samples of one survivor are independent given her status."""
    n = 6
    s = simulate(_serial(0.0, mode="enrol_first_positive", confirm=2), replicates=n, seed=2, workers=1).summary()
    screened = s["screened"]["mean"] * n
    want = 0.2 * 0.7 ** 2 + 0.8 * 0.1 ** 2
    within(s["confirmed"]["mean"] * n / screened, want, math.sqrt(want * (1 - want) / screened))
    first = 0.2 * (1 - 0.3 ** 2) + 0.8 * (1 - 0.9 ** 2)     # at least one positive sample in two
    within(s["test_positive"]["mean"] * n / screened, first, math.sqrt(first * (1 - first) / screened))


def test_theory_no_shedding_draws_the_same_numbers():
    """rho 0 (or no shedding key) leaves every result as it was: the person stream is not drawn."""
    a = simulate(_serial(0.0), replicates=3, seed=4, workers=1).table
    sc = _serial(0.0).to_dict()
    del sc["mrd"]["shedding"]
    from trialsim.scenario import Scenario

    b = simulate(Scenario.from_dict(sc), replicates=3, seed=4, workers=1).table
    for key in ("test_positive", "serial_pairs", "serial_agreeing", "assays"):
        np.testing.assert_array_equal(a[key], b[key])


def _staged_after(population: str):
    from trialsim.scenario import Scenario

    d = load_scenario(SCENARIOS / "zest_like_tnbc.yaml").to_dict()
    d["screening"]["staging"]["order"] = "randomise_then_stage"
    d["screening"]["consent"] = 1.0
    d["trial"]["population"] = population
    d["trial"]["enrollment"] = 800          # never reached: every consenting positive is randomised
    d["trial"]["analysis"] = {"events": 20, "months": 24}
    return Scenario.from_dict(d)


def test_theory_randomise_then_stage_puts_the_metastatic_in_both_arms():
    """Allocated at the positive result and scanned after: everyone alive
    without an overt recurrence is randomised, the eligible and those found
    metastatic; the metastatic split between the arms as the allocation does
    (1:1, within four binomial SE); with trial.population: eligible they are
    randomised but not analysed, and nothing else changes."""
    n = 40
    itt = simulate(_staged_after("itt"), replicates=n, seed=3, workers=1)
    eli = simulate(_staged_after("eligible"), replicates=n, seed=3, workers=1)
    t = itt.table
    np.testing.assert_array_equal(t["randomized"], t["eligible"] + t["metastatic_randomized"])
    np.testing.assert_array_equal(t["metastatic_randomized"],
                                  t["metastatic_randomized_control"] + t["metastatic_randomized_treatment"])
    m, mt = int(t["metastatic_randomized"].sum()), int(t["metastatic_randomized_treatment"].sum())
    assert m > 500
    within(mt / m, 0.5, math.sqrt(0.25 / m))
    for key in ("randomized", "metastatic_randomized", "test_positive", "eligible"):
        np.testing.assert_array_equal(eli.table[key], t[key])
    shares = itt.summary()["metastatic_at_staging_by_arm"]
    sc = _staged_after("itt")
    assert list(shares) == list(sc.arms)
    control = m - mt
    assert shares[sc.control_arm] == control / (t["randomized"].sum() - t["treatment_randomized"].sum())
    # the eligible analysis sees only the eligible: its events come from no more patients
    patients = eli.patients_frame(0)
    analysed = patients[patients["randomized"] & patients["in_analysis"].fillna(False).astype(bool)]
    assert not analysed["metastatic_at_staging"].fillna(False).astype(bool).any()


def _imaging(staging: dict):
    from trialsim.scenario import Scenario

    d = load_scenario(SCENARIOS / "zest_like_tnbc.yaml").to_dict()
    d["screening"]["staging"] = staging
    d["trial"]["enrollment"] = 800              # never reached: screening stops at max_screened
    d["trial"]["analysis"] = {"events": 20, "months": 24}
    return Scenario.from_dict(d)


def test_theory_imaging_as_a_test_with_a_fixed_lead_is_the_step():
    """Scans that show a metastasis from exactly 8 months before recurrence
    ({fixed: 8}) are the step of imaging_lead: 8, result for result."""
    step = simulate(_imaging({"imaging_lead": 8}), replicates=5, seed=6, workers=1).table
    scans = simulate(_imaging({"imaging": {"sensitivity": {"fixed": 8}}}), replicates=5, seed=6, workers=1).table
    for key in ("test_positive", "metastatic_at_staging", "eligible", "randomized", "events"):
        np.testing.assert_array_equal(scans[key], step[key])


def test_theory_imaging_leads_that_are_longer_find_more_metastases():
    """The same survivors and draws (common random numbers): each person's
    imaging lead is a quantile of her own uniform, so a longer median lead
    shows a superset of metastases, trial by trial."""
    runs = [simulate(_imaging({"imaging": {"sensitivity": {"exponential": {"median": m}}}}), replicates=8, seed=7,
                     workers=1).table for m in (2, 6, 18)]
    for a, b in zip(runs, runs[1:]):
        np.testing.assert_array_equal(a["test_positive"], b["test_positive"])
        assert np.all(a["metastatic_at_staging"] <= b["metastatic_at_staging"])
    assert runs[0]["metastatic_at_staging"].sum() < runs[2]["metastatic_at_staging"].sum()


def test_theory_a_second_assay_confirms_with_both_tests_probabilities():
    """One visit, a fixed MRD status: a survivor is confirmed when the first
    test and a second, different assay on a new sample are both positive:
    p Se Se2 + (1 - p) f f2 (f = 1 - Sp), within four Monte Carlo SE; the
    second assays are counted and paid for."""
    from trialsim.scenario import Scenario

    d = _serial(0.0, mode="enrol_first_positive", count=1).to_dict()
    d["screening"]["confirm"] = {"test": {"name": "second assay", "sensitivity": 0.9, "specificity": 0.95,
                                          "cost": 100}}
    d["screening"]["test"]["cost"] = 10
    n = 6
    r = simulate(Scenario.from_dict(d), replicates=n, seed=9, workers=1)
    s, t = r.summary(), r.table
    screened = s["screened"]["mean"] * n
    want = 0.2 * 0.7 * 0.9 + 0.8 * 0.1 * 0.05
    within(s["confirmed"]["mean"] * n / screened, want, math.sqrt(want * (1 - want) / screened))
    np.testing.assert_array_equal(t["confirm_assays"], t["test_positive"])     # one second assay per first positive
    np.testing.assert_allclose(t["assay_cost"], 10 * t["assays"] + 100 * t["confirm_assays"])
