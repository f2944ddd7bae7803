"""Atomic file output: a reader sees the old file or the new one, never half of one.

Every file trialsim writes (results, sweep checkpoints and tables, figures,
reports, fitted curves) goes through this module: the bytes go to a
temporary name in the target's own folder (so the final rename stays on one
file system and is atomic), are flushed to disk, and the temporary is then
renamed over the target. A failure removes the temporary. The file gets the
permissions an ordinary ``open()`` would give it (0666 less the umask), not
the owner-only 0600 of :func:`tempfile.mkstemp`.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator, Mapping

__all__ = ["atomic_path", "atomic_open", "write_atomic", "write_files_atomically"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temporary(path: Path) -> tuple[int, Path]:
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.fchmod(fd, 0o666 & ~_umask())
    return fd, Path(tmp)


def _discard(tmp: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for a writer that wants a file
    name (matplotlib's ``savefig``, pandas' ``to_parquet``); on success it
    replaces ``path``, on failure it is removed."""
    path = Path(path)
    fd, tmp = _temporary(path)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        _discard(tmp)
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing (text: UTF-8, no
    newline translation); on success it replaces ``path``."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open: mode must be 'w' or 'wb', not {mode!r}")
    path = Path(path)
    fd, tmp = _temporary(path)
    try:
        if mode == "w":
            f = os.fdopen(fd, "w", encoding="utf-8", newline="")
        else:
            f = os.fdopen(fd, "wb")
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _discard(tmp)
        raise


def write_atomic(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` (str as UTF-8) to ``path`` atomically; returns the path."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_open(path, "wb") as f:
        f.write(payload)
    return path


def write_files_atomically(folder: str | os.PathLike, files: Mapping[str, bytes | str]) -> tuple[Path, ...]:
    """Write every file to a temporary name in ``folder`` first, then rename
    them all: a failure while writing leaves none of them half-written and
    removes the temporaries."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    temps: list[tuple[str, Path]] = []
    try:
        for name, data in files.items():
            fd, tmp = _temporary(out / name)
            temps.append((name, tmp))
            payload = data.encode("utf-8") if isinstance(data, str) else data
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
        for name, tmp in temps:
            os.replace(tmp, out / name)
    except BaseException:
        for _, tmp in temps:
            _discard(tmp)
        raise
    return tuple(out / name for name in files)
