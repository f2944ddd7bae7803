"""trialsim: a clinical trial design simulator for MRD-eradication trials."""

__version__ = "0.1.0"

from trialsim.scenario import Scenario, ScenarioError, load_scenario  # noqa: E402


def simulate(scenario, **kwargs):
    """Simulate a scenario; see :func:`trialsim.engine.simulate`."""
    from trialsim.engine import simulate as _simulate

    return _simulate(scenario, **kwargs)


def replay(provenance, **kwargs):
    """Re-run a simulation from its provenance; see :func:`trialsim.results.replay`."""
    from trialsim.results import replay as _replay

    return _replay(provenance, **kwargs)


__all__ = ["Scenario", "ScenarioError", "load_scenario", "simulate", "replay", "__version__"]
