"""Unit tier of trialsim/results.py: the tidy frames of a SimulationResult."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialsim import load_scenario, simulate


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
