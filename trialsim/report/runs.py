"""The report's extra designs, simulated in one batch with the sweeps' machinery.

The points of the default power curves, the null design of the type I error
and the designs of the sensitivity analysis are all simulated with the run's
seed (common random numbers: replicate i of every design draws from the same
streams) by one runner (worker processes, this process for one worker, or
a Dask cluster), so the workers stay busy across designs. A design's summary at n replicates
equals ``trialsim.simulate(design, replicates=n, seed=seed).summary()``
exactly, whatever the number of workers.
"""

from __future__ import annotations

from typing import Callable, Hashable, Sequence

from trialsim.scenario import Scenario
from trialsim.sweeps.designs import Design, run_designs
from trialsim.sweeps.runners import make_runner


def run_batch(requests: Sequence[tuple[Hashable, Scenario, int]], *, seed: int, workers: int,
              progress: Callable[[int], None] | None = None, scheduler=None) -> dict[Hashable, dict]:
    """Simulate each (key, scenario, replicates) with ``seed``; return {key: summary}.

    ``progress(k)`` is called as each chunk of k replicates finishes.
    ``scheduler``: a Dask scheduler's address or a ``distributed.Client`` to
    run the chunks on instead of local workers (the same summaries)."""
    if not requests:
        return {}
    keys = [k for k, _, _ in requests]
    if len(set(keys)) != len(keys):
        raise ValueError("run_batch: every design needs its own key")
    runner = make_runner(workers, scheduler)
    designs = {key: Design(key, sc, seed) for key, sc, _ in requests}
    out: dict[Hashable, dict] = {}

    def finished(d: Design) -> None:
        out[d.key] = d.result().summary()
        d.parts = []        # only the summary is kept

    try:
        run_designs(runner, [(designs[key], int(n)) for key, _, n in requests], on_done=finished,
                    on_chunk=progress)
    except BaseException:
        runner.close(abort=True)
        raise
    runner.close()
    return {key: out[key] for key in keys}
