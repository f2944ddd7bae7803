"""Checkpoints: a sweep's finished grid points on disk, so that a run can resume.

``DIR/manifest.json`` says which run the folder holds (the scenario's hash,
the grid, seed and replicates); ``DIR/points/<index>.json`` holds each grid
point as it finishes, written atomically, so that a run killed at any moment
leaves only whole points. ``--resume`` refuses a folder of a different run
rather than mix two runs' numbers in one table, and names any checkpoint
file that is not one (a truncated or edited point, a manifest of something
else). A run without ``--resume`` refuses a folder that holds the finished
results of a sweep or a size search, rather than start over beside them.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from trialsim.atomic import atomic_open, clean_stale_temporaries
from trialsim.loading import path_length_problem
from trialsim.results import _json_default
from trialsim.scenario import Scenario
from trialsim.sweeps.errors import SweepError
from trialsim.sweeps.paths import Vary


def check_out(out, resume: bool = False) -> Path | None:
    """The ``out`` argument of a sweep or a size search checked: ``None``, or a
    folder path (str or os.PathLike) that is not empty and that the file
    system can hold; a bad one raises a TypeError or ValueError naming ``out``."""
    if resume not in (True, False):
        raise TypeError(f"resume must be True or False, got {resume!r}")
    if out is None:
        if resume:
            raise SweepError("--resume needs --out DIR (the folder of the interrupted run)")
        return None
    if isinstance(out, bytes) or not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out must be a folder path (a str or os.PathLike), not {type(out).__name__}: {out!r:.60}")
    text = os.fspath(out)
    if not isinstance(text, str) or text.strip() == "":
        raise ValueError("out is empty; give a folder name, e.g. out='sweeps/run1'")
    if "\x00" in text:
        raise ValueError("out: a folder name cannot contain a NUL byte")
    too_long = path_length_problem(text)
    if too_long:
        shown = text if len(text) <= 400 else f"{text[:200]}...{text[-100:]}"
        raise ValueError(f"out {shown}: {too_long}")
    return Path(text)


def json_safe(obj):
    """``obj`` as plain JSON values (numpy scalars and arrays converted, no NaN):
    what a checkpoint stores, so what is compared with one goes through it too."""
    return json.loads(json.dumps(obj, allow_nan=False, default=_json_default))


def scenario_hash(sc: Scenario) -> str:
    """The SHA-256 of the scenario's content without its simulation block: the
    same design, whatever file or seed it came with."""
    d = sc.to_dict()
    d.pop("simulation", None)   # seed and replicates are compared on their own
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


# The JSON output of each checkpointed command: present once a run has finished.
FINISHED = {"sweep": "sweep.json", "size": "size.json"}
# What each command stores per point, besides "point" and "values".
_POINT_KEY = {"sweep": "summary", "size": "size"}


class Checkpoint:
    """Finished grid points, each written atomically as it completes."""

    def __init__(self, out: str | os.PathLike, manifest: dict, *, resume: bool):
        self.out = Path(out)
        self.points_dir = self.out / "points"
        self.manifest = manifest
        self.done: dict[int, dict] = {}
        if self.out.exists() and not self.out.is_dir():
            raise SweepError(f"--out {self.out}: exists and is not a folder")
        mpath = self.out / "manifest.json"
        if resume:
            if not mpath.exists():
                raise SweepError(f"--resume: no checkpoint in {self.out} (no manifest.json); "
                                 "run without --resume to start")
            old = _read_json(mpath, "the checkpoint's manifest")
            if not isinstance(old, dict) or "trialsim_checkpoint" not in old:
                raise SweepError(f"--resume: {mpath} is not a trialsim checkpoint manifest; "
                                 "give the folder of the interrupted run, or drop --resume to start over")
            diff = [k for k in sorted(set(old) | set(manifest)) if k != "created" and old.get(k) != manifest.get(k)]
            if diff:
                what = "; ".join(f"{k}: {_short(old.get(k))} there, {_short(manifest.get(k))} here" for k in diff)
                raise SweepError(f"--resume: {self.out} holds a different run ({what}); "
                                 "run the same command as before, or drop --resume to start over")
            self.manifest = old
            self._clean_temporaries()
            key = _POINT_KEY.get(str(old.get("command")), "summary")
            for p in sorted(self.points_dir.glob("[0-9]*.json")):
                data = _read_json(p, "a checkpoint")
                index = _check_point(p, data, key)
                self.done[index] = data
        else:
            finished = [name for name in FINISHED.values() if (self.out / name).exists()]
            if finished:
                raise SweepError(f"--out {self.out}: holds the finished results of a run ({', '.join(finished)}); "
                                 "add --resume to reuse them, or give another folder")
            try:
                self.points_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise SweepError(f"--out {self.out}: cannot write: {exc}") from None
            for p in self.points_dir.glob("[0-9]*.json"):
                p.unlink()      # a fresh run: the interrupted checkpoint's points go
            self._clean_temporaries()
            with atomic_open(mpath) as f:
                json.dump(manifest, f, indent=2)
                f.write("\n")

    def _clean_temporaries(self) -> None:
        clean_stale_temporaries(self.out)
        if self.points_dir.is_dir():
            clean_stale_temporaries(self.points_dir)
            for p in self.points_dir.glob(".*.json.*"):   # left by a killed run mid-write (older names)
                if p.is_file():
                    p.unlink()

    def save(self, index: int, data: dict) -> None:
        with atomic_open(self.points_dir / f"{index}.json") as f:
            json.dump(data, f, indent=2, allow_nan=False)
            f.write("\n")
        self.done[index] = data


def _read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SweepError(f"--resume: {path}: {what} that cannot be read ({exc}); "
                         "delete it to have it recomputed, or drop --resume to start over") from None


def _check_point(path: Path, data, key: str) -> int:
    """The grid index of a checkpointed point; a SweepError naming the file if it is not one."""
    problem = None
    if not isinstance(data, dict):
        problem = "not a JSON object"
    elif not isinstance(data.get("point"), int) or isinstance(data.get("point"), bool):
        problem = "no grid point number ('point')"
    elif f"{data['point']}.json" != path.name:
        problem = f"it says point {data['point']}"
    elif not isinstance(data.get("values"), dict) or not data["values"]:
        problem = "no varied values ('values')"
    elif not isinstance(data.get(key), dict) or not data[key]:
        problem = f"no results ('{key}')"
    elif key == "summary" and not {"power", "replicates"} <= set(data[key]):
        problem = "its results lack the power"
    if problem is not None:
        raise SweepError(f"--resume: {path} is not a checkpoint of a grid point: {problem}; "
                         "delete it to have the point recomputed, or drop --resume to start over")
    return data["point"]


def _short(v) -> str:
    s = json.dumps(v)
    return s if len(s) <= 60 else s[:57] + "..."


def make_manifest(command: str, base: Scenario, varies: list[Vary], seed: int, replicates: int, **extra) -> dict:
    """What DIR/manifest.json says of a run; all but ``created`` must match on --resume."""
    return {"trialsim_checkpoint": 1, "command": command, "scenario_sha256": scenario_hash(base),
            "vary": [{"path": v.path, "values": json_safe(list(v.values))} for v in varies],
            "seed": int(seed), "replicates": int(replicates), **extra,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def resume_seed(out, seed_given: int | None, scenario: Scenario) -> int | None:
    """On --resume with no seed given anywhere, the checkpoint's (drawn) seed."""
    if seed_given is not None or scenario.simulation.seed is not None or out is None:
        return seed_given
    try:
        return int(json.loads((Path(out) / "manifest.json").read_text())["seed"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


