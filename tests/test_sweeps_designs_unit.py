"""Designs simulated incrementally, with common random numbers (trialsim/sweeps/designs.py).

Unit tier: two designs of a grid share the screening (same streams) and
differ after randomisation.
"""

from __future__ import annotations

import numpy as np

from trialsim.sweeps import build_grid, make_vary
from trialsim.sweeps.designs import Design, run_designs
from trialsim.sweeps.runners import LocalRunner


def _tables(scenario, vary, replicates, seed):
    grid = build_grid(scenario, [make_vary(p, v, scenario) for p, v in vary.items()])
    designs = [Design(g.index, g.scenario, seed) for g in grid]
    run_designs(LocalRunner(1), [(d, replicates) for d in designs])
    return [d.table() for d in designs]


def test_unit_common_random_numbers_same_screening_different_effect(ctdna):
    weak, strong = _tables(ctdna, {"arms.treatment.eradication": [0.0, 0.9]}, replicates=8, seed=5)
    for key in ("screened", "tested", "assays", "test_positive", "eligible", "consented", "randomized",
                "truly_mrd_positive", "treatment_randomized", "last_randomized_month"):
        assert np.array_equal(weak[key], strong[key]), key
    # ... while the trial after randomisation does differ
    assert not np.array_equal(weak["hazard_ratio_estimate"], strong["hazard_ratio_estimate"])
