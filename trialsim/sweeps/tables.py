"""Tables of sweeps and searches: flat columns, files, and text for the terminal.

The JSON rows of a sweep nest (a distribution is ``{mean, median, p10,
p90}``); CSV and Parquet want flat columns, and the terminal wants a
readable table. Both sweeps and sample-size grids use these helpers, so
that their columns and layouts agree. Files are written atomically: a run
interrupted mid-write never leaves a half-written table.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

from trialsim.atomic import atomic_open, atomic_path
from trialsim.montecarlo import wilson_interval

DISTRIBUTION_KEYS = ("mean", "median", "p10", "p90")

# Keys of `trialsim run` that are distributions (so a null one still gets its four columns).
DIST_FIELDS = {"approached", "registered", "assay_ready", "screened", "tested", "test_positive", "confirmed",
               "eligible", "consented", "randomized", "truly_mrd_positive_share", "metastatic_at_staging_share",
               "serial_pairs", "events", "analysis_month", "last_randomized_month", "screening_closed_month",
               "hazard_ratio_estimate", "assays", "assay_cost"}

#: the key of the Parquet key-value metadata that holds a table's provenance (JSON)
PARQUET_METADATA_KEY = "trialsim"


def _dist(name: str) -> list[tuple[str, str]]:
    return [(name, "float")] + [(f"{name}_{k}", "float") for k in DISTRIBUTION_KEYS[1:]]


# The columns every sweep table has, whatever the scenario, in this order after
# the point and its varied paths: (name, type), types "int", "float", "str".
# A column the scenario does not define is there, empty. Columns of a variable
# number (a design's per-look figures, the comparisons of several treatment
# arms: comparisons_1_arm, comparisons_1_power, ...) follow, typed by their values.
SWEEP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("power", "float"), ("power_mcse", "float"), ("power_low", "float"), ("power_high", "float"),
    ("replicates", "int"), ("seed", "int"), ("alpha", "float"), ("sided", "int"), ("test", "str"),
    ("primary_endpoint", "str"),
    *_dist("approached"), *_dist("registered"), *_dist("assay_ready"),
    *_dist("screened"), *_dist("tested"), *_dist("test_positive"), *_dist("confirmed"), *_dist("eligible"),
    *_dist("consented"),
    *_dist("randomized"), ("enrollment_reached_share", "float"), *_dist("truly_mrd_positive_share"),
    *_dist("metastatic_at_staging_share"), *_dist("serial_pairs"), ("serial_agreement", "float"),
    *_dist("events"), ("events_reached_share", "float"), *_dist("analysis_month"),
    *_dist("last_randomized_month"), *_dist("screening_closed_month"), *_dist("hazard_ratio_estimate"),
    ("hazard_ratio_geometric_mean", "float"), ("average_hazard_ratio", "float"),
    ("average_hazard_ratio_mrd", "float"), ("effect_diluted_share", "float"), ("multiplicity", "str"),
    ("familywise_error", "float"), *_dist("assays"), *_dist("assay_cost"),
    ("safety_horizon_share", "float"),
    *_dist("rmst_difference_estimate"), *_dist("milestone_difference_estimate"),
    ("group_sequential_expected_events", "float"), ("group_sequential_expected_analysis_month", "float"),
    ("group_sequential_expected_randomized", "float"), ("group_sequential_stopped_early_share", "float"),
    ("clearance_at_month", "float"), ("clearance_test", "str"), ("clearance_alpha", "float"),
    ("clearance_sided", "int"), ("clearance_power", "float"), ("clearance_power_mcse", "float"),
    *_dist("clearance_share_cleared_treatment"), *_dist("clearance_share_cleared_control"),
    *_dist("clearance_measured"), ("drfs_power", "float"), ("drfs_power_mcse", "float"),
    ("analytic_schoenfeld_power", "float"), ("analytic_schoenfeld_events", "float"),
    ("analytic_schoenfeld_events_for_80", "float"), ("analytic_schoenfeld_events_for_90", "float"),
    ("analytic_schoenfeld_expected_events", "float"), ("analytic_assumes", "str"),
    ("analytic_schoenfeld_note", "str"),
    ("analytic_funnel_tested_per_screened", "float"), ("analytic_funnel_test_positive_per_screened", "float"),
    ("analytic_funnel_eligible_per_screened", "float"), ("analytic_funnel_randomized_per_screened", "float"),
    ("analytic_funnel_assays_per_screened", "float"), ("analytic_funnel_true_positive_share", "float"),
    ("analytic_funnel_screened_per_randomized", "float"), ("analytic_funnel_assumes", "str"),
    ("analytic_funnel_note", "str"),
    ("warnings", "str"),
)

# The columns of a sample-size table (`trialsim size`), after the point and its varied paths.
SIZE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("replicates", "int"), ("solve", "str"), ("target_power", "float"), ("value", "int"), ("power", "float"),
    ("power_mcse", "float"), ("power_low", "float"), ("power_high", "float"), ("enrollment", "int"),
    ("events_target", "int"),
    *_dist("screened"), *_dist("randomized"), *_dist("events"), *_dist("analysis_month"), *_dist("assays"),
    *_dist("assay_cost"), ("simulated_trials", "int"), ("error", "str"), ("value_low", "int"), ("value_high", "int"),
)

#: the separator of the sentences of a point's warnings in its one ``warnings`` cell
WARNINGS_SEPARATOR = " | "


def flatten_row(row: dict) -> dict:
    """A JSON row as flat columns: {mean, median, p10, p90} objects become
    ``key`` (the mean), ``key_median``, ``key_p10``, ``key_p90``; other objects
    ``parent_child``; lists ``key_1``, ``key_2``...; and the power gets its
    95% band ``power_low``/``power_high`` (Wilson's interval over the replicates)."""
    out: dict[str, Any] = {}

    def put(prefix: str, v):
        if isinstance(v, dict):
            if set(v) == set(DISTRIBUTION_KEYS):
                out[prefix] = v["mean"]
                for k in DISTRIBUTION_KEYS[1:]:
                    out[f"{prefix}_{k}"] = v[k]
            else:
                for k, x in v.items():
                    put(f"{prefix}_{k}", x)
        elif isinstance(v, list):
            for i, x in enumerate(v, 1):
                put(f"{prefix}_{i}", x)
        else:
            out[prefix] = v

    for k, v in row.items():
        if k in ("scenario", "provenance", "by_stratum", "by_visit"):
            continue        # by stratum and by visit: in sweep.json (their columns would depend on the design)
        if k == "warnings":         # one cell, so the table's columns do not depend on how many there are
            out[k] = WARNINGS_SEPARATOR.join(map(str, v)) if v else None
            continue
        if v is None and k in DIST_FIELDS:
            out[k] = None
            for s in DISTRIBUTION_KEYS[1:]:
                out[f"{k}_{s}"] = None
            continue
        put(k, v)
        if k == "power_mcse" and isinstance(row.get("power"), (int, float)) and v is not None:
            out["power_low"], out["power_high"] = wilson_interval(row["power"], row["replicates"])
    return out


def write_text(path: Path, text: str) -> Path:
    with atomic_open(path) as f:
        f.write(text)
    return path


def infer_type(values) -> str:
    """The column type of values not in a fixed list: "bool", "int", "float"
    or "str" from the values present; "float" when none is (an all-empty
    column stays numeric, never Arrow's null type)."""
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not present:
        return "float"
    if all(isinstance(v, bool) for v in present):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "int"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "float"
    return "str"


def stable_frame(rows: list[dict], first: list[str], fixed=SWEEP_COLUMNS):
    """A pandas DataFrame of flat rows with a stable set of columns: ``first``
    (the point and varied paths), then every ``fixed`` column (present and
    empty where no row has it), then any other column of the rows, in order
    of appearance. ``df.attrs["column_types"]`` records each column's type
    for :func:`arrow_schema`."""
    import pandas as pd  # deferred: importing pandas takes about a second

    fixed_types = dict(fixed)
    seen: dict[str, None] = {}
    for r in rows:
        seen.update(dict.fromkeys(r))
    names = list(dict.fromkeys([*[c for c in first if c in seen], *fixed_types, *seen]))
    types = {c: fixed_types.get(c) or infer_type([r.get(c) for r in rows]) for c in names}
    data = {}
    for c in names:
        values = [r.get(c) for r in rows]
        kind = types[c]
        if kind == "float":
            data[c] = pd.Series([math.nan if v is None else v for v in values], dtype="float64")
        elif kind == "int" and all(v is not None for v in values):
            data[c] = pd.Series(values, dtype="int64")
        elif kind == "int":
            data[c] = pd.Series([math.nan if v is None else v for v in values], dtype="float64")
        else:
            data[c] = pd.Series(values, dtype=bool if kind == "bool" and None not in values else object)
    df = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
    df.attrs["column_types"] = types
    return df


_ARROW_TYPES = {"int": "int64", "float": "float64", "str": "string", "bool": "bool_"}


def arrow_schema(df, provenance: dict | None = None):
    """The explicit Arrow schema of a table: each column's type from
    ``df.attrs["column_types"]`` (else from its values), never the null type;
    ``provenance`` JSON-encoded under the metadata key ``trialsim``."""
    import pyarrow as pa  # deferred: pyarrow is loaded only to write Parquet

    types = df.attrs.get("column_types") or {}
    fields = []
    for c in df.columns:
        kind = types.get(c) or infer_type(df[c].tolist())
        fields.append(pa.field(str(c), getattr(pa, _ARROW_TYPES[kind])()))
    meta = {PARQUET_METADATA_KEY: json.dumps(provenance, allow_nan=False, default=_json_safe)} if provenance else None
    return pa.schema(fields, metadata=meta)


def _json_safe(o):
    if hasattr(o, "item"):      # numpy scalars
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_parquet(df, path: Path, provenance: dict | None = None) -> Path:
    """``df`` as a Parquet file with its explicit schema (:func:`arrow_schema`)
    and ``provenance`` in the key-value metadata, written atomically."""
    import pyarrow as pa  # deferred: pyarrow is loaded only to write Parquet
    import pyarrow.parquet as pq  # deferred: as above

    schema = arrow_schema(df, provenance)
    frame = df.copy()
    frame.attrs = {}
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta.update(schema.metadata or {})      # the pandas metadata (for read_parquet) and the provenance
    table = table.replace_schema_metadata(meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path


def write_table(df, out: Path, stem: str) -> list[Path]:
    """``stem.csv`` and ``stem.parquet`` of a table, each written atomically;
    the Parquet file has the table's explicit schema and, in its metadata,
    the provenance of ``df.attrs["provenance"]``."""
    csv_path, pq_path = out / f"{stem}.csv", out / f"{stem}.parquet"
    write_text(csv_path, df.to_csv(index=False, lineterminator="\n"))
    write_parquet(df, pq_path, df.attrs.get("provenance"))
    return [csv_path, pq_path]


def fmt_number(x, digits=0) -> str:
    """A count or a month for the terminal: thousands separated, "-" for none."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:,.{digits}f}"


def mean_of(d):
    """The mean of a distribution object, or the value itself."""
    return d["mean"] if isinstance(d, dict) else d


def fmt_value(v) -> str:
    """A varied value as the user would write it (0.3, not 0.30000000000000004)."""
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def text_table(cols: list[tuple[str, Callable[[dict], str]]], rows: list[dict]) -> list[str]:
    """Lines of a right-aligned table: a header, a rule, one line per row;
    ``cols`` are (header, cell of a row) pairs."""
    cells = [[h for h, _ in cols]] + [[f(r) for _, f in cols] for r in rows]
    widths = [max(len(c[j]) for c in cells) for j in range(len(cols))]
    lines = []
    for n, c in enumerate(cells):
        lines.append("  " + "  ".join(x.rjust(w) for x, w in zip(c, widths)))
        if n == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return lines
