"""Sample sizes by simulation: ``trialsim size`` and ``trialsim.find_sample_size``.

The smallest enrolment (or number of events) whose simulated power reaches
a target, for one design or at every point of a grid (checkpointed like a
sweep). The answer comes with everything a protocol needs: its power and
Monte Carlo error, the value one below it, a 95% range, the analytic start,
and the operating characteristics of a run at the answer (screening size,
duration, assay cost). The search itself lives in ``search.py``.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import yaml

from trialsim.atomic import replace_folder
from trialsim.montecarlo import binomial_mcse
from trialsim.limits import as_count
from trialsim.results import _fmt, provenance
from trialsim.scenario import Scenario
from trialsim.sweeps.checkpoints import (
    Checkpoint,
    check_out,
    json_safe,
    make_manifest,
    resume_seed,
)
from trialsim.sweeps.designs import resolve_run
from trialsim.sweeps.errors import SweepError, TargetNotReached
from trialsim.sweeps.grid import build_grid
from trialsim.sweeps.paths import Vary, parse_varies
from trialsim.sweeps.plots import is_numeric, plot_curve
from trialsim.sweeps.runners import make_runner
from trialsim.sweeps.search import SizeSearch, confidence
from trialsim.sweeps.tables import (
    DIST_FIELDS,
    flatten_row,
    fmt_number,
    fmt_value,
    SIZE_COLUMNS,
    mean_of,
    stable_frame,
    text_table,
    write_table,
    write_text,
)

SOLVABLE = ("trial.enrollment", "trial.analysis.events")


@dataclass
class SimulatedSampleSize:
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
        return json_safe(out)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def __str__(self) -> str:
        return format_size(self.to_dict(), self.scenario.name)


def format_size(d: dict, name: str = "") -> str:
    """A readable summary of a search's JSON object (``SimulatedSampleSize.to_dict()``)."""
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


def _check_target(target_power) -> None:
    if isinstance(target_power, bool) or not isinstance(target_power, (int, float, np.integer, np.floating)):
        raise TypeError(f"target_power must be a number in (0, 1), got {target_power!r}")
    if not 0 < target_power < 1:
        raise ValueError(f"target_power must lie in (0, 1), got {target_power}")


def _resolve_solve(solve: str, scenario: Scenario, varies: Sequence[Vary]) -> str:
    if not isinstance(solve, str):
        raise TypeError(f"solve must be the dotted path to solve, one of {', '.join(SOLVABLE)}; got {solve!r:.60}")
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
                on_chunk=None, prov_extra: dict | None = None, budget: int | None = None) -> SimulatedSampleSize:
    search = SizeSearch(scenario, solve=solve, target=target_power, replicates=replicates, seed=seed,
                        runner=runner, on_chunk=on_chunk, budget=budget)
    found = search.run()
    value, n = found["value"], replicates
    d = search.designs[value]
    summary = json_safe(d.result(n).summary())
    p = search.p(value, n)
    below = None
    if found["below"] is not None:
        pb = search.p(found["below"], n)
        below = {"value": found["below"], "power": pb, "power_mcse": binomial_mcse(pb, n)}
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
    prov = {"kind": "size", **provenance(base, seed, replicates), "solve": solve, "target_power": target_power,
            **(prov_extra or {})}
    return SimulatedSampleSize(
        solve=solve, target_power=target_power, value=int(value), power=p, power_mcse=binomial_mcse(p, n),
        replicates=n, seed=seed, below=below, confidence=confidence(search, value, n),
        analytic=json_safe(found["analytic"]), summary=summary, scenario=d.scenario,
        trace=json_safe(search.trace), simulated=sum(dd.n for dd in search.designs.values()),
        provenance=json_safe(prov), notes=notes)


def find_sample_size(scenario: Scenario, *, target_power: float = 0.8, solve: str = "trial.enrollment",
                     replicates: int | None = None, seed: int | None = None, workers: int | None = None,
                     scheduler=None, progress=None, budget: int | None = None) -> SimulatedSampleSize:
    """The smallest enrolment (or number of events) whose simulated power reaches ``target_power``.

    solve: ``trial.enrollment`` (the analysis' events target, if any, scales
    with it at the scenario's ratio) or ``trial.analysis.events`` (enrolment is
    raised at the scenario's ratio when events would exceed it). replicates:
    simulated trials at the answer (default: the scenario's). The search
    starts from Schoenfeld's events (at the effective hazard ratio of a pilot
    run for MRD trials), runs a coarse stage at 1/16 of the replicates, then
    locates the crossing at full replicates, all with common random numbers.
    budget: simulated trials the whole search may use (default: 50 times
    ``replicates``); it also stops after 100 evaluations or 2e9
    survivor-visits. Returns a :class:`SimulatedSampleSize`; raises
    :class:`TargetNotReached` when no value reaches the target within the
    limits and the budget, saying the highest power reached.
    docs/sweeps.md details the method.
    """
    _check_target(target_power)
    replicates, seed = resolve_run(scenario, replicates, seed)
    budget = None if budget is None else as_count(budget, "budget")
    workers = None if workers is None else as_count(workers, "workers")
    solve = _resolve_solve(solve, scenario, [])
    runner = make_runner(workers, scheduler)
    done = [0]

    def chunk(k):
        done[0] += k
        if progress:
            progress(0, 1, done[0], None)

    try:
        res = _search_one(scenario, target_power=target_power, solve=solve, replicates=replicates, seed=seed,
                          runner=runner, on_chunk=chunk, budget=budget)
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
        keep = ("solve", "target_power", "value", "power", "power_mcse", "enrollment", "events_target",
                "screened", "randomized", "events", "analysis_month", "assays", "assay_cost",
                "simulated_trials", "error")
        flat = []
        for r in self.rows():
            row = {"point": r["point"], **{p: r[p] for p in self.paths}}
            row.update(flatten_row({"replicates": self.provenance["replicates"],
                                    **{k: r.get(k) for k in keep if k in r or k in DIST_FIELDS}}))
            c = r.get("confidence") or {}
            row["value_low"], row["value_high"] = c.get("low"), c.get("high")
            flat.append(row)
        df = stable_frame(flat, ["point", *self.paths], SIZE_COLUMNS)    # the same columns whatever the scenario
        df.attrs["provenance"] = self.provenance
        return df

    def to_json(self) -> str:
        return json.dumps({"provenance": self.provenance, "rows": self.rows()}, indent=2, allow_nan=False)

    def __str__(self) -> str:
        prov = self.provenance
        lines = [f"{prov['scenario'].get('name', 'scenario')}: smallest {prov['solve']} for power "
                 f"{prov['target_power']:g}, per design",
                 f"  {prov['replicates']:,} simulated trials at each answer, seed {prov['seed']}", ""]
        cols = [(p, lambda r, p=p: fmt_value(r[p])) for p in self.paths]
        cols += [(prov["solve"], lambda r: "not reached" if "error" in r else f"{r['value']:,}"),
                 ("95% range", lambda r: "-" if "error" in r or r["confidence"]["low"] is None
                  else f"{r['confidence']['low']:,}-{r['confidence']['high']:,}"),
                 ("power ± MCSE", lambda r: "-" if "error" in r else f"{r['power']:.3f} ± {r['power_mcse']:.3f}"),
                 ("screened", lambda r: "-" if "error" in r else fmt_number(mean_of(r["screened"]))),
                 ("randomised", lambda r: "-" if "error" in r else fmt_number(mean_of(r["randomized"]), 1)),
                 ("analysis month", lambda r: "-" if "error" in r else fmt_number(mean_of(r["analysis_month"]), 1))]
        rows = self.rows()
        lines += text_table(cols, rows)
        for r in rows:
            if "error" in r:
                lines.append(f"  point {r['point']}: {r['error']}")
        return "\n".join(lines)

    def write(self, out) -> list[Path]:
        """size.csv, size.parquet, size.json (and answer.yaml for one search, or
        size_curve.png and .svg for a grid), written together and atomically."""
        out = Path(out)
        with replace_folder(out) as stage:     # all of them at once; the checkpoint stays
            written = self._write(stage)
        return [out / p.name for p in written]

    def _write(self, out: Path) -> list[Path]:
        written = write_table(self.to_frame(), out, "size")
        if not self.varies:     # one search: its object, and the design at the answer as a scenario file
            size = self.points[0]["size"]
            written.append(write_text(out / "size.json", json.dumps(size, indent=2, allow_nan=False) + "\n"))
            if "scenario_at_answer" in size:
                written.append(write_text(out / "answer.yaml", yaml.safe_dump(size["scenario_at_answer"],
                                                                               sort_keys=False)))
            return written
        written.append(write_text(out / "size.json", self.to_json() + "\n"))
        if 1 <= len(self.varies) <= 2 and is_numeric([p["values"][self.paths[0]] for p in self.points]):
            groups: dict = {}
            for r in self.rows():
                if "error" not in r:
                    groups.setdefault(r[self.paths[1]] if len(self.paths) > 1 else None, []).append(r)
            prov = self.provenance

            def y(r):
                c = r["confidence"]
                return (r["value"], c["low"], c["high"])

            written += plot_curve(groups, x_path=self.paths[0],
                                  group_path=self.paths[1] if len(self.paths) > 1 else None,
                                  y=y, ylabel=f"smallest {prov['solve']}", title=prov["scenario"].get("name", ""),
                                  sub=f"power {prov['target_power']:g}, {prov['replicates']:,} trials at each answer; "
                                      "bands: the 95% range", stem=out / "size_curve", unit_range=False)
        return written


def find_sample_sizes(scenario: Scenario, vary, *, target_power: float = 0.8, solve: str = "trial.enrollment",
                      replicates: int | None = None, seed: int | None = None, workers: int | None = None,
                      scheduler=None, out=None, resume: bool = False, progress=None,
                      budget: int | None = None) -> SizeGridResult:
    """:func:`find_sample_size` at every point of a grid (``vary`` as in
    :func:`sweep`); checkpointed in ``out`` like a sweep. ``budget``: of each search."""
    _check_target(target_power)
    budget = None if budget is None else as_count(budget, "budget")
    out = check_out(out, resume)
    if resume:
        seed = resume_seed(out, seed, scenario)
    replicates, seed = resolve_run(scenario, replicates, seed)
    workers = None if workers is None else as_count(workers, "workers")
    varies = parse_varies(vary, scenario)
    solve = _resolve_solve(solve, scenario, varies)
    grid = build_grid(scenario, varies)
    prov = {"kind": "size", **provenance(scenario.with_simulation(replicates=replicates, seed=seed), seed,
                                         replicates),
            "solve": solve, "target_power": target_power,
            "vary": {v.path: json_safe(list(v.values)) for v in varies}, "grid_points": len(grid)}
    ckpt = None
    if out is not None:
        ckpt = Checkpoint(out, make_manifest("size", scenario, varies, seed, replicates, solve=solve,
                                             target_power=target_power), resume=resume)
    done = {}
    if ckpt is not None:
        done = {i: d for i, d in ckpt.done.items() if 0 <= i < len(grid) and d.get("values") == json_safe(grid[i].values)}
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
                runner = make_runner(workers, scheduler)
            try:
                size = _search_one(g.scenario, target_power=target_power, solve=solve, replicates=replicates,
                                   seed=seed, runner=runner, on_chunk=chunk, budget=budget).to_dict()
            except TargetNotReached as exc:
                size = {"error": str(exc)}
            data = json_safe({"point": g.index, "values": g.values, "size": size})
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
    return SizeGridResult(varies=varies, points=[done[i] for i in range(len(grid))], provenance=json_safe(prov))
