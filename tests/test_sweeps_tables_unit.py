"""Sweep and size tables: a stable Arrow schema whatever the scenario, and the
provenance in the Parquet metadata."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from trialsim.sweeps import run_sweep
from trialsim.sweeps.tables import (PARQUET_METADATA_KEY, SWEEP_COLUMNS, WARNINGS_SEPARATOR, arrow_schema,
                                    flatten_row, infer_type, stable_frame)


def _fields(schema: pa.Schema) -> list[tuple[str, str]]:
    return [(f.name, str(f.type)) for f in schema]


def test_unit_conventional_and_screening_sweeps_have_one_schema(small, ctdna, tmp_path):
    conv = run_sweep(small.with_simulation(replicates=4), {"trial.enrollment": [150, 200]}, seed=1, workers=1)
    scr = run_sweep(ctdna.with_simulation(replicates=4), {"trial.enrollment": [40, 60]}, seed=1, workers=1)
    conv.write(tmp_path / "conv")
    scr.write(tmp_path / "scr")
    a = pq.read_schema(tmp_path / "conv" / "sweep.parquet")
    b = pq.read_schema(tmp_path / "scr" / "sweep.parquet")
    # the screening columns are empty in one, the Schoenfeld ones in the other: the same fields and types
    assert _fields(a) == _fields(b)
    types = dict(_fields(a))
    assert "null" not in types.values()
    assert types["tested"] == "double" and types["analytic_schoenfeld_power"] == "double"
    assert types["analytic_funnel_note"] == "string" and types["trial.enrollment"] == "int64"
    assert types["seed"] == "int64" and types["test"] == "string" and types["warnings"] == "string"
    conv_frame = pq.read_table(tmp_path / "conv" / "sweep.parquet").to_pandas()
    assert conv_frame["tested"].isna().all() and conv_frame["analytic_schoenfeld_power"].notna().all()
    scr_frame = pq.read_table(tmp_path / "scr" / "sweep.parquet").to_pandas()
    assert scr_frame["tested"].notna().all() and scr_frame["analytic_schoenfeld_power"].isna().all()
    # the frames (and so the CSV files) have the same columns too
    assert list(conv.to_frame().columns) == list(scr.to_frame().columns) == [f for f, _ in _fields(a)]
    # the provenance, as in sweep.json, under the metadata key "trialsim"
    for name, res in (("conv", conv), ("scr", scr)):
        meta = json.loads(pq.read_schema(tmp_path / name / "sweep.parquet").metadata[PARQUET_METADATA_KEY.encode()])
        on_disk = json.loads((tmp_path / name / "sweep.json").read_text())["provenance"]
        assert meta == on_disk
        assert meta["seed"] == 1 and meta["replicates"] == 4 and meta["kind"] == "sweep"
        assert meta["scenario"]["name"] == res.provenance["scenario"]["name"]


def test_unit_size_table_schema_and_provenance(small, tmp_path):
    from trialsim.sweeps import find_sample_sizes

    res = find_sample_sizes(small.with_simulation(replicates=20), {"arms.treatment.hazard_ratio": [0.6, 0.7]},
                            target_power=0.8, seed=2, workers=1, budget=400)
    res.write(tmp_path)
    schema = pq.read_schema(tmp_path / "size.parquet")
    types = dict(_fields(schema))
    assert "null" not in types.values()
    assert types["value"] == "int64" and types["error"] == "string" and types["assays"] == "double"
    assert json.loads(schema.metadata[b"trialsim"]) == json.loads((tmp_path / "size.json").read_text())["provenance"]


def test_unit_all_empty_columns_stay_typed():
    rows = [{"point": 0, "x": None, "tested": None, "note": "a"}, {"point": 1, "x": None, "tested": None, "note": None}]
    df = stable_frame(rows, ["point"])
    schema = arrow_schema(df, {"seed": 1})
    types = dict(_fields(schema))
    assert types["x"] == "double" and types["tested"] == "double" and types["note"] == "string"
    assert types["point"] == "int64" and types["power"] == "double" and types["clearance_test"] == "string"
    assert [c for c in df.columns][:2] == ["point", "power"]
    assert len(df.columns) == 1 + len(SWEEP_COLUMNS) + 2
    assert json.loads(schema.metadata[b"trialsim"]) == {"seed": 1}
    # an int column with an empty cell keeps the int type in Arrow
    df = stable_frame([{"point": 0, "sided": None}, {"point": 1, "sided": 1}], ["point"])
    table = pa.Table.from_pandas(df, schema=arrow_schema(df), preserve_index=False)
    assert table.column("sided").to_pylist() == [None, 1] and str(table.schema.field("sided").type) == "int64"


def test_unit_infer_type():
    assert infer_type([None, float("nan")]) == "float"
    assert infer_type([True, None]) == "bool"
    assert infer_type([1, 2]) == "int"
    assert infer_type([1, 2.5]) == "float"
    assert infer_type(["a", 1]) == "str"


def test_unit_warnings_are_one_cell():
    row = flatten_row({"power": 0.5, "power_mcse": 0.1, "replicates": 25, "warnings": ["one", "two"]})
    assert row["warnings"] == WARNINGS_SEPARATOR.join(["one", "two"]) and "warnings_1" not in row
    assert flatten_row({"warnings": []})["warnings"] is None
