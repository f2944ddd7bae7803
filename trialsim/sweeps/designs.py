"""A design of a sweep or a search, simulated incrementally, and the seed they share.

Common random numbers: every design of a grid (and every value the search
tries) is simulated with the same seed, so replicate i of each design draws
from the same streams (``engine.replicate_streams``): the same survivors,
the same tests, the same follow-up draws. Differences between designs are
then differences of design, not of luck, and power curves come out smooth.

A :class:`Design` holds the replicates simulated so far (always a prefix
0..n-1), so that the search can first look at a design with few replicates
and later extend it rather than start again; its result at n replicates
equals ``trialsim.simulate(design, replicates=n, seed=seed)`` exactly.
"""

from __future__ import annotations

import json
from typing import Callable

import numpy as np

from trialsim.engine import TrialModel, default_chunk_size, draw_seed
from trialsim.limits import MAX_REPLICATES, as_count
from trialsim.results import SimulationResult, provenance, stack_visits
from trialsim.scenario import Scenario
from trialsim.sweeps.runners import Task


class Design:
    """One design (scenario) of a sweep or a search, with the per-replicate
    table of the replicates simulated so far (0..n-1, always a prefix)."""

    def __init__(self, key, scenario: Scenario, seed: int):
        self.key = key
        self.scenario = scenario
        self.seed = seed
        self.model = TrialModel.from_scenario(scenario)
        self.payload = json.dumps(scenario.to_dict(), sort_keys=True)
        self.max_chunk = default_chunk_size(self.model)   # as one run of the design would cut it
        self.parts: list[dict] = []      # in replicate order once complete
        self.n = 0
        self._pending: dict[int, dict] = {}
        self._target = 0

    def tasks(self, upto: int, slots: int, spread: bool) -> list[Task]:
        """Tasks that bring this design to ``upto`` replicates."""
        if upto <= self.n:
            return []
        need = upto - self.n
        size = self.max_chunk
        if spread:  # a lone design: chunks small enough to keep every worker busy
            size = max(1, min(size, -(-need // (2 * slots))))
        self._target = upto
        return [Task(self.key, self.payload, self.seed, s, min(s + size, upto))
                for s in range(self.n, upto, size)]

    def add(self, task: Task, part: dict) -> bool:
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
        upto = self.n if upto is None else upto
        sc = self.scenario.with_simulation(replicates=upto, seed=self.seed)
        table = self.table(upto)
        looks = None
        if "_looks" in self.parts[0]:
            looks = {k: np.concatenate([p["_looks"][k] for p in self.parts]) for k in self.parts[0]["_looks"]}
            keep = looks["replicate"] < upto
            looks = {k: v[keep] for k, v in looks.items()}
        return SimulationResult(scenario=sc, table=table, provenance=provenance(sc, self.seed, upto),
                                model=self.model, looks=looks, by_visit=stack_visits(self.parts, upto))


def run_designs(runner, requests: list[tuple[Design, int]], *,
                on_done: Callable[[Design], None] | None = None,
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


def resolve_run(scenario: Scenario, replicates, seed) -> tuple[int, int]:
    """The replicates and the seed every design of a run shares: as given, else
    the scenario's, else (the seed) drawn."""
    if not isinstance(scenario, Scenario):
        raise TypeError("takes a Scenario; use trialsim.load_scenario(path) first")
    replicates = scenario.simulation.replicates if replicates is None else as_count(replicates, "replicates")
    if replicates > MAX_REPLICATES:
        raise ValueError(f"replicates {replicates:,}: at most {MAX_REPLICATES:,} simulated trials per design; "
                         "use fewer")
    seed = seed if seed is not None else scenario.simulation.seed
    if seed is None:
        seed = draw_seed()
    return replicates, as_count(seed, "seed", minimum=0)


