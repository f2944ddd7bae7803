"""The trial's operations as a discrete-event simulation (simpy), over a chunk
of replicates at once.

simpy drives the calendar in windows of ``dt`` months. Two processes share it:

* intake: at the start of each window, survivors arrive into screening (or
  straight into the trial) for every replicate still recruiting, at exact
  continuous times drawn from the accrual schedule (sites opening over time);
* lab and enrolment: at the end of each window, the tests whose samples were
  taken in the window are run for every survivor due (vectorised), results
  come back after the lab turnaround, positives are staged and consent, and
  the enrolment review closes replicates that have randomised their target.
  Intake waits for that review before admitting the next window.

The window is only the granularity of the calendar's bookkeeping, not of the
model: every time is exact. A replicate closes at the exact time of its
``enrollment``-th randomisation (an order statistic, computed, not stepped);
survivors arriving later are not screened, tests sampled later not run, and
results coming back later not randomised. Visits of a survivor who arrived in
window j fall in windows j + k*m exactly, because ``dt = every / m``.

There is no simpy process per patient and no Python loop per patient. The only
loop over replicates draws each replicate's random numbers from its own
stream, so results do not depend on how replicates are grouped into chunks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import simpy

from trialsim.cohort import N_UNIFORMS, PopulationModel, Survivors, draw_survivors
from trialsim.screening import N_UNIFORMS as N_TEST_UNIFORMS
from trialsim.screening import TestModel, eligible_at_staging, run_tests

SAFETY_HORIZON = 600.0  # months: screening without any stop ends here (flagged)


class AccrualSchedule:
    """Piecewise-constant arrival rate: ``rates[i]`` per month from ``starts[i]``."""

    def __init__(self, starts, rates):
        self.starts = np.asarray(starts, dtype=float)
        self.rates = np.asarray(rates, dtype=float)
        self.cum_at_starts = np.concatenate([[0.0], np.cumsum(np.diff(self.starts) * self.rates[:-1])])

    def cumulative(self, t):
        t = np.asarray(t, dtype=float)
        i = np.searchsorted(self.starts, t, side="right") - 1
        return self.cum_at_starts[i] + (t - self.starts[i]) * self.rates[i]

    def inverse(self, y):
        """Time at which the expected cumulative number of arrivals reaches y."""
        y = np.asarray(y, dtype=float)
        i = np.searchsorted(self.cum_at_starts, y, side="right") - 1
        # skip pieces with rate 0 (their cumulative does not grow)
        rate = self.rates[i]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(rate > 0, self.starts[i] + (y - self.cum_at_starts[i]) / rate, self.starts[i])

    def time_to_accrue(self, n: float) -> float:
        return float(self.inverse(n))


@dataclass(frozen=True)
class Operations:
    """What des.py needs to know of a scenario."""

    accrual: AccrualSchedule
    enrollment: int
    test: TestModel | None          # None: no screening, every arrival is randomised
    every: float = math.inf
    count: int | None = None        # None: visits until screening stops
    imaging_lead: float = 0.0
    consent: float = 1.0
    max_screened: int | None = None
    max_months: float | None = None

    @property
    def screening(self) -> bool:
        return self.test is not None

    @property
    def window(self) -> float:
        if self.screening:
            m = max(1, math.ceil(self.every / 1.0))   # windows of at most one month
            return self.every / m
        # No screening: one window a little longer than the expected accrual
        # time, so that most replicates need one draw of arrivals and few a second.
        return max(1.0, 1.1 * self.accrual.time_to_accrue(self.enrollment))

    @property
    def visits_per_window(self) -> int:
        return round(self.every / self.window) if self.screening else 0


@dataclass
class Batch:
    """Survivors who arrived in one window, sorted by replicate."""

    rep: np.ndarray
    arrival: np.ndarray
    surv: Survivors
    active: np.ndarray                     # still in the screening programme
    first_result: np.ndarray               # time of the first test result (inf: none)


@dataclass
class Enrolment:
    """Outcome of the screening and enrolment phase for a chunk of replicates.

    Per replicate (arrays of length R): funnel counts up to the close of
    enrolment. Per randomised patient (flat arrays sorted by replicate, then
    randomisation time): ``rep``, ``randomized_at``, ``entered_at``,
    ``tested_at`` (the positive sample's time from entry; nan without
    screening) and the latent history ``patients``.
    """

    close_time: np.ndarray
    counts: dict[str, np.ndarray]
    horizon_hit: np.ndarray
    rep: np.ndarray
    randomized_at: np.ndarray
    entered_at: np.ndarray
    tested_at: np.ndarray
    patients: Survivors
    screened_at: list = field(default_factory=list)   # (replicate, calendar month) of the screened, per batch
    record: dict | None = None      # with record=True: what the screened-survivor table needs (engine.patient_table)


class TrialOperations:
    """simpy model of screening and enrolment for a chunk of replicates.

    ``rngs`` holds one generator per replicate (its screening stream).
    ``record``: also keep every test and positive result per survivor (for the
    table of screened survivors; it draws nothing, so results do not change).
    """

    def __init__(self, ops: Operations, pop: PopulationModel, rngs: list[np.random.Generator],
                 record: bool = False):
        self.ops = ops
        self.record = {"tests": [], "positives": []} if record else None
        self.pop = pop
        self.rngs = rngs
        self.R = R = len(rngs)
        self.dt = ops.window
        self.m = ops.visits_per_window
        self.env = simpy.Environment()
        self.closed = np.zeros(R, dtype=bool)
        self.close_time = np.full(R, np.inf)
        self.horizon_hit = np.zeros(R, dtype=bool)
        self.n_arrived = np.zeros(R, dtype=np.int64)
        self.intake_done = np.zeros(R, dtype=bool)
        self.batches: dict[int, Batch] = {}
        self._reviewed: dict[int, simpy.Event] = {}
        # flat event logs (replicate, calendar time), counted once close times are known
        self.log = {k: ([], []) for k in ("assays", "test_positive", "eligible", "consented")}
        # pending randomisations
        self.p_rep: list[np.ndarray] = []
        self.p_time: list[np.ndarray] = []
        self.p_batch: list[np.ndarray] = []
        self.p_index: list[np.ndarray] = []
        self.p_tested: list[np.ndarray] = []
        self.n_seen = 0                                # pending parts seen by reviews so far
        self.f_rep = np.array([], dtype=np.int32)      # randomisations due after the last review
        self.f_time = np.array([])
        self.n_known = np.zeros(R, dtype=np.int64)     # randomisations counted per replicate
        if not ops.screening:
            self.horizon = np.inf   # enrolment always closes at the enrollment-th arrival
        else:
            self.horizon = ops.max_months if ops.max_months is not None else SAFETY_HORIZON

    # -- simpy processes ---------------------------------------------------

    def run(self) -> Enrolment:
        self.env.process(self._intake())
        self.env.process(self._lab_and_enrolment())
        self.env.run()
        return self._outcome()

    def reviewed(self, j: int) -> simpy.Event:
        if j not in self._reviewed:
            self._reviewed[j] = self.env.event()
        return self._reviewed[j]

    def _intake(self):
        j = 0
        while not self.closed.all():
            self._admit(j)
            yield self.env.timeout(self.dt)
            yield self.reviewed(j)   # enrolment decided for window j before admitting more
            self._reviewed.pop(j, None)
            j += 1

    def _lab_and_enrolment(self):
        j = 0
        while not self.closed.all():
            yield self.env.timeout(self.dt)
            if self.ops.screening:
                self._test(j)
            self._review(j)
            self.reviewed(j).succeed()
            j += 1

    # -- intake ------------------------------------------------------------

    def _admit(self, j: int) -> None:
        if not self.ops.screening:
            if j == 0:
                self._admit_all_patients()
            return
        ops = self.ops
        t0, t1 = j * self.dt, (j + 1) * self.dt
        t_end = min(t1, self.horizon)
        if t0 >= t_end:
            self.intake_done[:] = True
            return
        recruiting = np.flatnonzero(~self.closed & ~self.intake_done)
        if recruiting.size == 0:
            return
        c0 = float(ops.accrual.cumulative(t0))
        mu = float(ops.accrual.cumulative(t_end)) - c0
        reps, us = [], []
        for r in recruiting:
            rng = self.rngs[r]
            n = int(rng.poisson(mu))
            if n == 0:
                continue
            u = rng.random((n, 1 + N_UNIFORMS))
            u = u[np.argsort(u[:, 0])]   # arrivals in time order (small sorts, cache-friendly)
            if ops.max_screened is not None:
                room = ops.max_screened - self.n_arrived[r]
                if n >= room:
                    u = u[:room]
                    self.intake_done[r] = True
            self.n_arrived[r] += u.shape[0]
            reps.append(np.full(u.shape[0], r, dtype=np.int32))
            us.append(u)
        if not reps:
            return
        rep = np.concatenate(reps)
        u = np.concatenate(us)
        arrival = ops.accrual.inverse(c0 + u[:, 0] * mu)
        surv = draw_survivors(self.pop, u[:, 1:])
        n = rep.size
        batch = Batch(rep, arrival, surv, np.ones(n, dtype=bool), np.full(n, np.inf))
        self.batches[j] = batch

    def _admit_all_patients(self) -> None:
        """Without screening every arrival is randomised on arrival and
        enrolment closes at the enrollment-th arrival: draw exactly those
        arrivals, as a unit-rate Poisson process (cumulated exponential gaps)
        mapped through the accrual schedule's cumulative rate. One draw per
        replicate; arrivals come out in time order."""
        ops = self.ops
        n = ops.enrollment
        u = np.empty((self.R, n, 1 + N_UNIFORMS))
        for r in range(self.R):
            u[r] = self.rngs[r].random((n, 1 + N_UNIFORMS))
        arrival = ops.accrual.inverse(np.cumsum(-np.log1p(-u[:, :, 0]), axis=1)).reshape(-1)
        rep = np.repeat(np.arange(self.R, dtype=np.int32), n)
        surv = draw_survivors(self.pop, u[:, :, 1:].reshape(-1, N_UNIFORMS))
        size = rep.size
        self.batches[0] = Batch(rep, arrival, surv, np.ones(size, dtype=bool), np.full(size, np.inf))
        self.n_arrived[:] = n
        self.intake_done[:] = True
        self._pend(rep, arrival, 0, np.arange(size), np.full(size, np.nan))

    # -- lab: the tests sampled in window j ---------------------------------

    def _test(self, j: int) -> None:
        ops = self.ops
        parts = []  # (batch id, indices, visit number)
        k = 0
        while j - k * self.m >= 0 and (ops.count is None or k < ops.count):
            b = j - k * self.m
            batch = self.batches.get(b)
            if batch is not None:
                since = k * ops.every
                cand = batch.active & ~self.closed[batch.rep]
                if cand.any():
                    idx = np.flatnonzero(cand)
                    s = batch.surv
                    alive = (s.t_death[idx] > since) & (s.t_rec[idx] > since)
                    in_time = batch.arrival[idx] + since < self.horizon
                    batch.active[idx[~alive]] = False   # left the programme (recurred or died)
                    idx = idx[alive & in_time]
                    if idx.size:
                        parts.append((b, idx, since))
            k += 1
        if not parts:
            return
        rep = np.concatenate([self.batches[b].rep[idx] for b, idx, _ in parts])
        # One draw per replicate per window, in replicate order: a replicate's
        # numbers come from its own stream whatever else is in the chunk.
        order = np.argsort(rep, kind="stable")
        counts = np.bincount(rep, minlength=self.R)
        u_sorted = np.empty((rep.size, N_TEST_UNIFORMS))
        pos = 0
        for r in np.flatnonzero(counts):
            c = counts[r]
            u_sorted[pos:pos + c] = self.rngs[r].random((c, N_TEST_UNIFORMS))
            pos += c
        u = np.empty_like(u_sorted)
        u[order] = u_sorted
        start = 0
        for b, idx, since in parts:
            batch = self.batches[b]
            n = idx.size
            uu = u[start:start + n]
            start += n
            s = batch.surv.take(idx)
            r = batch.rep[idx]
            visit = batch.arrival[idx] + since
            res = run_tests(ops.test, s.detectable(since), uu)
            self._log("assays", r, visit)
            if self.record is not None:
                self.record["tests"].append((b, idx, visit))
            got = ~res.failed
            result_at = visit + res.turnaround
            fr = batch.first_result[idx]
            batch.first_result[idx] = np.where(got, np.minimum(fr, result_at), fr)
            pos_ = res.positive
            if not pos_.any():
                continue
            batch.active[idx[pos_]] = False   # a positive sample ends the survivor's screening
            pi = idx[pos_]
            pr = r[pos_]
            pt = result_at[pos_]
            self._log("test_positive", pr, pt)
            stage_since = pt - batch.arrival[pi]
            ok = eligible_at_staging(stage_since, batch.surv.t_rec[pi], batch.surv.t_death[pi], ops.imaging_lead)
            self._log("eligible", pr[ok], pt[ok])
            agree = ok & (batch.surv.u_consent[pi] < ops.consent)
            self._log("consented", pr[agree], pt[agree])
            if self.record is not None:
                self.record["positives"].append((b, pi, since, pt, ok, agree))
            self._pend(pr[agree], pt[agree], b, pi[agree], np.full(int(agree.sum()), since))

    def _log(self, key, rep, time) -> None:
        self.log[key][0].append(rep)
        self.log[key][1].append(time)

    def _pend(self, rep, time, b, index, tested_since) -> None:
        if rep.size == 0:
            return
        self.p_rep.append(rep)
        self.p_time.append(time)
        self.p_batch.append(np.full(rep.size, b, dtype=np.int32))
        self.p_index.append(index.astype(np.int64))
        self.p_tested.append(tested_since)

    # -- enrolment review at the end of window j ----------------------------

    def _pending(self):
        if not self.p_rep:
            e = np.array([], dtype=np.int32)
            return e, np.array([]), e, np.array([], dtype=np.int64), np.array([])
        return tuple(np.concatenate(x) for x in (self.p_rep, self.p_time, self.p_batch, self.p_index, self.p_tested))

    def _review(self, j: int) -> None:
        ops = self.ops
        t1 = (j + 1) * self.dt
        # Randomisations not yet counted: the ones pended since the last review,
        # and earlier ones whose result was due after it. All randomisations
        # before t1 are known now: their samples were taken before t1.
        rep = np.concatenate([self.f_rep] + self.p_rep[self.n_seen:])
        time = np.concatenate([self.f_time] + self.p_time[self.n_seen:])
        self.n_seen = len(self.p_rep)
        now = time < t1
        self.f_rep, self.f_time = rep[~now], time[~now]
        rep, time = rep[now], time[now]
        open_ = ~self.closed
        keep = open_[rep]
        rep, time = rep[keep], time[keep]
        before = self.n_known.copy()
        self.n_known += np.bincount(rep, minlength=self.R)
        full = open_ & (self.n_known >= ops.enrollment)
        if full.any():
            # The replicate's enrollment-th randomisation is among those counted
            # now (else it would have closed earlier): an order statistic.
            sel = full[rep]
            srep, stime = _sort_by_rep_time(rep[sel], time[sel], not ops.screening)
            fr = np.flatnonzero(full)
            first = np.searchsorted(srep, fr)
            self.close_time[fr] = stime[first + ops.enrollment - 1 - before[fr]]
            self.closed[fr] = True
        open_ = ~self.closed
        if t1 >= self.horizon:
            self.close_time[open_] = self.horizon
            self.horizon_hit[open_] = ops.max_months is None
            self.closed[open_] = True
            return
        # Replicates that can randomise no one more: intake over, no survivor
        # with a visit to come, no result to come.
        stalled = open_ & self.intake_done
        if stalled.any():
            busy = np.zeros(self.R, dtype=bool)
            busy[self.f_rep] = True
            for b, batch in self.batches.items():
                if ops.screening and (ops.count is None or b + (ops.count - 1) * self.m > j):
                    busy[batch.rep[batch.active]] = True
            done = stalled & ~busy
            self.close_time[done] = t1
            self.closed[done] = True

    # -- outcome -----------------------------------------------------------

    def _outcome(self) -> Enrolment:
        ops = self.ops
        close = self.close_time
        counts = {}
        screened = np.zeros(self.R, dtype=np.int64)
        tested = np.zeros(self.R, dtype=np.int64)
        self.screened_at: list[tuple[np.ndarray, np.ndarray]] = []   # (replicate, month) of each screened
        for batch in self.batches.values():
            ok = batch.arrival <= close[batch.rep]
            screened += np.bincount(batch.rep[ok], minlength=self.R)
            self.screened_at.append((batch.rep[ok], batch.arrival[ok]))
            ok = batch.first_result <= close[batch.rep]
            tested += np.bincount(batch.rep[ok], minlength=self.R)
        counts["screened"] = screened
        if ops.screening:
            counts["tested"] = tested
            for key, (reps, times) in self.log.items():
                if reps:
                    r = np.concatenate(reps)
                    t = np.concatenate(times)
                    counts[key] = np.bincount(r[t <= close[r]], minlength=self.R)
                else:
                    counts[key] = np.zeros(self.R, dtype=np.int64)
        rep, time, pb, pi, ptested = self._pending()
        o = _order_by_rep_time(rep, time, not ops.screening)
        rep, time, pb, pi, ptested = rep[o], time[o], pb[o], pi[o], ptested[o]
        first = np.searchsorted(rep, np.arange(self.R))
        rank = np.arange(rep.size) - first[rep]
        keep = (time <= close[rep]) & (rank < ops.enrollment)
        rep, time, pb, pi, ptested = rep[keep], time[keep], pb[keep], pi[keep], ptested[keep]
        # Gather the randomised patients' histories from their batches, in
        # (replicate, randomisation time) order, one copy per field.
        entered = np.empty(rep.size)
        fields = Survivors.__dataclass_fields__
        ref = next(iter(self.batches.values())).surv if self.batches else None
        cols = {k: np.empty(rep.size, dtype=getattr(ref, k).dtype) if ref is not None else np.empty(0)
                for k in fields}
        for b in np.unique(pb):
            sel = np.flatnonzero(pb == b)
            batch = self.batches[int(b)]
            src = pi[sel]
            entered[sel] = batch.arrival[src]
            for k in fields:
                cols[k][sel] = getattr(batch.surv, k)[src]
        patients = Survivors(**cols) if ref is not None else draw_survivors(self.pop, np.zeros((0, N_UNIFORMS)))
        counts["randomized"] = np.bincount(rep, minlength=self.R)
        out = Enrolment(close, counts, self.horizon_hit, rep, time, entered, ptested, patients)
        out.screened_at = self.screened_at
        if self.record is not None:
            out.record = {**self.record, "batches": self.batches, "randomized": (pb, pi)}
        return out


def _order_by_rep_time(rep: np.ndarray, time: np.ndarray, chronological: bool = False) -> np.ndarray:
    """Permutation sorting by replicate, then time.

    ``chronological``: entries of each replicate are already in time order (as
    arrivals are): a stable radix sort by replicate suffices. Otherwise one
    argsort of a combined key (faster than lexsort; exact for finite times).
    """
    if rep.size == 0:
        return np.arange(0)
    if chronological:
        return np.argsort(rep, kind="stable")
    lo = float(time.min())
    span = float(time.max()) - lo + 1.0
    key = rep.astype(np.float64) * span + (time - lo)
    return np.argsort(key)


def _sort_by_rep_time(rep, time, chronological=False):
    o = _order_by_rep_time(rep, time, chronological)
    return rep[o], time[o]
