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


def test_unit_write_puts_parquet_beside_csv_and_json(ctdna, tmp_path):
    import json

    import pyarrow.parquet as pq

    r = simulate(ctdna, replicates=6, seed=4, workers=1)
    written = r.write(tmp_path / "out")
    assert [p.name for p in written] == ["replicates.csv", "replicates.parquet", "results.json"]
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
