"""`trialsim report SCENARIO`: the protocol report (HTML and PDF).

Exit status: 0 on success, 2 on a user's mistake (a bad option, a scenario or
sweep file that cannot be read, an --out that cannot be written) with one message.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from trialsim.cli.common import (SCENARIO_HELP, out_path, ProgressBar, check_out_folder, check_seed, check_workers,
                                 fail, is_stdin, printable, read_stdin_text, scenario_source)
from trialsim.cluster import SchedulerError
from trialsim.scenario import MAX_REPLICATES, ScenarioError


class ReportFormat(str, Enum):
    """Which files `trialsim report` writes."""

    html = "html"
    pdf = "pdf"
    both = "both"


_FORMATS = {"html": ("html",), "pdf": ("pdf",), "both": ("html", "pdf")}

#: the default report folder of a scenario read from standard input: reports/stdin/
STDIN_STEM = "stdin"


def report(
    scenario: Path = typer.Argument(..., help=SCENARIO_HELP),
    sweep: Optional[Path] = typer.Option(None, "--sweep", help="Power-curve results of `trialsim sweep` "
                                         "(its --out folder, or a .json/.csv/.parquet file) instead of the default sweep."),
    replicates: Optional[int] = typer.Option(None, "--replicates", "-n", help="Simulated trials per design point "
                                             "(default: the scenario's)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed (default: the scenario's; drawn and recorded if absent)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Worker processes (default: one per usable core; "
                                          "results do not depend on it)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address: every simulation "
                                            "of the report runs there (needs the dask extra; the same results)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", parser=out_path,
                                       help="Folder for report.html and report.pdf "
                                       "(default: reports/<scenario file stem>/; reports/stdin/ for -)."),
    fmt: ReportFormat = typer.Option(ReportFormat.both, "--format", "-f", case_sensitive=False,
                                     help="Which files to write: html (report.html), pdf (report.pdf) or both."),
    null_replicates: Optional[int] = typer.Option(None, "--null-replicates", help="Simulated trials of the design "
                                                  "with no effect, for the type I error (default: --replicates)."),
    sensitivity_replicates: Optional[int] = typer.Option(None, "--sensitivity-replicates", help="Simulated trials "
                                                         "per design of the sensitivity analysis (default: 200, at "
                                                         "most --replicates)."),
):
    """Write the simulation report of a scenario: report.html (self-contained) and report.pdf (A4).

    Results first: key results with the simulated type I error, the screening
    funnel, power curves and the size for 80% and 90% power, the sensitivity to
    uncertain inputs, timelines, Kaplan-Meier curves of a typical trial and the
    analytic cross-check; then the assumptions with their sources, and how to
    reproduce it all.
    """
    # deferred: the report brings in numpy, matplotlib and reportlab; --help and validate never need them
    from trialsim.report import ReportError, ScenarioFile, make_report, reproduce_command

    for name, n in (("--replicates", replicates), ("--null-replicates", null_replicates),
                    ("--sensitivity-replicates", sensitivity_replicates)):
        if n is not None and n < 2:
            fail(f"{name} must be at least 2 for a report, got {n}")
        if n is not None and n > MAX_REPLICATES:
            fail(f"{name} {n:,}: at most {MAX_REPLICATES:,} simulated trials per run; use fewer")
    formats = _FORMATS[fmt.value]
    check_seed(seed)
    check_workers(workers)
    if out is None:
        out = Path("reports") / (STDIN_STEM if is_stdin(scenario) else scenario.stem)
    check_out_folder(out)
    if sweep is not None and not sweep.exists():
        fail(f"--sweep {sweep}: no such file or folder")
    text = read_stdin_text() if is_stdin(scenario) else None
    source = scenario_source(scenario)      # <stdin> for -: the name the report and its messages give it
    try:
        sf = ScenarioFile.read(source, text=text) if text is not None else ScenarioFile.read(scenario)
        rep_n = replicates if replicates is not None else sf.scenario.simulation.replicates
        if seed is None and sf.scenario.simulation.seed is None:
            # deferred: the engine imports simpy and scipy (0.4 s); --help and validate never need them
            from trialsim.engine import draw_seed

            seed = draw_seed()          # drawn here so the command below names it
        use_seed = seed if seed is not None else sf.scenario.simulation.seed
        command = reproduce_command(scenario, replicates=rep_n, seed=use_seed, sweep=sweep, out=out,
                                    null_replicates=null_replicates, sensitivity_replicates=sensitivity_replicates,
                                    formats=formats)
        with ProgressBar(f"report of {sf.scenario.name}") as tick:
            rep = make_report(source if text is not None else scenario, out=out, sweep=sweep, replicates=rep_n,
                              seed=use_seed, workers=workers, progress=tick, command=command, formats=formats,
                              null_replicates=null_replicates, sensitivity_replicates=sensitivity_replicates,
                              scenario_text=text, scheduler=scheduler)
    except SchedulerError as exc:
        fail(str(exc))
    except ScenarioError as exc:
        if exc.source is None:              # a plan or size check: name the file when it names a field
            if not all(p for p, _, _ in exc.problems):
                fail("; ".join(m for _, _, m in exc.problems))
            exc.source = source
        fail(exc.render())
    except ReportError as exc:
        fail(str(exc))
    except UnicodeDecodeError as exc:
        fail(f"{source}: not UTF-8 text: {exc}")
    except OSError as exc:
        fail(f"--out {out}: cannot write: {exc}")
    s = rep.result.summary()
    typer.echo(f"{printable(sf.scenario.name)}: power {s['power']:.3f} ± {s['power_mcse']:.3f} "
               f"({s['replicates']:,} simulated trials, seed {s['seed']})")
    if rep.type1 is not None:
        typer.echo(f"  type I error {rep.type1['value']:.4f} ({rep.type1['replicates']:,} simulated trials "
                   "with no effect)")
    typer.echo("  wrote " + " and ".join(str(p) for p in (rep.html_path, rep.pdf_path) if p is not None))

