"""Unit tier for what the commands share (trialsim/cli/common.py): a mistake is
one line on stderr starting with `error: ` and exit status 2; the simulation
options are checked with the messages every command gives."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tests.conftest import CTDNA, write
from trialsim.cli import app
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


# --------------------------------------------------------------------------
# --out names the file system cannot hold


LONG_PATH = "/" + "/".join(["d" * 200] * 25)


@pytest.mark.parametrize("args", [
    ["run", "@scenario", "-n", "2", "-w", "1"],
    ["sweep", "@scenario", "-n", "2", "-w", "1", "--vary", "arms.treatment.hazard_ratio=0.7,0.8"],
    ["size", "@scenario", "-n", "20", "-w", "1"],
    ["report", "@scenario", "-n", "20", "-w", "1"],
    ["init", "--template", "conventional"],
])
@pytest.mark.parametrize("out, needle", [
    ("x" * 300, "a name in the path is 300 bytes long; file and folder names may have at most 255 bytes"),
    ("x" * 233, "is 233 bytes long; an output name may have at most 232 bytes"),
    (LONG_PATH, "paths may have at most"),
    ("a\x00b", "a file name cannot contain a NUL byte"),
])
def test_unit_every_out_refuses_a_name_too_long_before_running(tmp_path, monkeypatch, args, out, needle):
    """One message naming --out, exit 2, nothing written, whatever the command."""
    scenario = write(tmp_path, CTDNA)
    monkeypatch.chdir(tmp_path)
    args = [str(scenario) if a == "@scenario" else a for a in args]
    res = runner.invoke(app, [*args, "--out", out])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --out ") and needle in lines[0], res.stderr
    assert "Traceback" not in res.output and len(lines[0]) < 700
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.yaml"]


def test_unit_an_out_name_of_232_bytes_is_written(tmp_path, monkeypatch):
    """The longest name allowed leaves room for the temporary written beside it."""
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["init", "--template", "conventional", "--out", "x" * 227 + ".yaml"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / ("x" * 227 + ".yaml")).is_file()


def test_unit_check_out_folder_refuses_a_long_name_and_a_file(tmp_path):
    res = _run(check_simulation_options, None, None, None, tmp_path / ("x" * 300))
    assert res.exit_code == 2 and "error: --out " in res.stderr and "255 bytes" in res.stderr
    taken = tmp_path / "taken"
    taken.write_text("x")
    res = _run(check_simulation_options, None, None, None, taken)
    assert res.exit_code == 2 and "exists and is not a folder" in res.stderr
