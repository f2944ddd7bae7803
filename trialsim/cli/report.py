"""`trialsim report SCENARIO`: the protocol report (HTML and PDF).

Exit status: 0 on success, 2 on a user's mistake (a bad option, a scenario or
sweep file that cannot be read, an --out that cannot be written) with one message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from trialsim.cli.common import ProgressBar, check_out_folder, check_seed, check_workers, fail, printable
from trialsim.scenario import MAX_REPLICATES, ScenarioError


def report(
    scenario: Path = typer.Argument(..., help="Scenario YAML file."),
    sweep: Optional[Path] = typer.Option(None, "--sweep", help="Power-curve results of `trialsim sweep` "
                                         "(its --out folder, or a .json/.csv/.parquet file) instead of the default sweep."),
    replicates: Optional[int] = typer.Option(None, "--replicates", "-n", help="Simulated trials per design point "
                                             "(default: the scenario's)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed (default: the scenario's; drawn and recorded if absent)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Worker processes (default: all cores; "
                                          "results do not depend on it)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for report.html and report.pdf "
                                       "(default: reports/<scenario file stem>/)."),
):
    """Write the simulation report of a scenario: report.html (self-contained) and report.pdf (A4).

    Sections: assumptions with their sources, the screening funnel, power curves
    and the size for 80% and 90% power, timelines, Kaplan-Meier curves of a typical
    trial, the analytic cross-check, and how to reproduce it all.
    """
    # deferred: the report brings in numpy, matplotlib and reportlab; --help and validate never need them
    from trialsim.report import ReportError, ScenarioFile, make_report, reproduce_command

    if replicates is not None and replicates < 2:
        fail(f"--replicates must be at least 2 for a report, got {replicates}")
    if replicates is not None and replicates > MAX_REPLICATES:
        fail(f"--replicates {replicates:,}: at most {MAX_REPLICATES:,} simulated trials per run; use fewer")
    check_seed(seed)
    check_workers(workers)
    if out is None:
        out = Path("reports") / scenario.stem
    check_out_folder(out)
    if sweep is not None and not sweep.exists():
        fail(f"--sweep {sweep}: no such file or folder")
    try:
        sf = ScenarioFile.read(scenario)
        rep_n = replicates if replicates is not None else sf.scenario.simulation.replicates
        if seed is None and sf.scenario.simulation.seed is None:
            # deferred: the engine imports simpy and scipy (0.4 s); --help and validate never need them
            from trialsim.engine import draw_seed

            seed = draw_seed()          # drawn here so the command below names it
        use_seed = seed if seed is not None else sf.scenario.simulation.seed
        command = reproduce_command(scenario, replicates=rep_n, seed=use_seed, sweep=sweep, out=out)
        with ProgressBar(f"report of {sf.scenario.name}") as tick:
            rep = make_report(scenario, out=out, sweep=sweep, replicates=rep_n, seed=use_seed, workers=workers,
                              progress=tick, command=command)
    except ScenarioError as exc:
        if exc.source is None:              # a plan or size check: name the file when it names a field
            if not all(p for p, _, _ in exc.problems):
                fail("; ".join(m for _, _, m in exc.problems))
            exc.source = str(scenario)
        fail(exc.render())
    except ReportError as exc:
        fail(str(exc))
    except UnicodeDecodeError as exc:
        fail(f"{scenario}: not UTF-8 text: {exc}")
    except OSError as exc:
        fail(f"--out {out}: cannot write: {exc}")
    s = rep.result.summary()
    typer.echo(f"{printable(sf.scenario.name)}: power {s['power']:.3f} ± {s['power_mcse']:.3f} "
               f"({s['replicates']:,} simulated trials, seed {s['seed']})")
    typer.echo(f"  wrote {rep.html_path} and {rep.pdf_path}")

