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
