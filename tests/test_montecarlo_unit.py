"""Unit tier: trialsim.montecarlo, the one Monte Carlo interval for a power."""
from __future__ import annotations

import math

import numpy as np
import pytest

from trialsim.montecarlo import binomial_mcse, wilson_interval


def test_unit_wilson_matches_its_closed_form():
    # Wilson (1927): (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n); p 0.8, n 100.
    z = 1.959963984540054
    p, n = 0.8, 100
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low, high = wilson_interval(p, n)
    assert low == pytest.approx(centre - half, abs=1e-15)
    assert high == pytest.approx(centre + half, abs=1e-15)


def test_unit_wilson_stays_inside_unit_interval_at_the_edges():
    low, high = wilson_interval(np.array([0.0, 1.0]), np.array([1000, 1000]))
    assert 0.0 <= low[0] < 1e-15 and 0 < high[0] < 0.005
    assert 0.995 < low[1] < 1.0 and high[1] == 1.0


def test_unit_mcse_scalar_and_array():
    assert binomial_mcse(0.8, 10_000) == pytest.approx(0.004)
    np.testing.assert_allclose(binomial_mcse(np.array([0.5, 0.0]), np.array([100, 100])), [0.05, 0.0])
