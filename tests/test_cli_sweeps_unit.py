"""Unit tier for `trialsim sweep` and `trialsim size`: JSON contracts, exit
status 2 with one message naming the --vary and the field, outputs, and
checkpoint/resume against the real command killed mid-way."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.conftest import CONVENTIONAL, CTDNA, ROOT, SMALL, strip_created, write
from trialsim.cli import app

runner = CliRunner()
BIN = Path(sys.executable).parent / "trialsim"
TRIALSIM = [str(BIN)] if BIN.exists() else [sys.executable, "-m", "trialsim.cli"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def _differences(a, b, path=""):
    """The paths at which two JSON values differ, with both values (for failure messages)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [(path, a, b)]


def test_unit_sweep_json_is_a_list_of_rows_with_the_run_keys(tmp_path):
    res = invoke("sweep", write(tmp_path, CTDNA), "--vary", "arms.treatment.eradication=0.1,0.5",
                 "-n", 6, "--seed", 1, "-w", 1, "-f", "json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [r["point"] for r in rows] == [0, 1]
    assert [r["arms.treatment.eradication"] for r in rows] == [0.1, 0.5]
    for r in rows:
        assert isinstance(r["power"], float) and isinstance(r["power_mcse"], float)
        for key in ("screened", "randomized", "events", "analysis_month", "assays", "assay_cost"):
            assert set(r[key]) == {"mean", "median", "p10", "p90"}, key   # objects, as in `trialsim run`
        assert r["replicates"] == 6 and r["seed"] == 1 and "provenance" not in r
    assert rows[0]["screened"] == rows[1]["screened"]      # common random numbers


def test_unit_sweep_table_is_readable(tmp_path):
    res = invoke("sweep", write(tmp_path, SMALL), "--vary", "arms.treatment.hazard_ratio=0.6:0.8:3",
                 "-n", 20, "--seed", 1, "-w", 1)
    assert res.exit_code == 0, res.output
    assert "arms.treatment.hazard_ratio" in res.stdout and "power ± MCSE" in res.stdout
    assert len([line for line in res.stdout.splitlines() if " ± " in line]) == 4   # header + 3 designs


@pytest.mark.parametrize("args,needle", [
    ([], "at least one --vary"),
    (["--vary", "trial.enrollment"], "PATH=VALUES"),
    (["--vary", "arms.treatmnt.hazard_ratio=0.6"], "did you mean 'treatment'"),
    (["--vary", "trial.enrolment=100,200"], "did you mean 'enrollment'"),
    (["--vary", "trial.enrollment=100,300"], "--vary trial.enrollment=100,300: at trial.enrollment=100: "
                                             "trial.analysis.events"),
    (["--vary", "arms.treatment.hazard_ratio=0.6:0.8"], "START:STOP:COUNT"),
    (["--vary", "population.strata.2.share=1"], "no population.strata.2"),
    (["--vary", "arms.treatment.hazard_ratio=0.6", "--vary", "arms.treatment.hazard_ratio=0.7"], "given twice"),
    (["--vary", "arms.treatment.hazard_ratio=0.6", "--resume"], "--resume needs --out"),
    (["--vary", "arms.treatment.hazard_ratio=0.6", "-n", "0"], "--replicates"),
])
def test_unit_sweep_mistakes_exit_2_with_one_message(tmp_path, args, needle):
    res = invoke("sweep", write(tmp_path, SMALL), *args)
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("error: ") and needle in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.output


def test_unit_resume_of_a_different_sweep_exits_2(tmp_path):
    path = write(tmp_path, SMALL)
    args = ["sweep", path, "--vary", "arms.treatment.hazard_ratio=0.6,0.7", "-n", 5, "-w", 1, "--out", tmp_path / "o"]
    assert invoke(*args, "--seed", 1).exit_code == 0
    res = invoke(*args, "--seed", 2, "--resume")
    assert res.exit_code == 2 and "different run" in res.stderr and "seed: 1 there, 2 here" in res.stderr


def test_unit_sweep_out_writes_table_figures_and_json(tmp_path):
    out = tmp_path / "o"
    res = invoke("sweep", write(tmp_path, SMALL), "--vary", "arms.treatment.hazard_ratio=0.6,0.8",
                 "--vary", "trial.enrollment=150,200", "-n", 10, "--seed", 1, "-w", 1, "--out", out)
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["manifest.json", "points", "power_curve.png", "power_curve.svg", "sweep.csv", "sweep.json",
                     "sweep.parquet"]
    assert sorted(p.name for p in (out / "points").iterdir()) == ["0.json", "1.json", "2.json", "3.json"]
    df = pd.read_parquet(out / "sweep.parquet")
    assert list(df["trial.enrollment"]) == [150, 200, 150, 200] and "screened_p90" in df


def test_unit_size_json_object_and_answer_file(tmp_path):
    out = tmp_path / "o"
    res = invoke("size", write(tmp_path, SMALL), "--target-power", 0.8, "--solve", "trial.analysis.events",
                 "-n", 300, "--seed", 5, "-w", 1, "-f", "json", "--out", out)
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    for key in ("solve", "value", "power", "power_mcse", "screened", "randomized", "analysis_month", "assays",
                "assay_cost", "trace", "confidence", "provenance", "scenario_at_answer"):
        assert key in d, key
    assert d["solve"] == "trial.analysis.events" and d["power"] >= 0.8
    assert isinstance(d["screened"], dict) and isinstance(d["randomized"], dict)
    assert json.loads((out / "size.json").read_text()) == d
    # `trialsim run` of the design at the answer gives the same power: the search's last run is that run
    again = invoke("run", out / "answer.yaml", "-w", 1, "-f", "json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["power"] == d["power"]


def test_unit_size_with_vary_gives_one_answer_per_point(tmp_path):
    res = invoke("size", write(tmp_path, SMALL), "--solve", "trial.analysis.events", "--vary",
                 "arms.treatment.hazard_ratio=0.55,0.65", "-n", 250, "--seed", 5, "-w", 1, "-f", "json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [r["arms.treatment.hazard_ratio"] for r in rows] == [0.55, 0.65]
    assert all(r["solve"] == "trial.analysis.events" and r["power"] >= 0.8 for r in rows)


@pytest.mark.parametrize("args,needle", [
    (["--solve", "trial.enrolment"], "did you mean 'trial.enrollment'"),
    (["--target-power", "1.5"], "--target-power"),
    (["--vary", "trial.enrollment=100,200"], "--vary trial.enrollment: that is the path being solved"),
])
def test_unit_size_mistakes_exit_2(tmp_path, args, needle):
    res = invoke("size", write(tmp_path, SMALL), "-n", 100, "-w", 1, *args)
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("error: ") and needle in res.stderr


def test_unit_size_of_a_null_effect_is_refused(tmp_path):
    res = invoke("size", write(tmp_path, SMALL.replace("hazard_ratio: 0.7", "hazard_ratio: 1.0")), "-n", 100,
                 "-w", 1)
    assert res.exit_code == 2 and "not below 1" in res.stderr


# --------------------------------------------------------------------------
# The real command, killed mid-way, then resumed


def _start_and_stop(args: list, out: Path, sig: int) -> subprocess.CompletedProcess:
    """Run the real CLI; send ``sig`` once the first grid point is on disk."""
    proc = subprocess.Popen(TRIALSIM + [str(a) for a in args] + ["--out", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if list((out / "points").glob("[0-9]*.json")):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the sweep finished before it could be interrupted: make its points slower"
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def test_unit_interrupted_sweeps_resume_to_the_uninterrupted_result(tmp_path):
    """SIGKILL (one worker) and Ctrl-C (two workers) after the first grid point
    is on disk; each resumed run equals the uninterrupted one."""
    path = write(tmp_path, CONVENTIONAL)       # 500 patients: 600 replicates take a few tenths of a second
    args = ["sweep", path, "--vary", "arms.treatment.hazard_ratio=0.6:0.75:4", "-n", 600, "--seed", 3, "-f", "json"]
    ref = invoke(*args, "-w", 1, "--out", tmp_path / "ref")
    assert ref.exit_code == 0, ref.output
    ref_json = strip_created(json.loads((tmp_path / "ref" / "sweep.json").read_text()))

    for sig, workers in ((signal.SIGKILL, 1), (signal.SIGINT, 2)):
        out = tmp_path / f"interrupted-{sig.name}"
        stopped = _start_and_stop(args + ["-w", workers], out, sig)
        done = sorted((out / "points").glob("[0-9]*.json"))
        assert 1 <= len(done) < 4
        if sig == signal.SIGINT:
            assert stopped.returncode == 130, stopped.stderr
            assert "interrupted: " in stopped.stderr and "saved in" in stopped.stderr
            assert "--resume" in stopped.stderr and "Traceback" not in stopped.stderr
        else:
            assert stopped.returncode == -signal.SIGKILL
        before = {p.name: p.stat().st_mtime_ns for p in done}

        resumed = invoke(*args, "-w", workers, "--out", out, "--resume")
        assert resumed.exit_code == 0, resumed.output
        assert resumed.stdout == ref.stdout                      # byte for byte
        assert {p.name: p.stat().st_mtime_ns for p in done} == before   # finished points were not redone
        assert strip_created(json.loads((out / "sweep.json").read_text())) == ref_json
        assert (tmp_path / "ref" / "sweep.csv").read_bytes() == (out / "sweep.csv").read_bytes()


@pytest.mark.slow
def test_unit_scheduler_option_on_a_process_cluster_equals_the_local_run(tmp_path):
    """`--scheduler` against a LocalCluster of two worker processes: the real
    command's JSON equals the local run's, byte for byte (sweep and size)."""
    distributed = pytest.importorskip("distributed")
    path = write(tmp_path, CTDNA)
    sweep_args = ["sweep", path, "--vary", "arms.treatment.eradication=0.1,0.5", "-n", 40, "--seed", 4, "-f", "json"]
    size_args = ["size", write(tmp_path, SMALL, "small.yaml"), "-n", 300, "--seed", 4, "-f", "json"]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        addr = cluster.scheduler_address
        for args in (sweep_args, size_args):
            remote = subprocess.run(TRIALSIM + [str(a) for a in args] + ["--scheduler", addr], cwd=ROOT,
                                    capture_output=True, text=True, timeout=300)
            assert remote.returncode == 0, remote.stderr
            local = invoke(*args, "-w", 1)
            a, b = json.loads(remote.stdout), json.loads(local.stdout)
            assert strip_created(a) == strip_created(b), _differences(strip_created(a), strip_created(b))


def test_unit_resume_with_a_corrupt_point_exits_2_naming_it(tmp_path):
    path = write(tmp_path, SMALL)
    args = ["sweep", path, "--vary", "arms.treatment.hazard_ratio=0.6,0.7,0.8,0.9", "-n", 5, "--seed", 1, "-w", 1,
            "--out", tmp_path / "o"]
    assert invoke(*args).exit_code == 0
    (tmp_path / "o" / "points" / "3.json").write_text('{"values": {}}')
    res = invoke(*args, "--resume")
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.stderr.startswith("error: --resume: ") and "points/3.json" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
