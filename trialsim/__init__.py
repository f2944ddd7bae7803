"""trialsim: a clinical trial design simulator for MRD-eradication trials."""

__version__ = "0.1.0"

from trialsim.scenario import Scenario, ScenarioError, load_scenario  # noqa: E402


def simulate(scenario, **kwargs):
    """Simulate a scenario; see :func:`trialsim.engine.simulate`."""
    from trialsim.engine import simulate as _simulate

    return _simulate(scenario, **kwargs)


def find_sample_size(scenario, **kwargs):
    """Smallest enrolment or events reaching a target power; see :func:`trialsim.sweep.find_sample_size`."""
    from trialsim.sweep import find_sample_size as _find

    return _find(scenario, **kwargs)


def __getattr__(name):
    # `trialsim.sweep` is the module trialsim/sweep.py, which is callable:
    # trialsim.sweep(scenario, vary={...}, ...) runs a sweep. A wrapper function
    # here would be replaced by the module as soon as anything imports it, so
    # the module itself is loaded on first use (keeping `import trialsim` light).
    if name == "sweep":
        import importlib

        return importlib.import_module("trialsim.sweep")
    raise AttributeError(f"module 'trialsim' has no attribute {name!r}")


def replay(provenance, **kwargs):
    """Re-run a simulation from its provenance; see :func:`trialsim.engine.replay`."""
    from trialsim.engine import replay as _replay

    return _replay(provenance, **kwargs)


__all__ = ["Scenario", "ScenarioError", "load_scenario", "simulate", "sweep", "find_sample_size", "replay", "__version__"]
