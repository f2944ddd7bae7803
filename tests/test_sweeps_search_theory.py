"""The sample-size search against theory (trialsim/sweeps/search.py).

Theory tier: the searched number of events against Schoenfeld's events,
with a tolerance from the Monte Carlo error at the answer.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from trialsim import Scenario
from trialsim.design import schoenfeld_events
from trialsim.sweeps import find_sample_size, set_path


def test_theory_searched_events_match_schoenfeld(small):
    """HR 0.6, 1:1, one-sided 0.025, 80% power: Schoenfeld needs 120.3 events.
    The searched answer may differ by the Monte Carlo error of power at the
    answer turned into events through the slope of the power curve
    (4 SE / (dpower/devents)), plus one for the integer step."""
    hr, R = 0.6, 4000
    d_star = schoenfeld_events(hazard_ratio=hr, alpha=0.025, power=0.8)
    small = Scenario.from_dict(set_path(small.to_dict(), ("arms", "treatment", "hazard_ratio"), hr))
    res = find_sample_size(small, target_power=0.8, solve="trial.analysis.events", replicates=R, seed=20261122)
    z = NormalDist()
    drift = 0.5 * abs(math.log(hr))
    slope = z.pdf(z.inv_cdf(0.8)) * drift / (2 * math.sqrt(d_star))
    tolerance = 4 * math.sqrt(0.8 * 0.2 / R) / slope + 1
    assert abs(res.value - d_star) <= tolerance, (res.value, d_star, tolerance)
    assert res.analytic["value"] == math.ceil(d_star)
    assert res.power >= 0.8 and res.below["power"] < 0.8
