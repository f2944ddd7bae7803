"""The ``trialsim`` command (typer).

Exit status: 0 on success, 2 on a user's mistake (one clear message naming the
file, line and field), never a traceback for bad input.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Design simulator for trials that eradicate minimal residual disease.")


class Format(str, Enum):
    table = "table"
    json = "json"


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _load(path: Path):
    from trialsim.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path)
    except ScenarioError as exc:
        _fail(str(exc))


@app.command()
def run(
    scenario: Path = typer.Argument(..., help="Scenario YAML file."),
    replicates: Optional[int] = typer.Option(None, "--replicates", "-n", help="Simulated trials (overrides the file)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed (overrides the file; drawn and recorded if absent)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Worker processes (default: all cores)."),
    format: Format = typer.Option(Format.table, "--format", "-f", help="table (readable) or json (one object)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write replicates.csv and results.json here."),
):
    """Simulate a scenario and print its operating characteristics."""
    sc = _load(scenario)
    if replicates is not None and replicates < 1:
        _fail(f"--replicates must be at least 1, got {replicates}")
    if seed is not None and seed < 0:
        _fail(f"--seed must be a non-negative integer, got {seed}")
    if workers is not None and workers < 1:
        _fail(f"--workers must be at least 1, got {workers}")
    if out is not None and out.exists() and not out.is_dir():
        _fail(f"--out {out}: exists and is not a folder")
    from trialsim.engine import simulate

    with _progress(f"simulating {sc.name}") as tick:
        result = simulate(sc, replicates=replicates, seed=seed, workers=workers, progress=tick)
    if out is not None:
        try:
            result.write(out)
        except OSError as exc:
            _fail(f"--out {out}: cannot write: {exc}")
    if format == Format.json:
        typer.echo(result.to_json())
    else:
        typer.echo(str(result))
        if out is not None:
            typer.echo(f"\n  wrote {out / 'replicates.csv'} and {out / 'results.json'}")


@app.command()
def validate(scenario: Path = typer.Argument(..., help="Scenario YAML file.")):
    """Check a scenario file; exit 2 with the field and line of each problem."""
    sc = _load(scenario)
    parts = [f"{len(sc.population.strata)} strat{'um' if len(sc.population.strata) == 1 else 'a'}"]
    parts.append(f"mrd {sc.mrd.model}" if sc.mrd else "no MRD model")
    parts.append(f"screening with {sc.screening.test.name}" if sc.screening else "no screening (conventional trial)")
    parts.append(f"enrollment {sc.trial.enrollment}")
    typer.echo(f"{scenario}: valid: {sc.name} ({', '.join(parts)})")


@app.command()
def schema():
    """Print the JSON Schema of scenario files (for editors)."""
    from trialsim.scenario import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


class _progress:
    """A progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None

    def __enter__(self):
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), transient=True, console=Console(stderr=True))
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=None)
        return self.tick

    def tick(self, done: int, total: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


# Commands of other modules register themselves here, one line each.
from trialsim.curves_cli import register as _register_curves  # noqa: E402

_register_curves(app)
from trialsim.sweep_cli import register as _register_sweep  # noqa: E402

_register_sweep(app)
from trialsim.report_cli import register as _register_report  # noqa: E402

_register_report(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
