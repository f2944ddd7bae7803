"""Sweeps, power curves and the sample-size search.

``trialsim.sweep(scenario, vary={path: values}, *, replicates, seed, workers)``
simulates every design of a grid and returns a tidy table, one row per grid
point; ``trialsim.find_sample_size(scenario, *, target_power, solve)`` finds
by simulation the smallest enrolment (or number of events) whose power
reaches a target. docs/sweeps.md describes both, with their columns and
outputs.

The parts, from the bottom up:

* ``errors``: SweepError (a user's mistake; the CLI exits 2) and TargetNotReached;
* ``paths``: dotted paths into a scenario and the values of a ``--vary``;
* ``grid``: every combination of the varied values, each a validated scenario;
* ``runners``: where chunks of replicates run (worker processes, or Dask);
* ``designs``: a design simulated incrementally; the seed all designs share;
* ``checkpoints``: finished grid points on disk, and resuming from them;
* ``tables``, ``plots``: flat columns, files, text tables, and figures;
* ``run``: sweeps (``sweep``, ``run_sweep``, ``SweepResult``);
* ``search``: the stochastic root search for a sample size;
* ``sizes``: ``find_sample_size(s)`` and their results.
"""

from trialsim.sweeps.checkpoints import Checkpoint, scenario_hash
from trialsim.sweeps.errors import SweepError, TargetNotReached
from trialsim.sweeps.grid import GridPoint, build_grid
from trialsim.sweeps.paths import Vary, get_path, make_vary, parse_path, parse_values, parse_vary, set_path
from trialsim.sweeps.plots import plot_power_curve
from trialsim.sweeps.run import SweepResult, format_sweep, run_sweep, sweep
from trialsim.sweeps.search import PILOT_REPLICATES
from trialsim.sweeps.sizes import (SOLVABLE, SimulatedSampleSize, SizeGridResult, find_sample_size, find_sample_sizes,
                                   format_size)
from trialsim.sweeps.tables import DISTRIBUTION_KEYS, flatten_row

__all__ = [
    "Checkpoint", "DISTRIBUTION_KEYS", "GridPoint", "PILOT_REPLICATES", "SOLVABLE", "SimulatedSampleSize",
    "SizeGridResult", "SweepError", "SweepResult", "TargetNotReached", "Vary", "build_grid", "find_sample_size",
    "find_sample_sizes", "flatten_row", "format_size", "format_sweep", "get_path", "make_vary", "parse_path",
    "parse_values", "parse_vary", "plot_power_curve", "run_sweep", "scenario_hash", "set_path", "sweep",
]
