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
# `-`: the scenario from standard input, for every command that takes one


def _app_invoke(*args, input=None, env=None, catch_exceptions=True):
    from trialsim.cli import app

    return runner.invoke(app, [str(a) for a in args], input=input, env=env, catch_exceptions=catch_exceptions)


def _one_error(res, *fragments):
    assert res.exit_code == 2, res.output
    err = res.stderr.strip()
    assert err.startswith("error: ") and "Traceback" not in res.output, err
    for f in fragments:
        assert f in err, (f, err)
    return err


def test_unit_stdin_validate_run_and_json_match_the_file(tmp_path):
    from tests.conftest import CONVENTIONAL

    path = write(tmp_path, CONVENTIONAL)
    res = _app_invoke("validate", "-", input=CONVENTIONAL)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("<stdin>: valid: conventional log-rank design")
    piped = _app_invoke("run", "-", "-n", 8, "--seed", 3, "-w", 1, "--format", "json", input=CONVENTIONAL)
    filed = _app_invoke("run", path, "-n", 8, "--seed", 3, "-w", 1, "--format", "json")
    assert piped.exit_code == 0 and filed.exit_code == 0, piped.output + filed.output
    import json

    a, b = json.loads(piped.stdout), json.loads(filed.stdout)
    assert a["power"] == b["power"] and a["events"] == b["events"]
    assert a["provenance"]["scenario"] == b["provenance"]["scenario"]


def test_unit_stdin_mistakes_name_stdin_line_and_field():
    bad = CTDNA.replace("sensitivity: 0.88", "sensitivity: 1.88")
    err = _one_error(_app_invoke("run", "-", "-n", 5, input=bad), "<stdin>:", "screening.test.sensitivity")
    line = next(i for i, text in enumerate(bad.splitlines(), 1) if "1.88" in text)
    assert f"<stdin>:{line}:" in err
    _one_error(_app_invoke("validate", "-", input="name: [unclosed\n"), "<stdin>:", "not valid YAML")
    _one_error(_app_invoke("validate", "-", input=b"name: caf\xe9\n"), "<stdin>:", "not UTF-8")


@pytest.mark.parametrize("command", [["validate"], ["run", "-n", "5"], ["sweep", "--vary", "trial.enrollment=50,60"],
                                     ["size"], ["report", "-n", "5"], ["curves", "plot", "--out", "x.png"]])
def test_unit_stdin_empty_is_one_error_in_every_command(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = command[:1] + ["-"] + command[1:] if command[0] != "curves" else ["curves", "plot", "-", *command[2:]]
    for empty in ("", "  \n\n"):
        _one_error(_app_invoke(*args, input=empty), "<stdin>: standard input is empty", "cat scenario.yaml |")
    assert list(tmp_path.iterdir()) == []           # nothing written


def test_unit_stdin_is_bounded_like_a_file():
    big = CTDNA + "#" + "x" * 5000 + "\n"
    err = _one_error(_app_invoke("validate", "-", input=big, env={"TRIALSIM_MAX_SCENARIO_BYTES": "4000"}),
                     "<stdin>:", "limit of 4,000 bytes", "TRIALSIM_MAX_SCENARIO_BYTES")
    assert "\n" not in err
    ok = _app_invoke("validate", "-", input=big, env={"TRIALSIM_MAX_SCENARIO_BYTES": str(len(big.encode()))})
    assert ok.exit_code == 0, ok.output


def test_unit_stdin_terminal_is_refused_without_waiting(monkeypatch, capsys):
    import io
    import sys

    class Terminal(io.BytesIO):
        def isatty(self):
            return True

        def read(self, *args):
            raise AssertionError("a terminal must not be read")

    for stdin, message in ((io.TextIOWrapper(Terminal()), "<stdin>: standard input is a terminal, not a scenario"),
                           (None, "<stdin>: there is no standard input to read")):
        monkeypatch.setattr(sys, "stdin", stdin)
        with pytest.raises(typer.Exit) as exc:
            read_scenario(Path("-"))
        assert exc.value.exit_code == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {message}") and err.count("\n") == 1, err


def test_unit_stdin_sweep_size_and_curves_plot(tmp_path, monkeypatch):
    from tests.conftest import SMALL

    monkeypatch.chdir(tmp_path)
    res = _app_invoke("sweep", "-", "--vary", "arms.treatment.hazard_ratio=0.6,0.8", "-n", 5, "--seed", 1, "-w", 1,
                      "--out", "sw", input=SMALL)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "sw" / "sweep.parquet").exists()
    res = _app_invoke("curves", "plot", "-", "--out", "strata.svg", input=CTDNA)
    assert res.exit_code == 0, res.output
    assert b"<svg" in (tmp_path / "strata.svg").read_bytes()[:400]


def test_unit_stdin_report_reads_the_text_once_and_names_it(tmp_path, monkeypatch):
    """The report command's wiring for -: the text read once, named <stdin>, the
    default folder reports/stdin/, the reproduce command with -."""
    import trialsim.report as report_pkg

    seen = {}

    class Stop(Exception):
        pass

    def fake_make_report(path, **kw):
        seen.update(path=str(path), **kw)
        raise Stop

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(report_pkg, "make_report", fake_make_report)
    with pytest.raises(Stop):
        _app_invoke("report", "-", "-n", 4, "--seed", 2, input=CTDNA, catch_exceptions=False)
    assert seen["path"] == "<stdin>" and seen["scenario_text"] == CTDNA
    assert seen["out"] == Path("reports") / "stdin"
    assert seen["command"].startswith("trialsim report - --replicates 4 --seed 2")
    err = _one_error(_app_invoke("report", "-", input=CTDNA.replace("consent: 0.8", "consent: 8")),
                     "<stdin>:", "screening.consent")
    assert "\n" not in err


@pytest.mark.slow
def test_unit_stdin_report_defaults_to_reports_stdin(tmp_path, monkeypatch):
    from tests.conftest import SMALL

    monkeypatch.chdir(tmp_path)
    res = _app_invoke("report", "-", "-n", 4, "--seed", 2, "-w", 1, "--format", "html",
                      "--sensitivity-replicates", 2, input=SMALL)
    assert res.exit_code == 0, res.output
    html = (tmp_path / "reports" / "stdin" / "report.html").read_text()
    assert "&lt;stdin&gt;" in html
    assert "trialsim report - --replicates 4 --seed 2" in html


def test_unit_stdin_pipe_into_the_installed_command(tmp_path):
    """`cat scenario.yaml | trialsim run -` as a user types it, in a real process and pipe."""
    import subprocess
    import sys

    from tests.conftest import ROOT, SMALL

    path = write(tmp_path, SMALL)
    exe = ROOT / ".venv" / "bin" / "trialsim"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "trialsim.cli"]
    cat = subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE)
    proc = subprocess.run(cmd + ["run", "-", "-n", "6", "--seed", "5", "-w", "1", "--out", str(tmp_path / "o")],
                          stdin=cat.stdout, capture_output=True, text=True, timeout=120)
    cat.stdout.close()
    cat.wait()
    assert proc.returncode == 0, proc.stderr
    assert "6 simulated trials, seed 5" in proc.stdout
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["replicates.csv", "replicates.parquet",
                                                                  "results.json"]


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
