"""The ``trialsim`` command line with one writer made to stall, for the fault tier.

``python -m tests.support.slow_cli ARGS...`` runs ``trialsim ARGS...``; the
environment variable ``TRIALSIM_STALL`` names the writer that stalls (for a
minute, so that a test can kill the process at a known point of its output):

* ``results``: while ``replicates.csv`` is being written (after its header);
* ``sweep``: after the sweep's tables, JSON and figures are written, before
  they are put in place.
"""

from __future__ import annotations

import os
import sys
import time

STALL_SECONDS = 60


def _stall_results() -> None:
    import trialsim.results as results

    real = results._csv_cell
    calls = [0]

    def stalling(x):
        calls[0] += 1
        if calls[0] == 50:
            time.sleep(STALL_SECONDS)
        return real(x)

    results._csv_cell = stalling


def _stall_sweep() -> None:
    import trialsim.sweeps.run as run

    real = run.plot_power_curve

    def stalling(res, stem):
        written = real(res, stem)
        time.sleep(STALL_SECONDS)
        return written

    run.plot_power_curve = stalling


def main() -> None:
    stall = os.environ.get("TRIALSIM_STALL", "")
    if stall == "results":
        _stall_results()
    elif stall == "sweep":
        _stall_sweep()
    from trialsim.cli import main as cli  # after the patches, so the command uses them

    sys.argv[0] = "trialsim"
    cli()


if __name__ == "__main__":
    main()
