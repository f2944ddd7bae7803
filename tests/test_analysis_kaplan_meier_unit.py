"""trialsim.analysis.kaplan_meier: RMST and milestone-survival differences.

Unit tier (see docs/architecture.md, "Validation tiers"): exact expectations,
loop references and argument errors; ``test_property_`` tests are hypothesis
invariants.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from trialsim.analysis import milestone_difference, rmst_difference


def test_unit_rmst_and_milestone_hand_example():
    """Control 1, 2, 3+, 4; treatment 2, 3, 5+.  Control KM: 3/4 after 1,
    1/2 after 2, 0 after 4; treatment: 2/3 after 2, 1/3 after 3.
    RMST to 4.5: control 1 + 3/4 + 1/2 + 1/2 = 2.75, treatment 2 + 2/3 +
    1/3 * 1.5 = 3.1666...; milestone at 2.5: 1/2 and 2/3, Greenwood
    (1/2)^2 (1/(4*3) + 1/(3*2)) = 1/16, (2/3)^2 (1/(3*2)) = 2/27."""
    time = [1, 2, 3, 4, 2, 3, 5]
    event = [1, 1, 0, 1, 1, 1, 0]
    group = [0, 0, 0, 0, 1, 1, 1]
    rm = rmst_difference(time, event, group, horizon=4.5)
    np.testing.assert_allclose(rm.rmst[0], [2.75, 2 + 2 / 3 + 0.5], rtol=1e-14)
    assert rm.difference[0] == pytest.approx(2 + 2 / 3 + 0.5 - 2.75, rel=1e-13)
    ms = milestone_difference(time, event, group, at=2.5)
    np.testing.assert_allclose(ms.survival[0], [0.5, 2 / 3], rtol=1e-15)
    np.testing.assert_allclose(ms.variance[0], [1 / 16, 2 / 27], rtol=1e-14)
    assert ms.z[0] == pytest.approx((2 / 3 - 0.5) / math.sqrt(1 / 16 + 2 / 27), rel=1e-13)
    # horizon before the first event: both arms tau, variance 0, z = 0
    early = rmst_difference(time, event, group, horizon=0.5)
    np.testing.assert_array_equal(early.rmst[0], [0.5, 0.5])
    assert early.z[0] == 0
    # an arm without patients: nan, z = 0
    one_arm = rmst_difference([1.0, 2.0], [1, 1], [1, 1], horizon=3.0)
    assert np.isnan(one_arm.rmst[0, 0]) and one_arm.z[0] == 0
    with pytest.raises(ValueError, match="horizon"):
        rmst_difference(time, event, group, horizon=0)
    with pytest.raises(ValueError, match="not stratified"):
        milestone_difference(time, event, group, at=2, strata=[0, 0, 0, 1, 1, 1, 1])
