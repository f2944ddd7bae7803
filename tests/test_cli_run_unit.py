"""Unit tier for `trialsim run`, `validate` and `schema` (trialsim/cli/run.py):
exit 0 on success, 2 with one clear message (file, line, field) on a user's
mistake, never a traceback, never a half-written output."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from tests.conftest import CONVENTIONAL, CTDNA, write
from trialsim.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_unit_run_json_has_contract_keys(tmp_path):
    path = write(tmp_path, CTDNA)
    res = invoke("run", path, "--replicates", 6, "--seed", 1, "--workers", 1, "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    for key in ("scenario", "replicates", "seed", "power", "power_mcse", "screened", "test_positive",
                "randomized", "truly_mrd_positive_share", "events", "analysis_month", "last_randomized_month",
                "hazard_ratio_estimate", "assays", "assay_cost", "provenance"):
        assert key in out, key
    assert out["replicates"] == 6 and out["seed"] == 1
    assert out["provenance"]["scenario"]["simulation"] == {"replicates": 6, "seed": 1}


def test_unit_run_table_is_readable(tmp_path):
    res = invoke("run", write(tmp_path, CONVENTIONAL), "-n", 20, "--seed", 3, "-w", 1)
    assert res.exit_code == 0, res.output
    assert "power" in res.stdout and "± " in res.stdout and "randomised" in res.stdout


def test_unit_run_out_writes_csv_and_json(tmp_path):
    out = tmp_path / "results"
    res = invoke("run", write(tmp_path, CTDNA), "-n", 5, "--seed", 2, "-w", 1, "--out", out)
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader((out / "replicates.csv").open()))
    assert len(rows) == 5 and rows[0]["replicate"] == "0"
    assert {"screened", "randomized", "events", "z", "rejected"} <= set(rows[0])
    data = json.loads((out / "results.json").read_text())
    assert data["replicates"] == 5
    assert sorted(p.name for p in out.iterdir()) == ["by_visit.csv", "replicates.csv", "replicates.parquet",
                                                     "results.json"]  # no temporaries


def test_unit_same_seed_same_json_from_the_command_line(tmp_path):
    path = write(tmp_path, CONVENTIONAL)
    a = json.loads(invoke("run", path, "-n", 30, "--seed", 9, "-w", 1, "-f", "json").stdout)
    b = json.loads(invoke("run", path, "-n", 30, "--seed", 9, "-w", 2, "-f", "json").stdout)
    for d in (a, b):
        d["provenance"].pop("created")
    assert a == b


@pytest.mark.parametrize("text,needle", [
    (CONVENTIONAL.replace("enrollment: 500", "enrolment: 500"), "did you mean 'enrollment'"),
    (CONVENTIONAL.replace("events: 247", "events: 600"), "trial.analysis.events"),
    ("", "empty"),
    ("a: [b\n", "not valid YAML"),
])
def test_unit_bad_input_exits_2_with_one_clear_message(tmp_path, text, needle):
    res = invoke("validate", write(tmp_path, text))
    assert res.exit_code == 2
    assert needle in res.stderr
    assert "Traceback" not in res.output
    assert res.stderr.startswith("error: ")


def test_unit_missing_file_exits_2(tmp_path):
    res = invoke("run", tmp_path / "missing.yaml")
    assert res.exit_code == 2 and "no such file" in res.stderr


@pytest.mark.parametrize("args,needle", [
    (["--replicates", "0"], "--replicates"),
    (["--workers", "0"], "--workers"),
    (["--seed", "-4"], "--seed"),
])
def test_unit_bad_options_exit_2(tmp_path, args, needle):
    res = invoke("run", write(tmp_path, CONVENTIONAL), *args)
    assert res.exit_code == 2 and needle in res.stderr


def test_unit_out_that_is_a_file_is_refused_before_running(tmp_path):
    target = tmp_path / "taken"
    target.write_text("keep me")
    res = invoke("run", write(tmp_path, CONVENTIONAL), "-n", 5, "--out", target)
    assert res.exit_code == 2 and "not a folder" in res.stderr
    assert target.read_text() == "keep me"


def test_unit_validate_and_schema(tmp_path):
    res = invoke("validate", write(tmp_path, CTDNA))
    assert res.exit_code == 0 and "valid" in res.stdout
    schema = json.loads(invoke("schema").stdout)
    assert "properties" in schema and "trial" in schema["properties"]


def test_unit_outputs_get_ordinary_file_permissions(tmp_path):
    import os
    import stat

    out = tmp_path / "o"
    assert invoke("run", write(tmp_path, CONVENTIONAL), "-n", 3, "--seed", 1, "-w", 1, "--out", out).exit_code == 0
    umask = os.umask(0)
    os.umask(umask)
    for name in ("replicates.csv", "results.json"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o666 & ~umask


def test_unit_run_scheduler_without_dask_exits_2_with_one_message(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)      # import distributed now fails
    res = invoke("run", write(tmp_path, CONVENTIONAL), "-n", 4, "--seed", 1, "--scheduler", "tcp://127.0.0.1:8786",
                 "--out", tmp_path / "o")
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.stderr == "error: --scheduler needs Dask distributed: pip install 'trialsim[dask]'\n"
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("address,needle", [("tcp://127.0.0.1:1", "cannot connect: Timed out"),
                                            ("nohost:xx", "not a scheduler address")])
def test_unit_run_unreachable_scheduler_exits_2_with_one_message(tmp_path, monkeypatch, address, needle):
    pytest.importorskip("distributed", reason="Dask distributed is not installed (the test extra has it)")
    monkeypatch.setattr("trialsim.cluster.CONNECT_TIMEOUT", "0.5s")
    res = invoke("run", write(tmp_path, CONVENTIONAL), "-n", 4, "--seed", 1, "--scheduler", address,
                 "--out", tmp_path / "o")
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.stderr.startswith(f"error: --scheduler {address}: ") and needle in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


#: what a plain `trialsim run` of a design without looks or screening never needs (each costs start-up)
NOT_FOR_A_PLAIN_RUN = ("scipy", "pandas", "pyarrow", "matplotlib", "lifelines", "jinja2", "trialsim.sweeps",
                       "trialsim.report", "trialsim.analysis.binary", "trialsim.analysis.dispatch",
                       "trialsim.analysis.fleming_harrington", "trialsim.analysis.mvn",
                       "trialsim.analysis.proportional_hazards")


def test_unit_plain_run_of_a_conventional_design_loads_no_scipy_pandas_or_matplotlib(tmp_path):
    """`trialsim run` of a conventional log-rank design, printed as a table or
    as JSON, on one worker or two, loads none of NOT_FOR_A_PLAIN_RUN; a design
    with interim looks does load scipy (for its boundaries)."""
    path = write(tmp_path, CONVENTIONAL)
    looks = write(tmp_path, CONVENTIONAL.replace("sided: 1}", "sided: 1, looks: [0.5]}"), "looks.yaml")
    assert "looks: [0.5]" in looks.read_text()

    def loaded(*args):
        code = ("import json, sys\n"
                "from trialsim.cli import main\n"
                f"sys.argv = ['trialsim', 'run', *{[str(a) for a in args]!r}]\n"
                "try:\n"
                "    main()\n"
                "except SystemExit as exc:\n"
                "    assert not exc.code, exc.code\n"
                "finally:\n"
                f"    print(json.dumps([m for m in {NOT_FOR_A_PLAIN_RUN!r} if m in sys.modules]), file=sys.stderr)\n")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stderr.splitlines()[-1])

    assert loaded(path, "-n", "20", "-w", "1") == []
    assert loaded(path, "-n", "20", "-w", "2", "--format", "json") == []
    assert "scipy" in loaded(looks, "-n", "20", "-w", "1")
