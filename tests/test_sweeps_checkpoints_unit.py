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
