"""Sweeps and the sample-size search (trialsim/sweep.py).

Unit tier: paths, values, ranges, grids, checkpoints, common random numbers,
results independent of workers and of Dask. Theory tier: powers along a sweep
against Schoenfeld's formula, and the searched sample size against
Schoenfeld's events, with tolerances from the Monte Carlo error.
"""

from __future__ import annotations

import json
import math
import shutil
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

import trialsim
from tests.conftest import CONVENTIONAL, write
from trialsim import Scenario, load_scenario
from trialsim.design import schoenfeld_events, schoenfeld_power
from trialsim.sweep import (
    SweepError,
    TargetNotReached,
    _Design,
    _LocalRunner,
    _run_designs,
    _Search,
    build_grid,
    find_sample_size,
    find_sample_sizes,
    make_vary,
    parse_path,
    parse_values,
    parse_vary,
    run_sweep,
    set_path,
)

SMALL = CONVENTIONAL.replace("enrollment: 500", "enrollment: 200").replace("events: 247", "events: 120")


@pytest.fixture
def small(tmp_path):
    return load_scenario(write(tmp_path, SMALL))


def strip_created(obj):
    if isinstance(obj, dict):
        return {k: strip_created(v) for k, v in obj.items() if k != "created"}
    if isinstance(obj, list):
        return [strip_created(v) for v in obj]
    return obj


# --------------------------------------------------------------------------
# Unit: paths and values


def test_unit_parse_path_indices_become_integers():
    assert parse_path("population.strata.0.mrd.prevalence") == ("population", "strata", 0, "mrd", "prevalence")
    for bad in ("", "trial..enrollment", ".trial"):
        with pytest.raises(SweepError):
            parse_path(bad)


def test_unit_list_and_range_values():
    assert parse_values("0.2,0.3,0.4") == (0.2, 0.3, 0.4)
    assert parse_values("0.2:0.6:5") == (0.2, 0.3, 0.4, 0.5, 0.6)        # both ends, no 0.30000000000000004
    assert parse_values("0.2:0.6:5", current=0.7) == (0.2, 0.3, 0.4, 0.5, 0.6)
    assert parse_values("5:5:1") == (5,)
    assert parse_values("logrank,fh(0,1)") == ("logrank", "fh(0,1)")   # commas inside brackets stay
    assert parse_values("true,false", current=False) == (True, False)


def test_unit_integer_fields_stay_integers():
    assert parse_values("100:200:3", current=150) == (100, 150, 200)
    assert all(type(v) is int for v in parse_values("100:200:3", current=150))
    assert parse_values("100:200:4", current=150) == (100, 133, 167, 200)  # ranges round to whole numbers
    assert parse_values("100,200.0", current=150) == (100, 200)
    with pytest.raises(SweepError, match="whole numbers"):
        parse_values("150.5", current=150)
    # a float field keeps floats even when written as integers
    assert all(type(v) is float for v in parse_values("1,2", current=0.7))


@pytest.mark.parametrize("text,needle", [
    ("0.2:0.6", "START:STOP:COUNT"),
    ("0.2:0.6:0", "COUNT"),
    ("0.2:0.6:1", "COUNT >= 2"),
    ("a:b:3", "must be numbers"),
    ("0.2,,0.3", "empty value"),
    ("0.2,0.2", "appears twice"),
    ("nan", "finite"),
])
def test_unit_bad_values_are_refused_with_a_reason(text, needle):
    with pytest.raises(SweepError, match=needle):
        parse_values(text)


def test_unit_paths_are_checked_against_the_scenario(conventional, ctdna):
    v = parse_vary("trial.enrollment=300:500:3", conventional)
    assert v.keys == ("trial", "enrollment") and v.values == (300, 400, 500)
    assert make_vary("arms.treatment.hazard_ratio", [0.6, 0.8], conventional).values == (0.6, 0.8)
    with pytest.raises(SweepError, match="did you mean 'treatment'"):
        parse_vary("arms.treatmnt.hazard_ratio=0.6,0.7", conventional)
    with pytest.raises(SweepError, match="no population.strata.3"):
        parse_vary("population.strata.3.share=0.5", ctdna)
    with pytest.raises(SweepError, match="is a value"):
        parse_vary("trial.enrollment.size=3", conventional)
    with pytest.raises(SweepError, match="PATH=VALUES"):
        parse_vary("trial.enrollment", conventional)
    with pytest.raises(SweepError, match="--seed"):
        parse_vary("simulation.seed=1,2", conventional)
    # a stratum by name, and a key the base scenario leaves unset
    assert parse_vary("population.strata.T1N0.share=0.4", ctdna).keys[2] == "T1N0"
    assert parse_vary("screening.max_screened=1000,2000", ctdna).values == (1000, 2000)


def test_unit_set_path_copies_and_creates_blocks():
    d = {"trial": {"enrollment": 10}, "population": {"strata": [{"name": "a", "share": 1}]}}
    e = set_path(d, ("trial", "dropout", "annual"), 0.1)
    assert e["trial"]["dropout"] == {"annual": 0.1} and "dropout" not in d["trial"]
    assert set_path(d, ("population", "strata", "a", "share"), 0.5)["population"]["strata"][0]["share"] == 0.5


def test_unit_grid_is_every_combination_first_path_slowest(ctdna):
    grid = build_grid(ctdna, [parse_vary("arms.treatment.eradication=0.1,0.5", ctdna),
                              parse_vary("screening.test.sensitivity=0.8:0.9:3", ctdna)])
    assert [g.values["arms.treatment.eradication"] for g in grid] == [0.1, 0.1, 0.1, 0.5, 0.5, 0.5]
    assert [g.values["screening.test.sensitivity"] for g in grid] == [0.8, 0.85, 0.9] * 2
    assert grid[4].scenario.arms["treatment"].eradication == 0.5
    assert grid[4].scenario.screening.test.sensitivity == 0.85
    assert [g.index for g in grid] == list(range(6))


def test_unit_each_grid_point_is_revalidated_with_the_vary_and_field_named(conventional):
    with pytest.raises(SweepError) as e:
        build_grid(conventional, [parse_vary("trial.enrollment=100,600", conventional)])
    msg = str(e.value)
    assert msg.startswith("--vary trial.enrollment=100,600") and "trial.analysis.events" in msg
    with pytest.raises(SweepError, match="did you mean 'enrollment'"):
        build_grid(conventional, [parse_vary("trial.enrolment=100,200", conventional)])


def test_unit_out_of_range_value_names_the_field(ctdna):
    with pytest.raises(SweepError) as e:
        build_grid(ctdna, [parse_vary("screening.test.sensitivity=0.9,1.2", ctdna)])
    assert "--vary screening.test.sensitivity=0.9,1.2" in str(e.value)
    assert "screening.test.sensitivity: " in str(e.value) and "1.2" in str(e.value)


def test_unit_trialsim_sweep_is_callable_whatever_was_imported():
    import importlib

    mod = importlib.import_module("trialsim.sweep")
    assert trialsim.sweep is mod and callable(trialsim.sweep)
    assert trialsim.sweep.find_sample_sizes is find_sample_sizes
    assert callable(trialsim.find_sample_size)


# --------------------------------------------------------------------------
# Unit: common random numbers, equality with simulate(), workers, Dask


def _tables(scenario, vary, replicates, seed):
    grid = build_grid(scenario, [make_vary(p, v, scenario) for p, v in vary.items()])
    designs = [_Design(g.index, g.scenario, seed) for g in grid]
    _run_designs(_LocalRunner(1), [(d, replicates) for d in designs])
    return [d.table() for d in designs]


def test_unit_common_random_numbers_same_screening_different_effect(ctdna):
    weak, strong = _tables(ctdna, {"arms.treatment.eradication": [0.0, 0.9]}, replicates=8, seed=5)
    for key in ("screened", "tested", "assays", "test_positive", "eligible", "consented", "randomized",
                "truly_mrd_positive", "treatment_randomized", "last_randomized_month"):
        assert np.array_equal(weak[key], strong[key]), key
    # ... while the trial after randomisation does differ
    assert not np.array_equal(weak["hazard_ratio_estimate"], strong["hazard_ratio_estimate"])


def test_unit_sweep_rows_equal_simulate_at_each_point(small):
    df = trialsim.sweep(small, {"arms.treatment.hazard_ratio": [0.6, 0.8]}, replicates=60, seed=11, workers=1)
    res = run_sweep(small, {"arms.treatment.hazard_ratio": [0.6, 0.8]}, replicates=60, seed=11, workers=1)
    for row, hr in zip(res.rows(), (0.6, 0.8)):
        sc = Scenario.from_dict(set_path(small.to_dict(), ("arms", "treatment", "hazard_ratio"), hr))
        expected = trialsim.simulate(sc, replicates=60, seed=11, workers=1).summary()
        expected.pop("provenance")
        assert {k: v for k, v in row.items() if k not in ("point", "arms.treatment.hazard_ratio")} == \
            json.loads(json.dumps(expected))
    assert list(df["arms.treatment.hazard_ratio"]) == [0.6, 0.8]
    assert list(df["power"]) == [r["power"] for r in res.rows()]


def test_unit_sweep_table_grain_and_columns(small):
    df = trialsim.sweep(small, {"arms.treatment.hazard_ratio": "0.6:0.8:3", "trial.enrollment": [150, 200]},
                        replicates=20, seed=3, workers=1)
    assert len(df) == 6 and list(df["point"]) == list(range(6))
    assert list(df.columns[:6]) == ["point", "arms.treatment.hazard_ratio", "trial.enrollment", "power",
                                    "power_mcse", "power_low", "power_high"][:6]
    for col in ("screened", "screened_median", "screened_p10", "screened_p90", "randomized", "events",
                "analysis_month", "hazard_ratio_estimate"):
        assert col in df and df[col].dtype.kind == "f", col
    assert df["trial.enrollment"].dtype.kind == "i"
    assert (df["power_low"] <= df["power"]).all() and (df["power"] <= df["power_high"]).all()
    prov = df.attrs["provenance"]
    assert prov["seed"] == 3 and prov["replicates"] == 20 and prov["kind"] == "sweep"
    assert prov["vary"] == {"arms.treatment.hazard_ratio": [0.6, 0.7, 0.8], "trial.enrollment": [150, 200]}
    # replayable from its provenance alone
    again = trialsim.sweep(Scenario.from_dict(prov["scenario"]), prov["vary"], replicates=prov["replicates"],
                           seed=prov["seed"], workers=1)
    pd.testing.assert_frame_equal(again, df)


def test_unit_results_do_not_depend_on_the_number_of_workers(small):
    vary = {"arms.treatment.hazard_ratio": [0.6, 0.7, 0.8]}
    one = trialsim.sweep(small, vary, replicates=150, seed=2, workers=1)
    two = trialsim.sweep(small, vary, replicates=150, seed=2, workers=2)
    pd.testing.assert_frame_equal(one, two)


def test_unit_dask_local_cluster_equals_the_local_run(small):
    distributed = pytest.importorskip("distributed")
    vary = {"arms.treatment.hazard_ratio": [0.6, 0.8]}
    local = trialsim.sweep(small, vary, replicates=80, seed=4, workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        on_dask = trialsim.sweep(small, vary, replicates=80, seed=4, scheduler=cluster.scheduler_address)
        with distributed.Client(cluster) as client:
            size_dask = find_sample_size(small, solve="trial.analysis.events", replicates=300, seed=4,
                                         scheduler=client)
    pd.testing.assert_frame_equal(local, on_dask)
    size_local = find_sample_size(small, solve="trial.analysis.events", replicates=300, seed=4, workers=1)
    assert size_local.to_dict()["trace"] == size_dask.to_dict()["trace"]
    assert size_local.value == size_dask.value


# --------------------------------------------------------------------------
# Unit: checkpoints and resume


def test_unit_checkpoint_each_point_and_resume_equals_uninterrupted(small, tmp_path):
    vary = {"arms.treatment.hazard_ratio": [0.6, 0.7, 0.8]}
    full = run_sweep(small, vary, replicates=40, seed=8, workers=1, out=tmp_path / "a")
    assert sorted(p.name for p in (tmp_path / "a" / "points").iterdir()) == ["0.json", "1.json", "2.json"]
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["seed"] == 8 and manifest["replicates"] == 40 and len(manifest["scenario_sha256"]) == 64
    # an interrupted run: point 1 never finished
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    (tmp_path / "b" / "points" / "1.json").unlink()
    (tmp_path / "b" / "points" / ".1.json.tmp123").write_text("{half")    # left by a kill mid-write
    calls = []
    resumed = run_sweep(small, vary, replicates=40, seed=8, workers=1, out=tmp_path / "b", resume=True,
                        progress=lambda *a: calls.append(a))
    assert calls[0][:2] == (2, 3)                    # two points were already done
    assert resumed.rows() == full.rows()
    assert not list((tmp_path / "b" / "points").glob(".*"))
    assert strip_created(json.loads(resumed.to_json())) == strip_created(json.loads(full.to_json()))


def test_unit_resume_refuses_a_different_run(small, tmp_path):
    vary = {"arms.treatment.hazard_ratio": [0.6, 0.8]}
    run_sweep(small, vary, replicates=10, seed=8, workers=1, out=tmp_path)
    with pytest.raises(SweepError, match="seed: 8 there, 9 here"):
        run_sweep(small, vary, replicates=10, seed=9, workers=1, out=tmp_path, resume=True)
    with pytest.raises(SweepError, match="vary"):
        run_sweep(small, {"arms.treatment.hazard_ratio": [0.6, 0.7]}, replicates=10, seed=8, workers=1,
                  out=tmp_path, resume=True)
    other = Scenario.from_dict(set_path(small.to_dict(), ("accrual", "rate"), 10.0))
    with pytest.raises(SweepError, match="scenario_sha256"):
        run_sweep(other, vary, replicates=10, seed=8, workers=1, out=tmp_path, resume=True)
    with pytest.raises(SweepError, match="needs --out"):
        run_sweep(small, vary, replicates=10, seed=8, workers=1, resume=True)
    with pytest.raises(SweepError, match="no checkpoint"):
        run_sweep(small, vary, replicates=10, seed=8, workers=1, out=tmp_path / "empty", resume=True)


def test_unit_resume_reuses_a_drawn_seed(small, tmp_path):
    vary = {"arms.treatment.hazard_ratio": [0.6, 0.8]}
    first = run_sweep(small, vary, replicates=10, workers=1, out=tmp_path)     # no seed anywhere: drawn
    (tmp_path / "points" / "1.json").unlink()
    again = run_sweep(small, vary, replicates=10, workers=1, out=tmp_path, resume=True)
    assert again.provenance["seed"] == first.provenance["seed"] and again.rows() == first.rows()


def test_unit_write_outputs(small, tmp_path):
    res = run_sweep(small, {"arms.treatment.hazard_ratio": [0.6, 0.8], "trial.enrollment": [150, 200]},
                    replicates=10, seed=1, workers=1)
    names = sorted(p.name for p in res.write(tmp_path))
    assert names == ["power_curve.png", "power_curve.svg", "sweep.csv", "sweep.json", "sweep.parquet"]
    frame = res.to_frame()
    from_parquet = pd.read_parquet(tmp_path / "sweep.parquet")
    pd.testing.assert_frame_equal(from_parquet, frame, check_like=False, check_dtype=False)
    from_csv = pd.read_csv(tmp_path / "sweep.csv")
    assert list(from_csv.columns) == list(frame.columns) and len(from_csv) == 4
    data = json.loads((tmp_path / "sweep.json").read_text())
    assert data["provenance"]["vary"]["trial.enrollment"] == [150, 200] and len(data["rows"]) == 4
    assert (tmp_path / "power_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (tmp_path / "power_curve.svg").read_bytes()[:400]


# --------------------------------------------------------------------------
# Unit: the sample-size search


def test_unit_design_at_a_value_keeps_the_ratios(small):
    s = _Search(small, solve="trial.enrollment", target=0.8, replicates=10, seed=1, runner=None)
    d = s.design_dict(301)
    assert d["trial"]["enrollment"] == 301 and d["trial"]["analysis"]["events"] == round(301 * 120 / 200)
    s = _Search(small, solve="trial.analysis.events", target=0.8, replicates=10, seed=1, runner=None)
    assert s.design_dict(150)["trial"]["enrollment"] == 200           # within the enrolment: unchanged
    d = s.design_dict(300)                                            # beyond it: raised at 200/120
    assert d["trial"]["analysis"]["events"] == 300 and d["trial"]["enrollment"] == math.ceil(300 * 200 / 120)


def test_unit_size_answer_is_a_run_at_the_answer(small):
    res = find_sample_size(small, target_power=0.8, solve="trial.enrollment", replicates=400, seed=6, workers=1)
    out = res.to_dict()
    for key in ("solve", "value", "power", "power_mcse", "screened", "randomized", "analysis_month", "assays",
                "assay_cost", "trace", "confidence", "analytic"):
        assert key in out, key
    assert out["solve"] == "trial.enrollment" and out["power"] >= 0.8
    assert out["below"]["value"] == out["value"] - 1 and out["below"]["power"] < 0.8
    assert out["confidence"]["low"] <= out["value"] <= out["confidence"]["high"]
    assert out["events_target"] == max(1, math.floor(out["value"] * 120 / 200 + 0.5))
    again = trialsim.simulate(res.scenario, replicates=400, seed=6, workers=1).summary()
    again.pop("provenance")
    assert out["operating_characteristics"] == json.loads(json.dumps(again))


def test_unit_no_size_reaches_a_null_effect(small):
    null = Scenario.from_dict(set_path(small.to_dict(), ("arms", "treatment", "hazard_ratio"), 1.0))
    with pytest.raises(TargetNotReached, match="not below 1"):
        find_sample_size(null, replicates=100, seed=1, workers=1)
    with pytest.raises(SweepError, match="did you mean 'trial.enrollment'"):
        find_sample_size(small, solve="trial.enrolment", replicates=100, seed=1, workers=1)


def test_unit_size_grid_one_search_per_point(small):
    res = find_sample_sizes(small, {"arms.treatment.hazard_ratio": [0.55, 0.65]}, solve="trial.analysis.events",
                            replicates=300, seed=2, workers=1)
    rows = res.rows()
    assert [r["arms.treatment.hazard_ratio"] for r in rows] == [0.55, 0.65]
    assert rows[0]["value"] < rows[1]["value"]        # a larger effect needs fewer events
    df = res.to_frame()
    assert list(df["value"]) == [r["value"] for r in rows] and "value_low" in df


# --------------------------------------------------------------------------
# Theory: sweeps and the search against Schoenfeld


def test_theory_sweep_powers_match_schoenfeld_within_4_mcse(small):
    """Conventional 1:1 design, 120 events: each simulated power along a
    hazard-ratio sweep lies within 4 Monte Carlo SE of Schoenfeld's power."""
    hrs = [0.6, 0.7, 0.8]
    df = trialsim.sweep(small, {"arms.treatment.hazard_ratio": hrs}, replicates=2000, seed=20261122)
    for hr, p, se in zip(hrs, df["power"], df["power_mcse"]):
        theory = schoenfeld_power(events=120, hazard_ratio=hr, alpha=0.025, sided=1)
        assert abs(p - theory) <= 4 * se, (hr, p, theory, se)
    assert df["power"].is_monotonic_decreasing


def test_theory_searched_events_match_schoenfeld(small):
    """HR 0.6, 1:1, one-sided 0.025, 80% power: Schoenfeld needs 120.3 events.
    The searched answer may differ by the Monte Carlo error of power at the
    answer turned into events through the slope of the power curve
    (4 SE / (dpower/devents)), plus one for the integer step."""
    hr, R = 0.6, 4000
    d_star = schoenfeld_events(hazard_ratio=hr, alpha=0.025, power=0.8)
    small = Scenario.from_dict(set_path(small.to_dict(), ("arms", "treatment", "hazard_ratio"), hr))
    res = find_sample_size(small, target_power=0.8, solve="trial.analysis.events", replicates=R, seed=20261122)
    z = NormalDist()
    drift = 0.5 * abs(math.log(hr))
    slope = z.pdf(z.inv_cdf(0.8)) * drift / (2 * math.sqrt(d_star))
    tolerance = 4 * math.sqrt(0.8 * 0.2 / R) / slope + 1
    assert abs(res.value - d_star) <= tolerance, (res.value, d_star, tolerance)
    assert res.analytic["value"] == math.ceil(d_star)
    assert res.power >= 0.8 and res.below["power"] < 0.8


def test_unit_size_grid_checkpoints_and_resumes(small, tmp_path):
    vary = {"arms.treatment.hazard_ratio": [0.55, 0.65]}
    kw = dict(solve="trial.analysis.events", replicates=250, seed=2, workers=1)
    full = find_sample_sizes(small, vary, out=tmp_path, **kw)
    (tmp_path / "points" / "0.json").unlink()
    again = find_sample_sizes(small, vary, out=tmp_path, resume=True, **kw)
    assert strip_created(again.rows()) == strip_created(full.rows())
    with pytest.raises(SweepError, match="target_power"):
        find_sample_sizes(small, vary, out=tmp_path, resume=True, target_power=0.9, **kw)
