"""Unit tier for what the commands share (trialsim/cli/common.py): a mistake is
one line on stderr starting with `error: ` and exit status 2; the simulation
options are checked with the messages every command gives."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tests.conftest import CTDNA, write
from trialsim.cli.common import (
    Format,
    ProgressBar,
    check_simulation_options,
    fail,
    read_scenario,
)

runner = CliRunner()


def _run(fn, *args):
    """Call ``fn(*args)`` as a one-command typer app would, capturing output and exit status."""
    app = typer.Typer()

    @app.command()
    def main():
        fn(*args)

    return runner.invoke(app, [])


def test_unit_fail_is_one_line_on_stderr_with_status_2():
    res = _run(fail, "--thing is wrong")
    assert res.exit_code == 2
    assert res.stderr == "error: --thing is wrong\n" and res.stdout == ""


def test_unit_read_scenario_gives_the_scenario_or_the_one_message(tmp_path):
    assert read_scenario(write(tmp_path, CTDNA)).trial.enrollment > 0
    res = _run(read_scenario, tmp_path / "missing.yaml")
    assert res.exit_code == 2 and res.stderr.startswith("error: ") and "no such file" in res.stderr
    assert "Traceback" not in res.output


@pytest.mark.parametrize("args,message", [
    ((0, None, None, None), "--replicates must be at least 1, got 0"),
    ((None, -4, None, None), "--seed must be a non-negative integer, got -4"),
    ((None, None, 0, None), "--workers must be at least 1, got 0"),
])
def test_unit_simulation_options_are_checked_with_one_message(args, message):
    res = _run(check_simulation_options, *args)
    assert res.exit_code == 2 and res.stderr == f"error: {message}\n"


def test_unit_an_out_that_is_a_file_is_refused(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    res = _run(check_simulation_options, None, None, None, taken)
    assert res.exit_code == 2 and res.stderr == f"error: --out {taken}: exists and is not a folder\n"
    assert _run(check_simulation_options, 5, 0, 1, tmp_path / "new").exit_code == 0
    assert _run(check_simulation_options, None, None, None, Path(tmp_path)).exit_code == 0


def test_unit_format_names_and_a_silent_progress_bar_off_a_terminal(capsys):
    assert [f.value for f in Format] == ["table", "json"]
    with ProgressBar("simulating") as tick:
        tick(1, 10)
        tick(10, 10)
    assert capsys.readouterr() == ("", "")
