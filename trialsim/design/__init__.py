"""Analytic companions of the simulation: the closed forms a statistician
checks simulated figures against. Every function is pure (no simulation, no
random numbers); formulas, sources and the comparisons with rpact are in
docs/design.md.

* Log-rank events and power (``logrank_events``): :func:`schoenfeld_events`,
  :func:`schoenfeld_power` (Schoenfeld 1981), :func:`freedman_events`,
  :func:`freedman_power` (Freedman 1982).
* Group-sequential boundaries by recursive numerical integration
  (Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000, ch. 19):
  :func:`boundaries`, :func:`exit_probabilities` and :func:`plan_boundaries`
  (``group_sequential``), from the spending functions (``spending``) and the
  recursion (``integration``).
* Sample size and duration with piecewise accrual and dropout:
  :func:`lachin_foulkes` (Lachin & Foulkes 1986; ``sample_size``) and
  :func:`expected_events` (``accrual``).
* The screening funnel of this model in closed form: :func:`screening_funnel`,
  :func:`lead_time_staging` (``funnel``); and the effect the log-rank test
  sees when false positives and non-eradicated patients are randomised:
  :func:`diluted_hazard_ratio` (``dilution``).

Conventions: time in months, rates per month, allocation ``r`` = patients on
treatment per patient on control, hazard ratio = treatment / control. The
standardised log-rank statistic Z is positive when treatment is better; under
the canonical joint distribution of a group-sequential trial,
``E[Z_k] = drift * sqrt(t_k)`` at information fraction ``t_k`` and
``cov(Z_j, Z_k) = sqrt(t_j / t_k)`` for ``j <= k``. For the log-rank test with
``D`` target events, ``drift = sqrt(D r) / (1 + r) * |log HR|``.
"""

from trialsim.design.accrual import ExpectedEvents, expected_events
from trialsim.design.dilution import DilutedHazardRatio, diluted_hazard_ratio
from trialsim.design.funnel import LeadTimeStaging, ScreeningFunnel, lead_time_staging, screening_funnel
from trialsim.design.group_sequential import (
    Boundaries,
    ExitProbabilities,
    boundaries,
    exit_probabilities,
    plan_boundaries,
)
from trialsim.design.logrank_events import freedman_events, freedman_power, schoenfeld_events, schoenfeld_power
from trialsim.design.sample_size import SampleSize, lachin_foulkes

__all__ = [
    "schoenfeld_power",
    "schoenfeld_events",
    "freedman_events",
    "freedman_power",
    "Boundaries",
    "boundaries",
    "ExitProbabilities",
    "exit_probabilities",
    "plan_boundaries",
    "ExpectedEvents",
    "expected_events",
    "SampleSize",
    "lachin_foulkes",
    "ScreeningFunnel",
    "screening_funnel",
    "LeadTimeStaging",
    "lead_time_staging",
    "DilutedHazardRatio",
    "diluted_hazard_ratio",
]
