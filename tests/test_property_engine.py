"""Property tier (hypothesis): invariants of any simulated trial, over
randomly drawn designs. Each example runs a few replicates with a seeded run."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialsim import Scenario
from trialsim.engine import patient_table, simulate


@st.composite
def designs(draw):
    enrollment = draw(st.integers(4, 60))
    screening = draw(st.booleans())
    sc = {
        "accrual": {"rate": draw(st.floats(2, 50))},
        "population": {
            "strata": [{"name": "a", "share": 1,
                        "time_since_diagnosis": draw(st.sampled_from([0, 24, {"uniform": [6, 60]}])),
                        "recurrence": draw(st.sampled_from([
                            {"exponential": {"median": 30}},
                            {"weibull": {"median": 40, "shape": 0.8}},
                            {"cure": {"fraction": 0.5, "curve": {"exponential": {"rate": 0.05}}}},
                        ]))}],
            "other_cause_death": {"exponential": {"rate": draw(st.floats(1e-4, 0.01))}},
        },
        "arms": {"control": {"allocation": draw(st.integers(1, 2))},
                 "treatment": {"allocation": draw(st.integers(1, 3)),
                               "eradication": draw(st.floats(0, 1)),
                               "hazard_ratio": draw(st.floats(0.3, 1.5)),
                               "delay": draw(st.floats(0, 6))}},
        "trial": {"enrollment": enrollment,
                  "death": draw(st.sampled_from(["censor", "event"])),
                  "dropout": {"annual": draw(st.floats(0, 0.3))},
                  "analysis": {"events": draw(st.integers(1, enrollment)),
                               "months": draw(st.floats(1, 60)),
                               "sided": draw(st.sampled_from([1, 2]))}},
    }
    if screening:
        sc["mrd"] = draw(st.sampled_from([
            {"model": "lead_time", "lead_time": {"weibull": {"median": 10, "shape": 1.5}}, "dormant_share": 0.05},
            {"model": "prevalence", "prevalence": 0.3, "hazard_ratio": 2.0, "clearance_rate": 0.02, "onset_rate": 0.002},
        ]))
        sc["screening"] = {
            "test": {"sensitivity": draw(st.floats(0.5, 1)), "specificity": draw(st.floats(0.8, 1)),
                     "failure": draw(st.floats(0, 0.2)), "turnaround": draw(st.floats(0, 2))},
            "visits": {"every": draw(st.sampled_from([1.5, 3, 6])), "count": draw(st.integers(1, 4))},
            "staging": {"imaging_lead": draw(st.floats(0, 4))},
            "consent": draw(st.floats(0.5, 1)),
            "max_months": draw(st.floats(6, 36)),
        }
    return Scenario.from_dict(sc)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sc=designs(), seed=st.integers(0, 2**32))
def test_property_trial_invariants(sc, seed):
    t = simulate(sc, replicates=3, seed=seed, workers=1).table
    assert np.all(t["events"] <= t["randomized"])
    assert np.all(t["randomized"] <= sc.trial.enrollment)
    assert np.all(t["events_control"] + t["events_treatment"] == t["events"])
    assert np.all(t["truly_mrd_positive"] <= t["randomized"])
    if sc.screening is not None:
        assert np.all(t["randomized"] <= t["consented"])
        assert np.all(t["test_positive"] <= t["tested"])
    pt = patient_table(sc, seed=seed, replicate=1, replicates=3)
    ev = pt["event"]
    # every event after its randomisation, and at or before the analysis
    assert np.all(pt["time"][ev] >= 0)
    assert np.all(pt["randomized_month"][ev] + pt["time"][ev] <= pt["analysis_month"][ev] + 1e-9)
    assert ev.sum() == t["events"][1]


@settings(max_examples=15, deadline=None)
@given(sc=designs(), seed=st.integers(0, 2**32))
def test_property_swapping_arm_labels_flips_the_statistic(sc, seed):
    """Relabelling which arm counts as treatment in the analysis flips z's sign
    and inverts the hazard-ratio estimate, patient for patient."""
    from trialsim.analysis import logrank

    pt = patient_table(sc, seed=seed, replicate=0, replicates=1)
    ok = pt["in_analysis"]
    if ok.sum() < 2:
        return
    time, event, group = pt["time"][ok], pt["event"][ok], pt["arm"][ok] == "treatment"
    a = logrank(time, event, group)
    b = logrank(time, event, ~group)
    np.testing.assert_allclose(a.z, -b.z, atol=1e-12)
    if event.any() and a.variance[0] > 0:
        np.testing.assert_allclose(a.hazard_ratio * b.hazard_ratio, 1.0, rtol=1e-10)
