"""trialsim: a clinical trial design simulator for MRD-eradication trials.

The public API, for statisticians who import the library::

    import trialsim

    scenario = trialsim.load_scenario("scenarios/ctdna_er_positive.yaml")   # or a mapping
    result = trialsim.simulate(scenario, replicates=1000, seed=1)
    result.summary()["power"], result.to_frame()
    trialsim.replay(result.provenance)              # the same run, bit for bit
    trialsim.sweep(scenario, vary={"arms.treatment.eradication": [0.1, 0.2, 0.3]}, replicates=500, seed=1)
    trialsim.find_sample_size(scenario, target_power=0.8, solve="trial.enrollment", seed=1)

``FORMAT_VERSION`` is the version of the scenario file format this trialsim
reads (the ``format:`` key of a scenario file).

``import trialsim`` stays light: every name below loads its module on
first use (the scenario model and pydantic for ``load_scenario``; the
simulator, sweeps and their dependencies, simpy, scipy, pandas, for
``simulate`` and ``sweep``), and each name is then the real function or
class, with its own signature and documentation. The command line's
``trialsim validate`` thus starts before any of them loads
(:func:`trialsim.cli.main`).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from trialsim.version import __version__  # noqa: F401 - trialsim.__version__

# Loaded on first use (PEP 562): the name, and the module that defines it.
_LAZY = {
    "FORMAT_VERSION": "trialsim.scenario",
    "Scenario": "trialsim.scenario",
    "ScenarioError": "trialsim.scenario",
    "load_scenario": "trialsim.scenario",
    "simulate": "trialsim.engine",
    "replay": "trialsim.engine",
    "SimulationResult": "trialsim.results",
    "sweep": "trialsim.sweeps",
    "run_sweep": "trialsim.sweeps",
    "SweepResult": "trialsim.sweeps",
    "find_sample_size": "trialsim.sweeps",
    "find_sample_sizes": "trialsim.sweeps",
}

if TYPE_CHECKING:   # what type checkers and editors see; at run time, __getattr__ below
    from trialsim.engine import replay, simulate
    from trialsim.scenario import FORMAT_VERSION, Scenario, ScenarioError, load_scenario
    from trialsim.results import SimulationResult
    from trialsim.sweeps import (
        SweepResult,
        find_sample_size,
        find_sample_sizes,
        run_sweep,
        sweep,
    )

__all__ = [
    "FORMAT_VERSION",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "SweepResult",
    "find_sample_size",
    "find_sample_sizes",
    "load_scenario",
    "replay",
    "run_sweep",
    "simulate",
    "sweep",
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trialsim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value      # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
