"""Shared fixtures: small scenarios written the way users write them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

CONVENTIONAL = """\
name: conventional log-rank design
accrual: {rate: 20.8333}
population:
  strata: [{name: all, share: 1, recurrence: {exponential: {median: 24}}}]
arms:
  control: {}
  treatment: {hazard_ratio: 0.7}
trial:
  enrollment: 500
  analysis: {events: 247, alpha: 0.025, sided: 1}
"""

CTDNA = """\
name: small ctDNA surveillance
accrual: {rate: 60, sites: {count: 10, open_over: 6}}
population:
  strata:
    - {name: T2N1-3, share: 0.6, time_since_diagnosis: {uniform: [60, 120]}, recurrence: {reference: pan2017/T2N1-3}}
    - {name: T1N0, share: 0.4, time_since_diagnosis: 84, recurrence: {exponential: {cumulative: 0.13, at: 240}}}
  other_cause_death: {exponential: {rate: 0.0008}}
mrd:
  model: lead_time
  lead_time: {weibull: {median: 10.5, shape: 1.5}}
  dormant_share: 0.01
screening:
  test: {name: ctDNA, sensitivity: 0.88, specificity: 0.998, failure: 0.05, turnaround: 0.5, cost: 1500}
  visits: {every: 6, count: 4}
  staging: {imaging_lead: 3}
  consent: 0.8
  max_months: 36
arms:
  control: {allocation: 1}
  treatment: {allocation: 1, eradication: 0.3, hazard_ratio: 0.7}
trial:
  enrollment: 60
  dropout: {annual: 0.05}
  analysis: {events: 30, months: 24, alpha: 0.025, sided: 1}
"""


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def conventional(tmp_path):
    from trialsim import load_scenario

    return load_scenario(write(tmp_path, CONVENTIONAL))


@pytest.fixture
def ctdna(tmp_path):
    from trialsim import load_scenario

    return load_scenario(write(tmp_path, CTDNA))


# A screened design with one visit and fixed MRD status (prevalence model): the
# closed-form funnel holds exactly, so theory tests compare the simulation with it.
SCREEN_ONCE = """\
name: one screening visit
accrual: {rate: 500}
population:
  strata: [{name: all, share: 1, time_since_diagnosis: 24, recurrence: {exponential: {rate: 0.01}}}]
mrd: {model: prevalence, prevalence: 0.2, hazard_ratio: 2.0}
screening:
  test: {sensitivity: 0.8, specificity: 0.95, failure: 0.1}
  visits: {every: 12, count: 1}
  max_screened: 3000
arms:
  control: {}
  treatment: {}
trial:
  enrollment: 100000
  analysis: {months: 1}
"""


# A conventional design small enough for sweeps and searches in unit tests.
SMALL = CONVENTIONAL.replace("enrollment: 500", "enrollment: 200").replace("events: 247", "events: 120")


@pytest.fixture
def small(tmp_path):
    from trialsim import load_scenario

    return load_scenario(write(tmp_path, SMALL))


def strip_created(obj):
    """A checkpoint's or a result's JSON without its ``created`` timestamps (which differ between runs)."""
    if isinstance(obj, dict):
        return {k: strip_created(v) for k, v in obj.items() if k != "created"}
    if isinstance(obj, list):
        return [strip_created(v) for v in obj]
    return obj


@pytest.fixture(scope="module")
def report():
    """The fit report of every model to tests/data/patients_weibull.csv (the curves' fitting tests)."""
    from tests.support.curves import PATIENTS
    from trialsim.curves import fit

    return fit(PATIENTS)
