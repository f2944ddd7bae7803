"""Fault tier: a full disk while trialsim writes an output folder.

A run, a sweep, a size search and a report write their files as one set
(trialsim.atomic.replace_folder). Here the disk fills up (a patched writer,
or fsync, raising ENOSPC; and, where a small tmpfs can be mounted, a real
full file system) while a folder holding the previous results is rewritten:
the previous results must stay byte for byte, no temporary may be left, and
the next write must succeed.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SMALL, write
from trialsim import atomic, load_scenario, simulate
from trialsim.sweeps import find_sample_sizes, run_sweep


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _temporaries(folder: Path) -> list[Path]:
    """trialsim's temporaries in and beside ``folder``."""
    return [p for p in [*folder.parent.iterdir(), *folder.rglob("*")] if atomic.MARK in p.name]


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


class _FillingFile:
    """A text file on a disk with ``room[0]`` characters left: ENOSPC beyond."""

    def __init__(self, f, room: list[int]):
        self.f, self.room = f, room

    def write(self, text):
        self.room[0] -= len(text)
        if self.room[0] < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.f.write(text)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()
        return False

    def __getattr__(self, name):
        return getattr(self.f, name)


@pytest.fixture
def small_sc(tmp_path):
    return load_scenario(write(tmp_path, SMALL))


def test_fault_full_disk_while_a_run_writes_keeps_the_previous_results(small_sc, tmp_path, monkeypatch):
    import trialsim.results as results

    out = tmp_path / "out"
    simulate(small_sc, replicates=20, seed=1, workers=1).write(out)
    before = _snapshot(out)
    new = simulate(small_sc, replicates=30, seed=2, workers=1)

    csv_size = len((out / "replicates.csv").read_text()) * 3 // 2      # 30 rows, where the old had 20
    # the disk fills at once, within replicates.csv, just after it, within results.json
    for room in (0, csv_size // 2, csv_size + 10, csv_size + 2000):
        left = [room]
        monkeypatch.setattr(results, "open", lambda *a, **k: _FillingFile(open(*a, **k), left), raising=False)
        with pytest.raises(OSError) as err:
            new.write(out)
        assert err.value.errno == errno.ENOSPC
        assert _snapshot(out) == before, room
        assert _temporaries(out) == []
    monkeypatch.undo()

    monkeypatch.setattr(atomic, "_fsync_tree", _no_space)      # the data reach the disk only at fsync
    with pytest.raises(OSError):
        new.write(out)
    assert _snapshot(out) == before and _temporaries(out) == []
    monkeypatch.undo()

    new.write(out)      # space again: the new pair, whole
    assert (out / "results.json").read_bytes() != before["results.json"]
    assert (out / "replicates.csv").read_text().count("\n") == 31


def test_fault_full_disk_while_sweep_and_size_outputs_are_written(small_sc, tmp_path, monkeypatch):
    vary = {"arms.treatment.hazard_ratio": [0.6, 0.8]}
    for kind in ("sweep", "size"):
        out = tmp_path / kind
        if kind == "sweep":
            res = run_sweep(small_sc, vary, replicates=20, seed=1, workers=1, out=out)
        else:
            res = find_sample_sizes(small_sc, vary, solve="trial.analysis.events", replicates=60, seed=1,
                                    workers=1, out=out)
        res.write(out)
        before = _snapshot(out)
        with monkeypatch.context() as m:
            m.setattr(atomic, "_fsync_tree", _no_space)
            with pytest.raises(OSError):
                res.write(out)          # e.g. --resume of a finished folder, on a full disk
        assert _snapshot(out) == before, kind
        assert _temporaries(out) == [], kind
        res.write(out)
        assert _snapshot(out).keys() == before.keys()


def test_fault_full_disk_keeps_other_files_of_the_folder(tmp_path, monkeypatch):
    out = tmp_path / "shared"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "sub").mkdir()
    (out / "sub" / "data.csv").write_text("1,2\n")
    atomic.write_files_atomically(out, {"report.html": "old", "report.pdf": b"old"})
    before = _snapshot(out)
    with monkeypatch.context() as m:
        m.setattr(atomic, "_exchange", _no_space)      # the very last step fails
        with pytest.raises(OSError):
            atomic.write_files_atomically(out, {"report.html": "new", "report.pdf": b"new"})
    assert _snapshot(out) == before and _temporaries(out) == []
    atomic.write_files_atomically(out, {"report.html": "new", "report.pdf": b"new"})
    assert _snapshot(out) == {**before, "report.html": b"new", "report.pdf": b"new"}


def _mount_tmpfs(where: Path, size: str) -> bool:
    if sys.platform != "linux" or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True)
    return done.returncode == 0


def test_fault_a_really_full_tmpfs_keeps_the_previous_results(small_sc, tmp_path):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "96k"):
        pytest.skip("cannot mount a small tmpfs here (needs root and mount rights)")
    try:
        out = disk / "out"
        simulate(small_sc, replicates=10, seed=1, workers=1).write(out)
        before = _snapshot(out)
        big = simulate(small_sc, replicates=2000, seed=2, workers=1)     # about 300 kB of CSV
        with pytest.raises(OSError) as err:
            big.write(out)
        assert err.value.errno == errno.ENOSPC
        assert _snapshot(out) == before
        assert _temporaries(out) == []
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)
