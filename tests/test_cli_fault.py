"""Fault tier: the real command killed (kill -9) while it writes, its workers
orphaned, its stdout closed.

* kill -9 while `trialsim run --out DIR` writes over previous results: DIR
  holds the complete previous pair, the next run removes the temporaries and
  writes the new pair whole;
* kill -9 while a sweep writes its outputs: the folder holds the checkpoint
  and none of the outputs; --resume gives the uninterrupted result exactly;
* kill -9 of a parent with worker processes (run and sweep): the workers are
  gone within seconds;
* a closed stdout: no traceback.

The CI forms take a few seconds each; the repeated random-moment kills are
marked slow.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import CONVENTIONAL, ROOT, SMALL, strip_created, write
from trialsim import atomic
from trialsim.cli import app

BIN = Path(sys.executable).parent / "trialsim"
TRIALSIM = [str(BIN)] if BIN.exists() else [sys.executable, "-m", "trialsim.cli"]
STALLING = [sys.executable, "-m", "tests.support.slow_cli"]
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in [*folder.parent.iterdir(), *folder.rglob("*")] if atomic.MARK in p.name]


def _wait_for(condition, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the command ended (status {proc.returncode}) before the moment to kill it: "
                                 f"{proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.02)
    raise AssertionError("timed out waiting for the moment to kill the command")


def _kill(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _consistent_run_folder(out: Path) -> tuple[int, int]:
    """The folder holds one whole run: its results.json and replicates.csv agree; (seed, rows)."""
    res = json.loads((out / "results.json").read_text())
    lines = (out / "replicates.csv").read_text().splitlines()
    n = res["provenance"]["replicates"]
    assert len(lines) == n + 1 and lines[0].startswith("replicate,")
    assert [int(line.split(",")[0]) for line in lines[1:]] == list(range(n))
    return res["provenance"]["seed"], n


# --------------------------------------------------------------------------
# trialsim run --out


def test_fault_kill9_while_run_writes_keeps_the_previous_results(tmp_path):
    path = write(tmp_path, SMALL)
    out = tmp_path / "out"
    assert invoke("run", path, "-n", 40, "--seed", 1, "-w", 1, "--out", out).exit_code == 0
    before = _snapshot(out)

    proc = subprocess.Popen(STALLING + ["run", str(path), "-n", "60", "--seed", "2", "-w", "1", "--out", str(out)],
                            cwd=ROOT, env={**os.environ, "TRIALSIM_STALL": "results"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # replicates.csv is being written into the temporary folder beside out/
    _wait_for(lambda: any((p / "replicates.csv").exists() for p in tmp_path.glob(".out.trialsim-*.new")), proc=proc)
    _kill(proc)
    assert _snapshot(out) == before                   # the previous pair, whole and untouched
    assert _consistent_run_folder(out) == (1, 40)
    assert _temporaries(out)                          # what the kill left behind ...

    again = invoke("run", path, "-n", 60, "--seed", 2, "-w", 1, "--out", out)
    assert again.exit_code == 0, again.output
    assert _temporaries(out) == []                    # ... the next run into the folder removes
    assert _consistent_run_folder(out) == (2, 60)
    assert sorted(p.name for p in out.iterdir()) == ["replicates.csv", "replicates.parquet", "results.json"]


def _kill_at_random_moments(tmp_path: Path, tries: int, seed: int) -> dict[str, int]:
    """Kill `trialsim run --out` over previous results at random moments; every
    time the folder holds one whole run, the old or the new."""
    path = write(tmp_path, CONVENTIONAL)
    out = tmp_path / "out"
    assert invoke("run", path, "-n", 30, "--seed", 1, "-w", 1, "--out", out).exit_code == 0
    old = _snapshot(out)
    ref = tmp_path / "ref"
    assert invoke("run", path, "-n", 400, "--seed", 2, "-w", 1, "--out", ref).exit_code == 0
    rng = random.Random(seed)
    seen = {"old": 0, "new": 0}
    for _ in range(tries):
        proc = subprocess.Popen(TRIALSIM + ["run", str(path), "-n", "400", "--seed", "2", "-w", "1",
                                            "--out", str(out)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 4.0))
        proc.kill()
        proc.wait(timeout=30)
        now = _snapshot(out)
        seed_now, _ = _consistent_run_folder(out)
        if now == old:
            seen["old"] += 1
        else:
            assert seed_now == 2
            assert now["replicates.csv"] == _snapshot(ref)["replicates.csv"]
            seen["new"] += 1
            # back to an old pair for the next try (the same run, a new timestamp)
            assert invoke("run", path, "-n", 30, "--seed", 1, "-w", 1, "--out", out).exit_code == 0
            old = _snapshot(out)
    assert invoke("run", path, "-n", 30, "--seed", 1, "-w", 1, "--out", out).exit_code == 0
    assert _temporaries(out) == []
    return seen


def test_fault_kill9_at_a_random_moment_leaves_one_whole_run(tmp_path):
    seen = _kill_at_random_moments(tmp_path, tries=2, seed=14)
    assert sum(seen.values()) == 2


@pytest.mark.slow
def test_fault_kill9_at_many_random_moments_leaves_one_whole_run(tmp_path):
    seen = _kill_at_random_moments(tmp_path, tries=20, seed=15)
    assert sum(seen.values()) == 20


# --------------------------------------------------------------------------
# trialsim sweep --out


def test_fault_kill9_while_sweep_writes_outputs_then_resume_is_identical(tmp_path):
    path = write(tmp_path, SMALL)
    args = ["sweep", str(path), "--vary", "arms.treatment.hazard_ratio=0.6,0.8", "-n", "30", "--seed", "4",
            "-w", "1", "-f", "json"]
    ref = invoke(*args, "--out", tmp_path / "ref")
    assert ref.exit_code == 0, ref.output

    out = tmp_path / "out"
    proc = subprocess.Popen(STALLING + args + ["--out", str(out)], cwd=ROOT,
                            env={**os.environ, "TRIALSIM_STALL": "sweep"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: any((p / "power_curve.svg").exists() for p in tmp_path.glob(".out.trialsim-*.new")),
              proc=proc)
    _kill(proc)
    # the checkpoint is whole; none of the outputs is there, not even the ones already written aside
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "points"]
    assert sorted(p.name for p in (out / "points").iterdir()) == ["0.json", "1.json"]

    resumed = invoke(*args, "--out", out, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert resumed.stdout == ref.stdout
    assert _temporaries(out) == []
    assert (out / "sweep.csv").read_bytes() == (tmp_path / "ref" / "sweep.csv").read_bytes()
    assert strip_created(json.loads((out / "sweep.json").read_text())) == \
        strip_created(json.loads((tmp_path / "ref" / "sweep.json").read_text()))

    finished = _snapshot(out)
    again = invoke(*args, "--out", out)              # a finished folder is refused without --resume
    assert again.exit_code == 2 and "--resume" in again.stderr and "another folder" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert _snapshot(out) == finished


@pytest.mark.slow
def test_fault_kill9_mid_sweep_with_workers_resumes_to_identical_results(tmp_path):
    """As test_cli_sweeps_unit's interruption test, with two worker processes killed with their parent."""
    path = write(tmp_path, CONVENTIONAL)
    args = ["sweep", str(path), "--vary", "arms.treatment.hazard_ratio=0.6:0.75:4", "-n", "600", "--seed", "3",
            "-w", "2", "-f", "json"]
    ref = invoke(*args, "--out", tmp_path / "ref")
    assert ref.exit_code == 0, ref.output
    out = tmp_path / "out"
    proc = subprocess.Popen(TRIALSIM + args + ["--out", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: list((out / "points").glob("[0-9]*.json")), proc=proc)
    _kill(proc)
    assert not (out / "sweep.json").exists()
    resumed = invoke(*args, "--out", out, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert resumed.stdout == ref.stdout
    assert _temporaries(out) == []


# --------------------------------------------------------------------------
# Workers die with their parent


def _children(pid: int) -> list[int]:
    try:
        import psutil
    except ImportError:      # /proc on Linux
        kids = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    stat = (d / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(d.name))
        return kids
    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _alive(pid: int) -> bool:
    try:
        import psutil
    except ImportError:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        return state != "Z"
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts processes through psutil or /proc")
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_fault_workers_die_within_seconds_of_a_killed_parent(tmp_path, command):
    path = write(tmp_path, CONVENTIONAL)
    if command == "run":     # three workers: this process and two in its pool
        args = ["run", str(path), "-n", "200000", "--seed", "1", "-w", "3"]
    else:
        args = ["sweep", str(path), "--vary", "arms.treatment.hazard_ratio=0.6:0.8:50", "-n", "20000",
                "--seed", "1", "-w", "2"]
    # (not pipes: orphaned workers would hold them open)
    proc = subprocess.Popen(TRIALSIM + args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        _wait_for(lambda: len(_children(proc.pid)) >= 2, proc=proc)
        workers = _children(proc.pid)
        proc.kill()
        assert proc.wait(timeout=30) == -signal.SIGKILL
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.05)
        assert not [w for w in workers if _alive(w)], "workers outlived their killed parent"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for w in workers:            # a failed test leaves no orphans behind
            if _alive(w):
                os.kill(w, signal.SIGKILL)


def test_fault_a_worker_whose_parent_is_gone_ends_itself():
    """The portable path (a watchdog thread), in a child whose parent has already gone."""
    code = ("import os, sys, time\n"
            "from trialsim.processes import die_with_parent\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    parent = os.getppid()\n"
            "    time.sleep(0.3)\n"        # the parent exits meanwhile
            "    die_with_parent(parent)\n"
            "    time.sleep(30)\n"
            "    os._exit(0)\n"
            "print(pid, flush=True)\n")
    if not hasattr(os, "fork"):
        pytest.skip("needs fork")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30)
    child = int(out.stdout.split()[0])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child)


# --------------------------------------------------------------------------
# A closed stdout, an empty --out


def test_fault_closed_stdout_ends_quietly(tmp_path):
    path = write(tmp_path, SMALL)
    args = ["sweep", str(path), "--vary", "arms.treatment.hazard_ratio=0.6:0.8:8", "-n", "20", "--seed", "1",
            "-w", "2", "-f", "json"]
    r, w = os.pipe()
    os.close(r)                                     # nobody reads: every write is a broken pipe
    proc = subprocess.run(TRIALSIM + args, cwd=ROOT, stdout=w, stderr=subprocess.PIPE, text=True, timeout=120)
    os.close(w)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 1), proc.stderr

    head = subprocess.Popen(TRIALSIM + args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head.stdout.read(1)
    head.stdout.close()                             # `| head -c 1`
    _, err = head.communicate(timeout=120)
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err.decode()


@pytest.mark.parametrize("out", [["--out", ""], ["--out="], ["-o", " "]])
def test_fault_empty_out_is_refused(tmp_path, out):
    path = write(tmp_path, SMALL)
    proc = subprocess.run(TRIALSIM + ["run", str(path), "-n", "5", "-w", "1", *out], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: --out is empty") and len(proc.stderr.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.yaml"]     # nothing written here
