"""Unit tier: trialsim/cli/report.py, `trialsim report` on the command line: files, exit codes, messages."""

from __future__ import annotations

import hashlib
import math
import sys

import pytest
from typer.testing import CliRunner

from tests.conftest import CONVENTIONAL, write
from tests.support.report_html import _sweep_json, parse, value
from trialsim.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_unit_cli_report_writes_both_files_to_the_default_folder(tmp_path, monkeypatch):
    path = write(tmp_path, CONVENTIONAL, "small_design.yaml")
    monkeypatch.chdir(tmp_path)
    res = invoke("report", path, "-n", 30, "--seed", 5, "-w", 1)
    assert res.exit_code == 0, res.output
    out = tmp_path / "reports" / "small_design"
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.pdf"]
    assert "power" in res.stdout and "report.pdf" in res.stdout
    html_text = (out / "report.html").read_text()
    # The command that reproduces the report is in it, with the seed and replicates.
    assert f"trialsim report {path} --replicates 30 --seed 5 --out reports/small_design" in html_text
    # The assumptions table shows the file; a note says what the command line changed.
    assert "This report was run with replicates 30 (the scenario&#39;s is 1,000) and seed 5, given" in html_text


def test_unit_cli_report_with_a_sweep_file_uses_it(tmp_path):
    path = write(tmp_path, CONVENTIONAL)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    rows = [{"trial.enrollment": n, "power": p, "power_mcse": math.sqrt(p * (1 - p) / 400), "screened": n,
             "randomized": n, "events": n / 2} for n, p in ((300, 0.55), (400, 0.70), (500, 0.80), (600, 0.88),
                                                          (700, 0.93))]
    sweep = _sweep_json(tmp_path, path, rows, {"scenario_sha256": sha, "replicates": 400})
    out = tmp_path / "out"
    res = invoke("report", path, "--sweep", sweep, "-n", 20, "--seed", 2, "-w", 1, "--out", out)
    assert res.exit_code == 0, res.output
    h = parse((out / "report.html").read_text())
    assert value(h, "n80") == 500
    assert value(h, "n90") == math.ceil(600 + (0.9 - 0.88) / (0.93 - 0.88) * 100)
    assert h.numbers["sweep-sha256"][0] == hashlib.sha256(sweep.read_bytes()).hexdigest()
    assert value(h, "curve0-power2") == 0.80


@pytest.mark.parametrize("args,message", [
    (["missing.yaml"], "no such file"),
    (["{scenario}", "--sweep", "nowhere.csv"], "--sweep nowhere.csv: no such file"),
    (["{scenario}", "--sweep", "{garbage}"], "cannot be read"),
    (["{scenario}", "--sweep", "{foreign}"], "another scenario"),
    (["{scenario}", "--replicates", "1"], "--replicates must be at least 2"),
    (["{scenario}", "--workers", "0"], "--workers must be at least 1"),
    (["{scenario}", "--out", "{afile}"], "exists and is not a folder"),
])
def test_unit_cli_report_bad_input_exits_2_with_one_message(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    scenario = write(tmp_path, CONVENTIONAL)
    garbage = tmp_path / "garbage.json"
    garbage.write_text("[1, 2,")
    foreign = _sweep_json(tmp_path, scenario, [{"trial.enrollment": 100, "power": 0.5}],
                          {"scenario_sha256": "f" * 64}, "foreign.json")
    afile = tmp_path / "afile"
    afile.write_text("x")
    fill = {"scenario": scenario, "garbage": garbage, "foreign": foreign, "afile": afile}
    args = [a.format(**fill) for a in args]
    res = invoke("report", *args, *([] if "--workers" in args else ["-w", 1]))
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("error: ") and message in res.stderr, res.stderr
    assert "Traceback" not in res.output
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "reports").exists()


def test_unit_cli_bad_scenario_names_file_line_and_field(tmp_path):
    bad = write(tmp_path, CONVENTIONAL.replace("enrollment: 500", "enrollment: -5"))
    res = invoke("report", bad, "-w", 1, "--out", tmp_path / "o")
    assert res.exit_code == 2
    assert f"{bad}:" in res.stderr and "trial.enrollment" in res.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("fmt,files", [("html", ["report.html"]), ("pdf", ["report.pdf"]),
                                       ("both", ["report.html", "report.pdf"])])
def test_unit_cli_report_format_writes_only_the_files_asked_for(tmp_path, fmt, files):
    path = write(tmp_path, CONVENTIONAL)
    out = tmp_path / "out"
    res = invoke("report", path, "-n", 6, "--seed", 2, "-w", 1, "--null-replicates", 4,
                 "--sensitivity-replicates", 3, "--format", fmt, "--out", out)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == files
    assert "type I error" in res.stdout
    if "report.pdf" in files:
        assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    if "report.html" in files:
        html_text = (out / "report.html").read_text()
        command = (f"trialsim report {path} --replicates 6 --seed 2 --null-replicates 4 --sensitivity-replicates 3"
                   + ("" if fmt == "both" else f" --format {fmt}") + f" --out {out}")
        assert command in html_text
        h = parse(html_text)
        assert value(h, "type1-replicates") == 4 and value(h, "sens-replicates") == 3


@pytest.mark.parametrize("args,message", [
    (["--format", "docx"], "'docx' is not one of"),
    (["--null-replicates", "1"], "--null-replicates must be at least 2"),
    (["--sensitivity-replicates", "0"], "--sensitivity-replicates must be at least 2"),
])
def test_unit_cli_report_bad_format_or_replicates_exit_2(tmp_path, args, message):
    path = write(tmp_path, CONVENTIONAL)
    res = invoke("report", path, "-w", 1, "--out", tmp_path / "o", *args)
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("address,dask,message", [
    ("tcp://127.0.0.1:8786", False, "--scheduler needs Dask distributed: pip install 'trialsim[dask]'"),
    ("tcp://127.0.0.1:1", True, "--scheduler tcp://127.0.0.1:1: cannot connect: Timed out"),
])
def test_unit_cli_report_bad_scheduler_exits_2_with_one_message(tmp_path, monkeypatch, address, dask, message):
    if dask:
        pytest.importorskip("distributed", reason="Dask distributed is not installed (the test extra has it)")
        monkeypatch.setattr("trialsim.cluster.CONNECT_TIMEOUT", "0.5s")
    else:
        monkeypatch.setitem(sys.modules, "distributed", None)      # import distributed now fails
    res = invoke("report", write(tmp_path, CONVENTIONAL), "-n", 4, "--seed", 1, "--scheduler", address,
                 "--out", tmp_path / "o")
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.stderr.startswith("error: " + message), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
