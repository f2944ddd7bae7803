"""trialsim: a clinical trial design simulator for MRD-eradication trials."""

import importlib

__version__ = "0.1.0"

from trialsim.scenario import Scenario, ScenarioError, load_scenario  # noqa: E402


def simulate(scenario, **kwargs):
    """Simulate a scenario; see :func:`trialsim.engine.simulate`."""
    from trialsim.engine import simulate as _simulate

    return _simulate(scenario, **kwargs)


# Loaded on first use, so that `import trialsim` stays light (the sweeps pull
# in the engine); the attribute is then the function itself, with its true
# signature and docstring.
_LAZY = {"sweep": "trialsim.sweeps", "find_sample_size": "trialsim.sweeps"}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'trialsim' has no attribute {name!r}")


def replay(provenance, **kwargs):
    """Re-run a simulation from its provenance; see :func:`trialsim.engine.replay`."""
    from trialsim.engine import replay as _replay

    return _replay(provenance, **kwargs)


__all__ = ["Scenario", "ScenarioError", "load_scenario", "simulate", "sweep", "find_sample_size", "replay", "__version__"]
