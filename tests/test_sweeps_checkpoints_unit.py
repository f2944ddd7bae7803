"""Checkpoints and --resume (trialsim/sweeps/checkpoints.py).

Unit tier: each point written as it finishes; a resumed run equals an
uninterrupted one; a checkpoint of another run is refused; a drawn seed is
reused.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import strip_created
from trialsim import Scenario
from trialsim.sweeps import SweepError, run_sweep, set_path


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


@pytest.mark.parametrize("name,text,needle", [
    ("3.json", '{"values": {}}', "3.json is not a checkpoint of a grid point: no grid point number"),
    ("1.json", '{"point": 1, "values": {"arms.treatment.hazard_ratio": 0.7}, "summ', "1.json: a checkpoint that cannot be read"),
    ("2.json", '{"point": 0, "values": {"a": 1}, "summary": {"power": 0.5, "replicates": 10}}', "it says point 0"),
    ("0.json", '[1, 2]', "0.json is not a checkpoint of a grid point: not a JSON object"),
    ("1.json", '{"point": 1, "values": {"a": 1}, "summary": {}}', "no results ('summary')"),
])
def test_unit_resume_names_a_corrupt_point(small, tmp_path, name, text, needle):
    vary = {"arms.treatment.hazard_ratio": [0.6, 0.7, 0.8, 0.9]}
    run_sweep(small, vary, replicates=10, seed=8, workers=1, out=tmp_path)
    (tmp_path / "points" / name).write_text(text)
    with pytest.raises(SweepError, match="delete it") as err:
        run_sweep(small, vary, replicates=10, seed=8, workers=1, out=tmp_path, resume=True)
    assert needle in str(err.value) and str(tmp_path / "points" / name) in str(err.value)


@pytest.mark.parametrize("text,needle", [
    ("{half", "cannot be read"),
    ("[]", "is not a trialsim checkpoint manifest"),
    ('{"rows": []}', "is not a trialsim checkpoint manifest"),
])
def test_unit_resume_names_a_corrupt_manifest(small, tmp_path, text, needle):
    vary = {"arms.treatment.hazard_ratio": [0.6, 0.8]}
    run_sweep(small, vary, replicates=10, seed=8, workers=1, out=tmp_path)
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(SweepError, match=needle):
        run_sweep(small, vary, replicates=10, seed=8, workers=1, out=tmp_path, resume=True)


def test_unit_a_size_manifest_is_another_run_for_a_sweep(small, tmp_path):
    from trialsim.sweeps import find_sample_sizes

    vary = {"arms.treatment.hazard_ratio": [0.6, 0.8]}
    find_sample_sizes(small, vary, solve="trial.analysis.events", replicates=40, seed=8, workers=1, out=tmp_path)
    with pytest.raises(SweepError, match="different run"):
        run_sweep(small, vary, replicates=40, seed=8, workers=1, out=tmp_path, resume=True)


def test_unit_a_finished_folder_is_refused_without_resume(small, tmp_path):
    vary = {"arms.treatment.hazard_ratio": [0.6, 0.8]}
    res = run_sweep(small, vary, replicates=10, seed=8, workers=1, out=tmp_path)
    res.write(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(SweepError, match="holds the finished results .*sweep.json.*--resume.*another folder"):
        run_sweep(small, vary, replicates=10, seed=9, workers=1, out=tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    again = run_sweep(small, vary, replicates=10, seed=8, workers=1, out=tmp_path, resume=True)
    assert again.rows() == res.rows()
