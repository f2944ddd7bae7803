"""Atomic output: a reader sees the old file (or folder) or the new one, never half of one.

Every file trialsim writes (results, sweep checkpoints and tables, figures,
reports, fitted curves) goes through this module: the bytes go to a
temporary name in the target's own folder (so the final rename stays on one
file system and is atomic), are flushed to disk, and the temporary is then
renamed over the target. A failure removes the temporary. The file gets the
permissions an ordinary ``open()`` would give it (0666 less the umask), not
the owner-only 0600 of :func:`tempfile.mkstemp`.

A set of files that belong together (``replicates.csv`` and ``results.json``
of a run, a sweep's tables and figures, a report's HTML and PDF) is written
with :func:`replace_folder`: every file goes into a fresh temporary folder
beside the output folder, and that folder then takes the output folder's
place in one atomic step (Linux: ``renameat2(RENAME_EXCHANGE)``; elsewhere two
renames, repaired by the next run if killed between them). Files of the old
folder that the new set does not replace are carried over (hard links), so
nothing else in the folder is lost. A full disk or a kill at any moment
leaves the previous set whole; the temporaries a killed run leaves behind
(``.NAME.trialsim-XXXXXXXX.tmp`` files, ``.FOLDER.trialsim-XXXXXXXX.new`` and
``.old`` folders) are removed by the next write into the same folder.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import IO, Iterator, Mapping

__all__ = ["atomic_path", "atomic_open", "write_atomic", "write_files_atomically", "replace_folder",
           "clean_stale_temporaries"]

MARK = ".trialsim-"      # every temporary trialsim makes has this in its name
# A temporary file: .<name>.trialsim-XXXXXXXX.tmp (tempfile's 8 random characters).
_TMP_FILE = re.compile(r"^\..+\.trialsim-[a-z0-9_]{8}\.tmp$")
# The temporary files of earlier trialsim versions (no mark): only beside trialsim's own output names.
_OLD_TMP_FILE = re.compile(r"^\.(replicates\.csv|results\.json|manifest\.json|sweep\.(csv|parquet|json)"
                           r"|power_curve\.(png|svg)|size\.(csv|parquet|json)|size_curve\.(png|svg)|answer\.yaml"
                           r"|report\.(html|pdf))\.[a-z0-9_]{8}\.tmp$")
# The temporary folders of replace_folder, beside the output folder.
_TMP_DIR = re.compile(r"^\.(?P<name>.+)\.trialsim-[a-z0-9_]{8}\.(?P<kind>new|old)$")
# Folders with more entries than this are not swapped (their files are renamed in one by one).
MAX_CARRIED = 20_000


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temporary(path: Path) -> tuple[int, Path]:
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{MARK}", suffix=".tmp", dir=folder)
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
    """Write a set of files into ``folder`` all at once (:func:`replace_folder`):
    a failure at any point leaves the folder as it was, none of the files
    half-written or new beside old."""
    with replace_folder(folder) as stage:
        for name, data in files.items():
            payload = data.encode("utf-8") if isinstance(data, str) else data
            (stage / name).write_bytes(payload)
    return tuple(Path(folder) / name for name in files)


# --------------------------------------------------------------------------
# Folders


def clean_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove what a killed trialsim left in and beside ``folder``: temporary
    files (``.NAME.trialsim-XXXXXXXX.tmp``) in it, and the temporary folders of
    :func:`replace_folder` beside it. When ``folder`` itself is missing because
    a run was killed between the two renames of a swap, the previous folder is
    put back. Only names of that pattern are touched. Returns what was removed."""
    folder = Path(folder)
    removed: list[Path] = []
    parent = folder.parent if str(folder.parent) else Path(".")
    if parent.is_dir() and folder.name not in ("", ".", ".."):
        for p in _listdir(parent):
            m = _TMP_DIR.match(p.name)
            if not m or m.group("name") != folder.name or not p.is_dir() or p.is_symlink():
                continue
            if m.group("kind") == "old" and not folder.exists():
                os.rename(p, folder)            # killed mid-swap: the previous folder comes back
                continue
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    if folder.is_dir():
        for p in _listdir(folder):
            if (_TMP_FILE.match(p.name) or _OLD_TMP_FILE.match(p.name)) and p.is_file() and not p.is_symlink():
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
                removed.append(p)
            elif p.is_dir() and not p.is_symlink() and p.name.startswith(MARK) and p.name.endswith(".new"):
                shutil.rmtree(p, ignore_errors=True)     # an in-place stage (see replace_folder)
                removed.append(p)
    return removed


def _listdir(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


@contextlib.contextmanager
def replace_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder; write a set of files into it. On
    success the set replaces the same-named files of ``folder`` all at once
    (other files of ``folder`` stay); on failure (an exception, a full disk)
    the temporary goes and ``folder`` is untouched.

    The temporary folder sits beside ``folder`` and, with the old folder's
    other files linked into it, takes its place in one atomic rename. Where
    that cannot be done (the parent is not writable, ``folder`` is a mount
    point, a symbolic link or the current folder, or holds too much to link) the files are
    written into a temporary folder inside ``folder`` and renamed into place
    one after the other, once all of them are whole on disk.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a folder", str(folder))
    clean_stale_temporaries(folder)
    parent = folder.parent if str(folder.parent) else Path(".")
    stage, beside = None, False
    if _swappable(folder):
        parent.mkdir(parents=True, exist_ok=True)
        try:
            stage = Path(tempfile.mkdtemp(prefix=f".{folder.name}{MARK}", suffix=".new", dir=parent))
            beside = True
        except OSError:
            stage = None
    if stage is None:
        folder.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=MARK, suffix=".new", dir=folder))
    try:
        yield stage
        names = sorted(p.name for p in stage.iterdir())
        for name in names:
            _fsync_tree(stage / name)
        if beside and _swap_in(stage, folder, set(names)):
            return
        if beside:      # could not swap: fall back to renaming the files in one by one
            folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            dest = folder / name
            if (stage / name).is_dir() and dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            os.replace(stage / name, dest)
        _fsync_dir(folder)
        shutil.rmtree(stage, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _inside(folder: Path, other: Path) -> bool:
    try:
        other.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _swappable(folder: Path) -> bool:
    """Whether ``folder`` can be replaced by a sibling in one rename."""
    if folder.name in ("", ".", "..") or folder.is_symlink():
        return False        # a link to a folder stays a link: its files are renamed in
    if not folder.exists():
        return True
    try:
        if os.path.ismount(folder) or _inside(folder, Path.cwd()):
            return False
        st = folder.stat()
        if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
            return False       # the new folder would change hands
    except OSError:
        return False
    n = 0
    for _root, dirs, files in os.walk(folder):
        n += len(dirs) + len(files)
        if n > MAX_CARRIED:
            return False
    return True


def _carry_over(src: Path, dst: Path) -> None:
    """Hard-link ``src``'s tree into ``dst`` (folders made anew), or copy where links fail."""
    if src.is_symlink() or src.is_file():
        try:
            os.link(src, dst, follow_symlinks=False)
        except OSError:
            shutil.copy2(src, dst, follow_symlinks=False)
        return
    if src.is_dir():
        dst.mkdir()
        shutil.copystat(src, dst)
        for p in src.iterdir():
            _carry_over(p, dst / p.name)
        return
    raise OSError(errno.EINVAL, "not a file or folder", str(src))     # a pipe, a socket: not swapped


def _swap_in(stage: Path, folder: Path, names: set[str]) -> bool:
    """Put ``stage`` in ``folder``'s place; False (nothing changed) where it cannot."""
    if not folder.exists():
        os.chmod(stage, 0o777 & ~_umask())
        os.rename(stage, folder)
        _fsync_dir(stage.parent)
        return True
    carried: list[Path] = []
    try:
        for p in folder.iterdir():
            if p.name not in names and not _TMP_FILE.match(p.name) and not _OLD_TMP_FILE.match(p.name):
                _carry_over(p, stage / p.name)
                carried.append(stage / p.name)
        shutil.copystat(folder, stage)
        _fsync_dir(stage)
    except OSError:
        for c in carried:
            if c.is_dir() and not c.is_symlink():
                shutil.rmtree(c, ignore_errors=True)
            else:
                c.unlink(missing_ok=True)
        return False
    if _exchange(stage, folder):
        old = stage             # the previous folder now sits at the stage's name
    else:
        old = folder.parent / (stage.name[:-len(".new")] + ".old")
        os.rename(folder, old)
        os.rename(stage, folder)    # a kill between the two: the next run puts `old` back
    _fsync_dir(folder.parent)
    for p in _listdir(old):     # anything that arrived while we wrote is kept, not deleted
        if p.name not in names and not (folder / p.name).exists() and not os.path.lexists(folder / p.name):
            with contextlib.suppress(OSError):
                os.rename(p, folder / p.name)
    shutil.rmtree(old, ignore_errors=True)
    return True


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes  # deferred: only a swap of folders on Linux needs it

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync_tree(path: Path) -> None:
    if path.is_symlink():
        return
    if path.is_dir():
        for p in path.iterdir():
            _fsync_tree(p)
        _fsync_dir(path)
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass        # some file systems cannot sync a folder; the files themselves are synced
    finally:
        os.close(fd)
