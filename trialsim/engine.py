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
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from trialsim.analysis import logrank, reject
from trialsim.cohort import PopulationModel
from trialsim.des import AccrualSchedule, Operations, TrialOperations
from trialsim.intervention import ArmModel, apply_arm, assign_arms_padded
from trialsim.scenario import Scenario
from trialsim.screening import TestModel

SURVIVORS_PER_CHUNK = 400_000   # bounds memory: ~100-200 MB per worker at most
N_TRIAL_UNIFORMS = 3            # per randomised patient: arm key, eradication, dropout


@dataclass(frozen=True)
class TrialModel:
    """A scenario compiled for simulation (curves built, arrays ready)."""

    scenario: Scenario
    population: PopulationModel
    operations: Operations
    control: ArmModel
    treatment: ArmModel
    dropout_rate: float
    death_is_event: bool
    events_target: int | None
    months_after_last: float | None
    alpha: float
    sided: int

    @classmethod
    def from_scenario(cls, sc: Scenario) -> "TrialModel":
        starts, rates = sc.accrual.schedule()
        scr = sc.screening
        ops = Operations(
            accrual=AccrualSchedule(starts, rates),
            enrollment=sc.trial.enrollment,
            test=TestModel.from_scenario(sc) if scr is not None else None,
            every=scr.visits.every if scr is not None else math.inf,
            count=scr.visits.count if scr is not None else None,
            imaging_lead=scr.staging.imaging_lead if scr is not None else 0.0,
            consent=scr.consent if scr is not None else 1.0,
            max_screened=scr.max_screened if scr is not None else None,
            max_months=scr.max_months if scr is not None else None,
        )
        c, t = sc.control_arm, sc.treatment_arm
        an = sc.trial.analysis
        return cls(
            scenario=sc,
            population=PopulationModel.from_scenario(sc),
            operations=ops,
            control=ArmModel.from_spec(c, sc.arms[c]),
            treatment=ArmModel.from_spec(t, sc.arms[t]),
            dropout_rate=sc.trial.dropout.monthly_rate if sc.trial.dropout is not None else 0.0,
            death_is_event=sc.trial.death == "event",
            events_target=an.events,
            months_after_last=an.months,
            alpha=an.alpha,
            sided=an.sided,
        )

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


def simulate_chunk(model: TrialModel, seed: int, indices: Sequence[int],
                   patients: dict | None = None) -> dict[str, np.ndarray]:
    """Simulate the replicates ``indices``; one row per replicate. If
    ``patients`` is a dict, it receives the patient-level table."""
    indices = np.asarray(indices, dtype=np.int64)
    streams = [replicate_streams(seed, int(i)) for i in indices]
    enrol = TrialOperations(model.operations, model.population, [s[0] for s in streams]).run()
    out = {"replicate": indices}
    out.update({k: v for k, v in enrol.counts.items()})
    out.update(_follow_up_and_analyse(model, enrol, [s[1] for s in streams], patients))
    if patients is not None:
        patients["replicate"] = indices[patients.pop("_row")]
    out["enrollment_reached"] = enrol.counts["randomized"] >= model.operations.enrollment
    out["screening_closed_month"] = enrol.close_time
    if model.operations.screening and model.operations.max_months is None:
        out["safety_horizon_hit"] = enrol.horizon_hit
    if model.operations.screening and model.operations.test.cost is not None:
        out["assay_cost"] = enrol.counts["assays"] * model.operations.test.cost
    return out


def _follow_up_and_analyse(model: TrialModel, enrol, trial_rngs, patients=None) -> dict[str, np.ndarray]:
    R = len(trial_rngs)
    rep = enrol.rep
    n_r = np.bincount(rep, minlength=R)
    n = rep.size
    # Per-patient uniforms from each replicate's trial stream, in randomisation order.
    u = np.empty((n, N_TRIAL_UNIFORMS))
    start = 0
    for r in np.flatnonzero(n_r):
        c = n_r[r]
        u[start:start + c] = trial_rngs[r].random((c, N_TRIAL_UNIFORMS))
        start += c
    width = max(int(n_r.max()) if R else 0, 1)
    first = np.concatenate([[0], np.cumsum(n_r)[:-1]])
    col = np.arange(n) - first[rep]
    keys = np.full((R, width), 2.0)
    keys[rep, col] = u[:, 0]
    treat = assign_arms_padded(keys, model.control.allocation, model.treatment.allocation)[rep, col]
    p = enrol.patients
    since_entry = enrol.randomized_at - enrol.entered_at
    t_rec = p.t_rec.copy()
    for arm, mask in ((model.control, ~treat), (model.treatment, treat)):
        if not arm.has_effect:
            continue
        idx = np.flatnonzero(mask)
        if idx.size:
            t_rec[idx], _ = apply_arm(model.population, p.take(idx), since_entry[idx], arm, u[idx, 1])
    # Times from randomisation.
    x_rec = t_rec - since_entry
    x_death = p.t_death - since_entry
    with np.errstate(divide="ignore", over="ignore"):  # a denormal rate gives inf, i.e. no dropout
        x_drop = -np.log1p(-u[:, 2]) / model.dropout_rate if model.dropout_rate > 0 else np.full(n, np.inf)
    if model.death_is_event:
        x_event, x_cens = np.minimum(x_rec, x_death), x_drop
    else:
        x_event, x_cens = x_rec, np.minimum(x_drop, x_death)
    has_event = x_event <= x_cens
    cal_event = np.where(has_event, enrol.randomized_at + x_event, np.inf)

    # Padded (replicate x patient) arrays.

    def pad(values, fill):
        a = np.full((R, width), fill, dtype=np.asarray(values).dtype)
        a[rep, col] = values
        return a

    P_cal = pad(cal_event, np.inf)
    P_rand = pad(enrol.randomized_at, np.inf)
    valid = pad(np.ones(n, dtype=bool), False)
    last_rand = np.where(n_r > 0, np.max(np.where(valid, P_rand, -np.inf), axis=1), np.nan)

    # The analysis cut: at the target number of events, at a time after the
    # last randomisation, or whichever comes first.
    ev_cut = np.full(R, np.inf)
    k = model.events_target
    if k is not None and k <= width:
        ev_cut = np.partition(P_cal, k - 1, axis=1)[:, k - 1]
    months_cut = last_rand + model.months_after_last if model.months_after_last is not None else np.full(R, np.inf)
    cut = np.minimum(ev_cut, months_cut)
    # Target never reached and no calendar cut: analyse once every event has happened.
    finite = np.where(np.isfinite(P_cal), P_cal, -np.inf).max(axis=1)
    fallback = np.where(np.isfinite(finite), finite, np.nan_to_num(last_rand, nan=0.0))
    cut = np.where(np.isfinite(cut), cut, fallback)

    P_xe = pad(x_event, np.inf)
    P_xc = pad(x_cens, np.inf)
    P_has = pad(has_event, False)
    follow = cut[:, None] - P_rand
    in_analysis = valid & (follow >= 0)
    obs_time = np.minimum(np.minimum(P_xe, P_xc), follow)
    # Compare on the calendar: (r + x) - r can round below x and lose the cut's own event.
    obs_event = P_has & (P_cal <= cut[:, None]) & in_analysis
    obs_time = np.where(in_analysis, obs_time, np.inf)
    group = pad(treat, False)
    lr = logrank(obs_time, obs_event, group, in_analysis)
    rejected = reject(lr.z, alpha=model.alpha, sided=model.sided)

    # Truly MRD-positive: detectable at the positive test's sample (screening),
    # or at randomisation without screening.
    at = np.where(np.isnan(enrol.tested_at), since_entry, enrol.tested_at)
    truly = p.detectable(at)
    if patients is not None:
        patients.update({
            "_row": rep,
            "entered_month": enrol.entered_at,
            "randomized_month": enrol.randomized_at,
            "arm": np.where(treat, model.treatment.name, model.control.name),
            "stratum": np.array([st.name for st in model.population.strata])[p.stratum],
            "truly_mrd_positive": truly,
            "in_analysis": in_analysis[rep, col],
            "time": np.where(in_analysis[rep, col], obs_time[rep, col], np.nan),
            "event": obs_event[rep, col],
            "recurrence_month": enrol.randomized_at + x_rec,
            "death_month": enrol.randomized_at + x_death,
            "dropout_month": enrol.randomized_at + x_drop,
            "analysis_month": cut[rep],
        })
    out = {
        "truly_mrd_positive": np.bincount(rep[truly], minlength=R),
        "treatment_randomized": np.bincount(rep[treat], minlength=R),
        "last_randomized_month": last_rand,
        "analysis_month": cut,
        "events": lr.events.astype(np.int64),
        "events_control": lr.observed[:, 0].astype(np.int64),
        "events_treatment": lr.observed[:, 1].astype(np.int64),
        "events_reached": (lr.events >= k) if k is not None else np.ones(R, dtype=bool),
        "z": lr.z,
        "hazard_ratio_estimate": lr.hazard_ratio,
        "rejected": rejected,
    }
    return out


# --------------------------------------------------------------------------
# Entry point


def _chunks(indices: np.ndarray, size: int) -> list[np.ndarray]:
    return [indices[i:i + size] for i in range(0, indices.size, size)]


def _run_chunk(args):
    scenario_dict, seed, indices = args
    model = TrialModel.from_scenario(Scenario.from_dict(scenario_dict))
    return simulate_chunk(model, seed, indices)


def default_workers() -> int:
    return os.cpu_count() or 1


def simulate(scenario: Scenario, *, replicates: int | None = None, seed: int | None = None,
             workers: int | None = None, chunk_size: int | None = None,
             replicate_index: int | Iterable[int] | None = None,
             progress: Callable[[int, int], None] | None = None):
    """Simulate a scenario's trial many times; return a :class:`SimulationResult`.

    replicates: number of simulated trials (default: the scenario's
    ``simulation.replicates``). seed: the run's seed (default: the scenario's,
    else a fresh one, recorded in the provenance). workers: worker processes
    (default: all cores; results do not depend on it). chunk_size: replicates
    simulated at once (default: sized to bound memory). replicate_index: re-run
    only these replicates of the seeded run. progress: called with
    (replicates done, total) as chunks finish.
    """
    from trialsim.results import SimulationResult, provenance

    if not isinstance(scenario, Scenario):
        raise TypeError("simulate() takes a Scenario; use trialsim.load_scenario(path) first")
    replicates = replicates if replicates is not None else scenario.simulation.replicates
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1, got {replicates}")
    seed = seed if seed is not None else scenario.simulation.seed
    if seed is None:
        seed = draw_seed()
    scenario = scenario.with_simulation(replicates=replicates, seed=seed)
    model = TrialModel.from_scenario(scenario)
    if replicate_index is None:
        indices = np.arange(replicates, dtype=np.int64)
    else:
        indices = np.atleast_1d(np.asarray(list(np.atleast_1d(replicate_index)), dtype=np.int64))
        if indices.size == 0 or indices.min() < 0 or indices.max() >= replicates:
            raise ValueError(f"replicate_index must lie in [0, {replicates})")
    if chunk_size is None:
        chunk_size = int(max(1, min(2000, SURVIVORS_PER_CHUNK // model.expected_survivors_per_replicate())))
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    chunks = _chunks(indices, chunk_size)
    # With several workers, use chunks small enough to keep every worker busy.
    if workers > 1 and len(chunks) < 2 * workers and indices.size > 1:
        chunks = _chunks(indices, max(1, -(-indices.size // (2 * workers))))
    parts: list[dict] = []
    done = 0
    if workers == 1 or len(chunks) == 1:
        for c in chunks:
            parts.append(simulate_chunk(model, seed, c))
            done += c.size
            if progress:
                progress(done, indices.size)
    else:
        data = scenario.to_dict()
        with ProcessPoolExecutor(max_workers=min(workers, len(chunks))) as pool:
            for c, part in zip(chunks, pool.map(_run_chunk, [(data, seed, c) for c in chunks])):
                parts.append(part)
                done += c.size
                if progress:
                    progress(done, indices.size)
    table = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return SimulationResult(scenario=scenario, table=table, provenance=provenance(scenario, seed, replicates),
                            model=model)


def patient_table(scenario: Scenario, *, seed: int, replicate: int | Iterable[int] = 0,
                  replicates: int | None = None) -> dict[str, np.ndarray]:
    """Patient-level data of replicate(s) of a seeded run, re-simulated alone.

    One row per randomised patient: replicate, entered_month,
    randomized_month, arm, stratum, truly_mrd_positive, in_analysis, time
    (months from randomisation to event or censoring at the analysis), event,
    recurrence_month, death_month, dropout_month (calendar months, inf: never),
    analysis_month. The replicate-level row equals the run's row for it.
    """
    replicates = replicates if replicates is not None else scenario.simulation.replicates
    scenario = scenario.with_simulation(replicates=replicates, seed=seed)
    model = TrialModel.from_scenario(scenario)
    idx = np.atleast_1d(np.asarray(list(np.atleast_1d(replicate)), dtype=np.int64))
    if idx.size == 0 or idx.min() < 0 or idx.max() >= replicates:
        raise ValueError(f"replicate must lie in [0, {replicates})")
    table: dict = {}
    simulate_chunk(model, seed, idx, patients=table)
    return table
