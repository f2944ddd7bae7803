"""trialsim.analysis.results: critical values, rejections and p-values.

Unit tier (see docs/architecture.md, "Validation tiers"): exact expectations,
loop references and argument errors; ``test_property_`` tests are hypothesis
invariants.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tests.support.logrank_reference import HAND_EVENT, HAND_GROUP, HAND_TIME
from trialsim.analysis import critical_value, logrank, p_at_most, reject
from trialsim.analysis.results import _DECISION_MARGIN, LogrankResult, MaxComboResult


def test_unit_critical_value_reject_and_p_values():
    assert critical_value(0.025, 1) == pytest.approx(1.959963984540054, rel=1e-14)
    assert critical_value(0.05, 2) == pytest.approx(1.959963984540054, rel=1e-14)
    assert critical_value(0.05, 1) == pytest.approx(stats.norm.ppf(0.95), rel=1e-14)
    crit = critical_value(0.025, 1)
    z = np.array([-3.0, 0.0, crit, 2.5, np.nan, -2.5])
    np.testing.assert_array_equal(reject(z, alpha=0.025, sided=1), [0, 0, 1, 1, 0, 0])
    np.testing.assert_array_equal(reject(z, alpha=0.05, sided=2), [1, 0, 1, 1, 0, 1])
    with pytest.raises(ValueError):
        critical_value(0.05, 3)
    with pytest.raises(ValueError):
        critical_value(1.5, 1)
    with pytest.raises(ValueError):
        reject(z, alpha=0.0, sided=1)

    res = logrank(HAND_TIME, HAND_EVENT, HAND_GROUP)
    np.testing.assert_allclose(res.p_value(), 1 - stats.norm.cdf(res.z), rtol=1e-12)
    np.testing.assert_allclose(res.p_value(1), stats.norm.sf(res.z), rtol=1e-12)
    np.testing.assert_allclose(res.p_value(2), 2 * stats.norm.sf(abs(res.z)), rtol=1e-12)
    np.testing.assert_allclose(res.p_value(2), stats.chi2.sf(res.chi2, 1), rtol=1e-12)
    with pytest.raises(ValueError):
        res.p_value(0)


def _logrank_result(z) -> LogrankResult:
    z = np.asarray(z, dtype=float)
    nan = np.full(z.size, np.nan)
    return LogrankResult(z=z, observed=np.c_[nan, nan], expected=np.c_[nan, nan], variance=nan,
                         events=np.zeros(z.size, dtype=np.int64), hazard_ratio=nan)


@pytest.mark.parametrize("sided", [1, 2])
@pytest.mark.parametrize("alpha", [0.025, 0.05, 0.2, 1e-12, 0.999999])
def test_unit_p_at_most_is_the_p_value_decision(alpha, sided):
    """p_at_most(result, sided, alpha) gives the booleans of p_value(sided) <= alpha:
    z spread widely, z within the margin of the critical value and at the exact
    boundary (where the p-value itself decides), nan and infinities."""
    rng = np.random.default_rng(20261203)
    crit = critical_value(alpha, sided)
    near = crit + rng.uniform(-3, 3, 2000) * _DECISION_MARGIN
    z = np.concatenate([rng.normal(0.0, 3.0, 5000), near, -near, np.nextafter(crit, [-9.0, 9.0]),
                        [crit, -crit, 0.0, np.nan, np.inf, -np.inf]])
    res = _logrank_result(z)
    expected = np.asarray(res.p_value(sided), dtype=float) <= alpha
    got = p_at_most(res, sided, alpha)
    assert got.dtype == bool and got.shape == z.shape
    np.testing.assert_array_equal(got, expected)
    if 0.01 < alpha < 0.5:   # both decisions occur among the spread z
        assert expected[:5000].any() and not expected[:5000].all()


def test_unit_p_at_most_takes_a_tests_own_p_value():
    """A result with its own p_value (MaxCombo: not a function of one z) is decided by it."""
    class Own(MaxComboResult):
        def p_value(self, sided=1):
            return np.array([0.01, 0.03, np.nan])

    res = Own.__new__(Own)
    np.testing.assert_array_equal(p_at_most(res, 1, 0.025), [True, False, False])
    with pytest.raises(ValueError):
        p_at_most(_logrank_result([1.0]), 3, 0.025)
