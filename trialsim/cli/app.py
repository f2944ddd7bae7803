"""The ``trialsim`` command: the typer app and the list of its commands.

This is the one place that knows every command group; the groups know only
trialsim.cli.common, so the arrows run app -> command modules -> common and
nothing imports this module back except the package's ``__init__``.
"""

from __future__ import annotations

import sys

import typer

from trialsim.cli import curves, report, run, sweeps
from trialsim.cli.common import refuse_empty_out
from trialsim.processes import quiet_stdout

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Design simulator for trials that eradicate minimal residual disease.")

# The order here is the order of `trialsim --help` (commands first, then the curves group).
app.command("run")(run.run)
app.command("validate")(run.validate)
app.command("schema")(run.schema)
app.add_typer(curves.curves_app, name="curves")
app.command("sweep")(sweeps.sweep)
app.command("size")(sweeps.size)
app.command("report")(report.report)


def main() -> None:
    """The console script: the app, with ``--out ""`` refused and a closed
    stdout (``trialsim ... | head -1``) ending the command quietly."""
    refuse_empty_out(sys.argv[1:])
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
