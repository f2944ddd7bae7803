"""Sample sizes by simulation (trialsim/sweeps/sizes.py): find_sample_size(s).

Unit tier: the answer is a run at the answer; no size reaches a null
effect; one search per grid point; a size grid checkpoints and resumes.
"""

from __future__ import annotations

import json
import math

import pytest

import trialsim
from tests.conftest import strip_created
from trialsim import Scenario
from trialsim.sweeps import (
    SweepError,
    TargetNotReached,
    find_sample_size,
    find_sample_sizes,
    set_path,
)


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


def test_unit_size_grid_checkpoints_and_resumes(small, tmp_path):
    vary = {"arms.treatment.hazard_ratio": [0.55, 0.65]}
    kw = dict(solve="trial.analysis.events", replicates=250, seed=2, workers=1)
    full = find_sample_sizes(small, vary, out=tmp_path, **kw)
    (tmp_path / "points" / "0.json").unlink()
    again = find_sample_sizes(small, vary, out=tmp_path, resume=True, **kw)
    assert strip_created(again.rows()) == strip_created(full.rows())
    with pytest.raises(SweepError, match="target_power"):
        find_sample_sizes(small, vary, out=tmp_path, resume=True, target_power=0.9, **kw)


@pytest.mark.parametrize("solve, error, needle", [
    (5, TypeError, "solve must be the dotted path to solve, one of trial.enrollment, trial.analysis.events; got 5"),
    (None, TypeError, "solve must be the dotted path to solve"),
    (["trial.enrollment"], TypeError, "solve must be the dotted path to solve"),
    ("x", ValueError, "--solve x: solve one of trial.enrollment, trial.analysis.events"),
])
def test_unit_size_search_names_a_bad_solve(small, solve, error, needle):
    with pytest.raises(error) as info:
        trialsim.find_sample_size(small, solve=solve, replicates=20, seed=1, workers=1)
    assert needle in str(info.value)


def test_unit_size_grid_refuses_an_empty_out(small, tmp_path, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    with pytest.raises(ValueError, match="out is empty"):
        trialsim.find_sample_sizes(small, {"arms.treatment.hazard_ratio": [0.6]}, replicates=20, seed=1,
                                   workers=1, out="")
    assert list(here.iterdir()) == []
