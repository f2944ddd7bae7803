"""simulate(): seeds, chunks of replicates, worker processes.

Randomness: one ``seed``. Replicate i owns the streams
``SeedSequence(seed, spawn_key=(i,)).spawn(2)`` (the same children that
``SeedSequence(seed).spawn(n)[i].spawn(2)`` gives): one for screening and
enrolment, one for the trial after randomisation (arms, dropout, eradication).
Replicates never share a stream, so results are identical whatever the chunk
size or the number of workers, and replicate i can be re-run alone. Keeping
the trial's draws apart from screening's keeps random numbers common when a
design parameter changes (sweeps compare designs on the same patients).
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from trialsim.cohort import PopulationModel
from trialsim.des import AccrualSchedule, Operations, TrialOperations
from trialsim.design import plan_boundaries
from trialsim.followup import AnalysisPlan, ClearancePlan, FollowUpModel, follow_up_and_analyse
from trialsim.intervention import ArmModel
from trialsim.processes import init_worker, usable_cores
from trialsim.limits import as_count, as_workers, check_size
from trialsim.plan_checks import check_plan
from trialsim.results import SimulationResult, provenance
from trialsim.scenario import MAX_REPLICATES, Scenario
from trialsim.screening import TestModel

SURVIVORS_PER_CHUNK = 400_000   # bounds memory: ~100-200 MB per worker at most


@dataclass(frozen=True)
class TrialModel:
    """A scenario compiled for simulation (curves built, boundaries computed)."""

    scenario: Scenario
    population: PopulationModel
    operations: Operations
    follow_up: FollowUpModel

    @property
    def control(self) -> ArmModel:
        return self.follow_up.control

    @property
    def treatment(self) -> ArmModel:
        return self.follow_up.treatment

    @classmethod
    def from_scenario(cls, sc: Scenario) -> "TrialModel":
        starts, rates = sc.accrual.schedule()
        scr = sc.screening
        test = TestModel.from_scenario(sc) if scr is not None else None
        ops = Operations(
            accrual=AccrualSchedule(starts, rates),
            enrollment=sc.trial.enrollment,
            test=test,
            every=scr.visits.every if scr is not None else math.inf,
            count=scr.visits.count if scr is not None else None,
            imaging_lead=scr.staging.imaging_lead if scr is not None else 0.0,
            consent=scr.consent if scr is not None else 1.0,
            max_screened=scr.max_screened if scr is not None else None,
            max_months=scr.max_months if scr is not None else None,
        )
        c, t = sc.control_arm, sc.treatment_arm
        population = PopulationModel.from_scenario(sc)
        cl = sc.trial.clearance
        follow_up = FollowUpModel(
            population=population,
            control=ArmModel.from_spec(c, sc.arms[c]),
            treatment=ArmModel.from_spec(t, sc.arms[t]),
            dropout_rate=sc.trial.dropout.monthly_rate if sc.trial.dropout is not None else 0.0,
            death_is_event=sc.trial.death == "event",
            plan=analysis_plan(sc),
            primary=sc.trial.endpoints[0],
            clearance=ClearancePlan(cl.at, cl.test, cl.alpha, cl.sided) if cl is not None else None,
            test_model=test,
        )
        return cls(scenario=sc, population=population, operations=ops, follow_up=follow_up)

    def expected_survivors_per_replicate(self) -> float:
        ops = self.operations
        if not ops.screening:
            return float(ops.enrollment)
        horizon = ops.max_months if ops.max_months is not None else 120.0
        n = float(ops.accrual.cumulative(horizon))
        if ops.max_screened is not None:
            n = min(n, ops.max_screened)
        return max(n, 1.0)


def replicate_streams(seed: int, index: int) -> tuple[np.random.Generator, np.random.Generator]:
    """The (screening, trial) generators of replicate ``index``."""
    # Identical to SeedSequence(seed, spawn_key=(index,)).spawn(2), built directly.
    return tuple(np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(index, k))))
                 for k in (0, 1))


def draw_seed() -> int:
    """A fresh seed for a run that was given none (recorded in its provenance)."""
    return secrets.randbits(63)


# --------------------------------------------------------------------------
# One chunk


def _monthly(rep: np.ndarray, month: np.ndarray, R: int, months: int) -> np.ndarray:
    """Cumulative counts per replicate at the end of each calendar month: (R, months)."""
    m = np.clip(np.floor(month).astype(np.int64), 0, months - 1)
    counts = np.bincount(rep.astype(np.int64) * months + m, minlength=R * months).reshape(R, months)
    return np.cumsum(counts, axis=1)


def simulate_chunk(model: TrialModel, seed: int, indices: Sequence[int],
                   patients: dict | None = None, timeline_months: int | None = None) -> dict[str, np.ndarray]:
    """Simulate the replicates ``indices``; one row per replicate. If
    ``patients`` is a dict, it receives the patient-level table. Interim
    looks, when planned, come back under the key ``_looks`` (one row per
    replicate per look)."""
    indices = np.asarray(indices, dtype=np.int64)
    streams = [replicate_streams(seed, int(i)) for i in indices]
    enrol = TrialOperations(model.operations, model.population, [s[0] for s in streams]).run()
    out = {"replicate": indices}
    out.update({k: v for k, v in enrol.counts.items()})
    out.update(follow_up_and_analyse(model.follow_up, enrol, [s[1] for s in streams], patients))
    if patients is not None:
        patients["replicate"] = indices[patients.pop("_row")]
    event_rep, event_month = out.pop("_event_months")
    if timeline_months is not None:
        R, M = indices.size, timeline_months
        scr = enrol.screened_at
        out["_timeline"] = {
            "screened": _monthly(np.concatenate([r for r, _ in scr]) if scr else np.zeros(0, int),
                                 np.concatenate([a for _, a in scr]) if scr else np.zeros(0), R, M),
            "randomized": _monthly(enrol.rep, enrol.randomized_at, R, M),
            "events": _monthly(event_rep, event_month, R, M),
        }
    if "_looks" in out:
        looks = out.pop("_looks")
        looks["replicate"] = indices[looks.pop("replicate_row")]
        out["_looks"] = looks
    out["enrollment_reached"] = enrol.counts["randomized"] >= model.operations.enrollment
    out["screening_closed_month"] = enrol.close_time
    if model.operations.screening and model.operations.max_months is None:
        out["safety_horizon_hit"] = enrol.horizon_hit
    if model.operations.screening and model.operations.test.cost is not None:
        out["assay_cost"] = enrol.counts["assays"] * model.operations.test.cost
    return out


def analysis_plan(sc: Scenario) -> AnalysisPlan:
    """The analysis of a scenario, with group-sequential boundaries when it has looks."""
    an = sc.trial.analysis
    efficacy = futility = None
    looks = tuple(an.looks or ())
    b = plan_boundaries(sc)
    if b is not None:
        efficacy = tuple(float(x) for x in b.efficacy)
        futility = tuple(float(x) for x in b.futility) if b.futility is not None else None
    return AnalysisPlan(test=an.test, stratified=an.stratified, alpha=an.alpha, sided=an.sided,
                        events_target=an.events, months_after_last=an.months, looks=looks,
                        efficacy=efficacy, futility=futility)


# --------------------------------------------------------------------------
# Entry point


def _chunks(indices: np.ndarray, size: int) -> list[np.ndarray]:
    return [indices[i:i + size] for i in range(0, indices.size, size)]


def _run_chunk(args):
    scenario_dict, seed, indices, timeline_months = args
    model = TrialModel.from_scenario(Scenario.from_dict(scenario_dict))
    return simulate_chunk(model, seed, indices, timeline_months=timeline_months)


def default_workers() -> int:
    """One worker per usable core: the CPU affinity (``taskset``, a batch
    scheduler's allocation) where there is one, else every core."""
    return usable_cores()


def _indices(value, name: str, replicates: int) -> np.ndarray:
    """Replicate indices given as an int or an iterable of ints (numpy integers
    accepted, floats and booleans refused), each in [0, replicates)."""
    items = [value] if isinstance(value, (int, np.integer)) or not np.iterable(value) else list(value)
    out = [as_count(i, name, minimum=0) for i in items]
    if not out:
        raise ValueError(f"{name} is empty: give a replicate index or a list of them")
    bad = [i for i in out if i >= replicates]
    if bad:
        raise ValueError(f"{name} must lie in [0, {replicates}) (the run's replicates), got {bad[0]}")
    return np.asarray(out, dtype=np.int64)


def _simulation_arguments(scenario, replicates, seed, replicate_index, timeline, progress):
    """simulate()'s arguments checked (each bad one named in a TypeError or
    ValueError), and the run refused up front when it is too large
    (trialsim.limits) or cannot work (trialsim.plan_checks): (scenario with
    replicates and seed, replicates, seed, indices, timeline months or None)."""
    if not isinstance(scenario, Scenario):
        raise TypeError("simulate() takes a Scenario; use trialsim.load_scenario(path) first")
    replicates = scenario.simulation.replicates if replicates is None else as_count(replicates, "replicates")
    if seed is None:
        seed = scenario.simulation.seed if scenario.simulation.seed is not None else draw_seed()
    seed = as_count(seed, "seed", minimum=0)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a function of (done, total), got {type(progress).__name__}")
    if isinstance(timeline, bool):
        months = 240 if timeline else None
    elif isinstance(timeline, (int, np.integer)):
        months = as_count(timeline, "timeline")
    else:
        raise TypeError(f"timeline must be True, False or a number of months, got {timeline!r}")
    scenario = scenario.with_simulation(replicates=replicates, seed=seed)
    indices = (np.arange(replicates, dtype=np.int64) if replicate_index is None
               else _indices(replicate_index, "replicate_index", replicates))
    check_size(scenario, int(indices.size), timeline_months=months or 0)
    check_plan(scenario)
    return scenario, replicates, seed, indices, months


def simulate(scenario: Scenario, *, replicates: int | None = None, seed: int | None = None,
             workers: int | None = None, chunk_size: int | None = None,
             replicate_index: int | Iterable[int] | None = None,
             progress: Callable[[int, int], None] | None = None, timeline: bool | int = False):
    """Simulate a scenario's trial many times; return a :class:`SimulationResult`.

    replicates: number of simulated trials (default: the scenario's
    ``simulation.replicates``). seed: the run's seed (default: the scenario's,
    else a fresh one, recorded in the provenance). workers: worker processes
    (default: all cores; results do not depend on it). chunk_size: replicates
    simulated at once (default: sized to bound memory). replicate_index: re-run
    only these replicates of the seeded run. progress: called with
    (replicates done, total) as chunks finish. timeline: also return, per
    replicate, the cumulative numbers screened, randomised and with an event
    (in the final analysis) at the end of each calendar month
    (``result.timeline``; ``True`` for 240 months, or a number of months).
    """

    scenario, replicates, seed, indices, months = _simulation_arguments(
        scenario, replicates, seed, replicate_index, timeline, progress)
    model = TrialModel.from_scenario(scenario)
    if chunk_size is None:
        chunk_size = int(max(1, min(2000, SURVIVORS_PER_CHUNK // model.expected_survivors_per_replicate())))
    else:
        chunk_size = as_count(chunk_size, "chunk_size")
    workers = default_workers() if workers is None else as_workers(workers)
    chunks = _chunks(indices, chunk_size)
    # With several workers, use chunks small enough to keep every worker busy.
    if workers > 1 and len(chunks) < 2 * workers and indices.size > 1:
        chunks = _chunks(indices, max(1, -(-indices.size // (2 * workers))))
    parts: list[dict] = []
    done = 0
    if workers == 1 or len(chunks) == 1:
        for c in chunks:
            parts.append(simulate_chunk(model, seed, c, timeline_months=months))
            done += c.size
            if progress:
                progress(done, indices.size)
    else:
        data = scenario.to_dict()
        # init_worker: the workers die with this process, kill -9 included, and stay quiet on a closed pipe
        with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), initializer=init_worker,
                                 initargs=(os.getpid(),)) as pool:
            for c, part in zip(chunks, pool.map(_run_chunk, [(data, seed, c, months) for c in chunks])):
                parts.append(part)
                done += c.size
                if progress:
                    progress(done, indices.size)
    looks = None
    if "_looks" in parts[0]:
        looks = {k: np.concatenate([p["_looks"][k] for p in parts]) for k in parts[0]["_looks"]}
    tl = None
    if months is not None:
        tl = {k: np.concatenate([p["_timeline"][k] for p in parts]) for k in parts[0]["_timeline"]}
        tl["month"] = np.arange(1, months + 1)
    table = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if not k.startswith("_")}
    return SimulationResult(scenario=scenario, table=table, provenance=provenance(scenario, seed, replicates),
                            model=model, looks=looks, timeline=tl)


def patient_table(scenario: Scenario, *, seed: int, replicate: int | Iterable[int] = 0,
                  replicates: int | None = None) -> dict[str, np.ndarray]:
    """Patient-level data of replicate(s) of a seeded run, re-simulated alone.

    One row per randomised patient: replicate, entered_month,
    randomized_month, arm, stratum, truly_mrd_positive, in_analysis, time
    (months from randomisation to event or censoring at the analysis), event,
    recurrence_month, death_month, dropout_month (calendar months, inf: never),
    analysis_month. The replicate-level row equals the run's row for it.
    """
    if not isinstance(scenario, Scenario):
        raise TypeError("patient_table() takes a Scenario; use trialsim.load_scenario(path) first")
    replicates = scenario.simulation.replicates if replicates is None else as_count(replicates, "replicates")
    seed = as_count(seed, "seed", minimum=0)
    scenario = scenario.with_simulation(replicates=replicates, seed=seed)
    idx = _indices(replicate, "replicate", replicates)
    check_size(scenario, int(idx.size))
    model = TrialModel.from_scenario(scenario)
    table: dict = {}
    simulate_chunk(model, seed, idx, patients=table)
    return table


def replay(provenance: dict, *, workers: int | None = None, chunk_size: int | None = None,
           progress: Callable[[int, int], None] | None = None, timeline: bool | int = False):
    """Re-run a simulation from its provenance alone (``result.provenance``,
    or the ``provenance`` object of a results.json): the same scenario, seed
    and replicates, so the same results, bit for bit, whatever ``workers``
    and ``chunk_size``. The other arguments are those of :func:`simulate`."""
    if (isinstance(provenance, Mapping) and isinstance(provenance.get("provenance"), Mapping)
            and not isinstance(provenance.get("scenario"), Mapping)):
        provenance = provenance["provenance"]      # a whole results.json, or a summary()
    if not isinstance(provenance, Mapping):
        raise TypeError(f"replay() takes a run's provenance (result.provenance, or the provenance object of a "
                        f"results.json), not {type(provenance).__name__}")
    missing = [k for k in ("scenario", "seed", "replicates") if k not in provenance]
    if missing:
        raise ValueError(f"replay(): provenance lacks {', '.join(repr(k) for k in missing)}: give a run's "
                         "provenance (result.provenance, or the provenance object of a results.json)")
    if not isinstance(provenance["scenario"], Mapping):
        raise ValueError("replay(): provenance['scenario'] must be the scenario as a mapping")
    try:
        replicates = as_count(provenance["replicates"], "replicates")
        if replicates > MAX_REPLICATES:
            raise ValueError(f"replicates {replicates:,}: at most {MAX_REPLICATES:,} simulated trials per run; "
                             "this is not the provenance of a run trialsim made")
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"provenance['replicates']: {exc}") from None
    try:
        seed = as_count(provenance["seed"], "seed", minimum=0)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"provenance['seed']: {exc}") from None
    scenario = Scenario.from_dict(dict(provenance["scenario"]), source="provenance scenario")
    return simulate(scenario, replicates=replicates, seed=seed, workers=workers,
                    chunk_size=chunk_size, progress=progress, timeline=timeline)
