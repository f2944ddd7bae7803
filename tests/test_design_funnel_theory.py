"""trialsim.design.funnel: the screening funnel and lead-time staging in closed
form.

Theory tier (see docs/architecture.md, "Validation tiers"): seeded simulation
against the closed form or the null distribution, within 4 Monte Carlo
standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.support.montecarlo import within
from trialsim.design import lead_time_staging, screening_funnel


@pytest.mark.parametrize("persistence", ["stationary", "fixed"])
def test_theory_multi_visit_funnel_matches_its_assumptions_simulated(persistence):
    """Direct simulation of each approximation (a fresh MRD status per visit,
    or one status for all visits), tests until the first positive."""
    rng = np.random.default_rng(11)
    n, k, p, se, sp, f, s, c = 400_000, 4, 0.06, 0.8, 0.99, 0.1, 0.3, 0.85
    pos_any = np.zeros(n, dtype=bool)
    true_at_pos = np.zeros(n, dtype=bool)
    assays = np.zeros(n)
    status = rng.random(n) < p
    for _ in range(k):
        if persistence == "stationary":
            status = rng.random(n) < p
        testing = ~pos_any
        assays += testing
        ok = rng.random(n) >= f
        hit = testing & ok & (rng.random(n) < np.where(status, se, 1 - sp))
        true_at_pos |= hit & status
        pos_any |= hit
    eligible = pos_any & ~(true_at_pos & (rng.random(n) < s))
    randomized = eligible & (rng.random(n) < c)
    fun = screening_funnel(prevalence=p, sensitivity=se, specificity=sp, failure=f, staging_ineligible=s,
                           consent=c, visits=k, persistence=persistence)
    for est, truth in ((pos_any.mean(), fun.test_positive), (randomized.mean(), fun.randomized)):
        within(est, truth, math.sqrt(truth * (1 - truth) / n))
    within(assays.mean(), fun.assays, assays.std() / math.sqrt(n))
    share = (randomized & true_at_pos).sum() / randomized.sum()
    within(share, fun.true_positive_share, math.sqrt(share * (1 - share) / randomized.sum()))


def test_theory_lead_time_staging_matches_monte_carlo():
    from trialsim.curves import Weibull

    rng = np.random.default_rng(12)
    n, lam, mu, dormant = 2_000_000, 0.01, 0.001, 0.02
    lead = Weibull.from_median(10.5, 1.5)
    st = lead_time_staging(recurrence_rate=lam, lead_time=lead, imaging_lead=3, turnaround=0.5,
                           dormant_share=dormant, death_rate=mu)
    t_rec, t_death = rng.exponential(1 / lam, n), rng.exponential(1 / mu, n)
    never = t_rec >= t_death
    detectable = np.where(never, rng.random(n) < dormant, t_rec < lead.quantile(rng.random(n)))
    visible = detectable & ~never & (t_rec <= 3.5)
    p = detectable.mean()
    within(p, st.prevalence, math.sqrt(p * (1 - p) / n))
    share = visible.sum() / detectable.sum()
    within(share, st.staging_ineligible, math.sqrt(share * (1 - share) / detectable.sum()))


_FUNNEL_BASE = {
    "accrual": {"rate": 2000},
    "arms": {"control": {}, "treatment": {"hazard_ratio": 0.7}},
    "trial": {"enrollment": 100000, "analysis": {"months": 1}},
}


def test_theory_funnel_matches_the_simulator_lead_time_model():
    """One visit at entry, lead_time model, exponential recurrence from entry,
    other-cause death, imaging lead and turnaround: trialsim's simulator
    against lead_time_staging + screening_funnel (per survivor screened)."""
    from trialsim import Scenario, simulate
    from trialsim.curves import Weibull

    sc = Scenario.from_dict({**_FUNNEL_BASE, "name": "funnel, lead time",
        "population": {"strata": [{"name": "all", "share": 1, "recurrence": {"exponential": {"rate": 0.02}}}],
                       "other_cause_death": {"exponential": {"rate": 0.001}}},
        "mrd": {"model": "lead_time", "lead_time": {"weibull": {"median": 10.5, "shape": 1.5}}, "dormant_share": 0.02},
        "screening": {"test": {"sensitivity": 0.88, "specificity": 0.99, "failure": 0.05, "turnaround": 0.5},
                      "visits": {"every": 6, "count": 1}, "staging": {"imaging_lead": 3}, "consent": 0.8,
                      "max_screened": 20000}})
    r = simulate(sc, replicates=20, seed=5, workers=1)
    st = lead_time_staging(recurrence_rate=0.02, lead_time=Weibull.from_median(10.5, 1.5), imaging_lead=3,
                           turnaround=0.5, dormant_share=0.02, death_rate=0.001)
    f = screening_funnel(prevalence=st.prevalence, sensitivity=0.88, specificity=0.99, failure=0.05,
                         staging_ineligible=st.staging_ineligible, consent=0.8)
    screened = np.asarray(r.table["screened"], dtype=float)
    n = screened.sum()
    for col, truth in (("test_positive", f.test_positive), ("eligible", f.eligible), ("randomized", f.randomized)):
        within(np.asarray(r.table[col]).sum() / n, truth, math.sqrt(truth * (1 - truth) / n))
    rnd = np.asarray(r.table["randomized"]).sum()
    share = np.asarray(r.table["truly_mrd_positive"]).sum() / rnd
    within(share, f.true_positive_share, math.sqrt(f.true_positive_share * (1 - f.true_positive_share) / rnd))


def test_theory_funnel_matches_the_simulator_fixed_status_over_visits():
    """Prevalence model without onset or clearance, recurrence negligible,
    three visits: the 'fixed' multi-visit closed form is exact."""
    from trialsim import Scenario, simulate

    sc = Scenario.from_dict({**_FUNNEL_BASE, "name": "funnel, three visits",
        "population": {"strata": [{"name": "all", "share": 1, "time_since_diagnosis": 24,
                                   "recurrence": {"exponential": {"rate": 0.00001}}}]},
        "mrd": {"model": "prevalence", "prevalence": 0.1, "hazard_ratio": 2.0},
        "screening": {"test": {"sensitivity": 0.7, "specificity": 0.97, "failure": 0.1, "turnaround": 0.5},
                      "visits": {"every": 6, "count": 3}, "consent": 0.9, "max_screened": 10000}})
    r = simulate(sc, replicates=20, seed=6, workers=1)
    f = screening_funnel(prevalence=0.1, sensitivity=0.7, specificity=0.97, failure=0.1, consent=0.9, visits=3,
                         persistence="fixed")
    screened = np.asarray(r.table["screened"], dtype=float)
    n = screened.sum()
    for col, truth in (("tested", f.tested), ("test_positive", f.test_positive), ("randomized", f.randomized)):
        within(np.asarray(r.table[col]).sum() / n, truth, math.sqrt(truth * (1 - truth) / n))
    per = np.asarray(r.table["assays"]) / screened
    within(per.mean(), f.assays, per.std(ddof=1) / math.sqrt(per.size))
