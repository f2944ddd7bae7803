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

from trialsim.limits import MAX_WORKERS
from trialsim.loading import STDIN_SOURCE, path_length_problem, printable, read_stream
from trialsim.scenario import MAX_REPLICATES, Scenario, ScenarioError, load_scenario


class Format(str, Enum):
    """How a command prints its results."""

    table = "table"
    json = "json"


def fail(message: str) -> NoReturn:
    """Report a user's mistake in one line and exit with status 2. Control
    characters (from a scenario file's text, say) are printed escaped."""
    # deferred: `trialsim validate FILE` runs without typer (trialsim.cli.main) until a mistake is reported
    import typer

    typer.echo(f"error: {printable(message, newlines=True)}", err=True)
    raise typer.Exit(code=2)


#: the help of every command's scenario argument
SCENARIO_HELP = "Scenario YAML file; - reads it from standard input."

#: the scenario argument that reads the scenario from standard input
STDIN = "-"


def is_stdin(path) -> bool:
    """Is this scenario argument ``-`` (standard input)?"""
    return str(path) == STDIN


def scenario_source(path) -> str:
    """How messages name a scenario argument: the path, or ``<stdin>`` for ``-``."""
    return STDIN_SOURCE if is_stdin(path) else str(path)


def read_stdin_text() -> str:
    """The scenario text piped into standard input (bounded like a file); no
    input, a terminal or an empty input exits 2 with one message."""
    try:
        return read_stream(sys.stdin)
    except ScenarioError as exc:
        fail(str(exc))


def read_scenario(path: Path) -> Scenario:
    """The scenario in ``path`` (``-``: read from standard input, named
    ``<stdin>`` in messages, relative paths inside it read from the current
    folder); a bad file exits 2 with the one message naming file, line and field."""
    try:
        if is_stdin(path):
            return load_scenario(STDIN_SOURCE, text=read_stdin_text())
        return load_scenario(path)
    except ScenarioError as exc:
        fail(str(exc))


def check_run(path: Path, sc: Scenario, replicates: Optional[int]) -> list[str]:
    """Refuse a run too large (trialsim.limits) or a plan that cannot work
    (trialsim.plan_checks) with one message and exit 2, before simulating;
    return the plan's warnings decidable from the scenario."""
    # deferred: the limits and plan checks import the engine's simpy model (0.4 s); schema and --help never need them
    from trialsim.limits import check_size
    from trialsim.plan_checks import check_plan

    try:
        check_size(sc, replicates, replicates_name="--replicates" if replicates is not None else "replicates")
        return check_plan(sc)
    except ScenarioError as exc:
        if all(p for p, _, _ in exc.problems):
            exc.source = scenario_source(path)
            fail(exc.render())
        fail("; ".join(m for _, _, m in exc.problems))     # an option's problem: no file to name


def validation(path: Path) -> tuple[list[str], str]:
    """What ``trialsim validate`` prints for the scenario ``path``: the plan's
    warnings (each on stderr after ``warning: ``) and the line saying the file
    is valid (stdout). A bad file exits 2 (:func:`fail`) with its one message."""
    sc = read_scenario(path)
    warnings = check_run(path, sc, None)
    parts = [f"{len(sc.population.strata)} strat{'um' if len(sc.population.strata) == 1 else 'a'}"]
    parts.append(f"mrd {sc.mrd.model}" if sc.mrd else "no MRD model")
    parts.append(f"screening with {sc.screening.test.name}" if sc.screening else "no screening (conventional trial)")
    parts.append(f"enrollment {sc.trial.enrollment}")
    return warnings, printable(f"{scenario_source(path)}: valid: {sc.name} ({', '.join(parts)})")


def check_seed(seed: Optional[int]) -> None:
    if seed is not None and seed < 0:
        fail(f"--seed must be a non-negative integer, got {seed}")


def check_workers(workers: Optional[int]) -> None:
    if workers is not None and workers < 1:
        fail(f"--workers must be at least 1, got {workers}")
    if workers is not None and workers > MAX_WORKERS:
        fail(f"--workers {workers:,}: at most {MAX_WORKERS} worker processes on one machine; use fewer, "
             "or a Dask --scheduler")


def out_path(value) -> Path:
    """The parser of every ``--out``: a path, refused when empty (a path option
    would read ``--out ""`` as the current folder and write into it)."""
    if isinstance(value, Path):
        return value
    if str(value).strip() == "":
        fail("--out is empty; give a folder (or file) name, e.g. --out reports/run1")
    _check_out_name(value)
    return Path(value)


def out_name_room() -> int:
    """Bytes an output's name must leave free for the temporary written beside it (``.NAME.trialsim-XXXXXXXX.tmp``)."""
    # deferred: trialsim.atomic (its patterns compiled at import) serves the commands that write, not validate
    from trialsim.atomic import MARK

    return len(f".{MARK}XXXXXXXX.tmp")


def _shown(path) -> str:
    text = str(path)
    return text if len(text) <= 400 else f"{text[:200]}...{text[-100:]} ({len(text):,} characters)"


def _check_out_name(out) -> None:
    """Refuse an --out the file system cannot hold (a name over 255 bytes, a
    path over PATH_MAX, a NUL byte) with one message, before anything runs."""
    if "\x00" in str(out):
        fail(f"--out {_shown(out)}: a file name cannot contain a NUL byte")
    too_long = path_length_problem(out, room=out_name_room())
    if too_long:
        fail(f"--out {_shown(out)}: {too_long}")


def check_out_folder(out: Optional[Path]) -> None:
    """Refuse an --out that is a file, or whose name is too long for the file
    system, before anything runs, so nothing is overwritten."""
    if out is None:
        return
    _check_out_name(out)
    try:
        is_file = out.exists() and not out.is_dir()
    except OSError as exc:     # e.g. a folder on the way that cannot be searched
        fail(f"--out {_shown(out)}: cannot be used: {exc.strerror or exc}")
    if is_file:
        fail(f"--out {_shown(out)}: exists and is not a folder")


def check_simulation_options(replicates: Optional[int], seed: Optional[int], workers: Optional[int],
                             out: Optional[Path]) -> None:
    """The options of every simulating command, checked before the (long) simulation starts."""
    if replicates is not None and replicates < 1:
        fail(f"--replicates must be at least 1, got {replicates}")
    if replicates is not None and replicates > MAX_REPLICATES:
        fail(f"--replicates {replicates:,}: at most {MAX_REPLICATES:,} simulated trials per run (each keeps a row "
             "in memory); use fewer")
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


def examples(*lines: str) -> str:
    """A command's help epilog: example command lines, one paragraph each."""
    return "[bold]Examples[/bold]\n\n" + "\n\n".join(f"  {line}" for line in lines)
