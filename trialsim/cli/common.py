"""What every ``trialsim`` command shares: how a mistake is reported, how a
scenario file is read, the checks of the simulation options, the progress bar
and the output format.

One copy of each, so that every command reports a user's mistake the same way:
one line on stderr starting with ``error: ``, exit status 2, never a traceback.
The command modules import from here; this module imports no command module.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import NoReturn, Optional

import typer

from trialsim.loading import printable
from trialsim.scenario import Scenario, ScenarioError, load_scenario


class Format(str, Enum):
    """How a command prints its results."""

    table = "table"
    json = "json"


def fail(message: str) -> NoReturn:
    """Report a user's mistake in one line and exit with status 2. Control
    characters (from a scenario file's text, say) are printed escaped."""
    typer.echo(f"error: {printable(message, newlines=True)}", err=True)
    raise typer.Exit(code=2)


def read_scenario(path: Path) -> Scenario:
    """The scenario in ``path``; a bad file exits 2 with the one message naming file, line and field."""
    try:
        return load_scenario(path)
    except ScenarioError as exc:
        fail(str(exc))


def check_seed(seed: Optional[int]) -> None:
    if seed is not None and seed < 0:
        fail(f"--seed must be a non-negative integer, got {seed}")


def check_workers(workers: Optional[int]) -> None:
    if workers is not None and workers < 1:
        fail(f"--workers must be at least 1, got {workers}")


def check_out_folder(out: Optional[Path]) -> None:
    """Refuse an --out that is a file before anything runs, so nothing is overwritten."""
    if out is not None and out.exists() and not out.is_dir():
        fail(f"--out {out}: exists and is not a folder")


def check_simulation_options(replicates: Optional[int], seed: Optional[int], workers: Optional[int],
                             out: Optional[Path]) -> None:
    """The options of every simulating command, checked before the (long) simulation starts."""
    if replicates is not None and replicates < 1:
        fail(f"--replicates must be at least 1, got {replicates}")
    check_seed(seed)
    check_workers(workers)
    check_out_folder(out)


class ProgressBar:
    """A progress bar on stderr when it is a terminal; silent otherwise.

    ``with ProgressBar(label) as tick:`` gives the ``progress(done, total)``
    callback the simulating functions take.
    """

    def __init__(self, label: str):
        self.label = printable(label)
        self.bar = None

    def __enter__(self):
        if sys.stderr.isatty():
            # deferred: rich.progress is drawn only on a terminal; pipes and tests never need it
            from rich.console import Console
            from rich.markup import escape
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), transient=True, console=Console(stderr=True))
            self.bar.start()
            self.task = self.bar.add_task(escape(self.label), total=None)
        return self.tick

    def tick(self, done: int, total: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False
