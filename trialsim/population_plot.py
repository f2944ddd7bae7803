"""Drawing a scenario's population: the figure `trialsim curves plot SCENARIO` writes.

:func:`trialsim.curves.plot` draws curves, fits and population models; a
scenario (a file or a :class:`~trialsim.scenario.Scenario`) first has to
become a population model (:class:`trialsim.cohort.PopulationModel`). This
module sits above the scenario loader, the cohort and the curves, so that the
curves subpackage needs neither of the other two: everything else goes
straight to :func:`trialsim.curves.plot`.
"""

from __future__ import annotations

from typing import Any

from trialsim.cohort import PopulationModel
from trialsim.curves import plots
from trialsim.scenario import Scenario, load_scenario

__all__ = ["plot"]


def plot(what: Any, **kwargs: Any):
    """:func:`trialsim.curves.plot`, which also takes a scenario file or a Scenario.

    For a scenario: each stratum's recurrence curve from entry, the calibrated
    MRD components of ``prevalence`` strata and the detectable MRD of
    ``lead_time`` strata, titled with the scenario's name.
    """
    scenario = what if isinstance(what, Scenario) else None
    if scenario is None and plots.is_scenario_file(what):
        scenario = load_scenario(what)
    if scenario is None:
        return plots.plot(what, **kwargs)
    return plots.plot(PopulationModel.from_scenario(scenario), name=scenario.name, **kwargs)
