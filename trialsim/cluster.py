"""Dask distributed: a scheduler named by address or given as a Client, and
functions run there a few calls at a time.

``simulate(..., scheduler=...)``, the sweeps and the report run chunks of
replicates as Dask tasks through :func:`connect` and :func:`run_windowed`.
Only a bounded window of calls is in flight at once (three per worker
thread): the next is submitted as one finishes, and each finished future is
released as soon as its result is taken, so the submitting process holds the
results it keeps and a window of chunks, never the whole run's futures. Dask
is optional (``pip install 'trialsim[dask]'``) and imported only here, on
first use.
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
