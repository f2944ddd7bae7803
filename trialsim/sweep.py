"""Power curves, grids of designs, and the sample-size search.

``trialsim.sweep(scenario, vary={path: values}, *, replicates, seed, workers)``
simulates every design of a grid and returns a tidy table (pandas DataFrame),
one row per grid point; ``trialsim.find_sample_size(scenario, *,
target_power, solve)`` finds by simulation the smallest enrolment (or number
of events) whose power reaches a target. docs/sweeps.md describes both, with
their columns and outputs.

``trialsim.sweep`` is both this module and its main function: the module is
callable (see the end of the file), so ``trialsim.sweep(...)`` runs a sweep and
``trialsim.sweep.find_sample_sizes`` is there too, whatever was imported first.

Common random numbers: every design of a grid (and every value tried by the
search) is simulated with the same seed, so replicate i of each design draws
from the same streams (``engine.replicate_streams``): the same survivors, the
same tests, the same follow-up draws. Differences between designs are then
differences of design, not of luck, and power curves come out smooth.

Execution: every design is cut into chunks of replicates, and each chunk is
``engine.simulate_chunk(model, seed, indices)`` run in a worker process (or
on a Dask cluster). Replicate i's result does not depend on the chunk it was
in, so a design's results equal ``trialsim.simulate(design, seed=...)``
exactly, for any number of workers, any chunking, locally or on a cluster.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import queue
import re
import signal
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from trialsim.atomic import atomic_open, atomic_path, write_atomic
from trialsim.montecarlo import wilson_interval
from trialsim.scenario import Scenario, ScenarioError

_N = NormalDist()
DISTRIBUTION_KEYS = ("mean", "median", "p10", "p90")
SOLVABLE = ("trial.enrollment", "trial.analysis.events")
PILOT_REPLICATES = 250   # enough for the effective hazard ratio (SE of its log about 0.02 in the ctDNA scenario)


class SweepError(ValueError):
    """A user's mistake in a sweep or a search (a bad --vary, a checkpoint that
    does not match, a target no design reaches); the CLI exits 2 with it."""


class TargetNotReached(SweepError):
    """No value of the solved path reaches the target power."""


# --------------------------------------------------------------------------
# --vary PATH=VALUES


@dataclass(frozen=True)
class Vary:
    """One varied path of a grid: ``path`` as the user wrote it, its parsed
    ``keys`` (strings, and integers for list indices), and its ``values``."""

    path: str
    keys: tuple
    values: tuple
    text: str          # as given, for messages: "arms.treatment.eradication=0.2:0.6:5"


_INT = re.compile(r"^[+-]?\d+$")


def parse_path(path: str) -> tuple:
    """``population.strata.0.mrd.prevalence`` -> ('population', 'strata', 0, 'mrd', 'prevalence')."""
    if not isinstance(path, str) or not path.strip():
        raise SweepError("an empty path: give a dotted path into the scenario, e.g. arms.treatment.eradication")
    parts = path.strip().split(".")
    if any(p == "" for p in parts):
        raise SweepError(f"'{path}' is not a dotted path (an empty part between dots)")
    return tuple(int(p) if _INT.match(p) else p for p in parts)


def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets, so `logrank,fh(0,1)` gives two values."""
    out, depth, cur = [], 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _atom(token: str):
    t = token.strip()
    if t == "":
        raise SweepError("an empty value (two commas in a row, or a trailing comma?)")
    if _INT.match(t):
        return int(t)
    try:
        v = float(t)
    except ValueError:
        pass
    else:
        if not math.isfinite(v):
            raise SweepError(f"'{t}' is not a finite number")
        return v
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    if t[0] in "[{":
        import yaml

        try:
            return yaml.safe_load(t)
        except yaml.YAMLError as exc:
            raise SweepError(f"'{t}' is not valid YAML: {exc}") from None
    return t


def _clean(v: float) -> float:
    """0.30000000000000004 -> 0.3: twelve significant digits are plenty for a design value."""
    return float(f"{v:.12g}")


def parse_values(text: str, current: Any = None) -> tuple:
    """Values of a --vary: a list ``0.2,0.3,0.4`` or a range ``0.2:0.6:5`` (5
    evenly spaced values, both ends included). ``current`` is the base
    scenario's value at the path: an integer field keeps integer values (a
    range is rounded to whole numbers), a float field gets floats."""
    if not isinstance(text, str):
        raise SweepError(f"values must be text like 0.2,0.3 or 0.2:0.6:5, got {text!r}")
    tokens = _split_top(text)
    is_range = len(tokens) == 1 and ":" in text and text.strip()[0] not in "[{"
    if is_range:
        parts = text.split(":")
        if len(parts) != 3:
            raise SweepError(f"'{text}': a range is START:STOP:COUNT, e.g. 0.2:0.6:5 (5 values, both ends included)")
        try:
            start, stop = (float(p) for p in parts[:2])
        except ValueError:
            raise SweepError(f"'{text}': START and STOP of a range must be numbers") from None
        if not _INT.match(parts[2].strip()) or int(parts[2]) < 1:
            raise SweepError(f"'{text}': COUNT, the number of values, must be a whole number >= 1")
        count = int(parts[2])
        if count == 1 and start != stop:
            raise SweepError(f"'{text}': one value cannot span {parts[0]} to {parts[1]}; use COUNT >= 2")
        raw = [_clean(v) for v in np.linspace(start, stop, count)]
        ints_given = all(_INT.match(p.strip()) for p in parts[:2])
        values = [int(round(v)) if ints_given and float(v).is_integer() else v for v in raw]
    else:
        values = [_atom(t) for t in tokens]
    values = _coerce(values, current, is_range, text)
    seen = []
    for v in values:
        if v in seen and not isinstance(v, (dict, list)):
            raise SweepError(f"'{text}': the value {v!r} appears twice"
                             + (" after rounding to whole numbers" if is_range else ""))
        seen.append(v)
    return tuple(values)


def _coerce(values: list, current: Any, is_range: bool, text: str) -> list:
    if isinstance(current, bool):
        if not all(isinstance(v, bool) for v in values):
            raise SweepError(f"'{text}': this field is true or false")
        return values
    if isinstance(current, int):
        out = []
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise SweepError(f"'{text}': this field takes whole numbers, got {v!r}")
            if isinstance(v, float):
                if is_range:
                    v = int(math.floor(v + 0.5))
                elif v.is_integer():
                    v = int(v)
                else:
                    raise SweepError(f"'{text}': this field takes whole numbers, got {v!r}")
            out.append(v)
        return out
    if isinstance(current, float):
        return [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in values]
    return values


_MISSING = object()


def _child(node: Any, key, keys: tuple, depth: int):
    """One step of a path; raises SweepError with a suggestion where it can."""
    here = ".".join(map(str, keys[:depth])) or "the scenario"
    if isinstance(node, list):
        if isinstance(key, int):
            if not 0 <= key < len(node):
                raise SweepError(f"{here} has {len(node)} entr{'y' if len(node) == 1 else 'ies'} "
                                 f"(indices 0 to {len(node) - 1}), so there is no {here}.{key}")
            return node[key]
        names = [x.get("name") for x in node if isinstance(x, dict)]
        if key in names:
            return node[names.index(key)]
        hint = difflib.get_close_matches(str(key), [str(n) for n in names if n], n=1, cutoff=0.6)
        raise SweepError(f"{here} is a list: give an index (0 to {len(node) - 1}) or a name"
                         + (f" (did you mean '{hint[0]}'?)" if hint else
                            f" ({', '.join(map(str, names))})" if any(names) else ""))
    if isinstance(node, dict):
        if str(key) in node:
            return node[str(key)]
        if keys[:depth] == ("arms",):
            hint = difflib.get_close_matches(str(key), list(node), n=1, cutoff=0.5)
            raise SweepError(f"no arm '{key}' in arms" + (f" (did you mean '{hint[0]}'?)" if hint else
                                                           f"; the arms are {', '.join(node)}"))
        return _MISSING
    raise SweepError(f"{here} is a value ({node!r}), not a block, so {'.'.join(map(str, keys))} does not exist")


def _resolve(data: dict, keys: tuple) -> Any:
    """The base scenario's value at ``keys`` (or _MISSING for a key not set: the
    validation of each grid point then judges it, with a suggestion for typos)."""
    node = data
    for depth, key in enumerate(keys):
        node = _child(node, key, keys, depth)
        if node is _MISSING:
            return _MISSING
    return node


def set_path(data: dict, keys: tuple, value: Any) -> dict:
    """A deep copy of ``data`` with ``value`` at ``keys`` (blocks created as needed)."""
    out = copy.deepcopy(data)
    node = out
    for depth, key in enumerate(keys[:-1]):
        nxt = _child(node, key, keys, depth)
        if nxt is _MISSING or nxt is None:
            nxt = {}
            node[str(key)] = nxt
        node = nxt
    last = keys[-1]
    if isinstance(node, list):
        _child(node, last, keys, len(keys) - 1)  # raises for a bad index
        idx = last if isinstance(last, int) else [x.get("name") for x in node].index(last)
        node[idx] = value
    elif isinstance(node, dict):
        node[str(last)] = value
    else:
        raise SweepError(f"{'.'.join(map(str, keys[:-1]))} is a value, not a block")
    return out


_RESERVED = {("simulation", "seed"): "--seed", ("simulation", "replicates"): "--replicates",
             ("simulation",): "--seed and --replicates"}


def make_vary(path: str, values: Any, base: Scenario | dict) -> Vary:
    """A :class:`Vary` from a path and values: a list/tuple of values, or the
    text of a --vary (``0.2,0.3`` or ``0.2:0.6:5``)."""
    data = base.to_dict() if isinstance(base, Scenario) else base
    text_values = values if isinstance(values, str) else ",".join(map(str, values)) if _listlike(values) else str(values)
    text = f"{path}={text_values}"
    try:
        keys = parse_path(path)
        if keys[:2] in _RESERVED or keys[:1] in _RESERVED:
            raise SweepError(f"vary the seed and replicates with {_RESERVED.get(keys[:2], _RESERVED[('simulation',)])}, "
                             "not in the grid")
        current = _resolve(data, keys)
        current = None if current is _MISSING else current
        if isinstance(values, str):
            parsed = parse_values(values, current)
        elif _listlike(values):
            if len(values) == 0:
                raise SweepError("no values")
            parsed = tuple(_coerce([v.item() if isinstance(v, np.generic) else v for v in values],
                                   current, False, text_values))
        else:
            parsed = tuple(_coerce([values], current, False, text_values))
    except SweepError as exc:
        raise SweepError(f"--vary {text}: {exc}") from None
    return Vary(path=path.strip(), keys=keys, values=parsed, text=text)


def _listlike(v) -> bool:
    return isinstance(v, (list, tuple, np.ndarray, range))


def parse_vary(spec: str, base: Scenario | dict) -> Vary:
    """Parse one ``--vary PATH=VALUES``."""
    if "=" not in spec:
        raise SweepError(f"--vary {spec}: give PATH=VALUES, e.g. arms.treatment.eradication=0.2:0.6:5 "
                         "or screening.test.sensitivity=0.8,0.9")
    path, values = spec.split("=", 1)
    return make_vary(path, values, base)


def _varies(vary, base: Scenario) -> list[Vary]:
    if vary is None:
        return []
    if isinstance(vary, Vary):
        vary = [vary]
    if isinstance(vary, dict):
        out = [v if isinstance(v, Vary) else make_vary(k, v, base) for k, v in vary.items()]
    else:
        out = [v if isinstance(v, Vary) else parse_vary(v, base) for v in vary]
    seen = set()
    for v in out:
        if v.keys in seen:
            raise SweepError(f"--vary {v.path} is given twice; give all its values in one --vary")
        seen.add(v.keys)
    return out


@dataclass(frozen=True)
class GridPoint:
    index: int
    values: dict            # {path: value}
    scenario: Scenario


def build_grid(base: Scenario, varies: Sequence[Vary]) -> list[GridPoint]:
    """Every combination of the varied values (the first --vary varies
    slowest), each re-validated as a scenario. A bad value raises SweepError
    naming the --vary and the field."""
    data = base.to_dict()
    points = []
    for i, combo in enumerate(itertools.product(*[v.values for v in varies])):
        d = data
        for v, x in zip(varies, combo):
            try:
                d = set_path(d, v.keys, x)
            except SweepError as exc:
                raise SweepError(f"--vary {v.text}: {exc}") from None
        try:
            sc = Scenario.from_dict(d)
        except ScenarioError as exc:
            raise SweepError(_grid_message(varies, combo, exc)) from None
        points.append(GridPoint(i, {v.path: x for v, x in zip(varies, combo)}, sc))
    return points


def _grid_message(varies, combo, exc: ScenarioError) -> str:
    path, _, message = exc.problems[0]
    # Blame the --vary whose path the problem is under, else the last one (the
    # value that made the scenario inconsistent, e.g. enrollment below events).
    blame = next((v for v in varies if path == v.path or path.startswith(v.path + ".")), None)
    if blame is None:
        blame = next((v for v in varies if v.path.startswith(path + ".") or v.path == path), varies[-1])
    at = ", ".join(f"{v.path}={x!r}" for v, x in zip(varies, combo))
    field_ = f"{path}: " if path else ""
    return f"--vary {blame.text}: at {at}: {field_}{message}"


# --------------------------------------------------------------------------
# Running chunks of replicates: locally (worker processes) or on Dask


_MODELS: dict[str, Any] = {}


def _run_task(scenario_json: str, seed: int, start: int, stop: int) -> dict:
    """One chunk: replicates start..stop-1 of the design, as engine.simulate_chunk gives them."""
    from trialsim.engine import TrialModel, simulate_chunk

    model = _MODELS.get(scenario_json)
    if model is None:
        if len(_MODELS) > 32:
            _MODELS.clear()
        model = TrialModel.from_scenario(Scenario.from_dict(json.loads(scenario_json)))
        _MODELS[scenario_json] = model
    return simulate_chunk(model, seed, np.arange(start, stop, dtype=np.int64))


def _ignore_sigint() -> None:
    # Ctrl-C reaches the whole process group; the parent handles it and ends
    # the workers, which would otherwise each print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass(frozen=True)
class _Task:
    key: Any
    payload: str
    seed: int
    start: int
    stop: int


class _LocalRunner:
    """Chunks in worker processes (one pool for the whole sweep), or in this
    process when workers == 1."""

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = None

    @property
    def slots(self) -> int:
        return self.workers

    def run(self, tasks: Iterable[_Task]) -> Iterator[tuple[_Task, dict]]:
        if self.workers == 1:
            for t in tasks:
                yield t, _run_task(t.payload, t.seed, t.start, t.stop)
            return
        if self.pool is None:
            self.pool = multiprocessing.get_context().Pool(self.workers, initializer=_ignore_sigint)
        done: queue.Queue = queue.Queue()
        tasks = iter(tasks)
        pending = 0
        window = 3 * self.workers

        def submit() -> bool:
            t = next(tasks, None)
            if t is None:
                return False
            self.pool.apply_async(_run_task, (t.payload, t.seed, t.start, t.stop),
                                  callback=lambda r, t=t: done.put((t, r, None)),
                                  error_callback=lambda e, t=t: done.put((t, None, e)))
            return True

        while pending < window and submit():
            pending += 1
        while pending:
            try:
                t, part, err = done.get(timeout=0.2)
            except queue.Empty:
                continue
            pending -= 1
            if err is not None:
                raise err
            if submit():
                pending += 1
            yield t, part

    def close(self, abort: bool = False) -> None:
        if self.pool is not None:
            if abort:
                self.pool.terminate()
            else:
                self.pool.close()
            self.pool.join()
            self.pool = None


class _DaskRunner:
    """Chunks as tasks on a Dask distributed cluster."""

    def __init__(self, scheduler):
        try:
            import distributed
        except ImportError:
            raise SweepError("--scheduler needs Dask distributed: pip install 'trialsim[dask]'") from None
        self.distributed = distributed
        if isinstance(scheduler, distributed.Client):
            self.client, self.own = scheduler, False
        else:
            try:
                self.client = distributed.Client(scheduler, timeout="20s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise SweepError(f"--scheduler {scheduler}: cannot connect: {exc}") from None
            self.own = True
        self.futures: set = set()

    @property
    def slots(self) -> int:
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:  # noqa: BLE001 - a count for chunk sizes only
            return 1

    def run(self, tasks: Iterable[_Task]) -> Iterator[tuple[_Task, dict]]:
        tasks = iter(tasks)
        ac = self.distributed.as_completed()
        which = {}

        def submit() -> bool:
            t = next(tasks, None)
            if t is None:
                return False
            fut = self.client.submit(_run_task, t.payload, t.seed, t.start, t.stop, pure=False)
            which[fut.key] = t
            self.futures.add(fut)
            ac.add(fut)
            return True

        for _ in range(3 * self.slots):
            if not submit():
                break
        for fut in ac:
            part = fut.result()
            self.futures.discard(fut)
            t = which.pop(fut.key)
            submit()
            yield t, part

    def close(self, abort: bool = False) -> None:
        if abort and self.futures:
            self.client.cancel(list(self.futures))
        self.futures.clear()
        if self.own:
            self.client.close()


def _runner(workers: int | None, scheduler) -> _LocalRunner | _DaskRunner:
    if scheduler is not None:
        return _DaskRunner(scheduler)
    from trialsim.engine import default_workers

    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    return _LocalRunner(workers)


# --------------------------------------------------------------------------
# Designs: a scenario simulated over ranges of replicates, incrementally


class _Design:
    """One design (scenario) of a sweep or a search, with the per-replicate
    table of the replicates simulated so far (0..n-1, always a prefix)."""

    def __init__(self, key, scenario: Scenario, seed: int):
        from trialsim.engine import SURVIVORS_PER_CHUNK, TrialModel

        self.key = key
        self.scenario = scenario
        self.seed = seed
        self.model = TrialModel.from_scenario(scenario)
        self.payload = json.dumps(scenario.to_dict(), sort_keys=True)
        per = self.model.expected_survivors_per_replicate()
        self.max_chunk = int(max(1, min(2000, SURVIVORS_PER_CHUNK // per)))
        self.parts: list[dict] = []      # in replicate order once complete
        self.n = 0
        self._pending: dict[int, dict] = {}
        self._target = 0

    def tasks(self, upto: int, slots: int, spread: bool) -> list[_Task]:
        """Tasks that bring this design to ``upto`` replicates."""
        if upto <= self.n:
            return []
        need = upto - self.n
        size = self.max_chunk
        if spread:  # a lone design: chunks small enough to keep every worker busy
            size = max(1, min(size, -(-need // (2 * slots))))
        self._target = upto
        return [_Task(self.key, self.payload, self.seed, s, min(s + size, upto))
                for s in range(self.n, upto, size)]

    def add(self, task: _Task, part: dict) -> bool:
        """Store a finished chunk; True once every chunk up to the target is in."""
        self._pending[task.start] = part
        while self.n in self._pending:
            p = self._pending.pop(self.n)
            self.parts.append(p)
            self.n += int(p["replicate"].size)
        return self.n >= self._target and not self._pending

    def table(self, upto: int | None = None) -> dict[str, np.ndarray]:
        keys = [k for k in self.parts[0] if not k.startswith("_")]
        t = {k: np.concatenate([p[k] for p in self.parts]) for k in keys}
        if upto is not None:
            t = {k: v[:upto] for k, v in t.items()}
        return t

    def power(self, upto: int) -> float:
        return float(np.mean(self.table(upto)["rejected"]))

    def result(self, upto: int | None = None):
        """A SimulationResult equal to trialsim.simulate(scenario, replicates=upto, seed=seed)."""
        from trialsim.results import SimulationResult, provenance

        upto = self.n if upto is None else upto
        sc = self.scenario.with_simulation(replicates=upto, seed=self.seed)
        table = self.table(upto)
        looks = None
        if "_looks" in self.parts[0]:
            looks = {k: np.concatenate([p["_looks"][k] for p in self.parts]) for k in self.parts[0]["_looks"]}
            keep = looks["replicate"] < upto
            looks = {k: v[keep] for k, v in looks.items()}
        return SimulationResult(scenario=sc, table=table, provenance=provenance(sc, self.seed, upto),
                                model=self.model, looks=looks)


def _run_designs(runner, requests: list[tuple[_Design, int]], *,
                 on_done: Callable[[_Design], None] | None = None,
                 on_chunk: Callable[[int], None] | None = None) -> None:
    """Bring each design to its number of replicates; ``on_done(design)`` as each completes."""
    spread = len(requests) < 2 * runner.slots
    tasks = [t for d, upto in requests for t in d.tasks(upto, runner.slots, spread)]
    by_key = {d.key: d for d, _ in requests}
    for d, upto in requests:
        if upto <= d.n and on_done:
            on_done(d)
    for task, part in runner.run(tasks):
        d = by_key[task.key]
        if on_chunk:
            on_chunk(task.stop - task.start)
        if d.add(task, part) and on_done:
            on_done(d)


# --------------------------------------------------------------------------
# Checkpoints: DIR/manifest.json and DIR/points/<index>.json


def _json_safe(obj):
    from trialsim.results import _json_default

    return json.loads(json.dumps(obj, allow_nan=False, default=_json_default))


def scenario_hash(sc: Scenario) -> str:
    d = sc.to_dict()
    d.pop("simulation", None)   # seed and replicates are compared on their own
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


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
            try:
                old = json.loads(mpath.read_text())
            except (OSError, ValueError) as exc:
                raise SweepError(f"--resume: {mpath} cannot be read: {exc}") from None
            diff = [k for k in sorted(set(old) | set(manifest)) if k != "created" and old.get(k) != manifest.get(k)]
            if diff:
                what = "; ".join(f"{k}: {_short(old.get(k))} there, {_short(manifest.get(k))} here" for k in diff)
                raise SweepError(f"--resume: {self.out} holds a different run ({what}); "
                                 "run the same command as before, or drop --resume to start over")
            self.manifest = old
            self._clean_temporaries()
            for p in sorted(self.points_dir.glob("[0-9]*.json")):
                try:
                    data = json.loads(p.read_text())
                except (OSError, ValueError):
                    continue    # never half-written (atomic), but be safe: recompute it
                self.done[int(data["point"])] = data
        else:
            try:
                self.points_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise SweepError(f"--out {self.out}: cannot write: {exc}") from None
            for p in self.points_dir.glob("[0-9]*.json"):
                p.unlink()      # a fresh run: the previous checkpoint's points go
            self._clean_temporaries()
            with atomic_open(mpath) as f:
                json.dump(manifest, f, indent=2)
                f.write("\n")

    def _clean_temporaries(self) -> None:
        if self.points_dir.is_dir():
            for p in self.points_dir.glob(".*.json.*"):   # left by a killed run mid-write
                p.unlink()

    def save(self, index: int, data: dict) -> None:
        with atomic_open(self.points_dir / f"{index}.json") as f:
            json.dump(data, f, indent=2, allow_nan=False)
            f.write("\n")
        self.done[index] = data


def _short(v) -> str:
    s = json.dumps(v)
    return s if len(s) <= 60 else s[:57] + "..."


def _manifest(command: str, base: Scenario, varies: list[Vary], seed: int, replicates: int, **extra) -> dict:
    from datetime import datetime, timezone

    return {"trialsim_checkpoint": 1, "command": command, "scenario_sha256": scenario_hash(base),
            "vary": [{"path": v.path, "values": _json_safe(list(v.values))} for v in varies],
            "seed": int(seed), "replicates": int(replicates), **extra,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


# --------------------------------------------------------------------------
# Sweeps


def _resolve_run(scenario: Scenario, replicates, seed) -> tuple[int, int]:
    from trialsim.engine import draw_seed

    if not isinstance(scenario, Scenario):
        raise TypeError("takes a Scenario; use trialsim.load_scenario(path) first")
    replicates = replicates if replicates is not None else scenario.simulation.replicates
    if int(replicates) < 1:
        raise ValueError(f"replicates must be at least 1, got {replicates}")
    seed = seed if seed is not None else scenario.simulation.seed
    if seed is None:
        seed = draw_seed()
    if int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    return int(replicates), int(seed)


def _resume_seed(out, seed_given: int | None, scenario: Scenario) -> int | None:
    """On --resume with no seed given anywhere, the checkpoint's (drawn) seed."""
    if seed_given is not None or scenario.simulation.seed is not None or out is None:
        return seed_given
    try:
        return int(json.loads((Path(out) / "manifest.json").read_text())["seed"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass
class SweepResult:
    """The result of a sweep: one entry per grid point, in grid order.

    ``points[i]`` is ``{"point": i, "values": {path: value}, "summary": {...}}``
    with the operating characteristics of ``trialsim run`` (and the point's
    provenance) as ``summary``."""

    varies: list[Vary]
    points: list[dict]
    provenance: dict

    @property
    def paths(self) -> list[str]:
        return [v.path for v in self.varies]

    def rows(self) -> list[dict]:
        """The JSON rows: point, the varied values under their paths, then every
        operating characteristic of `trialsim run` (distributions as objects)."""
        out = []
        for p in self.points:
            row = {"point": p["point"], **p["values"]}
            row.update({k: v for k, v in p["summary"].items() if k != "provenance"})
            out.append(row)
        return out

    def to_frame(self):
        """The tidy table: one row per grid point; distributions flattened
        (``screened`` = mean, ``screened_median``, ``screened_p10``, ``screened_p90``)."""
        import pandas as pd

        flat = [flatten_row(r) for r in self.rows()]
        df = pd.DataFrame(flat)
        first = ["point", *self.paths, "power", "power_mcse", "power_low", "power_high"]
        df = df[[c for c in first if c in df] + [c for c in df.columns if c not in first]]
        df.attrs["provenance"] = self.provenance
        return df

    def to_json(self) -> str:
        from trialsim.results import _json_default

        return json.dumps({"provenance": self.provenance, "rows": self.rows()}, indent=2, allow_nan=False,
                          default=_json_default)

    def __str__(self) -> str:
        return format_sweep(self)

    def write(self, out: str | os.PathLike) -> list[Path]:
        """sweep.csv, sweep.parquet, sweep.json and (for one or two varied paths)
        power_curve.png and power_curve.svg, each written atomically."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        df = self.to_frame()
        written = _write_table(df, out, "sweep")
        written.append(_write_text(out / "sweep.json", self.to_json() + "\n"))
        if 1 <= len(self.varies) <= 2:
            written += plot_power_curve(self, out / "power_curve")
        return written


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
        if v is None and k in _DIST_FIELDS:
            out[k] = None
            for s in DISTRIBUTION_KEYS[1:]:
                out[f"{k}_{s}"] = None
            continue
        put(k, v)
        if k == "power_mcse" and isinstance(row.get("power"), (int, float)) and v is not None:
            out["power_low"], out["power_high"] = wilson_interval(row["power"], row["replicates"])
    return out


# Keys of `trialsim run` that are distributions (so a null one still gets its four columns).
_DIST_FIELDS = {"screened", "tested", "test_positive", "eligible", "consented", "randomized",
                "truly_mrd_positive_share", "events", "analysis_month", "last_randomized_month",
                "screening_closed_month", "hazard_ratio_estimate", "assays", "assay_cost"}


def _write_text(path: Path, text: str) -> Path:
    
    with atomic_open(path) as f:
        f.write(text)
    return path


def _write_table(df, out: Path, stem: str) -> list[Path]:
    csv_path, pq_path = out / f"{stem}.csv", out / f"{stem}.parquet"
    _write_text(csv_path, df.to_csv(index=False, lineterminator="\n"))
    frame = df.copy()
    frame.attrs = {}    # provenance lives in the JSON; keep the Parquet metadata small
    with atomic_path(pq_path) as tmp:
        frame.to_parquet(tmp, index=False)
    return [csv_path, pq_path]


def run_sweep(scenario: Scenario, vary=None, *, replicates: int | None = None, seed: int | None = None,
              workers: int | None = None, scheduler=None, out: str | os.PathLike | None = None,
              resume: bool = False,
              progress: Callable[[int, int, int, int | None], None] | None = None) -> SweepResult:
    """Simulate every design of a grid; return a :class:`SweepResult`.

    Arguments as :func:`sweep`. ``out``: checkpoint folder; each finished grid
    point is written there as it completes, and ``resume=True`` skips the
    points already there (the checkpoint must be of the same sweep).
    """
    from trialsim.results import provenance as _provenance

    if resume and out is None:
        raise SweepError("--resume needs --out DIR (the folder of the interrupted sweep)")
    if resume:
        seed = _resume_seed(out, seed, scenario)
    replicates, seed = _resolve_run(scenario, replicates, seed)
    varies = _varies(vary, scenario)
    grid = build_grid(scenario, varies)
    base = scenario.with_simulation(replicates=replicates, seed=seed)
    prov = _provenance(base, seed, replicates)
    prov = {"kind": "sweep", **prov, "vary": {v.path: _json_safe(list(v.values)) for v in varies},
            "grid_points": len(grid)}
    ckpt = None
    if out is not None:
        ckpt = Checkpoint(out, _manifest("sweep", scenario, varies, seed, replicates), resume=resume)
    done: dict[int, dict] = {}
    if ckpt is not None:
        for i, data in ckpt.done.items():
            if 0 <= i < len(grid) and data.get("values") == _json_safe(grid[i].values):
                done[i] = data
    total_reps = replicates * len(grid)
    state = {"points": len(done), "reps": replicates * len(done)}

    def report():
        if progress:
            progress(state["points"], len(grid), state["reps"], total_reps)

    report()
    todo = [g for g in grid if g.index not in done]
    if todo:
        runner = _runner(workers, scheduler)
        designs = {g.index: _Design(g.index, g.scenario, seed) for g in todo}

        def finished(d: _Design):
            g = grid[d.key]
            data = _json_safe({"point": g.index, "values": g.values, "summary": d.result().summary()})
            d.parts = []    # free the replicate tables: only the summary is kept
            done[g.index] = data
            if ckpt is not None:
                ckpt.save(g.index, data)
            state["points"] += 1
            report()

        def chunk(n):
            state["reps"] += n
            report()

        try:
            _run_designs(runner, [(designs[g.index], replicates) for g in todo], on_done=finished, on_chunk=chunk)
        except BaseException:
            runner.close(abort=True)
            raise
        runner.close()
    points = [done[i] for i in range(len(grid))]
    return SweepResult(varies=varies, points=points, provenance=prov)


def sweep(scenario: Scenario, vary=None, *, replicates: int | None = None, seed: int | None = None,
          workers: int | None = None, scheduler=None, out: str | os.PathLike | None = None,
          resume: bool = False, progress=None):
    """Simulate a grid of designs; return a tidy table (pandas DataFrame).

    vary: ``{path: values}``, a dotted path into the scenario
    (``arms.treatment.eradication``, ``population.strata.0.mrd.prevalence``,
    ``screening.test.sensitivity``, ``trial.enrollment``) and its values, a
    list or the text of a --vary (``"0.2,0.3"`` or ``"0.2:0.6:5"``). Several
    paths make a grid (every combination; the first path varies slowest).
    replicates, seed: per grid point; every point uses the same seed (common
    random numbers). workers: local worker processes (default all cores;
    results do not depend on it). scheduler: a Dask scheduler address or a
    ``distributed.Client`` to run on instead. out: also write each finished
    point to ``out/points/`` and the outputs (``SweepResult.write``); with
    resume=True, skip the points already there. progress: called with
    (points done, points, replicates done, replicates) as work finishes.

    Grain: one row per grid point. Columns: ``point``, one per varied path
    (named by the path), then every operating characteristic of
    ``trialsim run`` with distributions flattened (docs/sweeps.md).
    ``.attrs["provenance"]`` holds the base scenario, the grid, seed and versions.
    """
    res = run_sweep(scenario, vary, replicates=replicates, seed=seed, workers=workers, scheduler=scheduler,
                    out=out, resume=resume, progress=progress)
    if out is not None:
        res.write(out)
    return res.to_frame()


def _num(x, digits=0) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:,.{digits}f}"


def _mean(d):
    return d["mean"] if isinstance(d, dict) else d


def format_sweep(res: SweepResult) -> str:
    """A readable table of a sweep: one line per grid point."""
    prov = res.provenance
    rows = res.rows()
    lines = [f"{prov['scenario'].get('name', 'scenario')}",
             f"  {len(rows)} designs x {prov['replicates']:,} simulated trials, seed {prov['seed']} "
             "(the same for every design: common random numbers)", ""]
    screening = rows and rows[0].get("tested") is not None
    cols = [(p, lambda r, p=p: _fmt_value(r[p])) for p in res.paths]
    cols.append(("power ± MCSE", lambda r: f"{r['power']:.3f} ± {r['power_mcse']:.3f}"))
    if screening:
        cols.append(("screened", lambda r: _num(_mean(r["screened"]))))
    cols.append(("randomised", lambda r: _num(_mean(r["randomized"]), 1)))
    cols.append(("events", lambda r: _num(_mean(r["events"]), 1)))
    cols.append(("analysis month", lambda r: _num(_mean(r["analysis_month"]), 1)))
    if rows and rows[0].get("assay_cost") is not None:
        cols.append(("assay cost", lambda r: _num(_mean(r["assay_cost"]))))
    cells = [[h for h, _ in cols]] + [[f(r) for _, f in cols] for r in rows]
    widths = [max(len(c[j]) for c in cells) for j in range(len(cols))]
    for n, c in enumerate(cells):
        lines.append("  " + "  ".join(x.rjust(w) for x, w in zip(c, widths)))
        if n == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append("  Counts and months are means over simulated trials; MCSE: Monte Carlo standard error.")
    return "\n".join(lines)


def _fmt_value(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


# --------------------------------------------------------------------------
# Figures


def _numeric(values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def plot_power_curve(res: SweepResult, stem: Path) -> list[Path]:
    """Power against the first varied path, with its 95% Monte Carlo band
    (Wilson's interval); one line per value of the second path, if any.
    Writes ``stem.png`` and ``stem.svg``."""
    rows = res.rows()
    paths = res.paths
    prov = res.provenance
    lines = {}
    for r in rows:
        key = r[paths[1]] if len(paths) > 1 else None
        lines.setdefault(key, []).append(r)
    title = prov["scenario"].get("name", "scenario")
    sub = (f"{prov['replicates']:,} simulated trials per design, seed {prov['seed']}; "
           "bands: 95% Monte Carlo interval (Wilson)")
    return _plot(lines, x_path=paths[0], group_path=paths[1] if len(paths) > 1 else None,
                 y=lambda r: (r["power"], *wilson_interval(r["power"], r["replicates"])),
                 ylabel="power", title=title, sub=sub,
                 stem=stem, unit_range=True, hline=0.8)


def _plot(groups: dict, *, x_path: str, group_path: str | None, y, ylabel: str, title: str, sub: str,
          stem: Path, unit_range: bool, hline: float | None = None) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs_all = [r[x_path] for g in groups.values() for r in g]
    numeric = _numeric(xs_all)
    cats = list(dict.fromkeys(map(str, xs_all)))
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=120)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for n, (key, g) in enumerate(groups.items()):
        pts = [(r[x_path], *y(r)) for r in g if y(r)[0] is not None]
        if not pts:
            continue
        if numeric:
            pts.sort(key=lambda p: p[0])
            xv = np.array([p[0] for p in pts], dtype=float)
        else:
            xv = np.array([cats.index(str(p[0])) for p in pts], dtype=float)
        yv = np.array([p[1] for p in pts], dtype=float)
        lo = np.array([p[2] if p[2] is not None else p[1] for p in pts], dtype=float)
        hi = np.array([p[3] if p[3] is not None else p[1] for p in pts], dtype=float)
        c = colors[n % len(colors)]
        label = f"{group_path} = {_fmt_value(key)}" if group_path is not None else None
        ax.plot(xv, yv, "-o", color=c, lw=1.8, ms=4, label=label)
        if unit_range:
            lo, hi = np.clip(lo, 0, 1), np.clip(hi, 0, 1)
        ax.fill_between(xv, lo, hi, color=c, alpha=0.18, lw=0)
    if not numeric:
        ax.set_xticks(range(len(cats)), cats)
    if hline is not None:
        ax.axhline(hline, color="0.55", lw=0.9, ls="--", zorder=0)
        ax.text(1.005, hline, f"{hline:.0%}", transform=ax.get_yaxis_transform(), fontsize=8, color="0.4",
                va="center")
    if unit_range:
        ax.set_ylim(0, 1.02)
    ax.set_xlabel(x_path)
    ax.set_ylabel(ylabel)
    ax.grid(True, color="0.9")
    ax.set_title(f"{title}\n", fontsize=11, loc="left")
    ax.text(0, 1.015, sub, transform=ax.transAxes, fontsize=8, color="0.35", va="bottom")
    if group_path is not None:
        ax.legend(fontsize=8, frameon=False, loc="best")
    fig.tight_layout()
    written = []
    for ext in ("png", "svg"):
        path = stem.with_suffix(f".{ext}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext)
        written.append(path)
    plt.close(fig)
    return written


# --------------------------------------------------------------------------
# Sample-size search


def _z(p: float, n: int) -> float:
    """Probit of an estimated power, kept finite (p clipped to [0.5/n, 1 - 0.5/n])."""
    eps = 0.5 / max(n, 1)
    return _N.inv_cdf(min(max(p, eps), 1 - eps))


@dataclass
class SampleSize:
    """The result of :func:`find_sample_size`; ``to_dict()`` is the JSON of
    ``trialsim size`` and ``str()`` a readable summary."""

    solve: str
    target_power: float
    value: int
    power: float
    power_mcse: float
    replicates: int
    seed: int
    below: dict | None              # the next smaller value, as simulated: {value, power, power_mcse}
    confidence: dict                # {low, high, statement}
    analytic: dict                  # how the search started
    summary: dict                   # operating characteristics at the answer (`trialsim run` of it)
    scenario: Scenario              # the design at the answer
    trace: list[dict]               # every evaluation: value, replicates, power, power_mcse, stage
    simulated: int                  # trials simulated by the whole search
    provenance: dict
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        s = self.summary
        out = {
            "solve": self.solve, "target_power": self.target_power, "value": self.value,
            "power": self.power, "power_mcse": self.power_mcse,
            "replicates": self.replicates, "seed": self.seed,
            "enrollment": self.scenario.trial.enrollment, "events_target": self.scenario.trial.analysis.events,
            "below": self.below, "confidence": self.confidence,
            "screened": s["screened"], "randomized": s["randomized"], "events": s["events"],
            "analysis_month": s["analysis_month"], "last_randomized_month": s["last_randomized_month"],
            "assays": s.get("assays"), "assay_cost": s.get("assay_cost"),
            "analytic": self.analytic, "trace": self.trace,
            "simulated_trials": self.simulated, "notes": self.notes,
            "operating_characteristics": {k: v for k, v in s.items() if k != "provenance"},
            "scenario_at_answer": self.scenario.with_simulation(replicates=self.replicates, seed=self.seed).to_dict(),
            "provenance": self.provenance,
        }
        return _json_safe(out)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def __str__(self) -> str:
        return format_size(self.to_dict(), self.scenario.name)


def format_size(d: dict, name: str = "") -> str:
    from trialsim.results import _fmt

    lines = [f"{name}: smallest {d['solve']} for power {d['target_power']:g}",
             f"  {d['replicates']:,} simulated trials at the answer, seed {d['seed']} "
             "(the same for every value tried: common random numbers)", ""]
    lines.append(f"  {'answer':<26}{d['value']:,}   power {d['power']:.4f} ± {d['power_mcse']:.4f} (Monte Carlo SE)")
    b = d.get("below")
    if b:
        lines.append(f"  {'one less':<26}{b['value']:,}   power {b['power']:.4f} ± {b['power_mcse']:.4f}")
    c = d["confidence"]
    if c.get("low") is not None:
        lines.append(f"  {'95% range':<26}{c['low']:,} to {c['high']:,}")
    a = d["analytic"]
    if a.get("value") is not None:
        lines.append(f"  {'analytic start':<26}{a['value']:,} ({a['method']})")
    if d["solve"] == "trial.enrollment" and d.get("events_target") is not None:
        lines.append(f"  {'events target':<26}{d['events_target']:,}")
    if d["solve"] == "trial.analysis.events":
        lines.append(f"  {'enrollment':<26}{d['enrollment']:,}")
    for label, key, digits in [("screened", "screened", 0), ("randomised", "randomized", 1),
                               ("events at analysis", "events", 1), ("analysis, month", "analysis_month", 1),
                               ("assays", "assays", 0), ("assay cost", "assay_cost", 0)]:
        if d.get(key) is not None:
            lines.append(f"  {label:<26}{_fmt(d[key], digits)}")
    lines.append(f"  {'search':<26}{len(d['trace'])} evaluations, {d['simulated_trials']:,} simulated trials "
                 f"({d['simulated_trials'] / d['replicates']:.1f}x one run at the answer)")
    lines.append("")
    lines.append("  " + c["statement"])
    for n in d.get("notes", []):
        lines.append("  note: " + n)
    lines.append("  Distributions over trials: mean (median, 10th-90th centile).")
    return "\n".join(lines)


def _stages(replicates: int) -> list[int]:
    """Replicates per stage of the search: a coarse stage at 1/16 of the final
    number (at least 250), then the final number."""
    first = replicates // 16
    return [first, replicates] if first >= 250 else [replicates]


class _Search:
    """The stochastic root search of find_sample_size, for one base scenario."""

    def __init__(self, base: Scenario, *, solve: str, target: float, replicates: int, seed: int, runner,
                 on_chunk=None):
        self.base, self.solve, self.target = base, solve, target
        self.R, self.seed, self.runner, self.on_chunk = replicates, seed, runner, on_chunk
        self.data = base.to_dict()
        self.N0 = base.trial.enrollment
        self.E0 = base.trial.analysis.events
        self.designs: dict[int, _Design] = {}
        self.trace: list[dict] = []
        self.notes: list[str] = []
        self.b: float | None = None       # slope of probit(power) in sqrt(value)
        self.stage = 0
        if solve == "trial.analysis.events":
            self.x_base, self.x_min = self.E0, 2
        else:
            self.x_base, self.x_min = self.N0, 2
        self.x_max = 2_000_000

    # -- designs ------------------------------------------------------------

    def design_dict(self, x: int) -> dict:
        d = copy.deepcopy(self.data)
        if self.solve == "trial.enrollment":
            d["trial"]["enrollment"] = x
            if self.E0 is not None:   # the analysis keeps the scenario's ratio of events to enrolment
                d["trial"]["analysis"]["events"] = max(1, min(x, int(math.floor(x * self.E0 / self.N0 + 0.5))))
        else:
            d["trial"]["analysis"]["events"] = x
            if x > self.N0:           # more events than patients: enrol more, at the scenario's ratio
                d["trial"]["enrollment"] = int(math.ceil(x * self.N0 / self.E0))
        return d

    def design(self, x: int) -> _Design:
        if x not in self.designs:
            try:
                sc = Scenario.from_dict(self.design_dict(x))
            except ScenarioError as exc:
                raise SweepError(f"{self.solve}={x}: {exc.render()}") from None
            self.designs[x] = _Design(x, sc, self.seed)
        return self.designs[x]

    def evaluate(self, xs: Iterable[int], n: int) -> None:
        reqs = [(self.design(x), n) for x in dict.fromkeys(xs)]
        _run_designs(self.runner, reqs, on_chunk=self.on_chunk)
        for d, _ in reqs:
            if any(t["value"] == d.key and t["replicates"] == n for t in self.trace):
                continue
            p = d.power(n)
            self.trace.append({"value": d.key, "replicates": n, "power": p,
                               "power_mcse": math.sqrt(p * (1 - p) / n), "stage": self.stage})

    def p(self, x: int, n: int) -> float:
        return self.designs[x].power(n)

    def evaluated(self, n: int) -> dict[int, float]:
        return {x: d.power(n) for x, d in self.designs.items() if d.n >= n}

    # -- analytic start -----------------------------------------------------

    def analytic_start(self, n_pilot: int) -> dict:
        from trialsim.design import schoenfeld_events

        sc = self.base
        an = sc.trial.analysis
        c, t = sc.arms[sc.control_arm], sc.arms[sc.treatment_arm]
        r = t.allocation / c.allocation
        conventional = (sc.mrd is None and sc.screening is None and c.eradication == 0 and t.eradication == 0
                        and c.delay == 0 and t.delay == 0
                        and (sc.trial.death == "censor" or sc.population.other_cause_death is None)
                        and sc.trial.endpoints[0] == "drfs")
        info: dict[str, Any] = {"allocation": r}
        pilot = None
        if conventional:
            hr = t.hazard_ratio / c.hazard_ratio
            info.update(hazard_ratio=hr, method="Schoenfeld events at the scenario's hazard ratio")
        else:
            # MRD trials dilute the effect (false positives, eradication, delay):
            # a pilot of the base design gives the hazard ratio the log-rank sees.
            self.evaluate([self.x_base], n_pilot)
            pilot = self.designs[self.x_base].result(n_pilot).summary()
            hr = pilot["hazard_ratio_geometric_mean"]
            info.update(hazard_ratio=hr, pilot_value=self.x_base, pilot_replicates=n_pilot,
                        pilot_power=pilot["power"],
                        method="Schoenfeld events at the effective hazard ratio (geometric mean of "
                               f"the estimates in a pilot of {n_pilot:,} trials at {self.solve}={self.x_base})")
        if hr is not None and hr >= 1 and an.sided == 1 and sc.trial.endpoints[0] == "drfs":
            raise TargetNotReached(f"the {'scenario' if conventional else 'effective'} hazard ratio is "
                                   f"{hr:.3f}, not below 1: no {self.solve} reaches power {self.target:g} "
                                   "for a one-sided test of benefit")
        if sc.trial.endpoints[0] != "drfs" or hr is None or hr <= 0 or hr == 1:
            info.update(value=None, events=None,
                        method="no analytic start (no hazard ratio for this endpoint, or none away from 1): "
                               "searched from the scenario's value")
            return info
        d_star = schoenfeld_events(hazard_ratio=hr, alpha=an.alpha, power=self.target, sided=an.sided,
                                   allocation=r)
        info["events"] = d_star
        drift = math.sqrt(r) / (1 + r) * abs(math.log(hr))
        if self.solve == "trial.analysis.events":
            x0, self.b = math.ceil(d_star), drift
        else:
            if pilot is not None:
                f = pilot["events"]["mean"] / self.N0 if pilot["events"] else None
            else:
                f = self.E0 / self.N0 if self.E0 is not None else None
            if not f:
                info.update(value=None, method=info["method"] + "; no events in the pilot: searched from "
                                                                "the scenario's value")
                return info
            info["events_per_patient"] = f
            x0, self.b = math.ceil(d_star / f), drift * math.sqrt(f)
        info["value"] = int(min(max(x0, self.x_min), self.x_max))
        return info

    # -- the model: probit(power) = a + b sqrt(x) ----------------------------

    def slope(self) -> float | None:
        """b from a weighted fit over all evaluations when they span enough, else theory."""
        pts = [(x, d.power(d.n), d.n) for x, d in self.designs.items() if d.n > 0]
        pts = [(x, p, n) for x, p, n in pts if 0.02 < p < 0.98]
        if len(pts) >= 3:
            s = np.sqrt([x for x, _, _ in pts])
            zz = np.array([_z(p, n) for _, p, n in pts])
            w = np.array([n * _N.pdf(_z(p, n)) ** 2 / (p * (1 - p)) for _, p, n in pts])
            sm = np.sum(w * s) / w.sum()
            sxx = np.sum(w * (s - sm) ** 2)
            if sxx > 0:
                b = np.sum(w * (s - sm) * (zz - np.sum(w * zz) / w.sum())) / sxx
                se_b = 1 / math.sqrt(sxx)
                if b > 0 and se_b < 0.25 * b:
                    return float(b)
        return self.b

    def root(self, anchors: list[int], n: int) -> float | None:
        b = self.slope()
        if not b or b <= 0:
            return None
        zt = _N.inv_cdf(self.target)
        a = np.mean([_z(self.p(x, n), n) - b * math.sqrt(x) for x in anchors])
        v = (zt - a) / b
        return v * v if v > 0 else 0.0

    def dp_dx(self, x: float) -> float | None:
        b = self.slope()
        if not b:
            return None
        return _N.pdf(_N.inv_cdf(self.target)) * b / (2 * math.sqrt(max(x, 1)))

    # -- one stage ----------------------------------------------------------

    def bracket(self, n: int) -> tuple[int | None, int | None]:
        pts = self.evaluated(n)
        above = [x for x, p in pts.items() if p >= self.target]
        hi = min(above) if above else None
        below = [x for x, p in pts.items() if p < self.target and (hi is None or x < hi)]
        lo = max(below) if below else None
        return lo, hi

    def run_stage(self, n: int, anchor: int, final: bool) -> tuple[int | None, int]:
        """Locate the crossing at ``n`` replicates; return (lo, hi) with hi the
        smallest value reaching the target among those tried, lo below it."""
        self.evaluate([anchor], n)
        tol, margin = 1, 0.0
        if not final:
            # A coarse stage only needs the crossing to within its own noise, and
            # its expansion steps overshoot by half of it to bracket sooner. (At
            # the final stage, predictions anchored on points simulated with the
            # same replicates are accurate to about one unit: no overshoot.)
            slope = self.dp_dx(anchor)
            if slope:
                noise = math.sqrt(self.target * (1 - self.target) / n) / slope
                tol, margin = max(1, int(noise)), 0.5 * noise
        same_side, last_side, grow = 0, None, 1.0
        for _ in range(200):
            lo, hi = self.bracket(n)
            if lo is not None and hi is not None and hi - lo <= tol:
                return lo, hi
            if hi is not None and lo is None and hi <= self.x_min:
                return None, hi
            pts = self.evaluated(n)
            if hi is None:                          # everything tried is below the target: go up
                top = max(pts)
                if top >= self.x_max:
                    raise self.unreachable(n)
                self.check_plateau(n)
                r = self.root([top], n)
                c = math.ceil(r + margin) if r is not None and r > top else math.ceil(top * 1.5)
                c = top + max(1, int((c - top) * grow))
                c = min(max(c, top + 1), 2 * top + 1, self.x_max)
                side = "up"
            elif lo is None:                        # everything tried reaches it: go down
                bottom = min(pts)
                r = self.root([bottom], n)
                c = math.ceil(r - margin) if r is not None and r < bottom else bottom // 2
                c = bottom - max(1, int((bottom - c) * grow))
                c = max(c, (bottom + 1) // 2, self.x_min)
                if c >= bottom:
                    c = bottom - 1
                side = "down"
            else:                                    # a bracket: secant on the model, bisection as a safeguard
                r = self.root([lo, hi], n)
                c = math.ceil(r) if r is not None else (lo + hi) // 2
                if same_side >= 2 and hi - lo > 3:
                    c = (lo + hi) // 2
                c = min(max(c, lo + 1), hi - 1)
                side = None
            self.evaluate([c], n)
            outcome = self.p(c, n) >= self.target
            if side is not None:
                # Same side twice: the model is off (slope too steep); widen the steps.
                grow = grow * 2 if last_side == (side, outcome) else 1.0
                last_side = (side, outcome)
            else:
                same_side = same_side + 1 if last_side == ("in", outcome) else 1
                last_side = ("in", outcome)
        raise RuntimeError("the sample-size search did not converge")  # pragma: no cover

    def blend(self, x: int, analytic: dict, n: int) -> int:
        """...weighted with the analytic answer by their precisions: a coarse
        stage's crossing is uncertain by its Monte Carlo noise (about 10
        events at 625 replicates for a conventional design), Schoenfeld's
        formula at the scenario's hazard ratio by a few percent (more when
        the hazard ratio came from a pilot). A closer anchor saves
        evaluations at full replicates."""
        x0 = analytic.get("value")
        slope = self.dp_dx(x)
        if x0 is None or not slope:
            return x
        sd_stage = math.sqrt(self.target * (1 - self.target) / n) / slope
        sd_analytic = (0.03 if "pilot_value" not in analytic else 0.15) * x0
        w = sd_analytic ** -2 / (sd_analytic ** -2 + sd_stage ** -2)
        return max(self.x_min, int(round(w * x0 + (1 - w) * x)))

    def check_plateau(self, n: int) -> None:
        pts = sorted(self.evaluated(n).items())
        if len(pts) >= 3 and pts[-1][0] >= 4 * pts[-3][0]:
            (_, p3), (_, p1) = pts[-3], pts[-1]
            se = math.sqrt(max(p1 * (1 - p1), 0.01) / n)
            if p1 - p3 < 2 * se:
                raise self.unreachable(n)

    def unreachable(self, n: int) -> TargetNotReached:
        x, p = max(self.evaluated(n).items())
        d = self.designs[x].result(n).summary()
        why = []
        if d["enrollment_reached_share"] < 0.99:
            why.append(f"the enrolment target is reached in only {d['enrollment_reached_share']:.0%} of trials")
        if d["events_reached_share"] < 0.99:
            why.append(f"the events target is reached in only {d['events_reached_share']:.0%} of trials")
        reason = f" ({'; '.join(why)})" if why else ""
        return TargetNotReached(
            f"no {self.solve} reaches power {self.target:g}: at {self.solve}={x:,} the power is "
            f"{p:.3f}{reason}, and it stops growing; change the design (a longer screening window, "
            "a later analysis, a larger effect)")

    # -- the whole search ---------------------------------------------------

    def run(self) -> dict:
        stages = _stages(self.R)
        analytic = self.analytic_start(min(stages[0], PILOT_REPLICATES))
        an = self.base.trial.analysis
        if ("pilot_value" not in analytic and analytic.get("value") is not None and an.months is None
                and an.test == "logrank" and not an.looks):
            # Schoenfeld at the scenario's own hazard ratio, analysis at a number
            # of events: the formula is closer than a coarse stage could get.
            stages = stages[-1:]
        x = analytic.get("value") or self.x_base
        lo = hi = None
        for s, n in enumerate(stages):
            self.stage = s
            final = s == len(stages) - 1
            if hi is not None:   # anchor the next stage at the crossing found so far...
                r = self.root([v for v in (lo, hi) if v is not None], stages[s - 1])
                x = hi if r is None or lo is None else min(max(math.ceil(r), lo + 1), hi)
                x = self.blend(x, analytic, stages[s - 1])
            lo, hi = self.run_stage(n, x, final)
        return {"value": hi, "below": lo, "analytic": analytic}


def _confidence(search: _Search, value: int, n: int) -> dict:
    p = search.p(value, n)
    se = math.sqrt(max(p * (1 - p), 1e-12) / n)
    b = search.slope()
    t = search.target
    lo = search.bracket(n)[0]
    statement_tail = ""
    low = high = None
    if b:
        zt = lambda q: _N.inv_cdf(min(max(q, 1e-9), 1 - 1e-9))  # noqa: E731
        anchors = [v for v in (lo, value) if v is not None]
        a = np.mean([_z(search.p(x, n), n) - b * math.sqrt(x) for x in anchors])

        def at(q):
            v = (zt(q) - a) / b
            return max(search.x_min, math.ceil(v * v)) if v > 0 else search.x_min

        low, high = at(t - 2 * se), at(t + 2 * se)
        low, high = min(low, value), max(high, value)
        statement_tail = (f"; on the power curve fitted through the simulated values (probit of power linear in "
                          f"the square root of {search.solve}), designs from {low:,} to {high:,} have power within "
                          f"2 SE of {t:g}, so the smallest {search.solve} reaching {t:g} lies in that range with "
                          "about 95% confidence")
    statement = (f"power at {search.solve}={value:,} is {p:.4f} ± {se:.4f} (Monte Carlo SE, {n:,} trials)"
                 + statement_tail + ".")
    return {"low": low, "high": high, "statement": statement}


def _resolve_solve(solve: str, scenario: Scenario, varies: Sequence[Vary]) -> str:
    solve = solve.strip()
    if solve not in SOLVABLE:
        hint = difflib.get_close_matches(solve, SOLVABLE, n=1, cutoff=0.5)
        raise SweepError(f"--solve {solve}: solve one of {', '.join(SOLVABLE)}"
                         + (f" (did you mean '{hint[0]}'?)" if hint else ""))
    if solve == "trial.analysis.events" and scenario.trial.analysis.events is None:
        raise SweepError("--solve trial.analysis.events: the scenario analyses at a time, not at a number of "
                         "events (trial.analysis.events is not set); solve trial.enrollment, or set events")
    if any(v.path == solve or v.path.startswith(solve + ".") for v in varies):
        raise SweepError(f"--vary {solve}: that is the path being solved; vary another")
    return solve


def _search_one(scenario: Scenario, *, target_power: float, solve: str, replicates: int, seed: int, runner,
                on_chunk=None, prov_extra: dict | None = None) -> SampleSize:
    from trialsim.results import provenance as _provenance

    search = _Search(scenario, solve=solve, target=target_power, replicates=replicates, seed=seed,
                     runner=runner, on_chunk=on_chunk)
    found = search.run()
    value, n = found["value"], replicates
    d = search.designs[value]
    summary = _json_safe(d.result(n).summary())
    p = search.p(value, n)
    below = None
    if found["below"] is not None:
        pb = search.p(found["below"], n)
        below = {"value": found["below"], "power": pb, "power_mcse": math.sqrt(pb * (1 - pb) / n)}
    notes = list(search.notes)
    if found["below"] is None:
        notes.append(f"even {solve}={value:,}, the smallest value tried, reaches the target")
    if solve == "trial.analysis.events" and d.scenario.trial.enrollment > scenario.trial.enrollment:
        notes.append(f"trial.enrollment raised from {scenario.trial.enrollment:,} to {d.scenario.trial.enrollment:,} "
                     "(the scenario's ratio of enrolment to events), since events cannot exceed patients")
    if solve == "trial.enrollment" and scenario.trial.analysis.events is not None:
        notes.append("trial.analysis.events scales with enrolment at the scenario's ratio "
                     f"({scenario.trial.analysis.events}/{scenario.trial.enrollment})")
    if summary["enrollment_reached_share"] < 0.99:
        notes.append(f"the enrolment target is reached in {summary['enrollment_reached_share']:.0%} of trials only")
    base = scenario.with_simulation(replicates=replicates, seed=seed)
    prov = {"kind": "size", **_provenance(base, seed, replicates), "solve": solve, "target_power": target_power,
            **(prov_extra or {})}
    return SampleSize(
        solve=solve, target_power=target_power, value=int(value), power=p, power_mcse=math.sqrt(p * (1 - p) / n),
        replicates=n, seed=seed, below=below, confidence=_confidence(search, value, n),
        analytic=_json_safe(found["analytic"]), summary=summary, scenario=d.scenario,
        trace=_json_safe(search.trace), simulated=sum(dd.n for dd in search.designs.values()),
        provenance=_json_safe(prov), notes=notes)


def find_sample_size(scenario: Scenario, *, target_power: float = 0.8, solve: str = "trial.enrollment",
                     replicates: int | None = None, seed: int | None = None, workers: int | None = None,
                     scheduler=None, progress=None) -> SampleSize:
    """The smallest enrolment (or number of events) whose simulated power reaches ``target_power``.

    solve: ``trial.enrollment`` (the analysis' events target, if any, scales
    with it at the scenario's ratio) or ``trial.analysis.events`` (enrolment is
    raised at the scenario's ratio when events would exceed it). replicates:
    simulated trials at the answer (default: the scenario's). The search
    starts from Schoenfeld's events (at the effective hazard ratio of a pilot
    run for MRD trials), runs a coarse stage at 1/16 of the replicates, then
    locates the crossing at full replicates, all with common random numbers.
    Returns a :class:`SampleSize`; raises :class:`TargetNotReached` when no
    value reaches the target. docs/sweeps.md details the method.
    """
    if not 0 < target_power < 1:
        raise ValueError(f"target_power must lie in (0, 1), got {target_power}")
    replicates, seed = _resolve_run(scenario, replicates, seed)
    solve = _resolve_solve(solve, scenario, [])
    runner = _runner(workers, scheduler)
    done = [0]

    def chunk(k):
        done[0] += k
        if progress:
            progress(0, 1, done[0], None)

    try:
        res = _search_one(scenario, target_power=target_power, solve=solve, replicates=replicates, seed=seed,
                          runner=runner, on_chunk=chunk)
    except BaseException:
        runner.close(abort=True)
        raise
    runner.close()
    if progress:
        progress(1, 1, done[0], None)
    return res


@dataclass
class SizeGridResult:
    """Sample sizes over a grid: ``points[i]`` is ``{"point", "values", "size"}``,
    where ``size`` is the JSON object of one search, or ``{"error": message}``
    for a grid point where no value reaches the target."""

    varies: list[Vary]
    points: list[dict]
    provenance: dict

    @property
    def paths(self) -> list[str]:
        return [v.path for v in self.varies]

    def rows(self) -> list[dict]:
        out = []
        for p in self.points:
            size = {k: v for k, v in p["size"].items() if k not in ("provenance", "scenario_at_answer")}
            out.append({"point": p["point"], **p["values"], **size})
        return out

    def to_frame(self):
        import pandas as pd

        keep = ("solve", "target_power", "value", "power", "power_mcse", "enrollment", "events_target",
                "screened", "randomized", "events", "analysis_month", "assays", "assay_cost",
                "simulated_trials", "error")
        flat = []
        for r in self.rows():
            row = {"point": r["point"], **{p: r[p] for p in self.paths}}
            row.update(flatten_row({"replicates": self.provenance["replicates"],
                                    **{k: r.get(k) for k in keep if k in r or k in _DIST_FIELDS}}))
            c = r.get("confidence") or {}
            row["value_low"], row["value_high"] = c.get("low"), c.get("high")
            flat.append(row)
        df = pd.DataFrame(flat)
        df.attrs["provenance"] = self.provenance
        return df

    def to_json(self) -> str:
        return json.dumps({"provenance": self.provenance, "rows": self.rows()}, indent=2, allow_nan=False)

    def __str__(self) -> str:
        prov = self.provenance
        lines = [f"{prov['scenario'].get('name', 'scenario')}: smallest {prov['solve']} for power "
                 f"{prov['target_power']:g}, per design",
                 f"  {prov['replicates']:,} simulated trials at each answer, seed {prov['seed']}", ""]
        cols = [(p, lambda r, p=p: _fmt_value(r[p])) for p in self.paths]
        cols += [(prov["solve"], lambda r: "not reached" if "error" in r else f"{r['value']:,}"),
                 ("95% range", lambda r: "-" if "error" in r or r["confidence"]["low"] is None
                  else f"{r['confidence']['low']:,}-{r['confidence']['high']:,}"),
                 ("power ± MCSE", lambda r: "-" if "error" in r else f"{r['power']:.3f} ± {r['power_mcse']:.3f}"),
                 ("screened", lambda r: "-" if "error" in r else _num(_mean(r["screened"]))),
                 ("randomised", lambda r: "-" if "error" in r else _num(_mean(r["randomized"]), 1)),
                 ("analysis month", lambda r: "-" if "error" in r else _num(_mean(r["analysis_month"]), 1))]
        rows = self.rows()
        cells = [[h for h, _ in cols]] + [[f(r) for _, f in cols] for r in rows]
        widths = [max(len(c[j]) for c in cells) for j in range(len(cols))]
        for k, c in enumerate(cells):
            lines.append("  " + "  ".join(x.rjust(w) for x, w in zip(c, widths)))
            if k == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
        for r in rows:
            if "error" in r:
                lines.append(f"  point {r['point']}: {r['error']}")
        return "\n".join(lines)

    def write(self, out) -> list[Path]:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        written = _write_table(self.to_frame(), out, "size")
        if not self.varies:     # one search: its object, and the design at the answer as a scenario file
            size = self.points[0]["size"]
            written.append(_write_text(out / "size.json", json.dumps(size, indent=2, allow_nan=False) + "\n"))
            if "scenario_at_answer" in size:
                import yaml

                written.append(_write_text(out / "answer.yaml", yaml.safe_dump(size["scenario_at_answer"],
                                                                               sort_keys=False)))
            return written
        written.append(_write_text(out / "size.json", self.to_json() + "\n"))
        if 1 <= len(self.varies) <= 2 and _numeric([p["values"][self.paths[0]] for p in self.points]):
            groups: dict = {}
            for r in self.rows():
                if "error" not in r:
                    groups.setdefault(r[self.paths[1]] if len(self.paths) > 1 else None, []).append(r)
            prov = self.provenance

            def y(r):
                c = r["confidence"]
                return (r["value"], c["low"], c["high"])

            written += _plot(groups, x_path=self.paths[0], group_path=self.paths[1] if len(self.paths) > 1 else None,
                             y=y, ylabel=f"smallest {prov['solve']}", title=prov["scenario"].get("name", ""),
                             sub=f"power {prov['target_power']:g}, {prov['replicates']:,} trials at each answer; "
                                 "bands: the 95% range", stem=out / "size_curve", unit_range=False)
        return written


def find_sample_sizes(scenario: Scenario, vary, *, target_power: float = 0.8, solve: str = "trial.enrollment",
                      replicates: int | None = None, seed: int | None = None, workers: int | None = None,
                      scheduler=None, out=None, resume: bool = False, progress=None) -> SizeGridResult:
    """:func:`find_sample_size` at every point of a grid (``vary`` as in
    :func:`sweep`); checkpointed in ``out`` like a sweep."""
    if not 0 < target_power < 1:
        raise ValueError(f"target_power must lie in (0, 1), got {target_power}")
    if resume and out is None:
        raise SweepError("--resume needs --out DIR (the folder of the interrupted run)")
    if resume:
        seed = _resume_seed(out, seed, scenario)
    replicates, seed = _resolve_run(scenario, replicates, seed)
    varies = _varies(vary, scenario)
    solve = _resolve_solve(solve, scenario, varies)
    grid = build_grid(scenario, varies)
    from trialsim.results import provenance as _provenance

    prov = {"kind": "size", **_provenance(scenario.with_simulation(replicates=replicates, seed=seed), seed,
                                          replicates),
            "solve": solve, "target_power": target_power,
            "vary": {v.path: _json_safe(list(v.values)) for v in varies}, "grid_points": len(grid)}
    ckpt = None
    if out is not None:
        ckpt = Checkpoint(out, _manifest("size", scenario, varies, seed, replicates, solve=solve,
                                         target_power=target_power), resume=resume)
    done = {}
    if ckpt is not None:
        done = {i: d for i, d in ckpt.done.items() if 0 <= i < len(grid) and d.get("values") == _json_safe(grid[i].values)}
    state = {"reps": 0}

    def chunk(k):
        state["reps"] += k
        if progress:
            progress(len(done), len(grid), state["reps"], None)

    runner = None
    try:
        for g in grid:
            if g.index in done:
                continue
            if runner is None:
                runner = _runner(workers, scheduler)
            try:
                size = _search_one(g.scenario, target_power=target_power, solve=solve, replicates=replicates,
                                   seed=seed, runner=runner, on_chunk=chunk).to_dict()
            except TargetNotReached as exc:
                size = {"error": str(exc)}
            data = _json_safe({"point": g.index, "values": g.values, "size": size})
            done[g.index] = data
            if ckpt is not None:
                ckpt.save(g.index, data)
            if progress:
                progress(len(done), len(grid), state["reps"], None)
    except BaseException:
        if runner is not None:
            runner.close(abort=True)
        raise
    if runner is not None:
        runner.close()
    return SizeGridResult(varies=varies, points=[done[i] for i in range(len(grid))], provenance=_json_safe(prov))


# --------------------------------------------------------------------------
# `trialsim.sweep` is this module and its function: make the module callable.


class _CallableModule(types.ModuleType):
    def __call__(self, scenario, vary=None, **kwargs):
        return sweep(scenario, vary, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
