"""Peer tier: conventional designs against rpact golden values.

The values in tests/golden/rpact_conventional.json were produced by
tools/rpact/make_golden.R (rpact 3.3.4, R 4.2.2); each entry carries the exact
R call (``r_call``) that produced it, e.g. for D1:

    getSimulationSurvival(alpha = 0.025, sided = 1, hazardRatio = 0.7, median2 = 24,
        accrualTime = c(0, 24), maxNumberOfSubjects = 500, plannedEvents = 247,
        directionUpper = FALSE, maxNumberOfIterations = 10000, seed = ...)

Simulated power is compared with the combined Monte Carlo error of both
simulations (4 SE); analytic values with trialsim.design to 1e-9.
Differences of model (rpact enrols at fixed equally spaced times and
allocates by a fixed pattern; trialsim draws Poisson arrivals and permuted
blocks) are explained in docs/differences.md.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from trialsim import Scenario, simulate
from trialsim.design import schoenfeld_events, schoenfeld_power

GOLDEN = json.loads((Path(__file__).parent / "golden" / "rpact_conventional.json").read_text())
REPLICATES = 4000


def scenario_for(design) -> Scenario:
    i = design["inputs"]
    arms = {"control": {"allocation": i["allocation2"]},
            "treatment": {"allocation": i["allocation1"], "hazard_ratio": i["hazard_ratio"]}}
    trial = {"enrollment": i["max_number_of_subjects"],
             "analysis": {"events": i["events"], "alpha": i["alpha"], "sided": i["sided"]}}
    if i["dropout_hazard_per_month"] > 0:
        trial["dropout"] = {"rate": i["dropout_hazard_per_month"]}
    return Scenario.from_dict({
        "name": design["id"],
        "accrual": {"rate": i["max_number_of_subjects"] / i["accrual_time_months"]},
        "population": {"strata": [{"name": "all", "share": 1,
                                   "recurrence": {"exponential": {"median": i["control_median_months"]}}}]},
        "arms": arms, "trial": trial,
    })


@pytest.mark.parametrize("design", GOLDEN, ids=[d["id"] for d in GOLDEN])
def test_peer_simulated_power_matches_rpact(design):
    r = simulate(scenario_for(design), replicates=REPLICATES, seed=2026, workers=2)
    theirs = design["simulation"]
    se = math.sqrt(r.power_mcse ** 2 + theirs["mc_se"] ** 2)
    assert abs(r.power - theirs["power"]) <= 4 * se, (r.power, theirs["power"], se)
    assert r.table["events"].min() == design["inputs"]["events"]


@pytest.mark.parametrize("design", GOLDEN, ids=[d["id"] for d in GOLDEN])
def test_peer_mean_analysis_time_matches_rpact(design):
    """Same expected calendar time of the analysis. rpact's entry times are
    fixed; ours are Poisson, which adds variance but hardly moves the mean."""
    r = simulate(scenario_for(design), replicates=REPLICATES, seed=2027, workers=2)
    theirs = design["simulation"]
    ours = r.table["analysis_month"]
    se = math.sqrt(ours.var() / ours.size + theirs["analysis_time_sd_months"] ** 2 / theirs["iterations"])
    assert abs(ours.mean() - theirs["analysis_time_mean_months"]) <= 4 * se + 0.1


@pytest.mark.parametrize("design", GOLDEN, ids=[d["id"] for d in GOLDEN])
def test_peer_schoenfeld_power_equals_rpact_analytic(design):
    i = design["inputs"]
    ours = schoenfeld_power(events=i["events"], hazard_ratio=i["hazard_ratio"], alpha=i["alpha"],
                            sided=i["sided"], allocation=i["allocation_ratio"])
    assert ours == pytest.approx(design["analytic"]["power"], abs=1e-9)


def test_peer_schoenfeld_events_equal_rpact():
    d1 = next(d for d in GOLDEN if d["id"] == "D1")
    assert d1["sample_size"], "golden file lost its sample sizes"
    for entry in d1["sample_size"]:
        ours = schoenfeld_events(hazard_ratio=0.7, alpha=0.025, power=entry["target_power"])
        assert ours == pytest.approx(entry["events_exact"], abs=1e-6)
        assert math.ceil(ours) == entry["events_ceiling"]


@pytest.mark.slow
@pytest.mark.parametrize("design", GOLDEN, ids=[d["id"] for d in GOLDEN])
def test_peer_rpact_power_ten_thousand_replicates(design):
    """The long form (make verify): 10,000 replicates, as rpact's golden values."""
    r = simulate(scenario_for(design), replicates=10_000, seed=77, workers=2)
    theirs = design["simulation"]
    se = math.sqrt(r.power_mcse ** 2 + theirs["mc_se"] ** 2)
    assert abs(r.power - theirs["power"]) <= 4 * se
