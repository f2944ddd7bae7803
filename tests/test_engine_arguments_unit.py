"""Unit tier of the library's arguments (simulate, replay, patient_table,
Scenario.with_simulation, load_scenario, sweep, run_sweep, find_sample_size):
every bad argument raises ScenarioError, ValueError or TypeError naming it;
numpy integers are accepted where Python integers are."""

from __future__ import annotations

import json

import numpy as np
import pytest

import trialsim
from tests.conftest import ROOT
from trialsim.engine import patient_table, replay, simulate
from trialsim.sweeps import find_sample_size, find_sample_sizes, run_sweep

VARY = {"arms.treatment.hazard_ratio": [0.6, 0.8]}


def test_unit_numpy_integers_are_accepted_and_recorded_as_ints(conventional):
    r = simulate(conventional, replicates=np.int64(4), seed=np.int32(7), workers=np.int64(1),
                 chunk_size=np.int16(3), replicate_index=None)
    assert r.replicates == 4 and type(r.seed) is int
    data = json.loads(r.to_json())
    assert data["replicates"] == 4 and data["provenance"]["scenario"]["simulation"] == {"replicates": 4, "seed": 7}
    again = replay(r.provenance, workers=1)
    assert (again.table["z"] == r.table["z"]).all()
    sub = simulate(conventional, replicates=4, seed=7, workers=1, replicate_index=np.array([1, 3]))
    assert list(sub.table["replicate"]) == [1, 3] and (sub.table["z"] == r.table["z"][[1, 3]]).all()
    pt = patient_table(conventional, seed=np.uint8(7), replicate=np.int64(2), replicates=np.int32(4))
    assert set(pt["replicate"]) == {2}


@pytest.mark.parametrize("kw, exc, needle", [
    (dict(replicates=1.5), TypeError, "replicates must be a whole number"),
    (dict(replicates=True), TypeError, "replicates must be a whole number"),
    (dict(replicates="10"), TypeError, "replicates must be a whole number"),
    (dict(replicates=0), ValueError, "replicates must be at least 1"),
    (dict(seed=-1), ValueError, "seed must be at least 0"),
    (dict(seed=2.5), TypeError, "seed must be a whole number"),
    (dict(workers=0), ValueError, "workers must be at least 1"),
    (dict(workers=1.5), TypeError, "workers must be a whole number"),
    (dict(chunk_size=0), ValueError, "chunk_size must be at least 1"),
    (dict(chunk_size=2.5), TypeError, "chunk_size must be a whole number"),
    (dict(timeline=-5), ValueError, "timeline must be at least 1"),
    (dict(timeline=2.5), TypeError, "timeline must be True, False or a number of months"),
    (dict(timeline="yes"), TypeError, "timeline must be True, False or a number of months"),
    (dict(replicate_index=1.7), TypeError, "replicate_index must be a whole number"),
    (dict(replicate_index=[0, 1.7]), TypeError, "replicate_index must be a whole number"),
    (dict(replicate_index=-1), ValueError, "replicate_index must be at least 0"),
    (dict(replicate_index=5), ValueError, r"replicate_index must lie in \[0, 5\)"),
    (dict(replicate_index=[]), ValueError, "replicate_index is empty"),
    (dict(progress=3), TypeError, "progress must be a function"),
])
def test_unit_simulate_names_each_bad_argument(conventional, kw, exc, needle):
    args = dict(replicates=5, seed=1, workers=1)
    args.update(kw)
    with pytest.raises(exc, match=needle):
        simulate(conventional, **args)


def test_unit_replicates_one_and_a_half_no_longer_runs_two(conventional):
    with pytest.raises(TypeError, match="replicates"):
        simulate(conventional, replicates=1.5, seed=1, workers=1)


def test_unit_simulate_takes_a_scenario():
    with pytest.raises(TypeError, match="takes a Scenario"):
        simulate({"name": "x"}, replicates=2)


@pytest.mark.parametrize("prov, exc, needle", [
    ({}, ValueError, "provenance lacks 'scenario', 'seed', 'replicates'"),
    ({"scenario": {}, "seed": 1}, ValueError, "provenance lacks 'replicates'"),
    (None, TypeError, "replay\\(\\) takes a run's provenance"),
    ("results.json", TypeError, "replay\\(\\) takes a run's provenance"),
    ({"scenario": "x", "seed": 1, "replicates": 2}, ValueError, "provenance\\['scenario'\\] must be"),
    ({"scenario": {"name": "x"}, "seed": 1, "replicates": 2}, trialsim.ScenarioError, "provenance scenario"),
])
def test_unit_replay_names_what_is_missing(prov, exc, needle):
    with pytest.raises(exc, match=needle):
        replay(prov)


def test_unit_replay_accepts_a_whole_results_object(conventional):
    r = simulate(conventional, replicates=3, seed=2, workers=1)
    again = replay(json.loads(r.to_json()), workers=1)
    assert (again.table["z"] == r.table["z"]).all()
    bad = dict(r.provenance, replicates=1.5)
    with pytest.raises(TypeError, match="replicates must be a whole number"):
        replay(bad)


@pytest.mark.parametrize("kw, exc, needle", [
    (dict(replicates=-5), ValueError, "replicates must be at least 1, got -5"),
    (dict(replicates=0), ValueError, "replicates must be at least 1"),
    (dict(replicates=2.5), TypeError, "replicates must be a whole number"),
    (dict(seed=-1), ValueError, "seed must be at least 0"),
    (dict(seed=1.5), TypeError, "seed must be a whole number"),
    (dict(replicates=10 ** 12), ValueError, "at most 1,000,000"),
])
def test_unit_with_simulation_checks_like_the_file(conventional, kw, exc, needle):
    with pytest.raises(exc, match=needle):
        conventional.with_simulation(**kw)


def test_unit_with_simulation_converts_numpy_integers(conventional):
    sc = conventional.with_simulation(replicates=np.int64(12), seed=np.uint32(3))
    assert type(sc.simulation.replicates) is int and type(sc.simulation.seed) is int
    assert json.dumps(sc.to_dict())


def test_unit_patient_table_names_bad_arguments(conventional):
    with pytest.raises(TypeError, match="replicate must be a whole number"):
        patient_table(conventional, seed=1, replicate=1.7, replicates=4)
    with pytest.raises(ValueError, match=r"replicate must lie in \[0, 4\)"):
        patient_table(conventional, seed=1, replicate=4, replicates=4)
    with pytest.raises(TypeError, match="seed must be a whole number"):
        patient_table(conventional, seed=None, replicate=0, replicates=4)


def test_unit_load_scenario_given_yaml_text_says_so():
    text = (ROOT / "scenarios" / "conventional_logrank.yaml").read_text()
    for given in (text, "format: 1"):
        with pytest.raises(trialsim.ScenarioError, match="a path to a YAML file or a mapping, not YAML text"):
            trialsim.load_scenario(given)
    with pytest.raises(trialsim.ScenarioError, match="no such file"):
        trialsim.load_scenario("no_such_scenario.yaml")


@pytest.mark.parametrize("kw, exc, needle", [
    (dict(replicates=1.5), TypeError, "replicates must be a whole number"),
    (dict(replicates=-5), ValueError, "replicates must be at least 1"),
    (dict(replicates=10 ** 12), ValueError, "at most 1,000,000"),
    (dict(seed=-1), ValueError, "seed must be at least 0"),
    (dict(seed=0.5), TypeError, "seed must be a whole number"),
    (dict(workers=0), ValueError, "workers must be at least 1"),
    (dict(workers=1.5), TypeError, "workers must be a whole number"),
])
def test_unit_sweep_and_search_name_bad_arguments(small, kw, exc, needle):
    args = dict(replicates=4, seed=1, workers=1)
    args.update(kw)
    with pytest.raises(exc, match=needle):
        run_sweep(small, VARY, **args)
    with pytest.raises(exc, match=needle):
        trialsim.sweep(small, VARY, **args)
    with pytest.raises(exc, match=needle):
        find_sample_size(small, target_power=0.8, **args)
    with pytest.raises(exc, match=needle):
        find_sample_sizes(small, VARY, target_power=0.8, **args)


@pytest.mark.parametrize("target, exc", [("0.8", TypeError), (True, TypeError), (None, TypeError), (1.5, ValueError),
                                         (float("nan"), ValueError)])
def test_unit_search_names_a_bad_target_power(small, target, exc):
    with pytest.raises(exc, match="target_power"):
        find_sample_size(small, target_power=target, replicates=4, seed=1, workers=1)


def test_unit_sweep_accepts_numpy_integers(small):
    res = run_sweep(small, VARY, replicates=np.int64(3), seed=np.int64(5), workers=np.int64(1))
    assert res.provenance["replicates"] == 3 and type(res.provenance["seed"]) is int
    assert json.loads(res.to_json())["provenance"]["seed"] == 5


@pytest.mark.parametrize("vary", [5, [5], {1, 2}, None.__class__])
def test_unit_sweep_names_a_bad_vary(small, vary):
    with pytest.raises(TypeError, match="vary must be"):
        run_sweep(small, vary, replicates=2, seed=1, workers=1)


def test_unit_sweep_takes_one_vary_text(small):
    res = run_sweep(small, "arms.treatment.hazard_ratio=0.6,0.8", replicates=2, seed=1, workers=1)
    assert [p["values"] for p in res.points] == [{"arms.treatment.hazard_ratio": 0.6},
                                                 {"arms.treatment.hazard_ratio": 0.8}]
