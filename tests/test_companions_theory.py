"""Theory tier: trialsim.companions against the simulation, where the closed form holds exactly."""

from __future__ import annotations

import math

from tests.conftest import CTDNA, SCREEN_ONCE, write
from tests.support.montecarlo import within
from trialsim import load_scenario, simulate


def test_theory_analytic_funnel_beside_the_simulation(tmp_path):
    """`trialsim run`'s closed-form funnel (one visit, fixed MRD status) agrees
    with the simulated funnel within 4 SE; with repeated lead-time visits it is
    withheld, with the reason."""
    sc = load_scenario(write(tmp_path, SCREEN_ONCE))
    r = simulate(sc, replicates=60, seed=109, workers=2)
    s = r.summary()
    fun = s["analytic"]["funnel"]
    n = r.table["screened"].sum()
    for key in ("test_positive", "randomized"):
        truth = fun[f"{key}_per_screened"]
        within(r.table[key].sum() / n, truth, math.sqrt(truth * (1 - truth) / n))
    assert "funnel" not in simulate(load_scenario(write(tmp_path, CTDNA, "c.yaml")), replicates=2, seed=1,
                                    workers=1).summary()["analytic"]


SCHEDULED = """\
name: scheduled funnel
accrual: {rate: 40}
population:
  strata: [{name: all, share: 1, recurrence: {exponential: {median: 1.0e7}}}]
mrd: {model: prevalence, prevalence: 0.2, hazard_ratio: 2}
screening:
  test: {sensitivity: 0.5, specificity: 1, failure: 0.1}
  visits: {schedule: [{every: 3, until: 12}, {every: 6}]}
  prescreen: {consent: 0.9, assay_setup: 0.8, setup_time: 2}
  max_months: 24
arms: {control: {}, treatment: {hazard_ratio: 0.7}}
trial: {enrollment: 5000, analysis: {events: 10}}
"""


def test_theory_funnel_of_a_schedule_after_the_setup_time():
    """Fixed MRD status, no recurrence or death during screening and a close at
    max_months in every trial: the closed-form funnel of a schedule (visits
    0, 3, 6, 9, 12, 18 after a 2-month set-up, arrivals uniform) is exact in
    expectation."""
    r = simulate(load_scenario(text=SCHEDULED), replicates=40, seed=17, workers=1)
    t = r.table
    assert (t["screening_closed_month"] == 24).all()
    fun = r.summary()["analytic"]["funnel"]
    n = t["screened"].sum()
    for key in ("tested", "test_positive"):
        truth = fun[f"{key}_per_screened"]
        within(t[key].sum() / n, truth, math.sqrt(truth * (1 - truth) / n))
    ready = t["assay_ready"].sum()
    within(n / ready, fun["screened_per_assay_ready"], math.sqrt(22 / 24 * 2 / 24 / ready))
