"""Unit tier: trialsim.atomic, the one writer of every output file."""
from __future__ import annotations

import os
import stat

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
