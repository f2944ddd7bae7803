"""Unit tier of trialsim.curves.mrd: the calibrated components mix back to the marginal curve
(required to 1e-6; in fact to rounding), and the closed form of detectable MRD at its edges.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from tests.support.curves import MARGINALS
from trialsim.curves import (
    Exponential,
    Fixed,
    MrdComponent,
    Uniform,
    Weibull,
    detectable_mrd_prevalence,
    mrd_components,
    reference,
)


@pytest.mark.parametrize("name", sorted(MARGINALS))
@pytest.mark.parametrize("p,h", [(0.08, 2.3), (0.3, 5.0), (0.5, 0.6), (0.0, 2.0), (1.0, 2.0)])
def test_unit_mrd_components_mix_to_the_marginal(name, p, h):
    """p S_pos + (1-p) S_neg = S(tsd + t)/S(tsd) on a grid (required to 1e-6; holds to rounding)."""
    curve, tsd = MARGINALS[name]
    pos, neg = mrd_components(curve, prevalence=p, hazard_ratio=h, time_since_diagnosis=tsd)
    t = np.concatenate((np.linspace(0.0, 600.0, 1201), [1e4, np.inf]))
    marginal = np.asarray(curve.survival(tsd + t)) / curve.survival(tsd)
    mix = p * pos.survival(t) + (1 - p) * neg.survival(t)
    assert np.max(np.abs(mix - marginal)) <= 1e-6
    assert np.max(np.abs(mix - marginal)) <= 1e-13  # in fact to rounding
    # proportional hazards between the components, and the cure fractions mix too
    np.testing.assert_allclose(pos.cumhaz(t[1:-1]), h * np.asarray(neg.cumhaz(t[1:-1])), rtol=1e-12)
    assert p * pos.cured_fraction + (1 - p) * neg.cured_fraction == pytest.approx(
        curve.cured_fraction / curve.survival(tsd), abs=1e-12)


def test_unit_mrd_component_hazard_is_the_derivative():
    pos, neg = mrd_components(Weibull.from_median(60, 1.3), prevalence=0.2, hazard_ratio=3.0,
                              time_since_diagnosis=10.0)
    t = np.array([1.0, 10.0, 50.0, 200.0])
    for c in (pos, neg):
        eps = 1e-5 * t
        numeric = (np.asarray(c.cumhaz(t + eps)) - np.asarray(c.cumhaz(t - eps))) / (2 * eps)
        np.testing.assert_allclose(c.hazard(t), numeric, rtol=1e-6)
    np.testing.assert_allclose(pos.hazard(t), 3.0 * np.asarray(neg.hazard(t)), rtol=1e-12)


def test_unit_mrd_component_values():
    pos, neg = mrd_components(reference("pan2017/T1N0"), prevalence=0.1, hazard_ratio=2.0,
                              time_since_diagnosis=60)
    assert isinstance(pos, MrdComponent) and pos.status == "positive" and neg.status == "negative"
    assert pos == pickle.loads(pickle.dumps(pos)) and pos != neg
    assert "MRD-positive" in pos.describe() and "\n" not in pos.describe()
    with pytest.raises(NotImplementedError, match="no YAML form"):
        pos.to_spec()
    with pytest.raises(ValueError, match="prevalence must be in"):
        mrd_components(Exponential(rate=0.1), prevalence=1.5, hazard_ratio=2.0)
    with pytest.raises(ValueError, match="hazard_ratio must be > 0"):
        mrd_components(Exponential(rate=0.1), prevalence=0.5, hazard_ratio=0.0)
    with pytest.raises(ValueError, match="survival 0"):
        mrd_components(Uniform(0, 10), prevalence=0.5, hazard_ratio=2.0, time_since_diagnosis=10)


def test_unit_detectable_mrd_prevalence_edge_cases():
    curve = Exponential(rate=0.02)
    # a fixed lead time l: P(t < T_R <= t + l) = e^{-rt}(1 - e^{-rl}) exactly
    got = detectable_mrd_prevalence(curve, Fixed(6.0), np.array([0.0, 12.0]))
    np.testing.assert_allclose(got, np.exp(-0.02 * np.array([0.0, 12.0])) * (1 - math.exp(-0.12)), rtol=1e-12)
    # no recurrence at all: only the dormant share, throughout
    assert detectable_mrd_prevalence(Exponential(rate=0.0), Fixed(6.0), 5.0, dormant_share=0.03) == \
        pytest.approx(0.03, abs=1e-15)
