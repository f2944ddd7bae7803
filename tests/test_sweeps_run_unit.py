"""Sweeps (trialsim/sweeps/run.py): trialsim.sweep, run_sweep, SweepResult.

Unit tier: trialsim.sweep is the function itself; rows equal simulate() at
each point; the table's grain and columns; replay from the provenance; the
files a sweep writes.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import trialsim
import trialsim.sweeps
from trialsim import Scenario
from trialsim.sweeps import find_sample_size, find_sample_sizes, run_sweep, set_path


def test_unit_trialsim_sweep_is_the_function_whatever_was_imported():
    import importlib
    import inspect

    importlib.import_module("trialsim.sweeps")
    assert trialsim.sweep is trialsim.sweeps.sweep and callable(trialsim.sweep)
    assert inspect.signature(trialsim.sweep) == inspect.signature(trialsim.sweeps.sweep)
    params = list(inspect.signature(trialsim.sweep).parameters.values())
    assert [p.name for p in params[:2]] == ["scenario", "vary"]
    assert all(p.kind is p.KEYWORD_ONLY for p in params[2:])
    assert trialsim.sweeps.find_sample_sizes is find_sample_sizes
    assert trialsim.find_sample_size is find_sample_size and callable(trialsim.find_sample_size)


def test_unit_import_trialsim_stays_light():
    """`import trialsim` loads neither the sweeps nor pandas, matplotlib or Dask:
    the CLI and a plain `import trialsim` start fast."""
    import subprocess
    import sys

    heavy = ("trialsim.sweeps", "pandas", "matplotlib", "dask", "distributed")
    code = f"import sys, trialsim; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


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
# The library's arguments: each bad one named, nothing written


VARY = {"arms.treatment.hazard_ratio": [0.7, 0.8]}


@pytest.mark.parametrize("kwargs, error, needle", [
    (dict(vary=5), TypeError, "vary must be {path: values}"),
    (dict(vary=[1, 2]), TypeError, "vary must be {path: values}"),
    (dict(vary=None), ValueError, "vary is empty: give at least one path and its values"),
    (dict(vary={}), ValueError, "vary is empty"),
    (dict(vary={5: [1]}), TypeError, "vary: each key must be a dotted path into the scenario (text)"),
    (dict(vary=VARY, out=5), TypeError, "out must be a folder path (a str or os.PathLike), not int"),
    (dict(vary=VARY, out=b"out"), TypeError, "out must be a folder path (a str or os.PathLike), not bytes"),
    (dict(vary=VARY, out=""), ValueError, "out is empty; give a folder name"),
    (dict(vary=VARY, out="   "), ValueError, "out is empty; give a folder name"),
    (dict(vary=VARY, out="x" * 300), ValueError, "file and folder names may have at most 255 bytes"),
    (dict(vary=VARY, out="a\x00b"), ValueError, "out: a folder name cannot contain a NUL byte"),
    (dict(vary=VARY, resume=True), ValueError, "--resume needs --out DIR"),
    (dict(vary=VARY, out="o", resume="yes"), TypeError, "resume must be True or False"),
])
def test_unit_sweep_names_each_bad_argument_and_writes_nothing(small, tmp_path, monkeypatch, kwargs, error, needle):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    with pytest.raises(error) as info:
        trialsim.sweep(small, replicates=2, seed=1, workers=1, **kwargs)
    assert needle in str(info.value), str(info.value)
    assert list(here.iterdir()) == [], "a refused sweep wrote into the current folder"
