"""Sweeps: every design of a grid simulated, one row of operating characteristics each.

``trialsim.sweep(scenario, vary={path: values}, *, replicates, seed,
workers)`` returns a tidy table (pandas DataFrame), one row per grid point;
``run_sweep`` returns the richer :class:`SweepResult` (the JSON rows, the
files, the power curve). docs/sweeps.md describes the columns and outputs.

Every design is cut into chunks of replicates run by a runner (worker
processes or Dask); replicate i's result does not depend on the chunk it was
in, so a design's row equals ``trialsim.simulate(design, seed=...)``
exactly, for any number of workers, any chunking, locally or on a cluster.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from trialsim.atomic import replace_folder
from trialsim.limits import as_count
from trialsim.results import _json_default, provenance
from trialsim.scenario import Scenario
from trialsim.sweeps.checkpoints import Checkpoint, check_out, json_safe, make_manifest, resume_seed
from trialsim.sweeps.designs import Design, resolve_run, run_designs
from trialsim.sweeps.errors import SweepError
from trialsim.sweeps.grid import build_grid, check_grid_size
from trialsim.sweeps.paths import Vary, parse_varies
from trialsim.sweeps.plots import plot_power_curve
from trialsim.sweeps.runners import make_runner
from trialsim.sweeps.tables import (fmt_number, fmt_value, flatten_row, mean_of, stable_frame, text_table, write_table,
                                    write_text)


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
        flat = [flatten_row(r) for r in self.rows()]
        df = stable_frame(flat, ["point", *self.paths])     # the same columns and types for every scenario
        df.attrs["provenance"] = self.provenance
        return df

    def to_json(self) -> str:
        return json.dumps({"provenance": self.provenance, "rows": self.rows()}, indent=2, allow_nan=False,
                          default=_json_default)

    def __str__(self) -> str:
        return format_sweep(self)

    def write(self, out: str | os.PathLike) -> list[Path]:
        """sweep.csv, sweep.parquet, sweep.json and (for one or two varied paths)
        power_curve.png and power_curve.svg, written together and atomically
        (:func:`trialsim.atomic.replace_folder`): all of them or none."""
        out = Path(out)
        df = self.to_frame()
        with replace_folder(out) as stage:     # all of them at once; the checkpoint stays
            written = write_table(df, stage, "sweep")
            written.append(write_text(stage / "sweep.json", self.to_json() + "\n"))
            if 1 <= len(self.varies) <= 2:
                written += plot_power_curve(self, stage / "power_curve")
        return [out / p.name for p in written]


def run_sweep(scenario: Scenario, vary=None, *, replicates: int | None = None, seed: int | None = None,
              workers: int | None = None, scheduler=None, out: str | os.PathLike | None = None,
              resume: bool = False,
              progress: Callable[[int, int, int, int | None], None] | None = None) -> SweepResult:
    """Simulate every design of a grid; return a :class:`SweepResult`.

    Arguments as :func:`sweep`. ``out``: checkpoint folder; each finished grid
    point is written there as it completes, and ``resume=True`` skips the
    points already there (the checkpoint must be of the same sweep).
    """
    out = check_out(out, resume)
    if resume:
        seed = resume_seed(out, seed, scenario)
    replicates, seed = resolve_run(scenario, replicates, seed)
    workers = None if workers is None else as_count(workers, "workers")
    varies = parse_varies(vary, scenario)
    if not varies:
        raise ValueError("vary is empty: give at least one path and its values, "
                         "e.g. vary={'arms.treatment.eradication': [0.2, 0.3]}")
    grid = build_grid(scenario, varies)
    check_grid_size(grid, replicates)
    base = scenario.with_simulation(replicates=replicates, seed=seed)
    prov = provenance(base, seed, replicates)
    prov = {"kind": "sweep", **prov, "vary": {v.path: json_safe(list(v.values)) for v in varies},
            "grid_points": len(grid)}
    ckpt = None
    if out is not None:
        ckpt = Checkpoint(out, make_manifest("sweep", scenario, varies, seed, replicates), resume=resume)
    done: dict[int, dict] = {}
    if ckpt is not None:
        for i, data in ckpt.done.items():
            if 0 <= i < len(grid) and data.get("values") == json_safe(grid[i].values):
                done[i] = data
    total_reps = replicates * len(grid)
    state = {"points": len(done), "reps": replicates * len(done)}

    def report():
        if progress:
            progress(state["points"], len(grid), state["reps"], total_reps)

    report()
    todo = [g for g in grid if g.index not in done]
    if todo:
        runner = make_runner(workers, scheduler)
        designs = {g.index: Design(g.index, g.scenario, seed) for g in todo}

        def finished(d: Design):
            g = grid[d.key]
            data = json_safe({"point": g.index, "values": g.values, "summary": d.result().summary()})
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
            run_designs(runner, [(designs[g.index], replicates) for g in todo], on_done=finished, on_chunk=chunk)
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


def format_sweep(res: SweepResult) -> str:
    """A readable table of a sweep: one line per grid point."""
    prov = res.provenance
    rows = res.rows()
    lines = [f"{prov['scenario'].get('name', 'scenario')}",
             f"  {len(rows)} designs x {prov['replicates']:,} simulated trials, seed {prov['seed']} "
             "(the same for every design: common random numbers)", ""]
    screening = rows and rows[0].get("tested") is not None
    cols = [(p, lambda r, p=p: fmt_value(r[p])) for p in res.paths]
    cols.append(("power ± MCSE", lambda r: f"{r['power']:.3f} ± {r['power_mcse']:.3f}"))
    if screening:
        cols.append(("screened", lambda r: fmt_number(mean_of(r["screened"]))))
    cols.append(("randomised", lambda r: fmt_number(mean_of(r["randomized"]), 1)))
    cols.append(("events", lambda r: fmt_number(mean_of(r["events"]), 1)))
    cols.append(("analysis month", lambda r: fmt_number(mean_of(r["analysis_month"]), 1)))
    if rows and rows[0].get("assay_cost") is not None:
        cols.append(("assay cost", lambda r: fmt_number(mean_of(r["assay_cost"]))))
    lines += text_table(cols, rows)
    lines.append("")
    lines.append("  Counts and months are means over simulated trials; MCSE: Monte Carlo standard error.")
    return "\n".join(lines)
