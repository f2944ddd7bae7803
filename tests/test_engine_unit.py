"""Unit tier of simulate() (trialsim/engine.py): reproducibility whatever
the workers and chunks, replicate re-runs, provenance replay, invariants;
and the invariants of any simulated trial over designs drawn by hypothesis.
The pinned outputs are in test_engine_regression.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trialsim
from tests.conftest import ROOT
from trialsim.engine import patient_table, replay, replicate_streams, simulate
from trialsim.scenario import Scenario
from trialsim.sweeps import find_sample_size, find_sample_sizes, run_sweep


def same_tables(a, b):
    assert a.table.keys() == b.table.keys()
    for k in a.table:
        np.testing.assert_array_equal(a.table[k], b.table[k], err_msg=k)


def test_unit_streams_are_pcg64_seeded_with_the_documented_seed_sequence_words():
    """Stream k of replicate i: PCG64 with state words 4*(i % 1024)..+1 and
    increment words +2..+3 of SeedSequence(seed, spawn_key=(i // 1024, k))."""
    for i in (7, 1023, 1024, 5000):
        scr, trial = replicate_streams(42, i)
        for g, k in ((scr, 0), (trial, 1)):
            w = np.random.SeedSequence(42, spawn_key=(i // 1024, k)).generate_state(4096, np.uint64)
            words = w[4 * (i % 1024): 4 * (i % 1024) + 4]

            class Words(np.random.bit_generator.ISeedSequence):
                def generate_state(self, n_words, dtype=np.uint64):
                    return words[:n_words].copy()

            assert g.random() == np.random.Generator(np.random.PCG64(Words())).random()
    # distinct replicates and streams draw distinct numbers
    firsts = {replicate_streams(42, i)[k].random() for i in range(50) for k in (0, 1)}
    assert len(firsts) == 100


@pytest.mark.parametrize("fixture", ["conventional", "ctdna"])
def test_unit_same_results_for_any_chunk_size_and_workers(fixture, request):
    sc = request.getfixturevalue(fixture)
    n = 12 if fixture == "ctdna" else 40
    one = simulate(sc, replicates=n, seed=11, workers=1, chunk_size=n)
    small = simulate(sc, replicates=n, seed=11, workers=1, chunk_size=5)
    two = simulate(sc, replicates=n, seed=11, workers=2, chunk_size=3)
    same_tables(one, small)
    same_tables(one, two)


def test_unit_replicate_reruns_alone(ctdna):
    batch = simulate(ctdna, replicates=10, seed=5, workers=1)
    alone = simulate(ctdna, replicates=10, seed=5, workers=1, replicate_index=7)
    for k in batch.table:
        np.testing.assert_array_equal(alone.table[k], batch.table[k][[7]], err_msg=k)
    # and its patients add up to its row
    pt = patient_table(ctdna, seed=5, replicate=7, replicates=10)
    assert pt["event"].sum() == batch.table["events"][7]
    assert pt["randomized_month"].size == batch.table["randomized"][7]


def test_unit_seed_changes_results(conventional):
    a = simulate(conventional, replicates=20, seed=1, workers=1)
    b = simulate(conventional, replicates=20, seed=2, workers=1)
    assert not np.array_equal(a.table["z"], b.table["z"])


def test_unit_unseeded_run_records_its_seed_and_replays(conventional):
    first = simulate(conventional, replicates=15, workers=1)
    assert isinstance(first.seed, int)
    again = replay(json.loads(json.dumps(first.provenance)), workers=1)
    same_tables(first, again)


def test_unit_provenance_replays_exactly(ctdna):
    first = simulate(ctdna, replicates=8, seed=99, workers=1)
    prov = json.loads(first.to_json())["provenance"]
    assert prov["seed"] == 99 and prov["replicates"] == 8
    assert prov["trialsim"] == trialsim.__version__
    assert {"numpy", "scipy", "lifelines", "simpy"} <= set(prov["versions"])
    assert prov["scenario"]["simulation"] == {"replicates": 8, "seed": 99}
    again = trialsim.replay(prov, workers=1)
    same_tables(first, again)


def test_unit_summary_has_the_contract_keys(ctdna):
    s = simulate(ctdna, replicates=6, seed=3, workers=1).summary()
    for key in ("scenario", "replicates", "seed", "power", "power_mcse", "screened", "test_positive",
                "randomized", "truly_mrd_positive_share", "events", "analysis_month",
                "last_randomized_month", "hazard_ratio_estimate", "assays", "assay_cost", "provenance"):
        assert key in s, key
    for key in ("screened", "randomized", "events", "analysis_month"):
        assert set(s[key]) == {"mean", "median", "p10", "p90"}


def test_unit_funnel_is_nested(ctdna):
    t = simulate(ctdna, replicates=20, seed=4, workers=1).table
    assert np.all(t["screened"] >= t["tested"])
    assert np.all(t["tested"] >= t["test_positive"])
    assert np.all(t["test_positive"] >= t["eligible"])
    assert np.all(t["eligible"] >= t["consented"])
    assert np.all(t["consented"] >= t["randomized"])
    assert np.all(t["randomized"] <= 60)
    assert np.all(t["truly_mrd_positive"] <= t["randomized"])
    assert np.all(t["assays"] >= t["tested"])
    np.testing.assert_array_equal(t["assay_cost"], t["assays"] * 1500)


def test_unit_enrolment_stops_at_target(conventional):
    t = simulate(conventional, replicates=30, seed=8, workers=1).table
    assert np.all(t["randomized"] == 500)
    assert np.all(t["screened"] == 500)   # no screening: every arrival is randomised
    assert np.all(t["events"] == 247)
    assert np.all(t["analysis_month"] > t["last_randomized_month"])


def test_unit_patient_level_invariants(ctdna):
    pt = patient_table(ctdna, seed=12, replicate=range(6), replicates=6)
    assert np.all(pt["randomized_month"] >= pt["entered_month"])
    ok = pt["in_analysis"]
    assert np.all(pt["time"][ok] >= 0)
    # every event lies after its randomisation and no later than the analysis
    ev = pt["event"]
    assert np.all(pt["randomized_month"][ev] + pt["time"][ev] <= pt["analysis_month"][ev] + 1e-9)
    # eligible patients had no recurrence visible at staging (imaging lead 3 months)
    assert np.all(pt["recurrence_month"] > pt["randomized_month"] + 3 - 1e-9)
    assert set(np.unique(pt["arm"])) <= {"control", "treatment"}


def test_unit_block_randomisation_balances_arms(conventional):
    t = simulate(conventional, replicates=10, seed=2, workers=1).table
    assert np.all(t["treatment_randomized"] == 250)


def test_unit_unequal_allocation():
    from trialsim.intervention import assign_arms, assign_arms_padded

    rng = np.random.default_rng(3)
    arms = assign_arms(rng.random(300), 1, 2)
    assert arms.sum() == 200
    blocks = arms.reshape(100, 3)
    assert np.all(blocks.sum(axis=1) == 2)
    u = rng.random((4, 7))
    padded = assign_arms_padded(u, 1, 2)
    for r in range(4):
        np.testing.assert_array_equal(padded[r], assign_arms(u[r], 1, 2))


def test_unit_rejects_bad_arguments(conventional):
    with pytest.raises(ValueError):
        simulate(conventional, replicates=0, seed=1)
    with pytest.raises(ValueError):
        simulate(conventional, replicates=5, seed=1, replicate_index=9)
    with pytest.raises(TypeError):
        simulate("scenario.yaml", replicates=5)


def test_unit_no_one_randomised_is_refused_not_a_silent_zero(tmp_path):
    """A plan that can randomise nobody is refused before simulating (it used
    to report power 0 in silence); a run where few are randomised is a result
    with warnings."""
    from tests.conftest import CTDNA, write
    from trialsim import ScenarioError, load_scenario

    sc = load_scenario(write(tmp_path, CTDNA.replace("sensitivity: 0.88, specificity: 0.998",
                                                     "sensitivity: 0.0, specificity: 1.0")))
    with pytest.raises(ScenarioError, match="screening.test.sensitivity: sensitivity 0 and specificity 1"):
        simulate(sc, replicates=4, seed=1, workers=1)


def test_unit_timeline_ends_at_the_replicate_totals(ctdna):
    r = simulate(ctdna, replicates=5, seed=6, workers=1, timeline=120)
    tl = r.timeline
    assert tl["month"].shape == (120,) and tl["screened"].shape == (5, 120)
    for key, col in (("screened", "screened"), ("randomized", "randomized"), ("events", "events")):
        assert np.all(np.diff(tl[key], axis=1) >= 0)
        np.testing.assert_array_equal(tl[key][:, -1], r.table[col])
    # nothing is randomised before it is screened
    assert np.all(tl["randomized"] <= tl["screened"])


# Invariants of any simulated trial over randomly drawn designs (hypothesis);
# each example runs a few replicates with a seeded run.


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
                               "eradication": draw(st.floats(0, 1, allow_subnormal=False)),
                               "hazard_ratio": draw(st.floats(0.3, 1.5)),
                               "delay": draw(st.floats(0, 6, allow_subnormal=False))}},
        "trial": {"enrollment": enrollment,
                  "death": draw(st.sampled_from(["censor", "event"])),
                  "dropout": {"annual": draw(st.floats(0, 0.3, allow_subnormal=False))},
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
                     "failure": draw(st.floats(0, 0.2, allow_subnormal=False)),
                     "turnaround": draw(st.floats(0, 2, allow_subnormal=False))},
            "visits": {"every": draw(st.sampled_from([1.5, 3, 6])), "count": draw(st.integers(1, 4))},
            "staging": {"imaging_lead": draw(st.floats(0, 4, allow_subnormal=False))},
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


# Arguments of the library's entry points: each bad argument named.


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
    with pytest.raises(ValueError, match="looks like YAML text, not a file name"):
        trialsim.load_scenario(text)
    with pytest.raises(trialsim.ScenarioError, match="no such file"):   # one line: read as a file name
        trialsim.load_scenario("format: 1")
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


def test_unit_screened_survivors_with_a_prescreen_and_a_schedule_add_up(ctdna):
    """With a prescreen the survivors' table holds every approached survivor;
    its stages and results sum to the replicate's row, schedule anchored at diagnosis."""
    from trialsim.scenario import Scenario

    d = ctdna.to_dict()
    d["screening"]["prescreen"] = {"consent": 0.8, "assay_setup": 0.72, "setup_time": 2}
    d["screening"]["visits"] = {"schedule": [{"every": 3, "until": 24}, {"every": 6}], "anchor": "diagnosis"}
    d["trial"]["enrollment"] = 40
    d["trial"]["analysis"] = {"events": 20, "months": 24}
    r = simulate(Scenario.from_dict(d), replicates=2, seed=1, workers=1)
    f = r.to_frame()
    for i in range(2):
        p, row = r.patients_frame(i), f.iloc[i]
        assert len(p) == row["approached"]
        for col in ("registered", "assay_ready", "screened", "tested", "test_positive", "randomized"):
            assert int(p[col].sum()) == row[col], col
        assert p.loc[p["test_positive"], "positive_visit"].min() >= 1


@pytest.mark.parametrize("n, size, workers", [(10_000, 800, 2), (10_000, 800, 3), (5, 800, 2), (1, 800, 4),
                                              (801, 800, 2), (7, 1, 3), (10_000, 2000, 8)])
def test_unit_default_chunks_come_in_a_multiple_of_the_workers(n, size, workers):
    """The default chunk size on several workers: at most the memory bound's,
    and the replicates cut into a multiple of the workers' number of chunks,
    all of one size but the last, at most one replicate per chunk smaller
    (when there are replicates for all)."""
    from trialsim.engine import _chunks, _even_chunk_size

    got = _even_chunk_size(n, size, workers)
    sizes = [c.size for c in _chunks(np.arange(n), got)]
    assert 1 <= got <= size and sum(sizes) == n
    if n >= workers * -(-n // (size * workers)) * 2:
        assert len(sizes) % workers == 0
        assert set(sizes[:-1]) <= {got} and sizes[-1] >= got - len(sizes)


def test_unit_a_local_worker_builds_its_model_once(conventional):
    """A local worker process builds the model of a scenario once, not once per
    chunk, and simulates what a chunk of its own would: the same rows."""
    import trialsim.engine as engine

    sc = conventional.with_simulation(replicates=40, seed=3)
    data = sc.to_dict()
    engine._WORKER_MODEL = None
    try:
        first = engine._run_local_chunk((data, 3, np.arange(0, 10), None))
        model = engine._WORKER_MODEL[1]
        second = engine._run_local_chunk((sc.to_dict(), 3, np.arange(10, 20), None))
        assert engine._WORKER_MODEL[1] is model
        other = sc.with_simulation(replicates=40, seed=4).to_dict()
        engine._run_local_chunk((other, 3, np.arange(0, 10), None))
        assert engine._WORKER_MODEL[1] is not model and engine._WORKER_MODEL[0] == other
    finally:
        engine._WORKER_MODEL = None
    for part, rows in ((first, np.arange(0, 10)), (second, np.arange(10, 20))):
        alone = engine._run_chunk((data, 3, rows, None))
        assert part.keys() == alone.keys()
        for k in alone:
            np.testing.assert_array_equal(part[k], alone[k], err_msg=k)


def test_unit_default_chunk_size_bounds_survivors_or_patients(conventional, ctdna):
    """Without screening a default chunk holds PATIENTS_PER_CHUNK patients
    (200 trials of 500); with screening SURVIVORS_PER_CHUNK survivors; between
    1 and 2,000 replicates either way."""
    from trialsim.engine import PATIENTS_PER_CHUNK, SURVIVORS_PER_CHUNK, TrialModel, default_chunk_size

    conv = TrialModel.from_scenario(conventional)
    assert not conv.operations.screening
    assert default_chunk_size(conv) == PATIENTS_PER_CHUNK // conventional.trial.enrollment == 200
    screening = TrialModel.from_scenario(ctdna)
    expected = SURVIVORS_PER_CHUNK // screening.expected_survivors_per_replicate()
    assert default_chunk_size(screening) == int(min(2000, max(1, expected)))
    small = TrialModel.from_scenario(conventional.model_copy(
        update={"trial": conventional.trial.model_copy(update={"enrollment": 10})}))
    assert default_chunk_size(small) == 2000


def test_unit_on_several_workers_this_process_simulates_too(conventional, monkeypatch):
    """With several workers, this process simulates chunks itself (from the
    back) beside a pool of workers - 1 processes (from the front); the rows,
    progress and results are those of one worker, whatever the chunks."""
    import trialsim.engine as engine

    here: list[int] = []
    own = engine.simulate_chunk

    def counted(model, seed, indices, **kw):
        here.append(int(indices[0]))
        return own(model, seed, indices, **kw)

    monkeypatch.setattr(engine, "simulate_chunk", counted)
    seen: list[tuple[int, int]] = []
    two = simulate(conventional, replicates=60, seed=5, workers=2, chunk_size=4,
                   progress=lambda d, t: seen.append((d, t)))
    assert here and 56 in here and 0 not in here     # the last chunk here, the first in the pool
    assert [t for _, t in seen] == [60] * 15 and [d for d, _ in seen] == list(range(4, 61, 4))
    monkeypatch.setattr(engine, "simulate_chunk", own)
    one = simulate(conventional, replicates=60, seed=5, workers=1)
    same_tables(one, two)
