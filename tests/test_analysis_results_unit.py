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
from trialsim.analysis import critical_value, logrank, reject


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
