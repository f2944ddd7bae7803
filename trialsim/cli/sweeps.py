"""`trialsim sweep` and `trialsim size`: grids of designs and the sample-size search.

Exit status: 0 on success, 2 on a user's mistake (a bad --vary, a checkpoint
that does not match, a target no design reaches) with one message, 130 when
interrupted (Ctrl-C), with the command that resumes.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import List, Optional

import typer

from trialsim.cli.common import (SCENARIO_HELP, out_path, Format, check_simulation_options, fail, printable,
                                 read_scenario)

VARY_HELP = ("PATH=VALUES: a dotted path into the scenario (arms.treatment.eradication, "
             "population.strata.0.mrd.prevalence, screening.test.sensitivity, trial.enrollment) and a list "
             "(0.2,0.3,0.4) or a range START:STOP:COUNT (0.2:0.6:5, both ends included). Repeat for a grid.")


def _check_options(replicates, seed, workers, out, resume) -> None:
    check_simulation_options(replicates, seed, workers, out)
    if resume and out is None:
        fail("--resume needs --out DIR, the folder of the interrupted run")


class GridProgress:
    """Two bars on stderr when it is a terminal (grid points, simulated trials); silent otherwise."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None
        self.state = (0, 0, 0, None)

    def __enter__(self):
        if sys.stderr.isatty():
            # deferred: rich.progress is drawn only on a terminal; pipes and tests never need it
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), transient=True, console=Console(stderr=True))
            self.bar.start()
            self.points = self.bar.add_task(f"{self.label}", total=None)
            self.reps = self.bar.add_task("simulated trials", total=None)
        return self.tick

    def tick(self, points_done: int, points: int, reps_done: int, reps: int | None) -> None:
        self.state = (points_done, points, reps_done, reps)
        if self.bar is not None:
            self.bar.update(self.points, completed=points_done, total=points)
            self.bar.update(self.reps, completed=reps_done, total=reps)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


def _interrupted(out: Optional[Path], progress: GridProgress, what: str) -> None:
    done, total = progress.state[0], progress.state[1]
    if out is None:
        msg = f"interrupted: nothing was saved (give --out DIR to keep each finished {what} and resume)"
    else:
        argv = sys.argv[1:] if Path(sys.argv[0]).name == "trialsim" else None
        if argv is not None:
            cmd = shlex.join(["trialsim", *argv] + ([] if "--resume" in argv else ["--resume"]))
        else:
            cmd = "the same command with --resume"
        msg = f"interrupted: {done} of {total} {what}s saved in {out}; resume with:\n  {cmd}"
    typer.echo(msg, err=True)
    raise typer.Exit(code=130)


def sweep(
    scenario: Path = typer.Argument(..., help=SCENARIO_HELP),
    vary: Optional[List[str]] = typer.Option(None, "--vary", "-v", help=VARY_HELP),
    replicates: Optional[int] = typer.Option(None, "--replicates", "-n", help="Simulated trials per design."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed, the same for every design (common random numbers)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Worker processes (default: one per usable core)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (needs the dask extra)."),
    format: Format = typer.Option(Format.table, "--format", "-f", help="table (readable) or json (a list of rows)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", parser=out_path,
                                       help="Checkpoint each point here; write CSV, Parquet, JSON and figures."),
    resume: bool = typer.Option(False, "--resume", help="Skip the points already finished in --out."),
):
    """Simulate a grid of designs: power and operating characteristics at each point."""
    sc = read_scenario(scenario)
    _check_options(replicates, seed, workers, out, resume)
    if not vary:
        fail("give at least one --vary PATH=VALUES, e.g. --vary arms.treatment.eradication=0.2:0.6:5")
    # deferred: trialsim.sweeps imports numpy (0.1 s) and runs the engine; --help and validate never need them
    from trialsim.sweeps import SweepError, run_sweep

    progress = GridProgress("grid points")
    try:
        with progress as tick:
            res = run_sweep(sc, list(vary), replicates=replicates, seed=seed, workers=workers,
                            scheduler=scheduler, out=out, resume=resume, progress=tick)
    except SweepError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        _interrupted(out, progress, "grid point")
    if out is not None:
        try:
            res.write(out)
        except OSError as exc:
            fail(f"--out {out}: cannot write: {exc}")
    if format == Format.json:
        from trialsim.results import (
            _json_default,  # deferred: results imports numpy; only --format json needs it
        )

        typer.echo(json.dumps(res.rows(), indent=2, allow_nan=False, default=_json_default))
    else:
        typer.echo(str(res))
        if out is not None:
            typer.echo(f"\n  wrote {out}/sweep.csv, sweep.parquet, sweep.json"
                       + (", power_curve.png and .svg" if 1 <= len(res.varies) <= 2 else ""))


def size(
    scenario: Path = typer.Argument(..., help=SCENARIO_HELP),
    target_power: float = typer.Option(0.8, "--target-power", "-p", help="Power to reach."),
    solve: str = typer.Option("trial.enrollment", "--solve",
                              help="trial.enrollment (events scale with it) or trial.analysis.events."),
    vary: Optional[List[str]] = typer.Option(None, "--vary", "-v", help="A size per grid point. " + VARY_HELP),
    replicates: Optional[int] = typer.Option(None, "--replicates", "-n",
                                             help="Simulated trials at the answer (default: the scenario's)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed, the same for every value tried."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Worker processes (default: one per usable core)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (needs the dask extra)."),
    format: Format = typer.Option(Format.table, "--format", "-f", help="table (readable) or json."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", parser=out_path,
                                       help="Checkpoint and write the results here."),
    resume: bool = typer.Option(False, "--resume", help="Skip the grid points already finished in --out."),
    budget: Optional[int] = typer.Option(None, "--budget", help="Simulated trials one search may use "
                                         "(default: 50 times --replicates); beyond it the search stops."),
):
    """Find by simulation the smallest enrolment (or events) reaching a target power."""
    sc = read_scenario(scenario)
    _check_options(replicates, seed, workers, out, resume)
    if not 0 < target_power < 1:
        fail(f"--target-power must lie strictly between 0 and 1, got {target_power}")
    if budget is not None and budget < 1:
        fail(f"--budget must be at least 1, got {budget}")
    # deferred: trialsim.sweeps imports numpy (0.1 s) and runs the engine; --help and validate never need them
    from trialsim.sweeps import SweepError, find_sample_sizes, format_size

    progress = GridProgress("grid points" if vary else "search")
    try:
        with progress as tick:
            res = find_sample_sizes(sc, list(vary or []), target_power=target_power, solve=solve,
                                    replicates=replicates, seed=seed, workers=workers, scheduler=scheduler,
                                    out=out, resume=resume, progress=tick, budget=budget)
    except SweepError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        if not vary:
            typer.echo("interrupted: a single search is not checkpointed mid-way; run it again", err=True)
            raise typer.Exit(code=130)
        _interrupted(out, progress, "grid point")
    single = not vary
    if single and "error" in res.points[0]["size"]:
        fail(res.points[0]["size"]["error"])
    if out is not None:
        try:
            res.write(out)
        except OSError as exc:
            fail(f"--out {out}: cannot write: {exc}")
    if format == Format.json:
        typer.echo(json.dumps(res.points[0]["size"] if single else res.rows(), indent=2, allow_nan=False))
    else:
        typer.echo(format_size(res.points[0]["size"], printable(sc.name)) if single else str(res))
        if out is not None:
            figure = 1 <= len(res.varies) <= 2 and (out / "size_curve.png").exists()
            typer.echo(f"\n  wrote {out}/size.json, size.csv, size.parquet"
                       + (", answer.yaml" if single else "") + (", size_curve.png and .svg" if figure else ""))

