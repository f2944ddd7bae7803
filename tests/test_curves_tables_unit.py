"""Unit tier of trialsim.curves.tables: survival tables read from CSV, one clear line per problem."""

from __future__ import annotations

import numpy as np
import pytest

from trialsim.curves import CurveDataError, from_spec, read_table_csv


def test_unit_read_table_csv(tmp_path):
    p = tmp_path / "km.csv"
    p.write_text("# digitised from figure 2\ntime,survival,n_risk\n0,1,100\n\n12,0.9,80\n24,0.85,60\n")
    c = read_table_csv(p)
    np.testing.assert_array_equal(c.survival([0, 12, 24]), [1, 0.9, 0.85])
    assert c.source == str(p) and "km.csv" in c.describe()
    # spec replays without the file
    p.unlink()
    assert from_spec(c.to_spec()) == c


@pytest.mark.parametrize(
    "content, where, what",
    [
        ("time,surv\n12,0.9\n", "line 1", "header lacks column(s) 'survival'"),
        ("12,0.9\n24,0.8\n", "line 1", "header"),
        ("time,survival\n12,0.9\n24,abc\n", "data row 2 (line 3)", "survival 'abc' is not a number"),
        ("time,survival\n12,0.9\n\n6,0.8\n", "data row 2 (line 4)", "not greater than the previous time"),
        ("time,survival\n12,0.9\n24,1.2\n", "data row 2 (line 3)", "outside [0, 1]"),
        ("time,survival\n12,0.8\n24,0.9\n", "data row 2 (line 3)", "greater than the previous survival"),
        ("time,survival\n12,0.8\n24,-0.1\n", "data row 2 (line 3)", "outside [0, 1]"),
        ("time,survival\n12,0.8,7\n", "data row 1 (line 2)", "expected 2 fields"),
        ("time,survival\n12,\n", "data row 1 (line 2)", "survival is empty"),
        ("time,survival\n", "no data rows", ""),
        ("", "empty file", ""),
    ],
)
def test_unit_read_table_csv_errors(tmp_path, content, where, what):
    p = tmp_path / "bad_km.csv"
    p.write_text(content)
    with pytest.raises(CurveDataError) as info:
        read_table_csv(p)
    msg = str(info.value)
    assert str(p) in msg and where in msg and what in msg
    assert "\n" not in msg
    assert isinstance(info.value, ValueError)


def test_unit_read_table_csv_missing_file(tmp_path):
    p = tmp_path / "nope.csv"
    with pytest.raises(CurveDataError, match="nope.csv: survival table file not found"):
        read_table_csv(p)
    with pytest.raises(CurveDataError, match="nope.csv"):
        from_spec({"table": {"file": "nope.csv"}}, base_dir=tmp_path)
