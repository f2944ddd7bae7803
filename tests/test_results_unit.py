"""Unit tier of trialsim/results.py: the tidy frames of a SimulationResult."""
from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from trialsim import load_scenario, simulate
from trialsim.cli import app


@pytest.fixture(scope="module")
def looked():
    sc = load_scenario({"name": "with a look", "accrual": {"rate": 20.8333},
                        "population": {"strata": [{"name": "all", "share": 1,
                                                   "recurrence": {"exponential": {"median": 24}}}]},
                        "arms": {"control": {}, "treatment": {"hazard_ratio": 0.7}},
                        "trial": {"enrollment": 500, "analysis": {"events": 247, "looks": [0.5]}}})
    return simulate(sc, replicates=40, seed=3, workers=1, timeline=60)


def test_unit_looks_frame_one_row_per_replicate_per_analysis(looked):
    f = looked.looks_frame()
    assert list(f.columns) == ["replicate", "look", "month", "events", "randomized", "z", "efficacy_bound",
                               "futility_bound", "decision"]
    assert (f.groupby("replicate")["look"].max().to_numpy() == looked.table["stopped_at_look"]).all()
    last = f.groupby("replicate").tail(1)
    assert set(last["decision"]) <= {"efficacy", "futility", "final"}
    assert np.array_equal(last["decision"].eq("efficacy").to_numpy(), looked.table["rejected"])


def test_unit_looks_frame_refused_without_looks(conventional):
    r = simulate(conventional, replicates=3, seed=1, workers=1)
    with pytest.raises(ValueError, match="no interim looks"):
        r.looks_frame()
    with pytest.raises(ValueError, match="timeline=True"):
        r.timeline_frame()


def test_unit_timeline_frame_is_the_timeline_in_long_form(looked):
    f = looked.timeline_frame()
    assert list(f.columns) == ["replicate", "month", "screened", "randomized", "events"]
    assert len(f) == looked.replicates * 60
    wide = f.pivot(index="replicate", columns="month", values="randomized").to_numpy()
    np.testing.assert_array_equal(wide, looked.timeline["randomized"])
    assert (f.groupby("replicate")["events"].diff().dropna() >= 0).all()


def test_unit_to_frame_one_row_per_replicate(looked):
    f = looked.to_frame()
    assert isinstance(f, pd.DataFrame) and len(f) == looked.replicates
    assert f["replicate"].tolist() == list(range(looked.replicates))


def test_unit_write_puts_parquet_beside_csv_and_json(ctdna, tmp_path):
    import json

    import pyarrow.parquet as pq

    r = simulate(ctdna, replicates=6, seed=4, workers=1)
    written = r.write(tmp_path / "out")
    assert [p.name for p in written] == ["replicates.csv", "replicates.parquet", "results.json", "by_visit.csv"]
    import csv

    rows = list(csv.DictReader((tmp_path / "out" / "by_visit.csv").open()))
    summary = r.summary()["by_visit"]
    assert [int(row["visit"]) for row in rows] == [v["visit"] for v in summary]
    assert [float(row["tests"]) for row in rows] == [v["tests"] for v in summary]
    table = pq.read_table(tmp_path / "out" / "replicates.parquet")
    types = {f.name: str(f.type) for f in table.schema}
    assert list(types) == r.columns()
    assert types["replicate"] == "int64" and types["z"] == "double" and types["rejected"] == "bool"
    assert types["screened"] == "int64" and types["assay_cost"] == "double"
    frame = table.to_pandas()
    pd.testing.assert_frame_equal(frame, r.to_frame(), check_dtype=True)
    csv_frame = pd.read_csv(tmp_path / "out" / "replicates.csv")
    assert np.allclose(csv_frame["z"], frame["z"]) and (csv_frame["events"] == frame["events"]).all()
    # the provenance, as results.json holds it, JSON-encoded under the metadata key "trialsim"
    meta = json.loads(table.schema.metadata[b"trialsim"])
    on_disk = json.loads((tmp_path / "out" / "results.json").read_text())["provenance"]
    assert meta == on_disk
    assert meta["seed"] == 4 and meta["replicates"] == 6 and meta["scenario"]["name"] == "small ctDNA surveillance"


def _agrees_with_its_row(result, frame, i):
    """The survivors' counts of replicate i equal its row of to_frame()."""
    row = result.to_frame().iloc[i]
    assert (frame["replicate"] == i).all()
    got = {"screened": len(frame), "randomized": int(frame["randomized"].sum()),
           "events": int(frame["event"].fillna(False).sum()),
           "treatment_randomized": int((frame["arm"] == result.scenario.treatment_arm).fillna(False).sum()),
           "truly_mrd_positive": int(frame["truly_mrd_positive"].fillna(False)[frame["randomized"]].sum())}
    if result.scenario.screening is not None:
        got.update(tested=int(frame["tested"].sum()), assays=int(frame["visits"].sum()),
                   test_positive=int(frame["test_positive"].sum()), eligible=int(frame["eligible"].fillna(False).sum()),
                   consented=int(frame["consented"].fillna(False).sum()))
        assert (frame["positives"] == frame["test_positive"].astype("Int64")).all()
    for key, value in got.items():
        assert value == row[key], (i, key, value, row[key])
    assert frame["event"].fillna(False).le(frame["in_analysis"].fillna(False)).all()
    return got


def test_unit_patients_frame_screened_survivors_agree_with_the_replicate_table(ctdna):
    from trialsim.results import PATIENT_COLUMNS

    r = simulate(ctdna, replicates=5, seed=11, workers=1)
    seen = []
    for i in range(5):
        f = r.patients_frame(i)
        assert {c: str(t) for c, t in f.dtypes.items()} == {c: ("string" if t == "string" else t)
                                                            for c, t in PATIENT_COLUMNS.items()}
        seen.append(_agrees_with_its_row(r, f, i))
        assert (f["survivor"] == np.arange(len(f))).all() and f["entered_month"].is_monotonic_increasing
        # the screening record: a positive comes from a visit, staging only after a positive by the close
        pos = f["test_positive"]
        assert f.loc[pos, "positive_visit"].between(1, 4).all() and f.loc[~pos, "positive_visit"].isna().all()
        assert (f.loc[pos, "positive_result_month"] <= f.loc[pos, "screening_closed_month"]).all()
        assert f.loc[~pos, "eligible"].isna().all() and f.loc[pos, "eligible"].notna().all()
        assert not (f["eligible"] & f["metastatic_at_staging"]).fillna(False).any()
        assert (f["visits"] <= 4).all() and ((f["visits"] > 0) | ~f["tested"]).all()
        rand = f["randomized"]
        assert f.loc[rand, "arm"].isin(["control", "treatment"]).all() and f.loc[~rand, "arm"].isna().all()
        assert (f.loc[rand, "randomized_month"] == f.loc[rand, "positive_result_month"]).all()
        assert f.loc[~rand, "randomized_month"].isna().all() and f.loc[~rand, "time"].isna().all()
    assert sum(s["randomized"] for s in seen) > 0 and sum(s["test_positive"] for s in seen) > sum(
        s["randomized"] for s in seen)


def test_unit_patients_frame_is_the_same_whatever_the_workers(ctdna):
    one = simulate(ctdna, replicates=4, seed=7, workers=1)
    two = simulate(ctdna, replicates=4, seed=7, workers=2, chunk_size=1)
    a, b = one.patients_frame(3), two.patients_frame(3)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == one.table["screened"][3]
    # the randomised rows are the patient table's rows of that replicate
    from trialsim.engine import patient_table

    pt = pd.DataFrame(patient_table(ctdna, seed=7, replicate=3, replicates=4))
    rand = a[a["randomized"]].sort_values("randomized_month", kind="stable")
    assert np.allclose(np.sort(rand["randomized_month"].to_numpy()), np.sort(pt["randomized_month"].to_numpy()))
    assert sorted(rand["arm"].tolist()) == sorted(pt["arm"].tolist())
    assert int(rand["event"].sum()) == int(pt["event"].sum())


def test_unit_patients_frame_conventional_one_row_per_randomised(conventional, looked):
    r = simulate(conventional, replicates=3, seed=5, workers=1)
    f = r.patients_frame(2)
    assert len(f) == 500 and f["randomized"].all()
    _agrees_with_its_row(r, f, 2)
    for col in ("visits", "tested", "positive_visit", "test_positive", "eligible", "consented",
                "mrd_detectable_at_entry", "truly_mrd_positive"):
        assert f[col].isna().all(), col
    assert (f["randomized_month"] == f["entered_month"]).all()
    # a design with an interim look: the events of the analysis that decided
    for i in (0, 1):
        _agrees_with_its_row(looked, looked.patients_frame(i), i)


def test_unit_patients_frame_refuses_bad_replicates(conventional):
    r = simulate(conventional, replicates=3, seed=5, workers=1)
    with pytest.raises(ValueError, match=r"replicate must lie in \[0, 3\)"):
        r.patients_frame(3)
    with pytest.raises(TypeError, match="one replicate index"):
        r.patients_frame(True)
    with pytest.raises(TypeError, match="one replicate index"):
        r.patients_frame([0, 1])


def test_unit_frames_have_stable_dtypes(looked):
    from trialsim.results import LOOK_COLUMNS, TIMELINE_COLUMNS

    assert {c: str(t) for c, t in looked.looks_frame().dtypes.items()} == LOOK_COLUMNS
    assert {c: str(t) for c, t in looked.timeline_frame().dtypes.items()} == TIMELINE_COLUMNS


def test_unit_patients_frame_of_a_replicate_nobody_entered(tmp_path):
    from tests.conftest import CTDNA
    from trialsim.results import PATIENT_COLUMNS

    text = CTDNA.replace("max_months: 36", "max_months: 2").replace(
        "accrual: {rate: 60, sites: {count: 10, open_over: 6}}", "accrual: {rate: 1}")
    r = simulate(load_scenario(text=text), replicates=30, seed=1, workers=1)
    empty = [i for i in range(30) if r.table["screened"][i] == 0]
    assert empty                                   # about 1 in 7 replicates screens nobody
    for i in (empty[0], int(np.argmax(r.table["screened"]))):
        f = r.patients_frame(i)
        assert len(f) == r.table["screened"][i]
        assert {c: str(t) for c, t in f.dtypes.items()} == PATIENT_COLUMNS


PATHWAY_CLI = """\
name: pathway results
simulation: {replicates: 6, seed: 5}
accrual: {rate: 30}
population:
  strata:
    - {name: young, share: 0.5, recurrence: {exponential: {median: 40}}}
    - {name: old, share: 0.5, time_since_diagnosis: 20, recurrence: {exponential: {median: 90}}}
mrd: {model: prevalence, prevalence: 0.2, hazard_ratio: 2}
screening:
  test: {sensitivity: 0.9, specificity: 0.99}
  visits: {schedule: [{every: 3, until: 9}, {every: 6}], anchor: diagnosis}
  prescreen: {consent: 0.9, assay_setup: 0.75, setup_time: 1}
  max_months: 18
arms: {control: {}, treatment: {hazard_ratio: 0.7}}
trial: {enrollment: 30, analysis: {events: 10}}
"""


def test_pathway_keys_reach_the_json_the_csv_and_the_table(tmp_path):
    path = tmp_path / "pathway.yaml"
    path.write_text(PATHWAY_CLI)
    res = CliRunner().invoke(app, ["run", str(path), "-w", "1", "-f", "json", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    s = json.loads(res.stdout)
    for key in ("approached", "registered", "assay_ready", "metastatic_at_staging_share"):
        assert set(s[key]) == {"mean", "median", "p10", "p90"}, key
    assert list(s["by_stratum"]) == ["young", "old"]
    assert s["by_stratum"]["old"]["approached"]["mean"] > 0
    assert s["by_visit"][0]["visit"] == 1 and set(s["by_visit"][0]) == {"visit", "tests", "positive", "positive_share"}
    with open(tmp_path / "out" / "replicates.csv", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header[1:5] == ["approached", "registered", "assay_ready", "screened"]
    assert "metastatic_at_staging" in header and "randomized[old]" in header and "approached[young]" in header
    table = CliRunner().invoke(app, ["run", str(path), "-w", "1"]).stdout
    for text in ("approached", "registered", "assay set up", "staged metastatic share", "by stratum",
                 "by visit", "young", "old"):
        assert text in table, text


def test_unit_provenance_versions_are_the_installed_distributions():
    """The versions in a run's provenance are importlib.metadata's (None when not installed)."""
    from importlib import metadata

    from trialsim.results import _PEERS, _version

    for pkg in (*_PEERS, "typer", "pyyaml", "no-such-distribution-here"):
        try:
            expected = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            expected = None
        assert _version(pkg) == expected, pkg
    assert _version("numpy") is not None and _version("no-such-distribution-here") is None


def test_unit_provenance_platform_is_platform_platform_without_the_processor(monkeypatch):
    """The recorded platform is platform.platform()'s string; on Linux without
    the processor field (``uname -p``, a program started for it), which that
    string leaves out when it is "unknown" or the machine. (platform.platform()
    is given each processor here, so that the test does not depend on this
    machine's.)"""
    import platform
    import sys

    from trialsim.results import platform_name

    if sys.platform.startswith("linux"):
        monkeypatch.setattr(platform, "_platform_cache", {})
        monkeypatch.setattr(platform, "uname", lambda: (*os_uname_fields(), "unknown"))
        assert platform_name() == platform.platform()
        monkeypatch.setattr(platform, "_platform_cache", {})
        machine = os_uname_fields()[4]
        monkeypatch.setattr(platform, "uname", lambda: (*os_uname_fields(), machine))
        assert platform_name() == platform.platform()
    else:
        assert platform_name() == platform.platform()


def os_uname_fields() -> tuple:
    import os

    u = os.uname()
    return (u.sysname, u.nodename, u.release, u.version, u.machine)


def test_unit_distribution_centiles_are_numpy_percentile_bit_for_bit():
    """The 10th, 50th and 90th centiles of a distribution are np.percentile's
    (linear method), to the bit: sizes 1, 2, 3 and many, ties, equal values,
    signed zeros, tiny and huge magnitudes."""
    from trialsim.results import distribution

    rng = np.random.default_rng(20251203)
    cases = [np.array([3.5]), np.array([-1.0, 2.0]), np.array([2.0, -1.0]), np.array([0.0, -0.0, 0.0]),
             np.arange(10.0), np.arange(11.0)[::-1]]
    for k in range(3000):
        n = int(rng.choice([1, 2, 3, 4, 5, 9, 10, 11, 21, 99, 100, 101, 1000, 10001]))
        kind = k % 6
        if kind == 0:
            v = rng.normal(size=n)
        elif kind == 1:
            v = rng.integers(0, 4, size=n).astype(float)                   # many ties
        elif kind == 2:
            v = np.full(n, rng.normal())                                      # all equal
        elif kind == 3:
            v = rng.exponential(size=n) * 10.0 ** int(rng.integers(-300, 300))
        elif kind == 4:
            v = rng.choice([-0.0, 0.0, 1.0, -1.0], size=n)                    # signed zeros
        else:
            v = np.round(rng.normal(size=n) * 1000) / 7
        cases.append(v)
    for v in cases:
        d = distribution(v)
        want = np.percentile(v, [10, 50, 90])
        got = np.array([d["p10"], d["median"], d["p90"]])
        assert got.tobytes() == want.tobytes(), (v[:8], v.size, got, want)
    assert distribution(np.array([np.nan, np.inf])) is None
    assert distribution(np.array([np.nan, 1.0, 3.0]))["median"] == 2.0      # only finite values count
