"""Unit tier: trialsim.atomic, the one writer of every output file."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from trialsim import atomic
from trialsim.atomic import (
    atomic_open,
    atomic_path,
    write_atomic,
    write_files_atomically,
)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_unit_written_files_get_ordinary_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.txt", "α")
        with atomic_open(tmp_path / "b.csv") as f:
            f.write("x\n")
        with atomic_path(tmp_path / "c.bin") as tmp:
            tmp.write_bytes(b"c")
        write_files_atomically(tmp_path / "sub", {"d.html": b"d"})
    finally:
        os.umask(old)
    for name in ("a.txt", "b.csv", "c.bin", "sub/d.html"):
        assert _mode(tmp_path / name) == 0o644, name
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "α"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.csv", "c.bin", "sub"]


@pytest.mark.parametrize("writer", ["open", "path"])
def test_unit_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path, writer):
    target = tmp_path / "results.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        if writer == "open":
            with atomic_open(target) as f:
                f.write("half")
                raise RuntimeError("interrupted")
        else:
            with atomic_path(target) as tmp:
                tmp.write_text("half")
                raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_unit_several_files_all_or_none_renamed_on_a_failed_write(tmp_path, monkeypatch):
    import errno
    from pathlib import Path

    real = Path.write_bytes
    calls = []

    def failing_write_bytes(self, data):
        calls.append(self)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing_write_bytes)
    with pytest.raises(OSError):
        write_files_atomically(tmp_path / "out", {"a.html": b"a", "b.pdf": b"b"})
    assert list(tmp_path.iterdir()) == []


def test_unit_atomic_open_refuses_read_modes(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        with atomic_open(tmp_path / "x", "r"):
            pass


# --------------------------------------------------------------------------
# replace_folder: a set of files, all at once


def _files(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _leftovers(folder):
    return [p for p in [*folder.parent.iterdir(), *folder.rglob("*")] if atomic.MARK in p.name]


def test_unit_replace_folder_creates_then_replaces_and_keeps_other_files(tmp_path):
    out = tmp_path / "out"
    old = os.umask(0o022)
    try:
        write_files_atomically(out, {"a.csv": "1", "b.json": "2"})
    finally:
        os.umask(old)
    assert _mode(out) == 0o755 and _files(out) == {"a.csv": b"1", "b.json": b"2"}
    (out / "notes.txt").write_text("mine")
    (out / "points").mkdir()
    (out / "points" / "0.json").write_text("{}")
    os.chmod(out, 0o750)
    write_files_atomically(out, {"a.csv": "3", "b.json": "4"})
    assert _files(out) == {"a.csv": b"3", "b.json": b"4", "notes.txt": b"mine", "points/0.json": b"{}"}
    assert _mode(out) == 0o750 and _leftovers(out) == []


@pytest.mark.parametrize("how", ["exchange", "two renames", "in place"])
def test_unit_replace_folder_each_way_of_swapping(tmp_path, monkeypatch, how):
    out = tmp_path / "out"
    write_files_atomically(out, {"a.csv": "1", "b.json": "2"})
    (out / "keep.txt").write_text("k")
    if how == "two renames":
        monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    elif how == "in place":
        monkeypatch.setattr(atomic, "_swappable", lambda folder: False)
    write_files_atomically(out, {"a.csv": "3", "b.json": "4"})
    assert _files(out) == {"a.csv": b"3", "b.json": b"4", "keep.txt": b"k"}
    assert _leftovers(out) == []


def test_unit_replace_folder_into_the_current_folder_renames_in_place(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.yaml").write_text("x")
    write_files_atomically(".", {"a.csv": "1"})
    write_files_atomically(Path("."), {"a.csv": "2"})
    assert _files(tmp_path) == {"a.csv": b"2", "x.yaml": b"x"}
    assert Path.cwd() == tmp_path and _leftovers(tmp_path / "x.yaml") == []


def test_unit_a_failure_inside_replace_folder_changes_nothing(tmp_path):
    out = tmp_path / "out"
    write_files_atomically(out, {"a.csv": "1", "b.json": "2"})
    with pytest.raises(RuntimeError):
        with atomic.replace_folder(out) as stage:
            (stage / "a.csv").write_text("half")
            raise RuntimeError("killed")
    assert _files(out) == {"a.csv": b"1", "b.json": b"2"} and _leftovers(out) == []


def test_unit_stale_temporaries_are_cleaned_and_nothing_else(tmp_path):
    out = tmp_path / "out"
    write_files_atomically(out, {"a.csv": "1"})
    stale = [out / ".a.csv.trialsim-ab12cd34.tmp", tmp_path / ".out.trialsim-zz99yy88.new",
             out / ".replicates.csv.k3j_9x2a.tmp"]    # the last: as earlier versions named it
    stale[2].write_text("half")
    stale[0].write_text("half")
    stale[1].mkdir()
    (stale[1] / "a.csv").write_text("half")
    mine = [out / ".a.csv.tmp", out / "notes.tmp", out / ".x.trialsim-short.tmp", out / ".notes.txt.ab12cd34.tmp",
            tmp_path / ".other.trialsim-ab12cd34.new"]
    for p in mine[:-1]:
        p.write_text("user")
    mine[-1].mkdir()            # a temporary of another folder: not this one's to clean
    write_files_atomically(out, {"a.csv": "2"})
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in mine)
    assert (out / "a.csv").read_text() == "2"


def test_unit_a_kill_between_the_two_renames_is_repaired(tmp_path):
    out = tmp_path / "out"
    write_files_atomically(out, {"a.csv": "1", "b.json": "2"})
    old = tmp_path / ".out.trialsim-ab12cd34.old"      # where the previous folder waits during the swap
    os.rename(out, old)
    new = tmp_path / ".out.trialsim-ef56gh78.new"
    new.mkdir()
    (new / "a.csv").write_text("half")
    assert atomic.clean_stale_temporaries(out) == [new]
    assert _files(out) == {"a.csv": b"1", "b.json": b"2"} and not old.exists()


def test_unit_replace_folder_refuses_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(NotADirectoryError):
        write_files_atomically(tmp_path / "f", {"a": "1"})
    assert (tmp_path / "f").read_text() == "x"


def test_unit_a_linked_output_folder_stays_a_link(tmp_path):
    real = tmp_path / "real"
    write_files_atomically(real, {"a.csv": "1"})
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    write_files_atomically(tmp_path / "link", {"a.csv": "2", "b.json": "3"})
    assert (tmp_path / "link").is_symlink()
    assert _files(real) == {"a.csv": b"2", "b.json": b"3"} and _leftovers(real) == []
