"""trialsim.design.group_sequential: group-sequential boundaries and exit
probabilities.

Unit tier (see docs/architecture.md, "Validation tiers"): exact expectations,
loop references and argument errors; ``test_property_`` tests are hypothesis
invariants.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.support.rpact_golden import P_TOL
from trialsim.design import boundaries, exit_probabilities


def test_unit_final_look_is_optional():
    a = boundaries([0.5], spending="pocock")
    b = boundaries([0.5, 1.0], spending="pocock")
    np.testing.assert_array_equal(a.information_fractions, [0.5, 1.0])
    np.testing.assert_array_equal(a.efficacy, b.efficacy)


def test_unit_single_look_is_the_fixed_design():
    b = boundaries([1.0], alpha=0.025)
    assert b.efficacy[0] == pytest.approx(1.959963984540054, abs=1e-10)
    b2 = boundaries([1.0], alpha=0.05, sided=2, spending="classical_pocock")
    assert b2.efficacy[0] == pytest.approx(1.959963984540054, abs=1e-9)


def test_unit_wang_tsiatis_shapes():
    t = np.array([0.3, 0.6, 1.0])
    p = boundaries(t, spending="classical_pocock")
    assert np.ptp(p.efficacy) < 1e-12
    of = boundaries(t, spending="classical_obrien_fleming")
    np.testing.assert_allclose(of.efficacy * np.sqrt(t), of.efficacy[-1], rtol=1e-12)
    assert of.cumulative_alpha_spent[-1] == pytest.approx(0.025, abs=1e-12)


def test_unit_two_sided_uses_both_tails():
    """Symmetric two-sided at alpha spends alpha over |Z|: at one look the bound is z_{1-alpha/2}."""
    b = boundaries([0.5], alpha=0.05, sided=2, spending="pocock")
    ex = exit_probabilities(b, 0.0)
    assert ex.power == pytest.approx(0.05, abs=1e-10)
    np.testing.assert_allclose(ex.efficacy, ex.efficacy_lower, atol=1e-12)


def test_unit_boundaries_object_is_frozen_and_printable():
    b = boundaries([0.5], futility="obrien_fleming", beta=0.2)
    with pytest.raises(Exception):
        b.alpha = 0.05
    with pytest.raises(ValueError):
        b.efficacy[0] = 0.0
    text = str(b)
    assert "obrien_fleming" in text and "futility z" in text and len(text.splitlines()) == 4
    assert b.looks == 2


def test_unit_futility_forms_agree():
    """The log-rank drift from hazard_ratio and events equals an explicit drift."""
    hr, d = 0.7, 247
    drift = math.sqrt(d) / 2 * abs(math.log(hr))
    a = boundaries([0.5], futility={"spending": "pocock", "beta": 0.2, "hazard_ratio": hr, "events": d})
    b = boundaries([0.5], futility={"spending": "pocock", "beta": 0.2, "drift": drift})
    np.testing.assert_array_equal(a.futility, b.futility)
    assert a.drift == pytest.approx(drift) and a.inflation_factor is None
    # the string form solves the drift (rpact's way) with beta from the beta argument
    c = boundaries([0.5], futility="pocock", beta=0.1)
    assert c.beta == 0.1 and c.inflation_factor > 1
    assert exit_probabilities(c, c.drift).power == pytest.approx(0.9, abs=1e-8)


def test_unit_futility_at_a_large_drift_is_capped_at_efficacy():
    b = boundaries([0.5, 0.75], futility={"spending": "pocock", "beta": 0.2, "drift": 8.0})
    assert np.all(b.futility <= b.efficacy)


def test_unit_futility_lowers_rejection_probability():
    b = boundaries([1 / 3, 2 / 3], futility={"spending": "obrien_fleming", "beta": 0.2})
    with_fut = exit_probabilities(b, 0.0)
    without = exit_probabilities(b, 0.0, futility=False)
    assert without.power == pytest.approx(0.025, abs=1e-9)
    assert with_fut.power < without.power
    assert with_fut.futility[-1] == 0 and with_fut.futility[0] > 0
    assert sum(with_fut.efficacy) + sum(with_fut.futility) + (with_fut.reach[-1] - with_fut.efficacy[-1]) == \
        pytest.approx(1.0, abs=P_TOL)


@pytest.mark.parametrize("kwargs, message", [
    (dict(information_fractions=[0.5, 0.4]), "strictly increasing"),
    (dict(information_fractions=[0.0, 1.0]), r"\(0, 1\]"),
    (dict(information_fractions=[0.5, 1.2]), r"\(0, 1\]"),
    (dict(information_fractions=[]), "at least one"),
    (dict(information_fractions="abc"), "information"),
    (dict(information_fractions=[0.5], spending="lan_demets"), "unknown spending"),
    (dict(information_fractions=[0.5], spending="hsd"), "needs its gamma"),
    (dict(information_fractions=[0.5], spending="pocock", gamma=1), "hsd spending only"),
    (dict(information_fractions=[0.5], spending="hsd(-4)", gamma=2), "disagree"),
    (dict(information_fractions=[0.5], alpha=1.5), "alpha"),
    (dict(information_fractions=[0.5], sided=3), "sided"),
    (dict(information_fractions=[0.5], beta=1.0), "beta"),
    (dict(information_fractions=[0.5], sided=2, alpha=0.05, futility="pocock"), "one-sided"),
    (dict(information_fractions=[1.0], futility="pocock"), "interim"),
    (dict(information_fractions=[0.5], futility={"spending": "pocock", "power": 0.8}), "unknown futility key"),
    (dict(information_fractions=[0.5], futility={"spending": "classical_pocock"}), "unknown futility spending"),
    (dict(information_fractions=[0.5], futility={"hazard_ratio": 0.7}), "both hazard_ratio and events"),
    (dict(information_fractions=[0.5], futility={"drift": 2.0, "hazard_ratio": 0.7, "events": 9}), "not both"),
    (dict(information_fractions=[0.5], futility={"drift": -1.0}), "drift"),
    (dict(information_fractions=[0.5], futility=3), "futility must be"),
])
def test_unit_boundaries_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        boundaries(**kwargs)


def test_unit_exit_probabilities_argument_errors():
    with pytest.raises(ValueError, match="Boundaries"):
        exit_probabilities([1.96], 1.0)
    with pytest.raises(ValueError, match="drift"):
        exit_probabilities(boundaries([0.5]), float("nan"))
