"""Tables of sweeps and searches: flat columns, files, and text for the terminal.

The JSON rows of a sweep nest (a distribution is ``{mean, median, p10,
p90}``); CSV and Parquet want flat columns, and the terminal wants a
readable table. Both sweeps and sample-size grids use these helpers, so
that their columns and layouts agree. Files are written atomically: a run
interrupted mid-write never leaves a half-written table.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

from trialsim.atomic import atomic_open, atomic_path
from trialsim.montecarlo import wilson_interval

DISTRIBUTION_KEYS = ("mean", "median", "p10", "p90")

# Keys of `trialsim run` that are distributions (so a null one still gets its four columns).
DIST_FIELDS = {"approached", "registered", "assay_ready", "screened", "tested", "test_positive", "eligible",
               "consented", "randomized", "truly_mrd_positive_share", "metastatic_at_staging_share", "events", "analysis_month", "last_randomized_month",
               "screening_closed_month", "hazard_ratio_estimate", "assays", "assay_cost"}


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
        if k in ("scenario", "provenance"):
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


def write_table(df, out: Path, stem: str) -> list[Path]:
    """``stem.csv`` and ``stem.parquet`` of a table, each written atomically."""
    csv_path, pq_path = out / f"{stem}.csv", out / f"{stem}.parquet"
    write_text(csv_path, df.to_csv(index=False, lineterminator="\n"))
    frame = df.copy()
    frame.attrs = {}    # provenance lives in the JSON; keep the Parquet metadata small
    with atomic_path(pq_path) as tmp:
        frame.to_parquet(tmp, index=False)
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
