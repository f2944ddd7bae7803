"""simulate(): seeds, chunks of replicates, worker processes.

Randomness: one ``seed``. Replicate i owns one stream per purpose: screening
and enrolment (stream 0), the trial after randomisation (1: arms, dropout,
eradication), and, only in scenarios that use them, the steps before
screening (2), per-person shedding propensities (3), imaging leads (4) and
confirmatory assays (5). Stream k of replicate i is a PCG64 generator seeded
with the 4 words ``4*(i % 1024)`` to ``4*(i % 1024) + 3`` of
``SeedSequence(seed, spawn_key=(i // 1024, k)).generate_state(4096,
uint64)``: numpy's seed hashing, run once per 1,024 replicates instead of
once per generator (which cost 20 us a generator, a fifth of a conventional
trial's time). Replicates never share a stream, so results are identical
whatever the chunk size or the number of workers, and replicate i can be
re-run alone. Keeping the trial's draws apart from screening's keeps random
numbers common when a design parameter changes (sweeps compare designs on
the same patients), and a feature's own stream leaves the numbers of
scenarios without it unchanged.
"""

from __future__ import annotations

import functools
import math
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Callable, Iterable, Sequence

import numpy as np
from numpy.random.bit_generator import ISeedSequence

from trialsim.cluster import Gathered, connect, run_windowed, threads as cluster_threads
from trialsim.cohort import PopulationModel, Survivors
from trialsim.des import AccrualSchedule, Operations, TrialOperations
from trialsim.followup import (MODEL_EFFECT_REPLICATES, AnalysisPlan, ClearancePlan, FollowUpModel,
                               follow_up_and_analyse)
from trialsim.intervention import ArmModel
from trialsim.processes import init_worker, usable_cores
from trialsim.limits import as_count, as_workers, check_size
from trialsim.plan_checks import check_plan
from trialsim.results import SimulationResult, provenance, stack_visits, stratum_column
from trialsim.scenario import MAX_REPLICATES, Scenario
from trialsim.screening import PrescreenModel, TestModel, VisitPlan

SURVIVORS_PER_CHUNK = 400_000   # bounds memory: ~100-200 MB per worker at most
# Without screening a chunk's arrays are a few per patient, walked by numpy
# passes: chunks of 100,000 patients (200 trials of 500) keep them near the
# processor's cache and ran conventional trials in 0.6-0.7 of the time that
# chunks of 400,000 took. (With screening, per-chunk work in Python dominates:
# smaller chunks gain nothing there.)
PATIENTS_PER_CHUNK = 100_000


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
        plan = None
        surveillance = scr is not None and scr.mode == "surveillance"
        confirm = (scr.confirm.tests or 1) if scr is not None and scr.confirm is not None else 1
        confirm_test = (TestModel.from_spec(scr.confirm.test)
                        if scr is not None and scr.confirm is not None and scr.confirm.test is not None else None)
        if scr is not None and (not scr.visits.legacy or scr.prescreen is not None or surveillance or confirm > 1
                                or confirm_test is not None):
            plan = VisitPlan.from_spec(scr.visits)
        shedding = tuple(float((sc.stratum_mrd(i) or {}).get("shedding") or 0.0)
                         for i in range(len(sc.population.strata)))
        ops = Operations(
            accrual=AccrualSchedule(starts, rates),
            enrollment=sc.trial.enrollment,
            test=test,
            every=scr.visits.shortest_interval if scr is not None else math.inf,
            count=scr.visits.count if scr is not None else None,
            plan=plan,
            prescreen=PrescreenModel.from_scenario(sc) if scr is not None else None,
            n_strata=len(sc.population.strata),
            surveillance=surveillance,
            randomise_then_stage=scr is not None and scr.staging.order == "randomise_then_stage",
            imaging=(scr.staging.imaging.sensitivity.build()
                     if scr is not None and scr.staging.imaging is not None else None),
            confirm_tests=confirm,
            confirm_test=confirm_test,
            shedding=shedding if scr is not None and any(shedding) else None,
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
            imaging_lead=ops.imaging_lead,
            more_treatments=tuple(ArmModel.from_spec(a, sc.arms[a]) for a in sc.treatment_arms[1:]),
            multiplicity=sc.trial.analysis.multiplicity_method,
            staged_after=scr is not None and scr.staging.order == "randomise_then_stage",
            eligible_only=sc.trial.population == "eligible",
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


STREAM_SCREENING, STREAM_TRIAL, STREAM_PRESCREEN, STREAM_PERSON, STREAM_IMAGING, STREAM_CONFIRM = range(6)
STREAM_BLOCK = 1024   # replicates whose seeds come from one SeedSequence


class _SeedWords(ISeedSequence):
    """The 4 words a PCG64 generator is seeded with (128-bit state, 128-bit
    increment), taken from a block of SeedSequence output."""

    __slots__ = ("words",)

    def __init__(self, words: np.ndarray):
        self.words = words

    def generate_state(self, n_words, dtype=np.uint64):
        if n_words == 4 and dtype is np.uint64 and self.words.size == 4:
            return self.words      # what PCG64 asks for: read, not kept (the block is read-only)
        if np.dtype(dtype) != np.uint64 or n_words > self.words.size:
            raise ValueError(f"trialsim's replicate seeds hold {self.words.size} uint64 words")
        return self.words[:n_words].copy()


@functools.lru_cache(maxsize=32)
def _block_words(seed: int, block: int, stream: int) -> np.ndarray:
    """The (STREAM_BLOCK, 4) seed words of stream ``stream`` of the replicates
    in block ``block`` (read-only; kept for the next chunks of the block)."""
    words = np.random.SeedSequence(seed, spawn_key=(block, stream)).generate_state(
        4 * STREAM_BLOCK, np.uint64).reshape(STREAM_BLOCK, 4)
    words.flags.writeable = False
    return words


def stream_generators(seed: int, indices: Sequence[int], stream: int) -> list[np.random.Generator]:
    """Generator ``stream`` of each replicate in ``indices``, in that order."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    blocks = idx // STREAM_BLOCK
    out: list = [None] * idx.size
    generator, pcg64 = np.random.Generator, np.random.PCG64
    for b in sorted(set(blocks.tolist())):     # (np.unique would import numpy.ma: 10 ms of start-up)
        at = np.flatnonzero(blocks == b)
        rows = _block_words(int(seed), b, stream)[idx[at] % STREAM_BLOCK]
        rows.flags.writeable = False
        for pos, words in zip(at.tolist(), rows):
            out[pos] = generator(pcg64(_SeedWords(words)))
    return out


def replicate_streams(seed: int, index: int) -> tuple[np.random.Generator, np.random.Generator]:
    """The (screening, trial) generators of replicate ``index``."""
    return (stream_generators(seed, [index], STREAM_SCREENING)[0], stream_generators(seed, [index], STREAM_TRIAL)[0])


def prescreen_stream(seed: int, index: int) -> np.random.Generator:
    """The generator of replicate ``index``'s steps before screening (consent to
    surveillance, assay set-up, set-up time)."""
    return stream_generators(seed, [index], STREAM_PRESCREEN)[0]


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
                   patients: dict | None = None, timeline_months: int | None = None,
                   screened: dict | None = None) -> dict[str, np.ndarray]:
    """Simulate the replicates ``indices``; one row per replicate. If
    ``patients`` is a dict, it receives the patient-level table; if
    ``screened`` is, the table of every screened survivor (see
    :func:`patient_table`). Interim looks, when planned, come back under the
    key ``_looks`` (one row per replicate per look)."""
    indices = np.asarray(indices, dtype=np.int64)
    ops = model.operations
    if screened is not None and patients is None:
        patients = {}

    def streams(k: int, needed: bool = True):
        return stream_generators(seed, indices, k) if needed else None

    enrol = TrialOperations(ops, model.population, streams(STREAM_SCREENING),
                            streams(STREAM_PRESCREEN, ops.prescreen is not None),
                            record=screened is not None,
                            person_rngs=streams(STREAM_PERSON, ops.shedding is not None),
                            imaging_rngs=streams(STREAM_IMAGING, ops.imaging is not None),
                            confirm_rngs=streams(STREAM_CONFIRM, ops.confirm_test is not None)).run()
    out = {"replicate": indices}
    out.update({k: v for k, v in enrol.counts.items()})
    out.update(follow_up_and_analyse(model.follow_up, enrol, streams(STREAM_TRIAL), patients,
                                     effect_rows=indices < MODEL_EFFECT_REPLICATES,
                                     event_months=timeline_months is not None))
    by_stratum = dict(enrol.by_stratum)
    by_stratum["truly_mrd_positive"] = out.pop("_truly_by_stratum")
    names = [st.name for st in model.population.strata]
    if len(names) > 1:   # per-stratum columns (one stratum: the overall columns say it all)
        for key, counts in by_stratum.items():
            for k, name in enumerate(names):
                out[stratum_column(key, name)] = counts[:, k]
    if model.operations.screening:
        out["_by_visit"] = enrol.by_visit
    if patients is not None:
        patients["replicate"] = indices[patients.pop("_row")]
    if screened is not None:
        screened.update(_screened_survivors(model, enrol, indices, patients, out))
    if timeline_months is not None:
        event_rep, event_month = out.pop("_event_months")
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
        second = model.operations.confirm_test
        if second is not None and second.cost is not None:
            out["assay_cost"] = out["assay_cost"] + enrol.counts["confirm_assays"] * second.cost
    return out


def analysis_plan(sc: Scenario) -> AnalysisPlan:
    """The analysis of a scenario, with group-sequential boundaries when it has looks."""
    an = sc.trial.analysis
    efficacy = futility = None
    looks = tuple(an.looks or ())
    b = None
    if looks:
        # deferred: the boundaries import scipy.special (0.2-0.3 s of start-up); a plan without looks has none
        from trialsim.design import plan_boundaries

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


def default_chunk_size(model: TrialModel) -> int:
    """Replicates simulated at once by default: :data:`SURVIVORS_PER_CHUNK`
    survivors with screening, :data:`PATIENTS_PER_CHUNK` patients without,
    at least one and at most 2,000 replicates."""
    per_chunk = SURVIVORS_PER_CHUNK if model.operations.screening else PATIENTS_PER_CHUNK
    return int(max(1, min(2000, per_chunk // model.expected_survivors_per_replicate())))


def _even_chunk_size(n: int, size: int, workers: int) -> int:
    """A chunk size at most ``size`` that cuts ``n`` replicates into a multiple
    of ``workers`` chunks of nearly equal size, so that the workers finish
    together (13 chunks of 800 on 2 workers: the last chunk runs alone; 14 of
    715: none does)."""
    count = -(-n // size)
    count = -(-count // workers) * workers
    return max(1, -(-n // count))


def _run_chunk(args):
    scenario_dict, seed, indices, timeline_months = args
    model = TrialModel.from_scenario(Scenario.from_dict(scenario_dict))
    return simulate_chunk(model, seed, indices, timeline_months=timeline_months)


#: (scenario as a dict, its TrialModel): the model the chunks of a local worker
#: process simulate, built once per process (set in the parent before the pool
#: forks, so that forked workers find it built), not once per chunk
_WORKER_MODEL: tuple[dict, TrialModel] | None = None


def _run_local_chunk(args):
    """:func:`_run_chunk` in a local worker process, whose model is built once."""
    global _WORKER_MODEL
    scenario_dict, seed, indices, timeline_months = args
    if _WORKER_MODEL is None or _WORKER_MODEL[0] != scenario_dict:
        _WORKER_MODEL = (scenario_dict, TrialModel.from_scenario(Scenario.from_dict(scenario_dict)))
    return simulate_chunk(_WORKER_MODEL[1], seed, indices, timeline_months=timeline_months)


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
             progress: Callable[[int, int], None] | None = None, timeline: bool | int = False,
             scheduler=None):
    """Simulate a scenario's trial many times; return a :class:`SimulationResult`.

    replicates: number of simulated trials (default: the scenario's
    ``simulation.replicates``). seed: the run's seed (default: the scenario's,
    else a fresh one, recorded in the provenance). workers: processes that
    simulate, this one included (it works beside a pool of ``workers - 1``;
    default: all cores; results do not depend on it). chunk_size: replicates
    simulated at once (default: :func:`default_chunk_size`). replicate_index: re-run
    only these replicates of the seeded run. progress: called with
    (replicates done, total) as chunks finish. timeline: also return, per
    replicate, the cumulative numbers screened, randomised and with an event
    (in the final analysis) at the end of each calendar month
    (``result.timeline``; ``True`` for 240 months, or a number of months).
    scheduler: run the chunks on a Dask cluster instead of local processes, given
    by its scheduler's address (``"tcp://HOST:8786"``) or as a
    ``distributed.Client``; the results are the same (needs ``trialsim[dask]``;
    raises :class:`trialsim.cluster.SchedulerError` when it cannot be used).
    """

    scenario, replicates, seed, indices, months = _simulation_arguments(
        scenario, replicates, seed, replicate_index, timeline, progress)
    model = TrialModel.from_scenario(scenario)
    workers = default_workers() if workers is None else as_workers(workers)
    if chunk_size is None:
        chunk_size = default_chunk_size(model)
        if workers > 1 and scheduler is None:
            chunk_size = _even_chunk_size(indices.size, chunk_size, workers)
    else:
        chunk_size = as_count(chunk_size, "chunk_size")
    if scheduler is not None:
        merged = _simulate_on_cluster(scheduler, scenario, seed, indices, chunk_size, months, progress)
        return _result(scenario, seed, replicates, model, merged, months)
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
        global _WORKER_MODEL
        # deferred: the process pool (concurrent.futures, multiprocessing) costs 10 ms of start-up that one worker does without
        from concurrent.futures import ProcessPoolExecutor

        data = scenario.to_dict()
        _WORKER_MODEL = (data, model)
        parts = [None] * len(chunks)
        futures: dict = {}

        def finished(i: int, part: dict) -> None:
            nonlocal done
            parts[i] = part
            done += chunks[i].size
            if progress:
                progress(done, indices.size)

        try:
            # This process is one of the workers: the pool takes the chunks from
            # the front, this process takes them from the back, each one the pool
            # has not started yet (its future still cancellable), until they meet.
            # init_worker: the workers die with this process, kill -9 included, and stay quiet on a closed pipe
            with ProcessPoolExecutor(max_workers=min(workers - 1, len(chunks) - 1), initializer=init_worker,
                                     initargs=(os.getpid(),)) as pool:
                futures = {i: pool.submit(_run_local_chunk, (data, seed, c, months)) for i, c in enumerate(chunks)}
                for i in reversed(range(len(chunks))):
                    if i not in futures or not futures[i].cancel():     # the pool has it: the two have met
                        break
                    del futures[i]
                    finished(i, simulate_chunk(model, seed, chunks[i], timeline_months=months))
                    for j in [j for j, f in futures.items() if f.done()]:
                        finished(j, futures.pop(j).result())
                for j in sorted(futures):
                    finished(j, futures.pop(j).result())
        finally:
            for f in futures.values():      # a failure or Ctrl-C: the chunks not started are not run
                f.cancel()
            _WORKER_MODEL = None
    return _result(scenario, seed, replicates, model, _merge(parts), months)


def _merge(parts: list[dict]) -> dict:
    """Chunks' outputs, in replicate order, as one output of the same form:
    the per-replicate columns (those of the first chunk), interim looks,
    timeline and counts by visit concatenated. Merging merged outputs gives
    what merging all chunks at once gives. Each column is dropped from the
    parts once concatenated, so that at most one column is held twice."""
    first = parts[0]
    out: dict = {}
    for k in [k for k in first if not k.startswith("_")]:
        out[k] = np.concatenate([p.pop(k) for p in parts])
    for key in ("_looks", "_timeline"):
        if key in first:
            out[key] = {k: np.concatenate([p[key][k] for p in parts]) for k in first[key]}
    if "_by_visit" in first:
        out["_by_visit"] = stack_visits(parts)
    return out


def _result(scenario: Scenario, seed: int, replicates: int, model: TrialModel, merged: dict,
            months: int | None) -> SimulationResult:
    """The SimulationResult of a run from its merged chunks (:func:`_merge`)."""
    tl = merged.get("_timeline")
    if months is not None:
        tl["month"] = np.arange(1, months + 1)
    table = {k: v for k, v in merged.items() if not k.startswith("_")}
    return SimulationResult(scenario=scenario, table=table, provenance=provenance(scenario, seed, replicates),
                            model=model, looks=merged.get("_looks"), timeline=tl, by_visit=merged.get("_by_visit"),
                            patient_source=partial(patient_table, scenario, seed=seed, replicates=replicates,
                                                   screened=True))


def _simulate_on_cluster(scheduler, scenario: Scenario, seed: int, indices: np.ndarray, chunk_size: int,
                         months: int | None, progress) -> dict:
    """simulate()'s chunks as Dask tasks (the same :func:`_run_chunk` as the
    worker processes run), a window of them in flight; returns the merged
    output (what :func:`_merge` gives). Each finished chunk is copied into
    the run's arrays (:class:`trialsim.cluster.Gathered`) and dropped; its
    interim looks are appended in replicate order."""
    client, owned = connect(scheduler)
    try:
        slots = cluster_threads(client)
        chunks = _chunks(indices, chunk_size)
        # As with local workers: chunks small enough to keep every worker thread busy.
        if slots > 1 and len(chunks) < 2 * slots and indices.size > 1:
            chunks = _chunks(indices, max(1, -(-indices.size // (2 * slots))))
        starts = np.cumsum([0] + [c.size for c in chunks])
        looks_rows = indices.size * (len(scenario.trial.analysis.looks or ()) + 1)
        data = scenario.to_dict()
        calls = [((data, seed, c, months),) for c in chunks]
        gathered = Gathered(indices.size)
        waiting: dict[int, dict | None] = {}
        ready = done = 0
        for i, part in run_windowed(client, _run_chunk, calls):
            waiting[i] = part.pop("_looks", None)
            gathered.place(int(starts[i]), part)
            del part
            while ready in waiting:
                looks = waiting.pop(ready)
                if looks is not None:
                    gathered.append("_looks", looks, capacity=looks_rows)
                ready += 1
            done += chunks[i].size
            if progress:
                progress(done, indices.size)
        return gathered.result()
    finally:
        if owned:
            client.close()


def patient_table(scenario: Scenario, *, seed: int, replicate: int | Iterable[int] = 0,
                  replicates: int | None = None, screened: bool = False) -> dict[str, np.ndarray]:
    """Patient-level data of replicate(s) of a seeded run, re-simulated alone.

    One row per randomised patient: replicate, entered_month,
    randomized_month, arm, stratum, truly_mrd_positive, in_analysis, time
    (months from randomisation to event or censoring at the analysis), event,
    recurrence_month, death_month, dropout_month (calendar months, inf: never),
    analysis_month. The replicate-level row equals the run's row for it.

    ``screened=True``: one row per screened survivor instead (without
    screening, per randomised patient), with the columns of
    :data:`SCREENED_COLUMNS`; a column that may be absent for a survivor is a
    numpy masked array (masked: absent). ``SimulationResult.patients_frame``
    gives it as a DataFrame.
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
    if screened:
        simulate_chunk(model, seed, idx, screened=table)
    else:
        simulate_chunk(model, seed, idx, patients=table)
    return table


#: the columns of ``patient_table(..., screened=True)`` (docs/results.md describes each)
SCREENED_COLUMNS = (
    "replicate", "survivor", "stratum", "entered_month", "months_since_diagnosis", "registered", "assay_ready",
    "screened", "mrd_detectable_at_entry",
    "visits", "tested", "first_result_month", "positive_visit", "positive_result_month", "positives",
    "test_positive", "truly_mrd_positive", "metastatic_at_staging", "eligible", "consented", "randomized",
    "randomized_month", "arm", "in_analysis", "time", "event", "recurrence_month", "death_month",
    "dropout_month", "screening_closed_month", "analysis_month",
)
_KEY = np.int64(1) << 32     # (window, index in its batch) -> one int64 key


def _screened_survivors(model: TrialModel, enrol, indices: np.ndarray, patients: dict, out: dict) -> dict:
    """One row per screened survivor (entered before the close of screening),
    in (replicate, entry) order: the screening record by the close (tests,
    positive result, staging, consent) and, for the randomised, the
    patient-level columns of the follow-up."""
    ops = model.operations
    rec = enrol.record
    close = enrol.close_time
    batches = rec["batches"]
    keys, rows, arrival, first_result, parts, stages = [], [], [], [], [], []
    for b in sorted(batches):
        batch = batches[b]
        keep = np.flatnonzero(batch.arrival <= close[batch.rep])
        if batch.enters is not None:      # prescreen: registered, assay ready, entered screening by the close
            stages.append(np.stack([batch.registered[keep], batch.ready[keep],
                                    batch.enters[keep] <= close[batch.rep[keep]]], axis=1))
        else:
            stages.append(np.ones((keep.size, 3), dtype=bool))
        keys.append(b * _KEY + keep)
        rows.append(batch.rep[keep].astype(np.int64))
        arrival.append(batch.arrival[keep])
        first_result.append(batch.first_result[keep])
        parts.append(batch.surv.take(keep))
    if sum(len(p) for p in parts) == 0:       # nobody entered screening before it closed
        return {c: np.zeros(0) for c in SCREENED_COLUMNS}
    key, row, arrival, first_result = (np.concatenate(x) for x in (keys, rows, arrival, first_result))
    stage = np.concatenate(stages)
    surv = Survivors.concat(parts)
    order = np.lexsort((arrival, row))
    key, row, arrival, first_result = key[order], row[order], arrival[order], first_result[order]
    stage = stage[order]
    no_prescreen = np.full(key.size, ops.prescreen is None)
    surv = surv.take(order)
    n = key.size
    sorter = np.argsort(key, kind="stable")

    def locate(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows of the keys k among the screened, which of k are screened)."""
        at = np.clip(np.searchsorted(key, k, sorter=sorter), 0, max(n - 1, 0))
        pos = sorter[at]
        return pos, key[pos] == k

    def masked(values, mask):
        return np.ma.MaskedArray(values, mask=mask)

    screening = ops.screening
    visits = np.zeros(n, dtype=np.int64)
    pos_visit = np.zeros(n, dtype=np.int64)
    pos_month = np.full(n, np.nan)
    positive = np.zeros(n, dtype=bool)
    eligible = np.zeros(n, dtype=bool)
    consented = np.zeros(n, dtype=bool)
    truly = np.zeros(n, dtype=bool)
    for b, idx, visit in rec["tests"]:
        by_close = visit <= close[batches[b].rep[idx]]
        at, found = locate(b * _KEY + idx[by_close])
        np.add.at(visits, at[found], 1)
    for b, idx, since, result_at, ok, agree, number in rec["positives"]:
        by_close = result_at <= close[batches[b].rep[idx]]
        at, found = locate(b * _KEY + idx[by_close])
        sel = np.flatnonzero(by_close)[found]
        at = at[found]
        positive[at] = True
        pos_visit[at] = number[sel]
        pos_month[at] = result_at[sel]
        eligible[at] = ok[sel]
        consented[at] = agree[sel]
        truly[at] = batches[b].surv.take(idx[sel]).detectable(since[sel])    # at the positive sample
    stage_since = pos_month - arrival
    metastatic = positive & ~eligible & (surv.t_death > stage_since)      # staged alive, not eligible: seen on scans
    # the randomised: their follow-up columns
    randomized = np.zeros(n, dtype=bool)
    at, found = locate(rec["randomized"][0].astype(np.int64) * _KEY + rec["randomized"][1])
    assert found.all(), "every randomised patient was screened"
    randomized[at] = True
    n_rand = at.size
    follow = {}
    for col, fill in (("randomized_month", np.nan), ("time", np.nan), ("recurrence_month", np.nan),
                      ("death_month", np.nan), ("dropout_month", np.nan)):
        v = np.full(n, fill)
        v[at] = patients[col]
        follow[col] = v
    # survivors not randomised: their natural history (calendar months; inf: never)
    follow["recurrence_month"] = np.where(randomized, follow["recurrence_month"], arrival + surv.t_rec)
    follow["death_month"] = np.where(randomized, follow["death_month"], arrival + surv.t_death)
    arm = np.full(n, "", dtype=object)
    arm[at] = patients["arm"]
    in_an = np.zeros(n, dtype=bool)
    in_an[at] = patients["in_analysis"]
    event = np.zeros(n, dtype=bool)
    event[at] = patients["event"]
    truly_rand = np.zeros(n, dtype=bool)
    truly_rand[at] = patients["truly_mrd_positive"]
    truly = np.where(randomized, truly_rand, truly)
    survivor = np.arange(n) - np.searchsorted(row, row)      # 0-based order of entry within the replicate
    strata = np.array([st.name for st in model.population.strata], dtype=object)
    no_mrd = model.scenario.mrd is None
    not_rand = ~randomized
    col = {
        "replicate": indices[row],
        "survivor": survivor.astype(np.int64),
        "stratum": strata[surv.stratum],
        "entered_month": arrival.astype(float),
        "months_since_diagnosis": surv.tsd.astype(float),
        "registered": masked(stage[:, 0], no_prescreen),
        "assay_ready": masked(stage[:, 1], no_prescreen),
        "screened": stage[:, 2],
        "mrd_detectable_at_entry": masked(surv.detectable(np.zeros(n)), np.full(n, no_mrd)),
        "visits": masked(visits, np.full(n, not screening)),
        "tested": masked(first_result <= close[row], np.full(n, not screening)),
        "first_result_month": np.where(first_result <= close[row], first_result, np.nan),
        "positive_visit": masked(pos_visit, ~positive),
        "positive_result_month": pos_month,
        "positives": masked(positive.astype(np.int64), np.full(n, not screening)),
        "test_positive": masked(positive, np.full(n, not screening)),
        "truly_mrd_positive": masked(truly, ~(positive | randomized) | no_mrd),
        "metastatic_at_staging": masked(metastatic, ~positive),
        "eligible": masked(eligible, ~positive),
        "consented": masked(consented, ~(positive & eligible)),
        "randomized": randomized,
        "randomized_month": follow["randomized_month"],
        "arm": masked(arm, not_rand),
        "in_analysis": masked(in_an, not_rand),
        "time": follow["time"],
        "event": masked(event, not_rand),
        "recurrence_month": follow["recurrence_month"],
        "death_month": follow["death_month"],
        "dropout_month": follow["dropout_month"],
        "screening_closed_month": close[row].astype(float),
        "analysis_month": np.asarray(out["analysis_month"], dtype=float)[row],
    }
    assert n_rand == int(randomized.sum())
    return col


def replay(provenance: dict, *, workers: int | None = None, chunk_size: int | None = None,
           progress: Callable[[int, int], None] | None = None, timeline: bool | int = False,
           scheduler=None):
    """Re-run a simulation from its provenance alone (``result.provenance``,
    or the ``provenance`` object of a results.json): the same scenario, seed
    and replicates, so the same results, bit for bit, whatever ``workers``
    and ``chunk_size`` (or ``scheduler``). The other arguments are those of :func:`simulate`."""
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
                    chunk_size=chunk_size, progress=progress, timeline=timeline, scheduler=scheduler)
