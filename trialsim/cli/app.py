"""The ``trialsim`` command: the typer app and the list of its commands.

This is the one place that knows every command group; the groups know only
trialsim.cli.common, so the arrows run app -> command modules -> common and
nothing imports this module back except the package's ``__init__``. Each
command's examples (shown at the end of its ``--help``) are written here,
beside its registration.
"""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from typing import Optional

import typer

from trialsim.cli import curves, init, report, run, sweeps
from trialsim.cli.common import examples
from trialsim.processes import quiet_stdout
from trialsim.scenario import FORMAT_VERSION
from trialsim.version import __version__

app = typer.Typer(no_args_is_help=True,
                  help="Design simulator for trials that eradicate minimal residual disease.")


def version_text() -> str:
    """What ``trialsim --version`` prints: enough to reproduce a run elsewhere."""
    try:
        numpy = metadata.version("numpy")
    except metadata.PackageNotFoundError:   # pragma: no cover - numpy is a dependency
        numpy = "not installed"
    return (f"trialsim {__version__}\n"
            f"Python {platform.python_version()}\n"
            f"numpy {numpy}\n"
            f"scenario format {FORMAT_VERSION}")


def _version(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit()


@app.callback()
def _main(version: Optional[bool] = typer.Option(
        None, "--version", callback=_version, is_eager=True,
        help="Print trialsim's version, Python's, numpy's and the scenario format version, and exit.")) -> None:
    """Design simulator for trials that eradicate minimal residual disease."""


# The order here is the order of `trialsim --help` (commands first, then the curves group).
app.command("run", epilog=examples(
    "trialsim run scenarios/ctdna_er_positive.yaml -n 2000 --seed 7",
    "cat scenarios/conventional_logrank.yaml | trialsim run - --format json --out reports/conventional"))(run.run)
app.command("validate", epilog=examples(
    "trialsim validate scenarios/dtc_bone_marrow.yaml",
    "sed s/0.7/0.75/ scenarios/conventional_logrank.yaml | trialsim validate -"))(run.validate)
app.command("schema", epilog=examples(
    "trialsim schema > scenario.schema.json"))(run.schema)
app.add_typer(curves.curves_app, name="curves")
app.command("sweep", epilog=examples(
    "trialsim sweep scenarios/ctdna_er_positive.yaml --vary arms.treatment.eradication=0:0.6:7 --out sweeps/ctdna",
    "cat scenarios/conventional_logrank.yaml | trialsim sweep - --vary arms.treatment.hazard_ratio=0.6,0.7,0.8 "
    "--vary trial.enrollment=400,500 -n 500"))(sweeps.sweep)
app.command("size", epilog=examples(
    "trialsim size scenarios/conventional_logrank.yaml --target-power 0.8 --solve trial.enrollment",
    "cat scenarios/ctdna_er_positive.yaml | trialsim size - --target-power 0.9 --solve trial.analysis.events"))(
    sweeps.size)
app.command("init", epilog=init.INIT_EXAMPLES)(init.init)
app.command("report", epilog=examples(
    "trialsim report scenarios/ctdna_er_positive.yaml",
    "cat scenarios/ctdna_er_positive.yaml | trialsim report - --sweep sweeps/ctdna --out reports/ctdna"))(report.report)


def main() -> None:
    """The typer app (trialsim.cli.main, the console script, calls it), with a closed
    stdout (``trialsim ... | head -1``) ending the command quietly."""
    try:
        app()
    except BrokenPipeError:
        quiet_stdout()
        sys.exit(1)
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            quiet_stdout()     # Python's own final flush would print an error otherwise
