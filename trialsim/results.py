"""Results: the per-replicate table, operating characteristics, provenance.

The table's grain is one row per simulated trial (replicate), at its final
analysis. Columns (docs/results.md describes each):

replicate, approached, registered, assay_ready (with screening.prescreen),
screened, tested, assays, test_positive, metastatic_at_staging, eligible,
consented, randomized, treatment_randomized, truly_mrd_positive, enrollment_reached,
screening_closed_month, last_randomized_month, analysis_month, events,
events_control, events_treatment, events_reached, z, hazard_ratio_estimate,
rejected, assay_cost (when the test has a cost), safety_horizon_hit (when
screening has no max_months); with several strata, the funnel's counts per
stratum as ``KEY[STRATUM]``.
"""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import sys
import textwrap
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np

from trialsim.atomic import replace_folder
from trialsim.companions import analytic_companions
from trialsim.loading import printable
from trialsim.montecarlo import binomial_mcse
from trialsim.plan_checks import result_warnings
from trialsim.scenario import Scenario
from trialsim.version import __version__

COLUMN_ORDER = [
    "replicate", "approached", "registered", "assay_ready", "screened", "tested", "assays", "test_positive",
    "metastatic_at_staging", "eligible", "consented", "randomized",
    "treatment_randomized", "truly_mrd_positive", "enrollment_reached", "screening_closed_month",
    "last_randomized_month", "analysis_month", "events", "events_control", "events_treatment",
    "events_reached", "z", "hazard_ratio_estimate", "rejected", "assay_cost", "safety_horizon_hit",
]

_PEERS = ("numpy", "scipy", "lifelines", "simpy", "pydantic", "pandas")


def _version(pkg: str) -> str | None:
    """``importlib.metadata.version(pkg)`` (None when not installed), read from
    the header block of the distribution's metadata: metadata.version parses
    the whole file, long description included (10 ms for pandas)."""
    try:
        dist = metadata.distribution(pkg)
    except metadata.PackageNotFoundError:
        return None
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    for line in text.partition("\n\n")[0].splitlines():
        name, colon, value = line.partition(":")
        if colon and not line[:1].isspace() and name.strip().lower() == "version":   # not a folded line
            return value.strip()
    return dist.version


def provenance(scenario: Scenario, seed: int, replicates: int) -> dict:
    """Everything needed to replay a run: the scenario as loaded, seed, versions."""
    return {
        "scenario": scenario.to_dict(),
        "seed": int(seed),
        "replicates": int(replicates),
        "trialsim": __version__,
        "versions": {pkg: _version(pkg) for pkg in _PEERS},
        "python": sys.version.split()[0],
        "platform": platform_name(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def platform_name() -> str:
    """``platform.platform()``'s string (``Linux-6.1.0-x86_64-with-glibc2.36``)
    without its processor field on Linux, where that field is what ``uname -p``
    prints (almost always "unknown" or the machine, both left out of the
    string), read by starting that program: 10-20 ms of every run. The
    system, release and machine are the kernel's (``os.uname()``), the C
    library's name and version ``platform.libc_ver()``'s (glibc's own answer,
    without reading the interpreter's file). Elsewhere ``platform.platform()``."""
    uname = os.uname() if hasattr(os, "uname") else None
    if uname is None or uname.sysname != "Linux":
        return platform.platform()
    libc, version = platform.libc_ver()
    text = "-".join(x.strip() for x in (uname.sysname, uname.release, uname.machine, "with", libc + version) if x)
    for ch in ' /\\:;"()':      # as platform.platform() cleans its string: filename-safe
        text = text.replace(ch, "_" if ch == " " else "-")
    text = text.replace("unknown", "")
    while "--" in text:
        text = text.replace("--", "-")
    return text.rstrip("-")


#: the funnel's stages, in order: the overall counts, and each stratum's (``by_stratum``)
FUNNEL_KEYS = ("approached", "registered", "assay_ready", "screened", "tested", "assays", "test_positive",
               "eligible", "consented", "randomized")


def stratum_column(key: str, stratum: str) -> str:
    """The per-replicate column of a funnel count in one stratum: ``KEY[STRATUM]``."""
    return f"{key}[{stratum}]"


def stack_visits(parts: list[dict], upto: int | None = None) -> dict[str, np.ndarray] | None:
    """The chunks' ``_by_visit`` counts ((replicates, visits) each, "tests" and
    "positive") as one pair of arrays, padded with zeros to the most visits;
    None for a design without screening."""
    if not parts or "_by_visit" not in parts[0]:
        return None
    width = max(p["_by_visit"]["tests"].shape[1] for p in parts)
    out = {}
    for key in ("tests", "positive"):
        blocks = []
        for p in parts:
            a = p["_by_visit"][key]
            blocks.append(np.pad(a, ((0, 0), (0, width - a.shape[1]))))
        out[key] = np.concatenate(blocks)
        if upto is not None:
            out[key] = out[key][:upto]
    return out


def _share(numerator, denominator) -> np.ndarray:
    """Per-replicate share, nan where the denominator is 0."""
    den = np.asarray(denominator, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, np.asarray(numerator, dtype=float) / den, np.nan)


def distribution(values) -> dict | None:
    """{mean, median, p10, p90} of finite values over replicates."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    p10, med, p90 = _percentiles(v, (0.1, 0.5, 0.9))
    return {"mean": float(v.mean()), "median": float(med), "p10": float(p10), "p90": float(p90)}


def _percentiles(v: np.ndarray, quantiles: tuple[float, ...]) -> list[float]:
    """``np.percentile(v, 100 * quantiles)`` of a non-empty float array without
    nan, bit for bit: numpy's default ("linear") method, its arithmetic step
    by step, on order statistics found by one ``np.partition``.
    (``np.percentile`` finds them through ``np.unique``, which imports
    numpy.ma: 30 ms of every run's start-up.)

    The quantile q falls at index i = (n - 1) q of the sorted values, between
    the values a and b at floor(i) and floor(i) + 1, at the fraction
    g = i - floor(i); an index at n - 1 or beyond takes the largest value for
    both, with g = i + 1 (numpy's index -1). The value is a + (b - a) g, or,
    for g >= 0.5, b - (b - a)(1 - g) (numpy's ``_lerp``)."""
    n = v.size
    spots = []
    for q in quantiles:
        i = (n - 1) * q
        lo = math.floor(i)
        spots.append((i, -1, -1) if i >= n - 1 else (i, lo, lo + 1))
    # numpy's own positions to partition at, in its order (values that compare
    # equal, as -0.0 and 0.0, then land where numpy's partition puts them)
    kth = sorted({0, -1}.union(k for _, lo, hi in spots for k in (lo, hi)))
    part = np.partition(v, kth)
    out = []
    for i, lo, hi in spots:
        a, b = float(part[lo]), float(part[hi])
        g = i - lo
        d = b - a
        out.append(b - d * (1 - g) if g >= 0.5 else a + d * g)
    return out


@dataclass
class SimulationResult:
    """The result of :func:`trialsim.simulate`.

    ``table`` maps column names to arrays, one element per replicate;
    ``to_frame()`` gives it as a pandas DataFrame. ``summary()`` gives the
    operating characteristics as a dict (the JSON of ``trialsim run``).
    """

    scenario: Scenario
    table: dict[str, np.ndarray]
    provenance: dict
    model: Any = field(default=None, repr=False)
    looks: dict[str, np.ndarray] | None = None   # one row per replicate per look performed
    timeline: dict[str, np.ndarray] | None = None  # month (M,), screened/randomized/events (R, M) cumulative
    # replicate index -> its screened survivors, re-simulated (engine.patient_table(..., screened=True))
    patient_source: Callable[..., dict] | None = field(default=None, repr=False, compare=False)
    by_visit: dict[str, np.ndarray] | None = None  # "tests", "positive": (R, visits) counts per visit number

    @property
    def replicates(self) -> int:
        return int(self.table["replicate"].size)

    @property
    def seed(self) -> int:
        return self.provenance["seed"]

    @property
    def power(self) -> float:
        return float(np.mean(self.table["rejected"]))

    @property
    def power_mcse(self) -> float:
        return binomial_mcse(self.power, self.replicates)

    def columns(self) -> list[str]:
        return [c for c in COLUMN_ORDER if c in self.table] + [c for c in self.table if c not in COLUMN_ORDER]

    def to_frame(self):
        """One row per simulated trial (replicate); columns in docs/results.md."""
        import pandas as pd  # deferred: pandas costs about 0.3 s of start-up; only frames need it

        return pd.DataFrame({c: self.table[c] for c in self.columns()})

    def looks_frame(self):
        """One row per replicate per analysis performed (designs with interim
        looks): replicate, look (1-based; the last is the final analysis),
        month, events, randomized, z, efficacy_bound, futility_bound (NaN
        where there is none) and decision (efficacy, futility, continue or
        final). Raises ValueError for a design without looks."""
        import pandas as pd  # deferred: pandas costs about 0.3 s of start-up; only frames need it

        if self.looks is None:
            raise ValueError("this design has no interim looks (trial.analysis.looks): use to_frame()")
        frame = pd.DataFrame({k: self.looks[k] for k in LOOK_COLUMNS if k in self.looks}).astype(LOOK_COLUMNS)
        return frame.sort_values(["replicate", "look"], kind="stable").reset_index(drop=True)

    def timeline_frame(self):
        """One row per replicate per calendar month: replicate, month (the
        month's end, from the trial's start), and the cumulative numbers
        screened, randomized and with an event counted in the final analysis.
        Needs ``simulate(..., timeline=True)``."""
        import pandas as pd  # deferred: pandas costs about 0.3 s of start-up; only frames need it

        if self.timeline is None:
            raise ValueError("no timeline was recorded: run simulate(..., timeline=True)")
        tl = self.timeline
        months = np.asarray(tl["month"])
        R = self.replicates
        frame = {"replicate": np.repeat(self.table["replicate"], months.size), "month": np.tile(months, R)}
        for key in ("screened", "randomized", "events"):
            frame[key] = np.asarray(tl[key]).reshape(-1)
        return pd.DataFrame(frame).astype(TIMELINE_COLUMNS)

    def patients_frame(self, replicate: int = 0):
        """One row per screened survivor of one replicate (without screening:
        per randomised patient), re-simulated alone from the run's seed, so
        the same frame whatever the workers; its counts agree with that
        replicate's row of ``to_frame()``. Columns and their types:
        :data:`PATIENT_COLUMNS` (docs/results.md describes each); a value
        absent for a survivor is ``<NA>`` (integer and boolean columns) or
        NaN (times)."""
        import pandas as pd  # deferred: pandas costs about 0.3 s of start-up; only frames need it

        if self.patient_source is None:
            raise ValueError("this result cannot re-simulate its patients: use trialsim.simulate() "
                             "(or trialsim.replay()) to get one that can")
        if isinstance(replicate, (bool, np.bool_)) or not isinstance(replicate, (int, np.integer)):
            raise TypeError(f"replicate must be one replicate index (an int), got {replicate!r}")
        data = self.patient_source(replicate=int(replicate))
        return pd.DataFrame({c: _column(data[c], kind) for c, kind in PATIENT_COLUMNS.items()})

    def _metastatic_by_arm(self) -> dict:
        """Staged after randomisation: per arm, the share of its randomised
        patients found metastatic at staging, pooled over trials."""
        t = self.table
        sc = self.scenario
        names = list(sc.arms)
        out = {}
        for k, name in enumerate(names):
            if k == 0:
                n = np.sum(t["randomized"]) - np.sum(t["treatment_randomized"])
                meta = np.sum(t["metastatic_randomized_control"])
            elif len(names) == 2:
                n, meta = np.sum(t["treatment_randomized"]), np.sum(t["metastatic_randomized_treatment"])
            else:
                n, meta = np.sum(t[f"randomized_{name}"]), np.sum(t[f"metastatic_randomized_{name}"])
            out[name] = float(meta / n) if n else None
        return out

    def summary(self) -> dict:
        t = self.table
        sc = self.scenario
        screening = sc.screening is not None
        rand = t["randomized"].astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            truly_share = np.where(rand > 0, t["truly_mrd_positive"] / rand, np.nan)
        out: dict[str, Any] = {
            "scenario": sc.name,
            "replicates": self.replicates,
            "seed": self.seed,
            "power": self.power,
            "power_mcse": self.power_mcse,
            "alpha": sc.trial.analysis.alpha,
            "sided": sc.trial.analysis.sided,
            "test": sc.trial.analysis.test,
            "primary_endpoint": sc.trial.endpoints[0],
        }
        if sc.trial.endpoints[0] == "mrd_clearance":
            c = sc.trial.clearance
            out.update(alpha=c.alpha, sided=c.sided, test=c.test)
        prescreen = screening and sc.screening.prescreen is not None
        for key in ("approached", "registered", "assay_ready"):
            out[key] = distribution(t[key]) if prescreen and key in t else None
        for key in ("screened", "tested", "test_positive", "eligible", "consented"):
            if key in t:
                out[key] = distribution(t[key])
            elif key == "screened" or not screening:
                out[key] = distribution(t["screened"]) if key == "screened" else None
        out["randomized"] = distribution(t["randomized"])
        out["enrollment_reached_share"] = float(np.mean(t["enrollment_reached"]))
        out["truly_mrd_positive_share"] = distribution(truly_share) if sc.mrd is not None else None
        staged = t["confirmed"] if "confirmed" in t else t.get("test_positive")
        out["confirmed"] = distribution(t["confirmed"]) if "confirmed" in t else None
        out["metastatic_at_staging_share"] = (
            distribution(_share(t["metastatic_at_staging"], staged))
            if "metastatic_at_staging" in t else None)
        out["metastatic_at_staging_by_arm"] = self._metastatic_by_arm() if "metastatic_randomized" in t else None
        if "serial_pairs" in t:
            pairs = int(np.sum(t["serial_pairs"]))
            out["serial_pairs"] = distribution(t["serial_pairs"])
            out["serial_agreement"] = float(np.sum(t["serial_agreeing"]) / pairs) if pairs else None
        else:
            out["serial_pairs"] = out["serial_agreement"] = None
        out["by_stratum"] = self._by_stratum()
        out["by_visit"] = self._by_visit()
        out["events"] = distribution(t["events"])
        out["events_reached_share"] = float(np.mean(t["events_reached"]))
        out["analysis_month"] = distribution(t["analysis_month"])
        out["last_randomized_month"] = distribution(t["last_randomized_month"])
        out["screening_closed_month"] = distribution(t["screening_closed_month"]) if screening else None
        hr = t["hazard_ratio_estimate"]
        out["hazard_ratio_estimate"] = distribution(hr)
        finite = hr[np.isfinite(hr) & (hr > 0)]
        out["hazard_ratio_geometric_mean"] = float(np.exp(np.mean(np.log(finite)))) if finite.size else None
        out.update(_model_effect(t, sc))
        if len(sc.arms) > 2:
            out.update(_comparisons(t, sc))
        out["assays"] = distribution(t["assays"]) if "assays" in t else None
        out["assay_cost"] = distribution(t["assay_cost"]) if "assay_cost" in t else None
        if "safety_horizon_hit" in t:
            out["safety_horizon_share"] = float(np.mean(t["safety_horizon_hit"]))
        for key in [k for k in t if k.endswith("_estimate") and k != "hazard_ratio_estimate"]:
            out[key] = distribution(t[key])
        if "stopped_at_look" in t:
            out["group_sequential"] = self._group_sequential_summary()
        if "clearance_rejected" in t:
            out["clearance"] = self._clearance_summary()
        if "drfs_rejected" in t:
            p = float(np.mean(t["drfs_rejected"]))
            out["drfs_power"] = p
            out["drfs_power_mcse"] = binomial_mcse(p, self.replicates)
        out["analytic"] = analytic_companions(sc, t)
        warnings = result_warnings(sc, t)
        if warnings:      # the key only when there is something to say (docs/results.md)
            out["warnings"] = warnings
        out["provenance"] = self.provenance
        return out

    def _by_stratum(self) -> dict:
        """The funnel of each stratum: stratum name -> the overall funnel's keys."""
        t, sc = self.table, self.scenario
        names = [st.name for st in sc.population.strata]
        out = {}
        for name in names:
            def col(key, name=name):
                c = stratum_column(key, name) if len(names) > 1 else key
                return t.get(c)
            entry: dict[str, Any] = {}
            for key in FUNNEL_KEYS:
                if key in ("approached", "registered", "assay_ready") and (
                        sc.screening is None or sc.screening.prescreen is None):
                    continue
                if col(key) is not None:
                    entry[key] = distribution(col(key))
            if col("metastatic_at_staging") is not None:
                entry["metastatic_at_staging_share"] = distribution(_share(col("metastatic_at_staging"),
                                                                           col("test_positive")))
            if sc.mrd is not None and col("truly_mrd_positive") is not None:
                entry["truly_mrd_positive_share"] = distribution(_share(col("truly_mrd_positive"),
                                                                        col("randomized")))
            out[name] = entry
        return out

    def _by_visit(self) -> list | None:
        """Tests with a result and positives at each visit number: means per
        trial, and the positive share of all the visit's results pooled over
        trials."""
        if self.scenario.screening is None:
            return None
        if self.by_visit is None:
            return None
        tests = np.asarray(self.by_visit["tests"])
        positive = np.asarray(self.by_visit["positive"])
        n = max(self.replicates, 1)
        out = []
        for k in range(tests.shape[1]):
            total, pos = int(tests[:, k].sum()), int(positive[:, k].sum())
            out.append({"visit": k + 1, "tests": total / n, "positive": pos / n,
                        "positive_share": pos / total if total else None})
        while out and out[-1]["tests"] == 0:
            out.pop()
        return out

    def _group_sequential_summary(self) -> dict:
        t = self.table
        plan = self.model.follow_up.plan if self.model is not None else None
        k = len(plan.looks) + 1 if plan is not None else int(t["stopped_at_look"].max())
        by_look = [float(np.mean(t["rejected"] & (t["stopped_at_look"] == j))) for j in range(1, k + 1)]
        fut = [float(np.mean(t["stopped_for_futility"] & (t["stopped_at_look"] == j))) for j in range(1, k + 1)]
        return {
            "information_fractions": list(plan.looks) + [1.0] if plan is not None else None,
            "efficacy_bounds_z": list(plan.efficacy) if plan is not None else None,
            "futility_bounds_z": list(plan.futility) if plan is not None and plan.futility else None,
            "rejection_by_look": by_look,
            "futility_stop_by_look": fut,
            "expected_events": float(np.mean(t["events"])),
            "expected_analysis_month": float(np.mean(t["analysis_month"])),
            "expected_randomized": float(np.mean(t["randomized_at_analysis"])),
            "stopped_early_share": float(np.mean(t["stopped_at_look"] < k)),
        }

    def _clearance_summary(self) -> dict:
        t, n = self.table, self.replicates
        p = float(np.mean(t["clearance_rejected"]))
        c = self.scenario.trial.clearance
        return {
            "at_month": c.at, "test": c.test, "alpha": c.alpha, "sided": c.sided,
            "power": p, "power_mcse": binomial_mcse(p, n),
            "share_cleared_treatment": distribution(t["clearance_share_treatment"]),
            "share_cleared_control": distribution(t["clearance_share_control"]),
            "measured": distribution(t["clearance_measured"]),
        }

    def to_json(self, **kw) -> str:
        return summary_json(self.summary(), **kw)

    def __str__(self) -> str:
        return format_summary(self.summary())

    def to_arrow(self):
        """The per-replicate table as a pyarrow Table with explicit types
        (int64, float64, bool) and the run's provenance (as in results.json),
        JSON-encoded under the key ``trialsim`` of the schema metadata."""
        import pyarrow as pa  # deferred: pyarrow is loaded only to write Parquet

        kinds = {"b": pa.bool_(), "i": pa.int64(), "u": pa.int64(), "f": pa.float64()}
        fields, arrays = [], []
        for c in self.columns():
            values = np.asarray(self.table[c])
            if values.dtype.kind not in kinds:
                raise TypeError(f"column {c!r} has no Parquet type (numpy dtype {values.dtype})")
            fields.append(pa.field(c, kinds[values.dtype.kind]))
            arrays.append(pa.array(values, type=kinds[values.dtype.kind]))
        meta = {PARQUET_METADATA_KEY: json.dumps(self.provenance, allow_nan=False, default=_json_default)}
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=meta))

    def write(self, out_dir: str | os.PathLike) -> list[Path]:
        """Write replicates.csv, replicates.parquet and results.json (and, with
        screening, by_visit.csv: tests and positives at each visit number, as
        the summary's ``by_visit``) into ``out_dir``, together and atomically:
        a failure or a kill at any moment leaves the folder's previous set
        whole, never a new file beside an old one."""
        import pyarrow.parquet as pq  # deferred: pyarrow is loaded only to write Parquet

        out = Path(out_dir)
        cols = self.columns()
        rows = zip(*[self.table[c].tolist() for c in cols])
        arrow = self.to_arrow()
        with replace_folder(out) as stage:
            with open(stage / "replicates.csv", "w", encoding="utf-8", newline="") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(cols)
                for row in rows:
                    w.writerow([_csv_cell(x) for x in row])
            pq.write_table(arrow, stage / "replicates.parquet")
            with open(stage / "results.json", "w", encoding="utf-8", newline="") as f:
                f.write(self.to_json())
                f.write("\n")
            visits = self._by_visit() if self.by_visit is not None else None
            if visits is not None:
                with open(stage / "by_visit.csv", "w", encoding="utf-8", newline="") as f:
                    w = csv.writer(f, lineterminator="\n")
                    w.writerow(["visit", "tests", "positive", "positive_share"])
                    for v in visits:
                        w.writerow([v["visit"], _csv_cell(v["tests"]), _csv_cell(v["positive"]),
                                    _csv_cell(v["positive_share"])])
        names = ["replicates.csv", "replicates.parquet", "results.json"] + (["by_visit.csv"] if visits is not None else [])
        return [out / n for n in names]


#: the columns of ``SimulationResult.looks_frame()`` and their pandas dtypes
LOOK_COLUMNS = {"replicate": "int64", "look": "int64", "month": "float64", "events": "int64", "randomized": "int64",
                "z": "float64", "efficacy_bound": "float64", "futility_bound": "float64", "decision": "string"}
#: the columns of ``SimulationResult.timeline_frame()`` and their pandas dtypes
TIMELINE_COLUMNS = {"replicate": "int64", "month": "int64", "screened": "int64", "randomized": "int64",
                    "events": "int64"}
#: the columns of ``SimulationResult.patients_frame()`` and their pandas dtypes
PATIENT_COLUMNS = {
    "replicate": "int64", "survivor": "int64", "stratum": "string", "entered_month": "float64",
    "months_since_diagnosis": "float64", "registered": "boolean", "assay_ready": "boolean", "screened": "boolean",
    "mrd_detectable_at_entry": "boolean", "visits": "Int64",
    "tested": "boolean", "first_result_month": "float64", "positive_visit": "Int64",
    "positive_result_month": "float64", "positives": "Int64", "test_positive": "boolean",
    "truly_mrd_positive": "boolean", "metastatic_at_staging": "boolean", "eligible": "boolean",
    "consented": "boolean", "randomized": "bool", "randomized_month": "float64", "arm": "string",
    "in_analysis": "boolean", "time": "float64", "event": "boolean", "recurrence_month": "float64",
    "death_month": "float64", "dropout_month": "float64", "screening_closed_month": "float64",
    "analysis_month": "float64",
}


def _column(values, dtype: str):
    """A column of the patient table as pandas ``dtype``; masked entries (a
    numpy masked array) become <NA>."""
    import pandas as pd  # deferred: pandas costs about 0.3 s of start-up; only frames need it

    mask = np.ma.getmaskarray(values)
    data = np.ma.getdata(values)
    if dtype == "Int64":
        return pd.arrays.IntegerArray(np.asarray(data, dtype=np.int64), mask.copy())
    if dtype == "boolean":
        return pd.arrays.BooleanArray(np.asarray(data, dtype=bool), mask.copy())
    if dtype == "string":
        return pd.array([None if m else str(v) for v, m in zip(data.tolist(), mask.tolist())], dtype="string")
    return np.asarray(data, dtype=dtype)


#: the key of the Parquet key-value metadata that holds the run's provenance (JSON)
PARQUET_METADATA_KEY = "trialsim"


def summary_json(summary: dict, **kw) -> str:
    """A summary (:meth:`SimulationResult.summary`) as :meth:`SimulationResult.to_json`
    writes it: for a caller that holds the summary already (``trialsim run``
    reads its warnings first), not to compute it twice."""
    return json.dumps(summary, indent=kw.pop("indent", 2), allow_nan=False, default=_json_default, **kw)


def _csv_cell(x):
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, float):
        if math.isnan(x):
            return ""
        return repr(x)
    return x


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _fmt(d, digits=0) -> str:
    if d is None:
        return "-"
    f = f"{{:,.{digits}f}}"
    return f"{f.format(d['mean'])}  (median {f.format(d['median'])}, 10-90%: {f.format(d['p10'])}-{f.format(d['p90'])})"


def _geometric_mean(values) -> float | None:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return float(np.exp(np.mean(np.log(v)))) if v.size else None


def _model_effect(t: dict, sc) -> dict:
    """The effect the trials see according to the model (followup.model_effect):
    geometric means over trials, and the share of the true positives' log
    hazard ratio that the rest of the randomised (false positives, MRD that
    would not recur) dilute away."""
    if "average_hazard_ratio" not in t:
        return {}
    ahr = _geometric_mean(t["average_hazard_ratio"])
    ahr_mrd = _geometric_mean(t["average_hazard_ratio_mrd"]) if sc.mrd is not None else None
    diluted = None
    if ahr is not None and ahr_mrd is not None and abs(math.log(ahr_mrd)) > 1e-9:
        diluted = 1.0 - math.log(ahr) / math.log(ahr_mrd)
    return {"average_hazard_ratio": ahr, "average_hazard_ratio_mrd": ahr_mrd, "effect_diluted_share": diluted}


def _comparisons(t: dict, sc) -> dict:
    """With several treatment arms: one entry per arm against control, the
    adjustment used, and the family-wise error when no arm has an effect."""
    R = len(t["replicate"])
    entries = []
    for name in sc.treatment_arms:
        rej = np.asarray(t[f"rejected_{name}"], dtype=float)
        power = float(rej.mean()) if R else float("nan")
        entry = {
            "arm": name,
            "power": power,
            "power_mcse": float(math.sqrt(power * (1 - power) / R)) if R else float("nan"),
            "randomized": distribution(t[f"randomized_{name}"]),
            "events": distribution(t[f"events_{name}"]),
            "hazard_ratio_estimate": distribution(t[f"hazard_ratio_estimate_{name}"]),
            "hazard_ratio_geometric_mean": _geometric_mean(t[f"hazard_ratio_estimate_{name}"]),
            "average_hazard_ratio": _geometric_mean(t[f"average_hazard_ratio_{name}"]),
            "average_hazard_ratio_mrd": (_geometric_mean(t[f"average_hazard_ratio_mrd_{name}"])
                                         if sc.mrd is not None else None),
        }
        entries.append(entry)
    out = {"comparisons": entries, "multiplicity": sc.trial.analysis.multiplicity_method}
    no_effect = all(a.eradication == 0 and a.hazard_ratio == sc.arms[sc.control_arm].hazard_ratio
                    and sc.arms[sc.control_arm].eradication == 0 for a in sc.arms.values())
    if no_effect:
        out["familywise_error"] = float(np.mean(t["rejected"]))
    return out


def _format_by_stratum(s: dict) -> list[str]:
    """The funnel of each stratum as a small table of means (several strata only)."""
    strata = s.get("by_stratum") or {}
    if len(strata) < 2:
        return []
    cols = [("screened", "screened", 0), ("test_positive", "positive", 1),
            ("metastatic_at_staging_share", "metastatic", 3), ("randomized", "randomised", 1),
            ("truly_mrd_positive_share", "truly MRD+", 3)]
    cols = [c for c in cols if any(e.get(c[0]) for e in strata.values())]
    width = max(10, min(24, max(len(printable(n)) for n in strata) + 2))
    out = ["  by stratum (means per trial; shares: mean of the trials' shares):",
           "    " + f"{'stratum':<{width}}" + "".join(f"{label:>12}" for _, label, _ in cols)]
    for name, e in strata.items():
        cells = []
        for key, _, digits in cols:
            d = e.get(key)
            cells.append(f"{d['mean']:>12,.{digits}f}" if d else f"{'-':>12}")
        out.append("    " + f"{printable(name)[:width - 1]:<{width}}" + "".join(cells))
    return out


def _format_by_visit(s: dict, first: int = 6) -> list[str]:
    """Tests and positives at the first visits."""
    visits = s.get("by_visit") or []
    if len(visits) < 2:
        return []
    shown = visits[:first]
    out = [f"  by visit (means per trial; positive share pooled){' -- first ' + str(first) if len(visits) > first else ''}:"]
    for v in shown:
        share = f"{v['positive_share']:.4f}" if v["positive_share"] is not None else "-"
        out.append(f"    visit {v['visit']:<4} tests {v['tests']:>10,.1f}   positive {v['positive']:>8,.2f}   "
                   f"share {share}")
    return out


def format_summary(s: dict) -> str:
    """A readable table of the operating characteristics."""
    lines = [printable(s["scenario"]), f"  {s['replicates']:,} simulated trials, seed {s['seed']}", ""]
    crit = f"{s['test']}, {'one' if s['sided'] == 1 else 'two'}-sided alpha {s['alpha']}"
    if s.get("primary_endpoint") == "mrd_clearance":
        crit = "MRD clearance, " + crit
    lines.append(f"  power                     {s['power']:.4f} ± {s['power_mcse']:.4f} (Monte Carlo SE; {crit})"
                 + (" -- see the warnings below" if s.get("warnings") else ""))
    a = s.get("analytic") or {}
    if "schoenfeld_power" in a:
        extra = (f"; needs {math.ceil(a['schoenfeld_events_for_80'])} events for 80%, "
                 f"{math.ceil(a['schoenfeld_events_for_90'])} for 90%"
                 if "schoenfeld_events_for_80" in a else "")
        lines.append(f"  {'analytic (Schoenfeld)':<26}{a['schoenfeld_power']:.4f} at {a['schoenfeld_events']:.0f} "
                     f"events{extra}")
    rows = [
        ("approached", "approached", 0), ("registered", "registered", 0), ("assay set up", "assay_ready", 0),
        ("screened", "screened", 0), ("tested (a result)", "tested", 0), ("test-positive", "test_positive", 0),
        ("confirmed positive", "confirmed", 0), ("staged metastatic share", "metastatic_at_staging_share", 3),
        ("eligible at staging", "eligible", 0), ("consented", "consented", 0), ("randomised", "randomized", 1),
        ("truly MRD-positive share", "truly_mrd_positive_share", 3), ("events at analysis", "events", 1),
        ("last randomisation, month", "last_randomized_month", 1), ("analysis, month", "analysis_month", 1),
        ("hazard ratio estimate", "hazard_ratio_estimate", 3), ("assays", "assays", 0), ("assay cost", "assay_cost", 0),
    ]
    for label, key, digits in rows:
        if s.get(key) is not None:
            lines.append(f"  {label:<26}{_fmt(s[key], digits)}")
    if s.get("comparisons"):
        lines.append(f"  comparisons with control ({s['multiplicity']} adjustment; power = at least one rejected):")
        for c in s["comparisons"]:
            hr = c["hazard_ratio_geometric_mean"]
            ahr = c["average_hazard_ratio"]
            lines.append(f"    {printable(c['arm']):<24}power {c['power']:.4f} ± {c['power_mcse']:.4f}; "
                         f"HR estimate {hr:.3f}" if hr is not None else f"    {printable(c['arm']):<24}"
                         f"power {c['power']:.4f} ± {c['power_mcse']:.4f}")
            if ahr is not None:
                lines[-1] += f"; HR, model {ahr:.3f}"
        if s.get("familywise_error") is not None:
            lines.append(f"  {'family-wise error':<26}{s['familywise_error']:.4f} (no arm has an effect)")
    if s.get("average_hazard_ratio") is not None:
        mrd = (f"; truly MRD-positive {s['average_hazard_ratio_mrd']:.3f}"
               if s.get("average_hazard_ratio_mrd") is not None else "")
        dil = (f", {s['effect_diluted_share']:.0%} of it diluted"
               if s.get("effect_diluted_share") is not None else "")
        lines.append(f"  {'hazard ratio, model':<26}{s['average_hazard_ratio']:.3f} (every patient in both "
                     f"arms{mrd}{dil})")
    if s.get("metastatic_at_staging_by_arm"):
        shares = ", ".join(f"{printable(a)} {v:.1%}" for a, v in s["metastatic_at_staging_by_arm"].items()
                           if v is not None)
        lines.append(f"  {'metastatic when staged':<26}{shares} of each arm's randomised (staged after allocation)")
    if s.get("serial_agreement") is not None:
        lines.append(f"  {'serial agreement':<26}{s['serial_agreement']:.3f} (consecutive results of the same "
                     f"survivor; {s['serial_pairs']['mean']:,.1f} pairs per trial)")
    lines += _format_by_stratum(s) + _format_by_visit(s)
    gs = s.get("group_sequential")
    if gs:
        bounds = ", ".join(f"{f:g}: z>={b:.3f}" for f, b in zip(gs["information_fractions"], gs["efficacy_bounds_z"]))
        lines.append(f"  {'looks (efficacy bounds)':<26}{bounds}")
        lines.append(f"  {'rejection by look':<26}" + ", ".join(f"{p:.4f}" for p in gs["rejection_by_look"]))
        if gs.get("futility_bounds_z"):
            lines.append(f"  {'futility stop by look':<26}" + ", ".join(f"{p:.4f}" for p in gs["futility_stop_by_look"]))
        lines.append(f"  {'expected events':<26}{gs['expected_events']:.1f}; expected analysis month "
                     f"{gs['expected_analysis_month']:.1f}; expected randomised {gs['expected_randomized']:.1f}")
        if "schoenfeld_rejection_by_look" in a:
            lines.append(f"  {'  analytic (Schoenfeld)':<26}" + ", ".join(f"{p:.4f}" for p in a["schoenfeld_rejection_by_look"])
                         + (" (futility " + ", ".join(f"{p:.4f}" for p in a["schoenfeld_futility_stop_by_look"]) + ")"
                            if a.get("schoenfeld_futility_stop_by_look") else "")
                         + f"; expected events {a['schoenfeld_expected_events']:.1f}")
    cl = s.get("clearance")
    if cl:
        lines.append(f"  {'MRD clearance power':<26}{cl['power']:.4f} ± {cl['power_mcse']:.4f} "
                     f"({cl['test']}, alpha {cl['alpha']}, at month {cl['at_month']:g} after randomisation)")
        lines.append(f"  {'cleared, treatment':<26}{_fmt(cl['share_cleared_treatment'], 3)}")
        lines.append(f"  {'cleared, control':<26}{_fmt(cl['share_cleared_control'], 3)}")
    if "drfs_power" in s:
        lines.append(f"  {'DRFS power (secondary)':<26}{s['drfs_power']:.4f} ± {s['drfs_power_mcse']:.4f}")
    fun = a.get("funnel")
    if fun and s.get("screened") and s["screened"]["mean"] > 0:
        scr = s["screened"]["mean"]
        sim = {k: (s[k]["mean"] / scr if s.get(k) else None) for k in ("test_positive", "randomized")}
        lines.append("  analytic funnel (per survivor screened; closed form vs simulated):")
        lines.append(f"    test-positive           {fun['test_positive_per_screened']:.4f} vs {sim['test_positive']:.4f}")
        lines.append(f"    randomised              {fun['randomized_per_screened']:.4f} vs {sim['randomized']:.4f}")
        lines.append(f"    assays                  {fun['assays_per_screened']:.3f} vs "
                     f"{s['assays']['mean'] / scr:.3f}" if s.get("assays") else "")
        for key, num, den, label in (("registered_per_approached", "registered", "approached", "registered"),
                                     ("assay_ready_per_registered", "assay_ready", "registered", "assay set up")):
            if key in fun and s.get(num) and s.get(den) and s[den]["mean"] > 0:
                lines.append(f"    {label:<24}{fun[key]:.4f} vs {s[num]['mean'] / s[den]['mean']:.4f} "
                             f"(per survivor {den})")
        if fun.get("true_positive_share") is not None and s.get("truly_mrd_positive_share"):
            lines.append(f"    truly MRD-positive      {fun['true_positive_share']:.3f} vs "
                         f"{s['truly_mrd_positive_share']['mean']:.3f}")
    for note in (a.get("schoenfeld_note"), a.get("funnel_note")):
        if note:
            lines.extend(textwrap.wrap(f"analytic: {note}", width=100, initial_indent="  ", subsequent_indent="    "))
    lines.append(f"  {'enrolment target reached':<26}{s['enrollment_reached_share']:.1%} of trials")
    lines.append(f"  {'events target reached':<26}{s['events_reached_share']:.1%} of trials")
    if s.get("safety_horizon_share"):
        lines.append(f"  warning: {s['safety_horizon_share']:.1%} of trials screened until the "
                     "600-month safety horizon; set screening.max_months")
    for w in s.get("warnings", []):
        lines.extend(textwrap.wrap(f"warning: {w}", width=100, initial_indent="  ", subsequent_indent="    "))
    lines.append("")
    lines.append("  Distributions over trials: mean (median, 10th-90th centile).")
    return "\n".join(lines)
