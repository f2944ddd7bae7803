"""Dask distributed: a scheduler named by address or given as a Client, and
functions run there a few calls at a time.

``simulate(..., scheduler=...)``, the sweeps and the report run chunks of
replicates as Dask tasks through :func:`connect` and :func:`run_windowed`.
Only a bounded window of calls is in flight at once (three per worker
thread): the next is submitted as one finishes, and each finished future is
released as soon as its result is taken, so the submitting process holds the
results it keeps and a window of chunks, never the whole run's futures.
:class:`Gathered` keeps those results: each finished chunk's arrays are
copied into arrays of the whole run's size, allocated when the first chunk
arrives, and the chunk is dropped, so that the client holds the run's arrays
once, never the chunks and their concatenation side by side. Dask is
optional (``pip install 'trialsim[dask]'``) and imported only here, on first
use.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

#: how long :func:`connect` waits for a scheduler that does not answer
CONNECT_TIMEOUT = "20s"

#: calls in flight per worker thread of the cluster
CHUNKS_PER_THREAD = 3


class SchedulerError(Exception):
    """A scheduler that cannot be used: Dask is not installed, or the address
    is malformed or does not answer. The message names the address."""


def connect(scheduler) -> tuple[Any, bool]:
    """(client, owned): a ``distributed.Client`` given as is (not owned: the
    caller closes it), or one connected to the address ``scheduler``
    (``tcp://HOST:8786``; owned: close it when done). Raises
    :class:`SchedulerError` with one message."""
    try:
        import distributed  # deferred: Dask is optional (trialsim[dask]) and slow to import
    except ImportError:
        raise SchedulerError("--scheduler needs Dask distributed: pip install 'trialsim[dask]'") from None
    if isinstance(scheduler, distributed.Client):
        return scheduler, False
    if not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be an address (tcp://HOST:8786) or a distributed.Client, "
                        f"got {type(scheduler).__name__}")
    if not scheduler.strip():
        raise SchedulerError("--scheduler is empty: give the scheduler's address, e.g. tcp://HOST:8786")
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise SchedulerError(f"--scheduler {scheduler}: cannot connect: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise SchedulerError(f"--scheduler {scheduler}: cannot connect: not a scheduler address "
                             f"(tcp://HOST:8786): {exc}") from None
    return client, True


def threads(client) -> int:
    """The worker threads of the cluster (at least 1): what sizes the window
    of calls in flight and the chunks of a lone run."""
    try:
        return max(1, sum(client.nthreads().values()))
    except Exception:  # noqa: BLE001 - a count for sizing only; a failing cluster shows when tasks run
        return 1


def run_windowed(client, fn: Callable, calls: Sequence[tuple], window: int | None = None
                 ) -> Iterator[tuple[int, Any]]:
    """Run ``fn(*calls[i])`` on the cluster; yield ``(i, result)`` as each
    finishes (in any order), with at most ``window`` calls in flight
    (default: three per worker thread). Closing the generator early (an
    error, Ctrl-C) cancels the calls still in flight."""
    import distributed  # deferred: Dask is optional; connect() has imported it already

    window = max(1, CHUNKS_PER_THREAD * threads(client) if window is None else int(window))
    which: dict[str, int] = {}
    flying: dict[str, Any] = {}
    ac = distributed.as_completed()
    nxt = 0

    def submit() -> None:
        nonlocal nxt
        fut = client.submit(fn, *calls[nxt], pure=False)
        which[fut.key] = nxt
        flying[fut.key] = fut
        ac.add(fut)
        nxt += 1

    try:
        while nxt < len(calls) and len(flying) < window:
            submit()
        for fut in ac:
            result = fut.result()
            i = which.pop(fut.key)
            del flying[fut.key]
            fut.release()
            del fut
            if nxt < len(calls):
                submit()
            yield i, result
            del result
    finally:
        if flying:
            client.cancel(list(flying.values()))
            flying.clear()


class Gathered:
    """The arrays of a run assembled from its chunks' outputs as they finish,
    in any order, each copied into place and then free to be dropped.

    A chunk's output is a dict of arrays whose first axis is its replicates
    (``rows``), or of dicts of such arrays. :meth:`place` copies a chunk
    whose replicates start at row ``offset`` of the run's ``rows`` into
    arrays of the run's size, allocated when the first chunk arrives; an
    array of two axes narrower than the run's so far is padded with zeros on
    the right (and the run's arrays widened when a wider one comes), and a
    dtype that needs a wider one promotes the run's array, as
    ``np.concatenate`` would. :meth:`append` takes, in the run's order,
    tables of any number of rows (``capacity`` rows at most in all, allocated
    at the first and trimmed by :meth:`result`; more grow the arrays). What
    :meth:`result` returns equals the chunks' outputs concatenated in order,
    with the keys in the order of the chunk at row 0."""

    def __init__(self, rows: int):
        self.rows = int(rows)
        self._placed: dict = {}
        self._order: list | None = None
        self._appended: dict[str, dict] = {}
        self._used: dict[str, int] = {}

    def place(self, offset: int, part: dict) -> None:
        """Copy ``part`` (a chunk's output) into rows ``offset`` onwards."""
        if self._order is None or offset == 0:
            self._order = [(k, list(v) if isinstance(v, dict) else None) for k, v in part.items()]
        for key, value in part.items():
            if isinstance(value, dict):
                into = self._placed.setdefault(key, {})
                for k, a in value.items():
                    into[k] = self._put(into.get(k), offset, a)
            else:
                self._placed[key] = self._put(self._placed.get(key), offset, value)

    def _put(self, whole, offset: int, a):
        import numpy as np  # deferred: trialsim.cluster is imported by the CLI, which checks scenarios without numpy

        a = np.asarray(a)
        if whole is None:
            whole = (np.zeros if a.ndim == 2 else np.empty)((self.rows,) + a.shape[1:], dtype=a.dtype)
        dtype = np.result_type(whole, a)
        if dtype != whole.dtype:
            whole = whole.astype(dtype)
        if a.ndim == 2 and a.shape[1] > whole.shape[1]:
            wider = np.zeros((self.rows, a.shape[1]), dtype=whole.dtype)
            wider[:, :whole.shape[1]] = whole
            whole = wider
        if a.ndim == 2:      # the columns right of a narrower chunk's keep their zeros
            whole[offset:offset + a.shape[0], :a.shape[1]] = a
        else:
            whole[offset:offset + a.shape[0]] = a
        return whole

    def append(self, key: str, part: dict, capacity: int) -> None:
        """Append the table ``part`` (a dict of arrays of equal length) to
        those appended under ``key`` so far."""
        import numpy as np  # deferred: trialsim.cluster is imported by the CLI, which checks scenarios without numpy

        into = self._appended.setdefault(key, {})
        used = self._used.get(key, 0)
        for k, a in part.items():
            a = np.asarray(a)
            whole = into.get(k)
            if whole is None:
                whole = np.empty((max(int(capacity), a.shape[0]),) + a.shape[1:], dtype=a.dtype)
            dtype = np.result_type(whole, a)
            if dtype != whole.dtype:
                whole = whole.astype(dtype)
            if used + a.shape[0] > whole.shape[0]:
                bigger = np.empty((max(2 * whole.shape[0], used + a.shape[0]),) + whole.shape[1:], dtype=whole.dtype)
                bigger[:used] = whole[:used]
                whole = bigger
            whole[used:used + a.shape[0]] = a
            into[k] = whole
        self._used[key] = used + (len(next(iter(part.values()))) if part else 0)

    def result(self) -> dict:
        """The run's arrays: those placed (keys in the order of the chunk at
        row 0), then the tables appended, each cut to its rows."""
        out: dict = {}
        for key, inner in self._order or []:
            out[key] = self._placed[key] if inner is None else {k: self._placed[key][k] for k in inner}
        for key, table in self._appended.items():
            used = self._used[key]
            for k, whole in table.items():
                if whole.shape[0] != used:
                    # in place: the rows past `used` were never written, and no other reference to `whole` exists
                    whole.resize((used,) + whole.shape[1:], refcheck=False)
            out[key] = table
        self._placed, self._appended = {}, {}
        return out
