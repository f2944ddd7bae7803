"""Unit tier of the trial after randomisation (trialsim/followup.py):
interim looks, test choice, the MRD-clearance endpoint."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.conftest import CONVENTIONAL, write
from tests.support.montecarlo import within
from trialsim import load_scenario, simulate


def test_unit_futility_bounds_stop_hopeless_trials(tmp_path):
    """Under the null, non-binding futility bounds stop many trials early, and
    rejections never exceed those without futility (same seed, same patients)."""
    base = CONVENTIONAL.replace("hazard_ratio: 0.7", "hazard_ratio: 1.0")
    plain = base.replace("sided: 1}", "sided: 1, looks: [0.5]}")
    fut = base.replace("sided: 1}", "sided: 1, looks: [0.5], futility: {beta: 0.2, hazard_ratio: 0.7}}")
    a = simulate(load_scenario(write(tmp_path, plain, "a.yaml")), replicates=400, seed=36, workers=1)
    b = simulate(load_scenario(write(tmp_path, fut, "b.yaml")), replicates=400, seed=36, workers=1)
    # as often as the boundaries' own exit probabilities at drift 0 say
    from trialsim.design import exit_probabilities, plan_boundaries

    p_fut = exit_probabilities(plan_boundaries(b.scenario), 0.0).futility[0]
    assert p_fut > 0.3
    within(b.table["stopped_for_futility"].mean(), p_fut, math.sqrt(p_fut * (1 - p_fut) / 400))
    assert np.all(b.table["rejected"] <= a.table["rejected"])
    s = b.summary()["group_sequential"]
    assert s["futility_bounds_z"] is not None and s["expected_events"] < 247


def test_unit_multiplicity_adjustments_by_hand():
    from trialsim.followup import adjust_p_values

    p = np.array([[0.01, 0.04, 0.03], [np.nan, 0.02, 0.5]])
    z = np.zeros_like(p)
    n = np.ones((2, 4))
    np.testing.assert_allclose(adjust_p_values(p, z, n, "bonferroni", 1), [[0.03, 0.12, 0.09], [np.nan, 0.06, 1.0]])
    # Holm: sorted 0.01, 0.03, 0.04 -> 3 x 0.01, max(0.03, 2 x 0.03), max(0.06, 1 x 0.04)
    # a comparison without data still counts in the planned family of three
    np.testing.assert_allclose(adjust_p_values(p, z, n, "holm", 1), [[0.03, 0.06, 0.06], [np.nan, 0.06, 1.0]])
    np.testing.assert_array_equal(adjust_p_values(p, z, n, "none", 1), p)


def test_unit_dunnett_adjusted_p_is_the_tail_of_the_maximum():
    """Two comparisons with equal arms (correlation 1/2): the adjusted p-value
    of z is P(max(Z1, Z2) >= z) = 1 - Phi2(z, z; 1/2), from scipy."""
    from scipy.stats import multivariate_normal, norm

    from trialsim.followup import adjust_p_values

    z = np.array([[2.2, 0.4], [1.0, -0.3]])
    p = norm.sf(z)
    n = np.full((2, 3), 100.0)
    got = adjust_p_values(p, z, n, "dunnett", 1)
    cov = [[1.0, 0.5], [0.5, 1.0]]
    want = np.array([[1 - multivariate_normal.cdf([v, v], mean=[0, 0], cov=cov) for v in row] for row in z])
    np.testing.assert_allclose(got, want, atol=2e-4)
    two = adjust_p_values(2 * norm.sf(np.abs(z)), z, n, "dunnett", 2)
    want2 = np.array([[1 - multivariate_normal.cdf([abs(v), abs(v)], mean=[0, 0], cov=cov,
                                                     lower_limit=[-abs(v), -abs(v)]) for v in row] for row in z])
    np.testing.assert_allclose(two, want2, atol=2e-4)


def test_unit_several_arms_are_validated(tmp_path):
    from trialsim import ScenarioError
    from trialsim.scenario import Scenario

    base = {"accrual": {"rate": 30}, "population": {"strata": [
        {"name": "all", "share": 1, "recurrence": {"exponential": {"median": 24}}}]},
        "trial": {"enrollment": 300, "analysis": {"events": 150}}}
    arms = {f"a{i}": {"allocation": 1} for i in range(11)}
    with pytest.raises(ScenarioError, match="1 to 9 treatment arms, got 11 arms"):
        Scenario.from_dict({**base, "arms": arms})
    three = {k: v for k, v in list(arms.items())[:3]}
    for analysis, where in (({"events": 150, "looks": [0.5]}, "looks"),
                            ({"events": 150, "test": "rmst(12)", "multiplicity": "dunnett"}, "multiplicity")):
        with pytest.raises(ScenarioError, match=where):
            Scenario.from_dict({**base, "arms": three, "trial": {"enrollment": 300, "analysis": analysis}})
    sc = Scenario.from_dict({**base, "arms": three})
    assert sc.treatment_arms == ["a1", "a2"] and sc.trial.analysis.multiplicity_method == "holm"
