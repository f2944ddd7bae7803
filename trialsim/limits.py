"""How large a run may be: the estimate of a run's size and the limits it must respect.

A scenario can be valid and still ask for a run that would exhaust memory or
never end (an enrolment of a billion, a visit every hour for fifty years, a
trillion simulated trials). Such runs are refused before anything is
simulated, with the estimate and the limit, by every command and library
function that simulates (``simulate``, ``trialsim run``, ``sweep``, ``size``,
``report``). docs/results.md lists the limits.

The estimate is an upper bound computed from the scenario alone:

* survivors per simulated trial: without screening, the enrolment; with
  screening, the survivors the accrual brings until screening must stop
  (``max_months``, else the 600-month safety horizon), at most
  ``max_screened``. One trial's survivors are held in memory at once (about
  300 bytes each).
* screening visits per survivor: the visit count, else the visits that fit
  before screening must stop (for a schedule, its visits in that many months
  from entry, or from diagnosis over the times since diagnosis survivors can
  have); and the calendar windows of the screening's bookkeeping (one per
  month, or one per visit when visits are more frequent, by the shortest
  interval of a schedule).
* work: simulated trials x survivors x visits, summed over the designs of a
  sweep, the unit of a run's time (a few million a second per core).
"""

from __future__ import annotations

import math
import operator
from typing import Any, NamedTuple

from trialsim.scenario import MAX_REPLICATES, MAX_SITES, Scenario, ScenarioError

__all__ = ["MAX_REPLICATES", "MAX_SITES", "MAX_SURVIVORS_PER_TRIAL", "MAX_VISITS_PER_SURVIVOR", "MAX_WINDOWS",
           "MAX_WORK", "MAX_GRID_POINTS", "MAX_VARY_VALUES", "MAX_TIMELINE_MONTHS", "MAX_RESULT_BYTES",
           "SizeEstimate", "SizeLimitError", "estimate_size", "check_size", "check_work", "check_grid_points",
           "as_count", "as_workers", "accrued", "SAFETY_HORIZON", "MAX_WORKERS"]

SAFETY_HORIZON = 600.0                  # months: the engine's (trialsim.des) end of screening without a stop
MAX_SURVIVORS_PER_TRIAL = 10_000_000    # memory: one trial's survivors at once, ~300 bytes each
MAX_VISITS_PER_SURVIVOR = 1_000         # screening visits a survivor can have
MAX_WINDOWS = 100_000                   # calendar windows of the screening's bookkeeping
MAX_WORK = 1e11                         # simulated trials x survivors x visits, per run (a day of one core; a cluster's run)
MAX_GRID_POINTS = 10_000                # designs in one sweep
MAX_VARY_VALUES = 10_000                # values of one --vary
MAX_TIMELINE_MONTHS = 1_200             # months of a result's timeline
MAX_RESULT_BYTES = 4e9                  # the per-replicate table (and timeline) held in memory
MAX_WORKERS = 512                       # worker processes on one machine (each holds a Python interpreter)

TABLE_BYTES_PER_REPLICATE = 300         # ~25 columns of 8 bytes, with headroom
TIMELINE_BYTES_PER_MONTH = 24           # three int64 counts per replicate per month


class SizeLimitError(ScenarioError):
    """A run too large to simulate: the message gives the estimate, the limit
    and how to proceed. A :class:`~trialsim.scenario.ScenarioError` (so a
    ``ValueError``): the CLI exits 2 with it."""

    def __init__(self, message: str, path: str = "", source: str | None = None):
        super().__init__([(path, None, message)], source)

    def __reduce__(self):
        return (type(self), (self.problems[0][2], self.problems[0][0], self.source))


class SizeEstimate(NamedTuple):
    """Upper bounds of one design's run (see the module's docstring). Immutable; a named tuple,
    which unlike a frozen dataclass needs no code generated at import (validate's start-up)."""

    replicates: int
    survivors_per_trial: float
    visits_per_survivor: float
    windows: float
    timeline_months: int = 0

    @property
    def work(self) -> float:
        return float(self.replicates) * self.survivors_per_trial * max(self.visits_per_survivor, 1.0)

    @property
    def result_bytes(self) -> float:
        return float(self.replicates) * (TABLE_BYTES_PER_REPLICATE + TIMELINE_BYTES_PER_MONTH * self.timeline_months)


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if x < 1e15 else f"{x:.3g}"


def as_count(value: Any, name: str, *, minimum: int = 1) -> int:
    """``value`` as a Python int (numpy integers accepted; booleans, floats and
    anything else refused with a TypeError naming ``name``), at least ``minimum``."""
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise TypeError(f"{name} must be a whole number (an int), got {value!r} ({type(value).__name__})")
    value = operator.index(value)
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def as_workers(value: Any, name: str = "workers") -> int:
    """A count of local worker processes: a whole number from 1 to
    :data:`MAX_WORKERS` (more would start that many interpreters)."""
    workers = as_count(value, name)
    if workers > MAX_WORKERS:
        # deferred: only this message needs it, and its module loads signal and threading (start-up of validate)
        from trialsim.processes import usable_cores

        raise ValueError(f"{name} {_fmt(workers)}: at most {MAX_WORKERS} worker processes on one machine "
                         f"(this one may use {usable_cores()} cores); use fewer, or a Dask --scheduler")
    return workers


def estimate_size(scenario: Scenario, replicates: int | None = None, *, timeline_months: int = 0) -> SizeEstimate:
    """Upper bounds of a run of ``scenario`` with ``replicates`` simulated trials
    (default: the scenario's): survivors per trial, visits per survivor, the
    screening's calendar windows; ``.work`` and ``.result_bytes`` derive from them."""
    replicates = scenario.simulation.replicates if replicates is None else int(replicates)
    scr = scenario.screening
    if scr is None:
        return SizeEstimate(replicates, float(scenario.trial.enrollment), 1.0, 1.0, int(timeline_months))
    horizon = scr.max_months if scr.max_months is not None else SAFETY_HORIZON
    n = accrued(scenario, horizon)
    if scr.max_screened is not None:
        n = min(n, float(scr.max_screened))
    every = scr.visits.shortest_interval
    visits = math.floor(horizon / every) + 1 if math.isfinite(horizon / every) else math.inf
    if scr.visits.schedule is not None or scr.visits.anchor == "diagnosis":
        visits = min(visits, _schedule_visits(scenario, horizon))
    if scr.visits.count is not None:
        visits = min(visits, scr.visits.count)
    window = every / max(1, math.ceil(every))
    windows = horizon / window + 1
    return SizeEstimate(replicates, max(n, 1.0), float(visits), float(windows), int(timeline_months))


def _schedule_visits(scenario: Scenario, horizon: float) -> float:
    """Visits of the schedule a survivor can have in ``horizon`` months of
    screening: the grid's times up to ``horizon`` (anchor entry), or up to the
    largest time since diagnosis at entry plus ``horizon`` (anchor diagnosis;
    a bound, as a survivor has only the visits after her entry)."""
    scr = scenario.screening
    upto = horizon
    if scr.visits.anchor == "diagnosis":
        highest = 0.0
        for st in scenario.population.strata:
            d = st.time_since_diagnosis
            top = d.fixed if d.fixed is not None else (d.uniform[1] if d.uniform is not None else math.inf)
            highest = max(highest, top)
        upto = highest + horizon
        if not math.isfinite(upto):
            return math.inf
    return float(len(scr.visits.grid(upto, limit=MAX_VISITS_PER_SURVIVOR + 1)))


def accrued(scenario: Scenario, months: float) -> float:
    """Expected survivors (or patients) accrued by ``months``: the accrual
    schedule's cumulative rate (piecewise linear; this module does not load
    the engine, so that ``trialsim validate`` starts fast)."""
    starts, rates = scenario.accrual.schedule()
    total = 0.0
    for i, (start, rate) in enumerate(zip(starts, rates)):
        end = starts[i + 1] if i + 1 < len(starts) else math.inf
        if months <= start:
            break
        total += rate * (min(months, end) - start)
    return total


def check_size(scenario: Scenario, replicates: int | None = None, *, timeline_months: int = 0,
               replicates_name: str = "replicates", what: str = "run") -> SizeEstimate:
    """Refuse a run whose estimate exceeds a limit (:class:`SizeLimitError`
    naming the estimate, the limit and how to proceed); return the estimate.
    ``replicates_name``: how the caller names the replicates (``--replicates``
    on the command line)."""
    est = estimate_size(scenario, replicates, timeline_months=timeline_months)
    if est.replicates > MAX_REPLICATES:
        raise SizeLimitError(f"{replicates_name} {_fmt(est.replicates)}: at most {MAX_REPLICATES:,} simulated "
                             f"trials per {what} (each keeps a row in memory); use fewer")
    if timeline_months > MAX_TIMELINE_MONTHS:
        raise SizeLimitError(f"timeline of {timeline_months:,} months: at most {MAX_TIMELINE_MONTHS:,}")
    scr = scenario.screening
    if est.survivors_per_trial > MAX_SURVIVORS_PER_TRIAL:
        if scr is None:
            raise SizeLimitError(f"an enrollment of {_fmt(est.survivors_per_trial)} patients per simulated trial "
                                 f"exceeds the limit of {MAX_SURVIVORS_PER_TRIAL:,} (one trial is held in memory "
                                 "at once); use a smaller enrollment", "trial.enrollment")
        horizon = "max_months" if scr.max_months is not None else f"the {SAFETY_HORIZON:.0f}-month safety horizon"
        raise SizeLimitError(f"up to {_fmt(est.survivors_per_trial)} survivors may enter screening in one simulated "
                             f"trial (the accrual until {horizon}), over the limit of {MAX_SURVIVORS_PER_TRIAL:,} "
                             "(one trial is held in memory at once); lower the accrual rate, or bound screening "
                             "with screening.max_screened or screening.max_months", "accrual")
    if scr is not None and est.visits_per_survivor > MAX_VISITS_PER_SURVIVOR:
        raise SizeLimitError((f"a visit every {scr.visits.every:g} months " if scr.visits.schedule is None
                              else "the visit schedule ")
                             + ("" if scr.visits.count is not None else "without a count ")
                             + f"gives up to {_fmt(est.visits_per_survivor)} visits per survivor, over the limit "
                             f"of {MAX_VISITS_PER_SURVIVOR:,}; give screening.visits.count, a longer interval, "
                             "or a shorter screening.max_months", "screening.visits")
    if scr is not None and est.windows > MAX_WINDOWS:
        raise SizeLimitError(f"screening for {'max_months' if scr.max_months is not None else 'up to'} "
                             f"{(scr.max_months or SAFETY_HORIZON):g} months with a visit every "
                             f"{scr.visits.shortest_interval:g} months needs {_fmt(est.windows)} calendar steps, over the limit "
                             f"of {MAX_WINDOWS:,}; visit less often or screen for fewer months", "screening")
    check_work(est.work, what=what, hint="fewer replicates" if est.replicates > 1 else "a smaller design")
    if est.result_bytes > MAX_RESULT_BYTES:
        raise SizeLimitError(f"{_fmt(est.replicates)} simulated trials with a {timeline_months}-month timeline "
                             f"need about {est.result_bytes / 1e9:.1f} GB of results, over the limit of "
                             f"{MAX_RESULT_BYTES / 1e9:.0f} GB; use fewer replicates")
    return est


def check_work(work: float, *, what: str = "run", hint: str = "fewer replicates") -> None:
    """Refuse a run (or a sweep: the work summed over its designs) over :data:`MAX_WORK`."""
    if work > MAX_WORK:
        raise SizeLimitError(f"this {what} would simulate up to {_fmt(work)} survivor-visits (simulated trials x "
                             f"survivors per trial x visits), over the limit of {_fmt(MAX_WORK)} (a day of "
                             f"computing); use {hint}")


def check_grid_points(points: int, what: str = "grid") -> None:
    """Refuse a grid of more than :data:`MAX_GRID_POINTS` designs."""
    if points > MAX_GRID_POINTS:
        raise SizeLimitError(f"the {what} has {_fmt(points)} designs, over the limit of {MAX_GRID_POINTS:,} per "
                             "sweep; give fewer values to --vary (a coarser grid)")
