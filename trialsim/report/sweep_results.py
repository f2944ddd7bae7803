"""Power curves from a sweep's results on disk (``trialsim report --sweep``).

Reads what ``trialsim sweep --out`` writes (a folder, or one of its
sweep.json, sweep.csv, sweep.parquet) and JSON rows in a few shapes, and
refuses results whose provenance names another scenario: a report must not
show power curves of a different design.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from trialsim.report.errors import ReportError
from trialsim.report.power_curves import PowerCurve, path_label
from trialsim.report.scenario_file import ScenarioFile
from trialsim.scenario import Scenario
from trialsim.sweeps import get_path, scenario_hash

_SWEEP_FILES = ("sweep.json", "sweep.parquet", "sweep.csv")


def read_sweep(path: str | os.PathLike, sf: ScenarioFile) -> tuple[list[PowerCurve], dict]:
    """Power curves from a sweep's results: a file (.json, .csv, .parquet) or
    the folder ``trialsim sweep --out`` wrote. Refuses results whose
    provenance names another scenario. Returns (curves, info)."""
    import pandas as pd  # deferred: pandas costs about 0.3 s of start-up

    p = Path(path)
    if not p.exists():
        raise ReportError(f"--sweep {p}: no such file or folder")
    if p.is_dir():
        found = [p / n for n in _SWEEP_FILES if (p / n).is_file()]
        if not found:
            found = sorted(q for q in p.iterdir() if q.suffix in (".json", ".parquet", ".csv"))
        if not found:
            raise ReportError(f"--sweep {p}: the folder holds no sweep results (.json, .parquet or .csv)")
        file = found[0]
    else:
        file = p
    provenance: dict = {}
    vary: list[str] = []
    try:
        if file.suffix == ".json":
            obj = json.loads(file.read_text(encoding="utf-8"))
            rows = obj
            if isinstance(obj, dict):
                provenance = obj.get("provenance") or {}
                for key in ("rows", "table", "points", "results", "grid"):
                    if isinstance(obj.get(key), list):
                        rows = obj[key]
                        break
                else:
                    raise ReportError(f"--sweep {file}: a JSON object without a list of rows "
                                      "(rows, table, points or results)")
                v = obj.get("vary") or provenance.get("vary")
                if isinstance(v, dict):
                    vary = list(v)
                elif isinstance(v, list):
                    vary = [str(x) for x in v]
            if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
                raise ReportError(f"--sweep {file}: expected a list of rows, one per grid point")
            frame = _frame_from_rows(rows)
        elif file.suffix == ".parquet":
            frame = pd.read_parquet(file)
        elif file.suffix == ".csv":
            frame = pd.read_csv(file)
        else:
            raise ReportError(f"--sweep {file}: unknown format (expected .json, .csv or .parquet)")
    except ReportError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ReportError(f"--sweep {file}: cannot be read: {exc}") from None
    except Exception as exc:  # pyarrow and pandas parser errors have their own classes
        raise ReportError(f"--sweep {file}: cannot be read: {type(exc).__name__}: {exc}") from None

    manifest: dict = {}
    for sib in ("sweep.json", "manifest.json"):
        q = file.with_name(sib)
        if q == file or not q.is_file():
            continue
        try:
            obj = json.loads(q.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if sib == "sweep.json" and not provenance and isinstance(obj, dict):
            provenance = obj.get("provenance") or {}
            v = provenance.get("vary")
            if not vary and isinstance(v, dict):
                vary = list(v)
        elif sib == "manifest.json" and isinstance(obj, dict):
            manifest = obj
    _check_sweep_scenario(file, provenance, manifest, sf)
    if "power" not in frame.columns:
        raise ReportError(f"--sweep {file}: no 'power' column; columns are {', '.join(map(str, frame.columns))}")
    if not vary:
        vary = [c for c in frame.columns if "." in str(c) and frame[c].nunique() > 1
                and _is_scenario_path(sf.scenario, str(c))]
    vary = [v for v in vary if v in frame.columns]
    if not vary:
        raise ReportError(f"--sweep {file}: no varied scenario path among its columns "
                          f"({', '.join(map(str, frame.columns))})")
    reps = provenance.get("replicates")
    curves = curves_from_frame(frame, vary, sf.scenario, replicates=reps)
    info = {"file": str(file), "sha256": hashlib.sha256(file.read_bytes()).hexdigest(), "vary": vary,
            "provenance": provenance, "rows": len(frame)}
    return curves, info


def _frame_from_rows(rows: list[dict]):
    """A table from JSON rows: distributions ({mean, median, p10, p90}) become
    their mean; other nested mappings become dotted columns."""
    import pandas as pd  # deferred: pandas costs about 0.3 s of start-up

    flat = []
    for r in rows:
        out: dict = {}

        def walk(d, prefix):
            for k, v in d.items():
                key = f"{prefix}{k}"
                if isinstance(v, dict) and "mean" in v and "p10" in v:
                    out[key] = v.get("mean")
                elif isinstance(v, dict) and key != "provenance":
                    walk(v, key + ".")
                elif key != "provenance":
                    out[key] = v
        walk(r, "")
        flat.append(out)
    return pd.DataFrame(flat)


def _is_scenario_path(sc: Scenario, path: str) -> bool:
    try:
        get_path(sc.to_dict(), path)
        return True
    except (KeyError, IndexError, TypeError, ValueError):
        return path.startswith("arms.") or path.startswith("trial.") or path.startswith("screening.")


def _check_sweep_scenario(file: Path, prov: dict, manifest: dict, sf: ScenarioFile) -> None:
    """Refuse a sweep made from another scenario: by the scenario stored in its
    provenance (as loaded), else by a stored hash (trialsim.sweep's content
    hash of the scenario, or the SHA-256 of the file)."""
    mine = scenario_hash(sf.scenario)
    stored = prov.get("scenario")
    if isinstance(stored, dict):
        norm = lambda d: json.dumps({k: v for k, v in d.items() if k != "simulation"}, sort_keys=True)  # noqa: E731
        if norm(json.loads(json.dumps(stored))) != norm(json.loads(json.dumps(sf.scenario.to_dict()))):
            raise ReportError(f"--sweep {file}: made from another scenario ('{stored.get('name', '?')}' as loaded "
                              f"differs from {sf.path}); run the sweep on this scenario")
        return
    for source in (prov, manifest):
        h = source.get("scenario_sha256")
        if isinstance(h, str) and h:
            h = h.split(":", 1)[-1].lower()
            if h not in (mine, sf.sha256):
                raise ReportError(f"--sweep {file}: made from another scenario (hash {h[:12]}..., this scenario "
                                  f"{mine[:12]}...); run the sweep on {sf.path}")
            return
    name = prov.get("scenario_name")
    if isinstance(name, str) and name != sf.scenario.name:
        raise ReportError(f"--sweep {file}: made from scenario '{name}', not '{sf.scenario.name}'")


def curves_from_frame(frame, vary: list[str], sc: Scenario, replicates: int | None = None) -> list[PowerCurve]:
    """One curve per combination of the other varied paths, over the first
    (enrolment or events first, when varied)."""
    order = sorted(vary, key=lambda v: (v not in ("trial.enrollment", "trial.analysis.events"), vary.index(v)))
    xpath, others = order[0], order[1:]
    curves = []
    groups = frame.groupby(others, sort=True) if others else [((), frame)]
    design = sc.to_dict()
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        g = g.sort_values(xpath)
        n = g["replicates"].to_numpy(float) if "replicates" in g else np.full(len(g), float(replicates or np.nan))
        mcse = g["power_mcse"].to_numpy(float) if "power_mcse" in g else np.full(len(g), np.nan)
        if not np.all(np.isfinite(n)):
            p = g["power"].to_numpy(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                n = np.where(mcse > 0, p * (1 - p) / mcse ** 2, np.nan)
        cols = {c: g[c].to_numpy(float) for c in g.columns
                if c not in ("power", "power_mcse", "replicates", xpath, *others)
                and np.issubdtype(g[c].dtype, np.number)}
        try:
            design_x = float(get_path(design, xpath))
        except (KeyError, IndexError, TypeError, ValueError):
            design_x = None
        curves.append(PowerCurve(path=xpath, x=g[xpath].to_numpy(float), power=g["power"].to_numpy(float), mcse=mcse,
                            replicates=n, columns=cols, label=path_label(xpath), design_x=design_x,
                            fixed=dict(zip(others, key))))
    return curves
