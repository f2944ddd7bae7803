"""`trialsim run`, `trialsim validate` and `trialsim schema`: one scenario file,
simulated, checked, or described.

Exit status: 0 on success, 2 on a user's mistake (one clear message naming the
file, line and field), never a traceback for bad input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from trialsim.cli.common import (SCENARIO_HELP, out_path, Format, ProgressBar, check_run, check_simulation_options,
                                 fail, read_scenario, validation)
from trialsim.cluster import SchedulerError
from trialsim.scenario import json_schema


def run(
    scenario: Path = typer.Argument(..., help=SCENARIO_HELP),
    replicates: Optional[int] = typer.Option(None, "--replicates", "-n", help="Simulated trials (overrides the file)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed (overrides the file; drawn and recorded if absent)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Processes that simulate at once, this one included (default: one per usable core)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address: run the replicates "
                                            "there (needs the dask extra; the same results)."),
    format: Format = typer.Option(Format.table, "--format", "-f", help="table (readable) or json (one object)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", parser=out_path,
                                       help="Also write replicates.csv, replicates.parquet and results.json here."),
):
    """Simulate a scenario and print its operating characteristics."""
    sc = read_scenario(scenario)
    check_simulation_options(replicates, seed, workers, out)
    # deferred: the engine imports simpy and scipy (0.4 s); validate, schema and --help never need them
    from trialsim.engine import simulate
    # deferred: the results module imports numpy, which validate, schema and --help never need
    from trialsim.results import format_summary, summary_json

    check_run(scenario, sc, replicates)
    try:
        with ProgressBar(f"simulating {sc.name}") as tick:
            result = simulate(sc, replicates=replicates, seed=seed, workers=workers, progress=tick,
                              scheduler=scheduler)
    except SchedulerError as exc:
        fail(str(exc))
    summary = result.summary()     # once: its warnings, then the output (str(result), to_json() make their own)
    for warning in summary.get("warnings", []):
        typer.echo(f"warning: {warning}", err=True)
    if out is not None:
        try:
            result.write(out)
        except OSError as exc:
            fail(f"--out {out}: cannot write: {exc}")
    if format == Format.json:
        typer.echo(summary_json(summary))
    else:
        typer.echo(format_summary(summary))
        if out is not None:
            typer.echo(f"\n  wrote {out / 'replicates.csv'}, {out / 'replicates.parquet'} and {out / 'results.json'}")


def validate(scenario: Path = typer.Argument(..., help=SCENARIO_HELP)):
    """Check a scenario file; exit 2 with the field and line of each problem."""
    # (trialsim.cli.main runs `trialsim validate FILE` without typer, printing the same validation())
    warnings, line = validation(scenario)
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(line)


def schema():
    """Print the JSON Schema of scenario files (for editors)."""
    typer.echo(json.dumps(json_schema(), indent=2))
