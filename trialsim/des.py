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
window j fall in windows j + k*m exactly, because ``dt = every / m`` (windows
last at most ``WINDOW_MONTHS``).

Visit schedules (``screening.visits.schedule``, ``anchor: diagnosis``) and
the steps before screening (``screening.prescreen``) do not fall on that
lattice: each survivor then carries her next visit (months since the
schedule's anchor) and her number of visits, and the lab of window j takes
every sample due before the window's end (the window is at most the
shortest interval, so at most one visit per survivor). Both paths hand the
same (batch, survivors, time of visit, visit number) parts to one routine
that runs the tests, stages the positives and pends the randomisations;
further steps at a visit (a confirmatory test, surveillance that goes on
after a positive) belong in that routine.

There is no simpy process per patient and no Python loop per patient. The only
loop over replicates draws each replicate's random numbers from its own
stream, so results do not depend on how replicates are grouped into chunks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import simpy

from trialsim.cohort import N_UNIFORMS, U_CONSENT, PopulationModel, Survivors, draw_survivors, uniforms_read
from trialsim.screening import N_UNIFORMS as N_TEST_UNIFORMS
from trialsim.screening import N_PRESCREEN_UNIFORMS, U_PRE_CONSENT, U_PRE_SETUP, U_PRE_TIME
from trialsim.screening import (PrescreenModel, TestModel, VisitPlan, eligible_at_staging, person_propensities,
                                 run_tests)

TEST_GOT, TEST_PAIR, TEST_SAME, TEST_POSITIVE = 1, 2, 4, 8   # flags of a test in the log
# Longest window of the calendar. Each window costs a pass over the chunk's
# arrays; a longer one draws more survivors after a replicate has closed (they
# are drawn, then not counted). Windows of one visit interval (6 months) ran the
# ctDNA reference scenario in 0.69 of the time that one-month windows took.
WINDOW_MONTHS = 6.0
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
        if self.rates.size == 1 and self.rates[0] > 0:    # one constant rate: the same arithmetic, no lookup
            return self.starts[0] + (y - self.cum_at_starts[0]) / self.rates[0]
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
    plan: VisitPlan | None = None           # a visit schedule or anchor off the lattice (None: every from entry)
    prescreen: PrescreenModel | None = None
    n_strata: int = 1
    surveillance: bool = False              # every scheduled visit runs whatever the result
    confirm_tests: int = 1                  # consecutive positive samples that make a positive
    shedding: tuple[float, ...] | None = None   # per stratum: intra-person correlation of results (None: 0)
    randomise_then_stage: bool = False      # allocate at the positive result, stage after
    imaging: object = None                  # a Curve: P(scans show it) at d months before recurrence; None: the step
    confirm_test: TestModel | None = None   # a second assay on a new sample at a positive result

    @property
    def screening(self) -> bool:
        return self.test is not None

    @property
    def scheduled(self) -> bool:
        """Visits off the lattice of ``every`` from entry: each survivor tracks her next visit."""
        return self.screening and (self.plan is not None or self.prescreen is not None or self.surveillance
                                   or self.confirm_tests > 1 or self.confirm_test is not None)

    @property
    def window(self) -> float:
        if self.screening:
            return self.every / self.visits_per_window
        # No screening: one window a little longer than the expected accrual
        # time, so that most replicates need one draw of arrivals and few a second.
        return max(1.0, 1.1 * self.accrual.time_to_accrue(self.enrollment))

    @property
    def visits_per_window(self) -> int:
        """m: windows per visit interval, so that windows last at most WINDOW_MONTHS."""
        return max(1, math.ceil(self.every / WINDOW_MONTHS)) if self.screening else 0


@dataclass
class Batch:
    """Survivors who arrived in one window, sorted by replicate."""

    rep: np.ndarray
    arrival: np.ndarray
    surv: Survivors
    active: np.ndarray                     # still in the screening programme
    first_result: np.ndarray               # time of the first test result (inf: none)
    # scheduled visits (Operations.scheduled): None otherwise
    registered: np.ndarray | None = None   # consented to surveillance (prescreen)
    ready: np.ndarray | None = None        # the assay could be set up (prescreen)
    enters: np.ndarray | None = None       # calendar month of entering screening (assay ready)
    offset: np.ndarray | None = None       # the anchor's time from entry
    g_next: np.ndarray | None = None       # next visit, months since the anchor (inf: none)
    n_visits: np.ndarray | None = None     # visits done
    # serial results: the last result (-1 none, 0 negative, 1 positive), the run of
    # consecutive positive samples, a positive sample ever, staged already
    last_result: np.ndarray | None = None
    run: np.ndarray | None = None
    ever_positive: np.ndarray | None = None
    staged: np.ndarray | None = None
    person: tuple[np.ndarray, np.ndarray] | None = None   # own sensitivity and false-positive rate (shedding)
    imaging_lead: np.ndarray | None = None  # own months before recurrence that scans show it (staging.imaging)


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
    metastatic: np.ndarray | None = None   # per randomised patient: metastatic at staging (staged after allocation)
    imaging_lead: np.ndarray | None = None  # per randomised patient: her own imaging lead (staging.imaging)
    record: dict | None = None      # with record=True: what the screened-survivor table needs (engine.patient_table)
    by_stratum: dict = field(default_factory=dict)    # funnel key -> (R, strata) counts
    by_visit: dict = field(default_factory=dict)      # "tests", "positive" -> (R, visits) counts


class TrialOperations:
    """simpy model of screening and enrolment for a chunk of replicates.

    ``rngs`` holds one generator per replicate (its screening stream);
    ``prescreen_rngs`` one per replicate for the prescreen steps (needed only
    with ``ops.prescreen``). ``record``: also keep every test and positive
    result per survivor (for the table of screened survivors; it draws
    nothing, so results do not change).
    """

    def __init__(self, ops: Operations, pop: PopulationModel, rngs: list[np.random.Generator],
                 prescreen_rngs: list[np.random.Generator] | None = None, record: bool = False,
                 person_rngs: list[np.random.Generator] | None = None,
                 imaging_rngs: list[np.random.Generator] | None = None,
                 confirm_rngs: list[np.random.Generator] | None = None):
        self.ops = ops
        self.confirm_rngs = confirm_rngs
        if ops.confirm_test is not None and confirm_rngs is None:
            raise ValueError("a scenario with screening.confirm.test needs the replicates' confirmation streams")
        self.imaging_rngs = imaging_rngs
        if ops.imaging is not None and imaging_rngs is None:
            raise ValueError("a scenario with screening.staging.imaging needs the replicates' imaging streams")
        self.person_rngs = person_rngs
        if ops.shedding is not None and person_rngs is None:
            raise ValueError("a scenario with mrd.shedding needs the replicates' person streams")
        self.record = {"tests": [], "positives": []} if record else None
        self.pop = pop
        self.rngs = rngs
        self.prescreen_rngs = prescreen_rngs
        if ops.prescreen is not None and prescreen_rngs is None:
            raise ValueError("a scenario with screening.prescreen needs the replicates' prescreen streams")
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
        # and per event its stratum and visit number (1-based)
        # Every test: (replicate, stratum, visit number, time of sample, time of result,
        # flags: TEST_GOT | TEST_PAIR | TEST_SAME | TEST_POSITIVE), logged by the lab of a
        # window and counted after that window's review (_settle_tests): a test counts
        # once its replicate's close is known or known to come after its result.
        self.tests: list[tuple] = []          # logged since the last review
        self.unsettled: tuple | None = None   # results due after the last review, replicate open
        self.tally = np.zeros((R, ops.n_strata, 0, 32), dtype=np.int64)  # (replicate, stratum, visit, flags)
        # Rarer events (positives and what follows them): flat logs of (replicate,
        # calendar time, stratum, visit number (1-based)).
        self.log = {k: ([], [], [], []) for k in ("test_positive", "metastatic_at_staging", "eligible", "consented")}
        if ops.confirm_tests > 1 or ops.confirm_test is not None:
            self.log["confirmed"] = ([], [], [], [])
        if ops.confirm_test is not None:
            self.log["confirm_assays"] = ([], [], [], [])
        # pending randomisations
        self.p_rep: list[np.ndarray] = []
        self.p_time: list[np.ndarray] = []
        self.p_batch: list[np.ndarray] = []
        self.p_index: list[np.ndarray] = []
        self.p_tested: list[np.ndarray] = []
        self.p_meta: list[np.ndarray] = []             # metastatic at staging (staged after randomisation)
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
            if self.ops.screening:
                self._settle_tests((j + 1) * self.dt)
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
        pre = ops.prescreen
        # Arrivals per replicate first, then each replicate's uniforms straight
        # into one array (one row per quantity, each contiguous): every
        # replicate draws its count, then its uniforms, from its own stream.
        counts = np.array([self.rngs[r].poisson(mu) for r in recruiting], dtype=np.int64)
        ends = np.cumsum(counts)
        u = np.empty((1 + N_UNIFORMS, int(ends[-1]) if ends.size else 0))
        keep = None                      # survivors beyond max_screened are dropped
        ups, vs, ws = [], [], []
        for r, n, end in zip(recruiting.tolist(), counts.tolist(), ends.tolist()):
            if n == 0:
                continue
            start = end - n
            u[:, start:end] = self.rngs[r].random((1 + N_UNIFORMS, n))
            u[0, start:end].sort()   # arrivals in time order; the other quantities are iid, so need no reordering
            up = self.prescreen_rngs[r].random((n, N_PRESCREEN_UNIFORMS)) if pre is not None else None
            entering = kept = n
            if ops.max_screened is not None:
                room = ops.max_screened - self.n_arrived[r]
                if pre is None:
                    if n >= room:
                        kept = entering = room
                        self.intake_done[r] = True
                else:
                    # max_screened counts the survivors who enter screening: the assay-ready
                    ready = (up[:, U_PRE_CONSENT] < pre.consent) & (up[:, U_PRE_SETUP] < pre.assay_setup)
                    cum = np.cumsum(ready)
                    entering = int(cum[-1])
                    if entering >= room:
                        kept = int(np.searchsorted(cum, room)) + 1
                        up = up[:kept]
                        entering = room
                        self.intake_done[r] = True
                if kept < n:
                    if keep is None:
                        keep = np.ones(u.shape[1], dtype=bool)
                    keep[start + kept:end] = False
            self.n_arrived[r] += entering
            if ops.shedding is not None:
                vs.append(self.person_rngs[r].random(kept))
            if ops.imaging is not None:
                ws.append(self.imaging_rngs[r].random(kept))
            if up is not None:
                ups.append(up)
        rep = np.repeat(recruiting.astype(np.int32), counts)
        if keep is not None:
            u, rep = u[:, keep], rep[keep]
        if rep.size == 0:
            return
        arrival = ops.accrual.inverse(c0 + u[0] * mu)
        surv = draw_survivors(self.pop, u[1:].T)   # (survivors, quantities), each quantity contiguous
        n = rep.size
        batch = Batch(rep, arrival, surv, np.ones(n, dtype=bool), np.full(n, np.inf))
        batch.last_result = np.full(n, -1, dtype=np.int8)
        batch.run = np.zeros(n, dtype=np.int16)
        batch.ever_positive = np.zeros(n, dtype=bool)
        batch.staged = np.zeros(n, dtype=bool)
        if ops.imaging is not None:       # each survivor's own imaging lead: scans show it from then on
            batch.imaging_lead = np.asarray(ops.imaging.quantile(np.concatenate(ws)), dtype=float)
        if ops.shedding is not None:
            rho = np.asarray(ops.shedding, dtype=float)[surv.stratum]
            batch.person = person_propensities(ops.test, rho, np.concatenate(vs))
        if ops.scheduled:
            self._schedule(batch, np.concatenate(ups) if ups else None)
        self.batches[j] = batch

    def _schedule(self, batch: Batch, up: np.ndarray | None) -> None:
        """The prescreen steps and the first visit of a batch (scheduled visits)."""
        ops = self.ops
        n = batch.rep.size
        plan = ops.plan
        if up is not None:
            pre = ops.prescreen
            registered = up[:, U_PRE_CONSENT] < pre.consent
            ready = registered & (up[:, U_PRE_SETUP] < pre.assay_setup)
            setup = np.asarray(pre.setup_time.quantile(up[:, U_PRE_TIME]), dtype=float)
        else:
            registered = ready = np.ones(n, dtype=bool)
            setup = np.zeros(n)
        if plan.anchor == "diagnosis":
            offset = -batch.surv.tsd
            g = plan.at_or_after(batch.surv.tsd + setup)   # the first visit at or after the assay is ready
        else:
            offset = setup
            g = np.zeros(n)
        batch.registered, batch.ready = registered, ready
        batch.enters = np.where(ready, batch.arrival + setup, np.inf)
        batch.offset, batch.g_next = offset, g
        batch.n_visits = np.zeros(n, dtype=np.int32)
        batch.active = ready & np.isfinite(g)

    def _admit_all_patients(self) -> None:
        """Without screening every arrival is randomised on arrival and
        enrolment closes at the enrollment-th arrival: draw exactly those
        arrivals, as a unit-rate Poisson process (cumulated exponential gaps)
        mapped through the accrual schedule's cumulative rate. One draw per
        replicate; arrivals come out in time order, and each replicate closes
        at its last one (the close a review would find)."""
        ops = self.ops
        n = ops.enrollment
        rows = 1 + N_UNIFORMS
        # One row per quantity, each contiguous; replicate r's patients are
        # columns r*n to (r+1)*n, and it draws its quantities one after the
        # other: rows x n uniforms from its stream, row by row. Rows that
        # nothing reads for this population (cohort.uniforms_read) are skipped
        # by advancing the stream past them (a uniform is one 64-bit output of
        # PCG64), so the rows read hold the numbers one draw of all would give;
        # the rows skipped are never read (the consent row, copied, is left nan).
        used = (True,) + uniforms_read(self.pop, consent=False)
        u = np.empty((rows, self.R, n))
        if all(used):
            for r in range(self.R):
                u[:, r, :] = self.rngs[r].random((rows, n))
        else:
            if not used[1 + U_CONSENT]:
                u[1 + U_CONSENT].fill(np.nan)
            runs = _runs(used)
            for r in range(self.R):
                rng = self.rngs[r]
                at = 0
                for a, b in runs:
                    if a > at:
                        rng.bit_generator.advance((a - at) * n)
                    if b - a == 1:
                        rng.random(out=u[a, r])
                    else:
                        u[a:b, r, :] = rng.random((b - a, n))
                    at = b
                if at < rows:     # the stream ends where one draw of every row would leave it
                    rng.bit_generator.advance((rows - at) * n)
        u = u.reshape(rows, self.R * n)
        gaps = np.log1p(-u[0]).reshape(self.R, n)
        np.negative(gaps, out=gaps)
        arrival = ops.accrual.inverse(np.cumsum(gaps, axis=1))
        self.close_time[:] = arrival[:, n - 1]
        self.closed[:] = True
        arrival = arrival.reshape(-1)
        rep = np.repeat(np.arange(self.R, dtype=np.int32), n)
        surv = draw_survivors(self.pop, u[1:].T)
        size = rep.size
        self.batches[0] = Batch(rep, arrival, surv, np.ones(size, dtype=bool), np.full(size, np.inf))
        self.n_arrived[:] = n
        self.intake_done[:] = True
        self._pend(rep, arrival, 0, np.arange(size), np.full(size, np.nan))

    # -- lab: the tests sampled in window j ---------------------------------

    def _test(self, j: int) -> None:
        parts = self._due_scheduled(j) if self.ops.scheduled else self._due_lattice(j)
        if parts:
            self._run_visits(parts)

    def _due_lattice(self, j: int) -> list:
        """Samples taken in window j, visits every ``every`` months from entry:
        (batch id, indices, months since entry, visit number) per batch."""
        ops = self.ops
        parts = []
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
                        parts.append((b, idx, since, k + 1))
            k += 1
        return parts

    def _due_scheduled(self, j: int) -> list:
        """Samples taken in window j, each survivor at her own next visit:
        (batch id, indices, months since entry, visit numbers), the latest
        batch first (as on the lattice: visit 1 first)."""
        ops = self.ops
        plan = ops.plan
        t1 = (j + 1) * self.dt
        parts = []
        for b in sorted(self.batches, reverse=True):
            batch = self.batches[b]
            cand = batch.active & ~self.closed[batch.rep]
            if not cand.any():
                continue
            idx = np.flatnonzero(cand)
            since = batch.offset[idx] + batch.g_next[idx]
            due = batch.arrival[idx] + since < t1
            idx, since = idx[due], since[due]
            if idx.size == 0:
                continue
            s = batch.surv
            alive = (s.t_death[idx] > since) & (s.t_rec[idx] > since)
            in_time = batch.arrival[idx] + since < self.horizon
            batch.active[idx[~alive]] = False   # left the programme (recurred or died)
            keep = alive & in_time
            idx, since = idx[keep], since[keep]
            if idx.size == 0:
                continue
            batch.n_visits[idx] += 1
            number = batch.n_visits[idx].astype(np.int64)
            batch.g_next[idx] = plan.after(batch.g_next[idx])
            last = ~np.isfinite(batch.g_next[idx])
            if plan.count is not None:
                last |= number >= plan.count
            batch.active[idx[last]] = False      # no visit to come
            parts.append((b, idx, since, number))
        return parts

    def _run_visits(self, parts: list) -> None:
        """The tests of the samples in ``parts`` ((batch id, indices, months since
        entry, visit number) each), their results, staging and consent."""
        ops = self.ops
        for b, idx, since, number in parts:
            batch = self.batches[b]
            n = idx.size
            r = batch.rep[idx]
            uu = _uniforms_for_sorted(self.rngs, r, N_TEST_UNIFORMS)
            stratum = batch.surv.stratum[idx]
            visit = batch.arrival[idx] + since
            number = np.broadcast_to(np.asarray(number, dtype=np.int64), (n,))
            person = None if batch.person is None else (batch.person[0][idx], batch.person[1][idx])
            m_start, m_end = batch.surv.mrd_start[idx], batch.surv.mrd_end[idx]
            res = run_tests(ops.test, (m_start <= since) & (since < m_end), uu, person)
            if self.record is not None:
                self.record["tests"].append((b, idx, visit))
            got = ~res.failed
            result_at = visit + res.turnaround
            # consecutive results of the same person, and how often they agree
            prev = batch.last_result[idx]
            pair = got & (prev >= 0)
            same = pair & (res.positive == (prev == 1))
            flags = got.view(np.uint8) | (pair.view(np.uint8) << 1) | (same.view(np.uint8) << 2)
            flags |= res.positive.view(np.uint8) << 3
            self.tests.append((r, stratum, number.astype(np.int16), visit, result_at, flags))
            batch.last_result[idx] = np.where(got, res.positive, prev)
            fr = batch.first_result[idx]
            batch.first_result[idx] = np.where(got, np.minimum(fr, result_at), fr)
            sample_pos = res.positive
            if not sample_pos.any():
                if ops.confirm_tests > 1:
                    batch.run[idx[got]] = 0
                continue
            # The positive samples are few: from here on they are taken by index.
            sp = np.flatnonzero(sample_pos)
            new = sp[~batch.ever_positive[idx[sp]]]
            batch.ever_positive[idx[sp]] = True
            self._log("test_positive", r[new], result_at[new], stratum[new], number[new])
            if ops.confirm_tests > 1:
                run = np.where(got, np.where(sample_pos, batch.run[idx] + 1, 0), batch.run[idx])
                batch.run[idx] = run
                pos_ = np.flatnonzero(sample_pos & (run >= ops.confirm_tests) & ~batch.staged[idx])
                self._log("confirmed", r[pos_], result_at[pos_], stratum[pos_], number[pos_])
            else:
                pos_ = sp[~batch.staged[idx[sp]]]
            if ops.confirm_test is not None and pos_.size:
                # a new sample for the second assay when the first result comes back
                ci = pos_
                c_at = result_at[ci]
                c_since = np.broadcast_to(np.asarray(since, dtype=float), (n,))[ci] + res.turnaround[ci]
                uc = _uniforms_for_sorted(self.confirm_rngs, r[ci], N_TEST_UNIFORMS)
                cres = run_tests(ops.confirm_test, (m_start[ci] <= c_since) & (c_since < m_end[ci]), uc)
                self._log("confirm_assays", r[ci], c_at, stratum[ci], number[ci])
                yes = ~cres.failed & cres.positive
                pos_ = ci[yes]
                result_at = result_at.copy()
                result_at[ci] = c_at + cres.turnaround
                self._log("confirmed", r[pos_], result_at[pos_], stratum[pos_], number[pos_])
            if pos_.size == 0:
                continue
            pi = idx[pos_]
            batch.staged[pi] = True
            if not ops.surveillance:
                batch.active[pi] = False   # a (confirmed) positive ends the survivor's screening
            pr = r[pos_]
            pt = result_at[pos_]
            pst = stratum[pos_]
            pn = number[pos_]
            stage_since = pt - batch.arrival[pi]
            t_rec, t_death = batch.surv.t_rec[pi], batch.surv.t_death[pi]
            lead = ops.imaging_lead if batch.imaging_lead is None else batch.imaging_lead[pi]
            ok = eligible_at_staging(stage_since, t_rec, t_death, lead)
            seen = (t_death > stage_since) & ~ok     # alive, and the recurrence visible on imaging
            self._log("metastatic_at_staging", pr[seen], pt[seen], pst[seen], pn[seen])
            self._log("eligible", pr[ok], pt[ok], pst[ok], pn[ok])
            if ops.randomise_then_stage:      # allocated at the result, whatever the scans then show
                agree = ((t_death > stage_since) & (t_rec > stage_since)   # alive, no overt recurrence yet
                         & (batch.surv.u_consent[pi] < ops.consent))
            else:
                agree = ok & (batch.surv.u_consent[pi] < ops.consent)
            self._log("consented", pr[agree], pt[agree], pst[agree], pn[agree])
            if ops.surveillance:
                batch.active[pi[agree]] = False   # randomised: she leaves surveillance
            since_pos = np.broadcast_to(np.asarray(since, dtype=float), (n,))[pos_]
            if self.record is not None:
                self.record["positives"].append((b, pi, since_pos, pt, ok, agree, pn))
            self._pend(pr[agree], pt[agree], b, pi[agree], since_pos[agree], seen[agree])

    def _log(self, key, rep, time, stratum, number) -> None:
        log = self.log[key]
        log[0].append(rep)
        log[1].append(time)
        log[2].append(stratum)
        log[3].append(number)

    def _pend(self, rep, time, b, index, tested_since, metastatic=None) -> None:
        if rep.size == 0:
            return
        self.p_meta.append(np.zeros(rep.size, dtype=bool) if metastatic is None else metastatic)
        self.p_rep.append(rep)
        self.p_time.append(time)
        self.p_batch.append(np.full(rep.size, b, dtype=np.int32))
        self.p_index.append(index.astype(np.int64))
        self.p_tested.append(tested_since)

    # -- enrolment review at the end of window j ----------------------------

    def _pending(self):
        if not self.p_rep:
            e = np.array([], dtype=np.int32)
            return e, np.array([]), e, np.array([], dtype=np.int64), np.array([]), np.array([], dtype=bool)
        return tuple(np.concatenate(x) for x in (self.p_rep, self.p_time, self.p_batch, self.p_index, self.p_tested,
                                                 self.p_meta))

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
                if ops.scheduled:
                    busy[batch.rep[batch.active]] = True    # a visit to come
                elif ops.screening and (ops.count is None or b + (ops.count - 1) * self.m > j):
                    busy[batch.rep[batch.active]] = True
            done = stalled & ~busy
            self.close_time[done] = t1
            self.closed[done] = True

    # -- outcome -----------------------------------------------------------

    def _settle_tests(self, t1: float) -> None:
        """Count the tests logged so far whose counts are known after the review
        at ``t1``: those of a closed replicate (its close is known, at or before
        ``t1``), and those of an open one whose result came back before ``t1``
        (its close, when it comes, is at or after ``t1``: every randomisation
        before ``t1`` has been counted, and every sample so far was taken before
        ``t1``). The rest, a result due after ``t1`` for an open replicate, wait
        for a later review. Counting window by window keeps the tests' arrays
        small; the counts are those of one pass over every test at the end."""
        parts = self.tests
        if self.unsettled is not None:
            parts.append(self.unsettled)
        self.tests = []
        self.unsettled = None
        wait = []
        for part in parts:
            rep, stratum, number, visit, result_at, flags = part
            if rep.size == 0:
                continue
            close = self.close_time[rep]             # inf while the replicate is open
            later = (result_at >= t1) & (close > t1)
            at = np.flatnonzero(later)
            if at.size:
                wait.append(tuple(a[at] for a in part))
            self._tally_tests(rep, stratum, number, visit, result_at, flags, close, ~later if at.size else None)
        if wait:
            self.unsettled = tuple(np.concatenate(x) for x in zip(*wait)) if len(wait) > 1 else wait[0]

    def _tally_tests(self, rep, stratum, number, visit, result_at, flags, close, settled=None) -> None:
        """Add tests to the counts up to ``close``, their replicates' close times
        (inf for a replicate still open: it closes after these tests and their
        results), leaving out those not ``settled``. A test sampled by the close
        counts as an assay (flag 16), and its other flags count only if its
        result is back by then. One count per (replicate, stratum, visit
        number, flags)."""
        R, K = self.R, self.ops.n_strata
        V = self.tally.shape[2]
        top = int(number.max())
        if top > V:                   # a visit number not seen before: room for it
            grown = np.zeros((R, K, top, 32), dtype=np.int64)
            grown[:, :, :V] = self.tally
            self.tally, V = grown, top
        flags = np.where(result_at <= close, flags, np.uint8(0))
        sampled = visit <= close
        if settled is not None:
            sampled &= settled
        flags |= sampled.view(np.uint8) << 4
        code = rep.astype(np.int64)
        code *= K
        code += stratum
        code *= V
        code += number
        code -= 1
        code *= 32
        code += flags
        self.tally += np.bincount(code, minlength=R * K * V * 32).reshape(R, K, V, 32)

    def _count_tests(self, counts: dict, by_stratum: dict, by_visit: dict) -> None:
        """Counts of the tests up to each replicate's close: assays (sampled by
        then), results, pairs of consecutive results and those that agree, and
        positive samples (results back by then); per stratum, and results and
        positive samples per visit."""
        self._settle_tests(math.inf)     # every close is known now
        sampled = self.tally[..., 16:]              # tests sampled by the close, by the flags of the rest
        per = sampled.sum(axis=2)
        visits = sampled.sum(axis=1)
        bits = np.arange(16)
        by_stratum["assays"] = per.sum(axis=2)
        counts["assays"] = by_stratum["assays"].sum(axis=1)
        for name, bit in (("serial_pairs", TEST_PAIR), ("serial_agreeing", TEST_SAME),
                          ("positive_samples", TEST_POSITIVE)):
            by_stratum[name] = per[:, :, (bits & bit) != 0].sum(axis=2)
            counts[name] = by_stratum[name].sum(axis=1)
        by_visit["tests"] = visits[:, :, (bits & TEST_GOT) != 0].sum(axis=2)
        by_visit["positive"] = visits[:, :, (bits & TEST_POSITIVE) != 0].sum(axis=2)
        # visits up to the last with a result back before the close
        seen = np.flatnonzero(by_visit["tests"].any(axis=0))
        last = int(seen[-1]) + 1 if seen.size else 0
        for name in ("tests", "positive"):
            by_visit[name] = by_visit[name][:, :last]

    def _outcome(self) -> Enrolment:
        fast = self._outcome_unscreened()
        if fast is not None:
            return fast
        ops = self.ops
        close = self.close_time
        counts = {}
        R, K = self.R, ops.n_strata
        by_stratum: dict[str, np.ndarray] = {}

        def tally(key, rep, stratum):
            by_stratum[key] = by_stratum.get(key, 0) + np.bincount(
                rep.astype(np.int64) * K + stratum, minlength=R * K).reshape(R, K)

        self.screened_at: list[tuple[np.ndarray, np.ndarray]] = []   # (replicate, month) of each screened
        for batch in self.batches.values():
            st = batch.surv.stratum.astype(np.int64)
            cl = close[batch.rep]
            came = batch.arrival <= cl
            if ops.prescreen is not None:
                tally("approached", batch.rep[came], st[came])
                ok = came & batch.registered
                tally("registered", batch.rep[ok], st[ok])
                ok = came & batch.ready
                tally("assay_ready", batch.rep[ok], st[ok])
                came = batch.enters <= cl
            tally("screened", batch.rep[came], st[came])
            self.screened_at.append((batch.rep[came], batch.arrival[came] if batch.enters is None
                                     else batch.enters[came]))
            ok = batch.first_result <= cl
            tally("tested", batch.rep[ok], st[ok])
        for key in ("approached", "registered", "assay_ready", "screened", "tested"):
            if key in ("approached", "registered", "assay_ready") and ops.prescreen is None:
                continue
            if key == "tested" and not ops.screening:
                by_stratum.pop("tested", None)
                continue
            if key not in by_stratum:
                by_stratum[key] = np.zeros((R, K), dtype=np.int64)
            counts[key] = by_stratum[key].sum(axis=1)
        by_visit: dict[str, np.ndarray] = {}
        if ops.screening:
            self._count_tests(counts, by_stratum, by_visit)
            for key, (reps, times, strata, numbers) in self.log.items():
                if reps:
                    r = np.concatenate(reps)
                    ok = np.concatenate(times) <= close[r]
                    tally(key, r[ok], np.concatenate(strata)[ok].astype(np.int64))
                else:
                    by_stratum[key] = np.zeros((R, K), dtype=np.int64)
                counts[key] = by_stratum[key].sum(axis=1)
        rep, time, pb, pi, ptested, pmeta = self._pending()
        # Without screening the pending are every arrival, already in (replicate,
        # time) order, and all randomised: nothing to reorder or drop.
        in_order = not ops.screening and rep.size > 0 and bool(np.all(rep[1:] >= rep[:-1]))
        if not in_order:
            o = _order_by_rep_time(rep, time, not ops.screening)
            rep, time, pb, pi, ptested, pmeta = rep[o], time[o], pb[o], pi[o], ptested[o], pmeta[o]
        first = np.searchsorted(rep, np.arange(self.R))
        rank = np.arange(rep.size) - first[rep]
        keep = (time <= close[rep]) & (rank < ops.enrollment)
        if not keep.all():
            rep, time, pb, pi, ptested, pmeta = rep[keep], time[keep], pb[keep], pi[keep], ptested[keep], pmeta[keep]
        only = next(iter(self.batches.values())) if len(self.batches) == 1 else None
        whole = (only is not None and self.record is None and rep.size == len(only.surv)
                 and bool(np.all(pb == pb[0])) and np.array_equal(pi, np.arange(rep.size)))
        # Gather the randomised patients' histories from their batches, in
        # (replicate, randomisation time) order, one copy per field (none when
        # they are one whole batch in its order, as without screening).
        entered = np.empty(rep.size)
        fields = Survivors.__dataclass_fields__
        ref = next(iter(self.batches.values())).surv if self.batches else None
        cols = {k: np.empty(rep.size, dtype=getattr(ref, k).dtype) if ref is not None else np.empty(0)
                for k in fields}
        if whole:
            entered = only.arrival
            cols = {k: getattr(only.surv, k) for k in fields}
        for b in ([] if whole else np.unique(pb)):
            sel = np.flatnonzero(pb == b)
            batch = self.batches[int(b)]
            src = pi[sel]
            entered[sel] = batch.arrival[src]
            for k in fields:
                cols[k][sel] = getattr(batch.surv, k)[src]
        patients = Survivors(**cols) if ref is not None else draw_survivors(self.pop, np.zeros((0, N_UNIFORMS)))
        counts["randomized"] = np.bincount(rep, minlength=self.R)
        tally("randomized", rep, patients.stratum.astype(np.int64))
        out = Enrolment(close, counts, self.horizon_hit, rep, time, entered, ptested, patients)
        out.screened_at = self.screened_at
        out.metastatic = pmeta
        if ops.imaging is not None:
            out.imaging_lead = np.empty(rep.size)
            for b in np.unique(pb):
                sel = np.flatnonzero(pb == b)
                out.imaging_lead[sel] = self.batches[int(b)].imaging_lead[pi[sel]]
        if self.record is not None:
            out.record = {**self.record, "batches": self.batches, "randomized": (pb, pi)}
        out.by_stratum = by_stratum
        out.by_visit = by_visit
        return out

    def _outcome_unscreened(self) -> Enrolment | None:
        """:meth:`_outcome` without screening, in fewer steps (the same
        Enrolment, array for array): the chunk's patients are one batch of
        every arrival, pended once in (replicate, time) order, exactly
        ``enrollment`` per replicate, none after its close. Then the screened
        are the randomised, in the batch's order, and nothing needs reordering,
        ranking or dropping; the batch's arrays are passed on, not copied (its
        arrival times are both ``randomized_at`` and ``entered_at``). None when
        the chunk is not so (checked): :meth:`_outcome`'s general steps."""
        ops = self.ops
        if (ops.screening or ops.prescreen is not None or ops.imaging is not None or self.record is not None
                or len(self.batches) != 1 or len(self.p_rep) != 1):
            return None
        batch = next(iter(self.batches.values()))
        rep, time, pb, pi = self.p_rep[0], self.p_time[0], self.p_batch[0], self.p_index[0]
        R, K, n = self.R, ops.n_strata, ops.enrollment
        close = self.close_time
        if (rep is not batch.rep or time is not batch.arrival or batch.enters is not None or not rep.size
                or rep.size != R * n):
            return None
        order = np.arange(R)
        # replicate r's patients are rows r n to (r + 1) n - 1 (sorted, and each block starts and ends with r),
        # all randomised by its close, and they are the batch's rows in its order (rows 0 to size - 1, strictly
        # increasing: each row once)
        if not (np.array_equal(rep[::n], order) and np.array_equal(rep[n - 1::n], order)
                and bool(np.all(rep[1:] >= rep[:-1])) and bool(np.all(time.reshape(R, n) <= close[:, None]))
                and bool(np.all(pb == pb[0])) and pi[0] == 0 and pi[-1] == pi.size - 1
                and bool(np.all(pi[1:] > pi[:-1]))):
            return None
        stratum = batch.surv.stratum
        if K == 1:
            per = np.full((R, 1), n, dtype=np.intp)
        else:
            per = np.bincount(rep.astype(np.int64) * K + stratum.astype(np.int64), minlength=R * K).reshape(R, K)
        by_stratum = {"screened": per, "randomized": per.copy()}
        counts = {"screened": per.sum(axis=1), "randomized": np.full(R, n, dtype=np.intp)}
        self.screened_at = [(rep, time)]
        patients = Survivors(**{k: getattr(batch.surv, k) for k in Survivors.__dataclass_fields__})
        out = Enrolment(close, counts, self.horizon_hit, rep, time, time, self.p_tested[0], patients)
        out.screened_at = self.screened_at
        out.metastatic = self.p_meta[0]
        out.by_stratum = by_stratum
        out.by_visit = {}
        return out


def _runs(flags) -> list[tuple[int, int]]:
    """(start, stop) of each run of true ``flags``, in order."""
    out: list[tuple[int, int]] = []
    for k, flag in enumerate(flags):
        if flag and out and out[-1][1] == k:
            out[-1] = (out[-1][0], k + 1)
        elif flag:
            out.append((k, k + 1))
    return out


def _uniforms_for_sorted(rngs: list[np.random.Generator], rep: np.ndarray, width: int) -> np.ndarray:
    """Uniforms (len(rep), width) for rows of replicates ``rep`` (sorted): each
    replicate's rows draw from its own generator, so its numbers do not depend
    on what else is in the chunk."""
    u = np.empty((rep.size, width))
    if rep.size == 0:
        return u
    cuts = np.flatnonzero(rep[1:] != rep[:-1]) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [rep.size]))
    for a, z in zip(starts.tolist(), ends.tolist()):
        rngs[rep[a]].random((z - a, width), out=u[a:z])
    return u


def _order_by_rep_time(rep: np.ndarray, time: np.ndarray, chronological: bool = False) -> np.ndarray:
    """Permutation sorting by replicate, then time.

    ``chronological``: entries of each replicate are already in time order (as
    arrivals are): a stable radix sort by replicate suffices. Otherwise one
    argsort of a combined key (faster than lexsort; exact for finite times).
    """
    if rep.size == 0:
        return np.arange(0)
    if chronological:
        if bool(np.all(rep[1:] >= rep[:-1])):     # already in order (arrivals are drawn so)
            return np.arange(rep.size)
        return np.argsort(rep, kind="stable")
    lo = float(time.min())
    span = float(time.max()) - lo + 1.0
    key = rep.astype(np.float64) * span + (time - lo)
    return np.argsort(key)


def _sort_by_rep_time(rep, time, chronological=False):
    o = _order_by_rep_time(rep, time, chronological)
    return rep[o], time[o]
