"""Unit tier of the trial after randomisation (trialsim/followup.py):
interim looks, test choice, the MRD-clearance endpoint."""

from __future__ import annotations

import math

import numpy as np

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
