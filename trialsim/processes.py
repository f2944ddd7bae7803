"""Worker processes that die with their parent, and quiet broken pipes.

The engine's process pool and the sweeps' local runner start their workers
with :func:`init_worker`: on Linux the kernel sends the worker SIGKILL when
its parent dies (``prctl(PR_SET_PDEATHSIG)``), kill -9 included; elsewhere a
watchdog thread in the worker checks every half second that its parent is
still there and ends the worker when it is not. Either way no worker outlives
a killed ``trialsim`` by more than a moment, holding its caller's terminal or
pipe.

A worker keeps the memory it frees for its next chunk (:func:`keep_freed_memory`).

A worker's stdout and stderr are wrapped so that writing to a closed pipe
(``trialsim sweep ... | head -1``) is silently dropped instead of raising
BrokenPipeError in the worker; the command line does the same for the parent
(:func:`quiet_stdout`).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

__all__ = ["init_worker", "die_with_parent", "keep_freed_memory", "quiet_stdout", "usable_cores"]

_PR_SET_PDEATHSIG = 1
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3     # glibc's mallopt parameters
#: allocations below this come from the heap, not from mmap (a chunk's largest
#: arrays, 30 MB for 800 conventional trials of 500 patients, fall below it)
MMAP_THRESHOLD_BYTES = 64 << 20
#: free memory at the top of the heap kept rather than given back to the system
TRIM_THRESHOLD_BYTES = 128 << 20


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity where the system
    has one (``taskset``, a batch scheduler's cgroup cpuset), else all cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):     # no sched_getaffinity (macOS, Windows)
        return os.cpu_count() or 1
WATCHDOG_SECONDS = 0.5


def init_worker(parent_pid: int, ignore_sigint: bool = False) -> None:
    """The initializer of every trialsim worker process (``parent_pid``: the
    pid of the process that starts the pool)."""
    if ignore_sigint:
        # Ctrl-C reaches the whole process group; the parent handles it and ends
        # the workers, which would otherwise each print a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent_pid)
    keep_freed_memory()
    sys.stdout = _PipeSafe(sys.stdout)
    sys.stderr = _PipeSafe(sys.stderr)


def die_with_parent(parent_pid: int) -> str:
    """Make this process end when ``parent_pid`` (its parent) ends; returns
    how: ``"prctl"`` (Linux) or ``"watchdog"`` (a thread polling the parent)."""
    how = "watchdog"
    if sys.platform.startswith("linux"):
        try:
            import ctypes  # deferred: only worker processes on Linux need it

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                how = "prctl"
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:      # the parent died before the line above: nobody waits for us
        os._exit(1)
    if how == "watchdog":
        threading.Thread(target=_watch, args=(parent_pid,), name="trialsim-parent-watchdog", daemon=True).start()
    return how


def keep_freed_memory() -> bool:
    """Make this process's malloc (glibc) serve large arrays from its heap and
    keep freed memory for the next ones, instead of mapping fresh pages from
    the system for every large array and returning them when it is freed;
    returns whether it could (False off glibc).

    A worker simulates chunk after chunk with arrays of the same sizes. With
    glibc's defaults, a forked worker mapped and faulted in some 60 MB of
    fresh pages for every chunk (16,000 page faults per chunk of 800
    conventional trials; 0.8 s of system time in a 10,000-trial run on two
    workers); with these thresholds it reuses its heap from the second chunk
    on. A worker holds at most what it held at its peak."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes  # deferred: only worker processes on Linux need it

        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):     # not glibc (musl has no mallopt)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD,
                                                                                    TRIM_THRESHOLD_BYTES))


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(WATCHDOG_SECONDS)
    os._exit(1)


class _PipeSafe:
    """A text stream whose writes to a closed pipe are dropped."""

    def __init__(self, stream):
        self._stream = stream
        self._broken = False

    def write(self, text):
        if self._broken or self._stream is None:
            return len(text)
        try:
            return self._stream.write(text)
        except (BrokenPipeError, ValueError):
            self._broken = True
            return len(text)

    def flush(self):
        if self._broken or self._stream is None:
            return
        try:
            self._stream.flush()
        except (BrokenPipeError, ValueError):
            self._broken = True

    def __getattr__(self, name):
        return getattr(self._stream, name)


def quiet_stdout() -> None:
    """After a BrokenPipeError on stdout: point stdout at the null device so
    that Python's final flush does not print another error (the recipe of the
    Python documentation on SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
