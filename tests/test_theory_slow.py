"""Theory and peer tiers, long form (marked slow; run with `make verify`).

The same checks as the default suite with more replicates, and the type I
error of every reference scenario with the arms' effects switched off. The
tolerance is still four Monte Carlo standard errors."""

from __future__ import annotations

import math

import pytest

from tests.conftest import SCENARIOS
from tests.test_peer_rpact import GOLDEN, scenario_for
from trialsim import load_scenario, simulate
from trialsim.design import schoenfeld_power

pytestmark = pytest.mark.slow


def null_version(path):
    sc = load_scenario(path)
    arms = {name: arm.model_copy(update={"eradication": 0.0, "hazard_ratio": 1.0}) for name, arm in sc.arms.items()}
    return sc.model_copy(update={"arms": arms})


@pytest.mark.parametrize("name", ["ctdna_er_positive", "dtc_bone_marrow", "zest_like_tnbc", "conventional_logrank"])
def test_theory_type_one_error_of_reference_scenarios(name):
    sc = null_version(SCENARIOS / f"{name}.yaml")
    n = 4000
    r = simulate(sc, replicates=n, seed=2026_11_22, workers=2)
    a = sc.trial.analysis.alpha
    assert abs(r.power - a) <= 4 * math.sqrt(a * (1 - a) / n), r.power


@pytest.mark.parametrize("design", GOLDEN, ids=[d["id"] for d in GOLDEN])
def test_peer_rpact_power_ten_thousand_replicates(design):
    r = simulate(scenario_for(design), replicates=10_000, seed=77, workers=2)
    theirs = design["simulation"]
    se = math.sqrt(r.power_mcse ** 2 + theirs["mc_se"] ** 2)
    assert abs(r.power - theirs["power"]) <= 4 * se


@pytest.mark.parametrize("hr,events", [(0.8, 631), (0.75, 380), (0.65, 170)])
def test_theory_schoenfeld_grid(hr, events):
    """1:1 designs with moderate effects, where Schoenfeld's approximation is accurate."""
    from trialsim import Scenario

    sc = Scenario.from_dict({
        "accrual": {"rate": 40}, "arms": {"control": {}, "treatment": {"hazard_ratio": hr}},
        "population": {"strata": [{"name": "all", "share": 1, "recurrence": {"exponential": {"median": 18}}}]},
        "trial": {"enrollment": int(events * 1.6), "analysis": {"events": events}},
    })
    n = 6000
    r = simulate(sc, replicates=n, seed=5, workers=2)
    truth = schoenfeld_power(events=events, hazard_ratio=hr)
    assert abs(r.power - truth) <= 4 * math.sqrt(truth * (1 - truth) / n), (r.power, truth)
