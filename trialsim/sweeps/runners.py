"""Where chunks of replicates run: worker processes on this machine, or Dask.

A chunk is ``engine.simulate_chunk(model, seed, indices)`` for a range of
replicates of one design. Replicate i draws from its own streams whatever
chunk it is in, so where and how chunks run changes no number: a runner only
decides how fast. Both runners keep at most three chunks per worker in
flight, submitting the next as one finishes, and both can be aborted
(Ctrl-C) without leaving workers behind.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import numpy as np

from trialsim.cluster import CHUNKS_PER_THREAD, SchedulerError, connect, run_windowed
from trialsim.cluster import threads as cluster_threads
from trialsim.engine import TrialModel, default_workers, simulate_chunk
from trialsim.limits import as_workers
from trialsim.processes import init_worker
from trialsim.scenario import Scenario
from trialsim.sweeps.errors import SweepError

# The models of the designs this worker process has run, by scenario JSON, so
# that a worker builds each design's model once, not once per chunk.
_MODELS: dict[str, Any] = {}


def _run_task(scenario_json: str, seed: int, start: int, stop: int) -> dict:
    """One chunk: replicates start..stop-1 of the design, as engine.simulate_chunk gives them."""
    model = _MODELS.get(scenario_json)
    if model is None:
        if len(_MODELS) > 32:
            _MODELS.clear()
        model = TrialModel.from_scenario(Scenario.from_dict(json.loads(scenario_json)))
        _MODELS[scenario_json] = model
    return simulate_chunk(model, seed, np.arange(start, stop, dtype=np.int64))


def _init_worker(parent_pid: int) -> None:
    # Ctrl-C reaches the whole process group; the parent handles it and ends
    # the workers, which would otherwise each print a traceback. A worker also
    # dies with its parent (kill -9 included) and stays quiet on a closed pipe.
    init_worker(parent_pid, ignore_sigint=True)


@dataclass(frozen=True)
class Task:
    """One chunk to run: replicates start..stop-1 of the design ``key``."""

    key: Any
    payload: str
    seed: int
    start: int
    stop: int


class LocalRunner:
    """Chunks in worker processes (one pool for the whole sweep), or in this
    process when workers == 1."""

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = None

    @property
    def slots(self) -> int:
        return self.workers

    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[Task, dict]]:
        if self.workers == 1:
            for t in tasks:
                yield t, _run_task(t.payload, t.seed, t.start, t.stop)
            return
        if self.pool is None:
            self.pool = multiprocessing.get_context().Pool(self.workers, initializer=_init_worker,
                                                           initargs=(os.getpid(),))
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


class DaskRunner:
    """Chunks as tasks on a Dask distributed cluster (trialsim.cluster)."""

    def __init__(self, scheduler):
        try:
            self.client, self.own = connect(scheduler)
        except SchedulerError as exc:
            raise SweepError(str(exc)) from None
        self.calls = None       # the run_windowed generator of the current run

    @property
    def slots(self) -> int:
        return cluster_threads(self.client)

    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[Task, dict]]:
        tasks = list(tasks)
        calls = [(t.payload, t.seed, t.start, t.stop) for t in tasks]
        self.calls = run_windowed(self.client, _run_task, calls, CHUNKS_PER_THREAD * self.slots)
        for i, part in self.calls:
            yield tasks[i], part

    def close(self, abort: bool = False) -> None:
        if self.calls is not None:
            self.calls.close()      # cancels the calls still in flight (abort)
            self.calls = None
        if self.own:
            self.client.close()


def make_runner(workers: int | None, scheduler) -> LocalRunner | DaskRunner:
    """Dask when a scheduler is given, else local worker processes (default: all cores)."""
    if scheduler is not None:
        return DaskRunner(scheduler)
    workers = default_workers() if workers is None else as_workers(workers)
    return LocalRunner(workers)

