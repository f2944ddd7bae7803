"""trialsim.analysis.proportional_hazards: the vectorised Cox model.

Unit tier (see docs/architecture.md, "Validation tiers"): exact expectations,
loop references and argument errors; ``test_property_`` tests are hypothesis
invariants.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tests.support.survival_reference import simulate_cure
from trialsim.analysis import cox, logrank


def test_unit_cox_breslow_score_is_the_logrank_and_monotone_rows():
    """Without ties the Breslow score statistic at 0 is the log-rank's z (with
    ties it lacks the log-rank's (n - d)/(n - 1) variance correction); it is
    the z of rows whose estimate is infinite."""
    rng = np.random.default_rng(11)
    time, event, group = simulate_cure(rng, 8, 60, ties=False)
    # row 0: no treated event at all (log HR -> -inf); row 1: no control event
    event[0, group[0]] = False
    event[1, ~group[1]] = False
    # row 2: no events; row 3: everybody treated
    event[2] = False
    group[3] = True
    res = cox(time, event, group)
    lr = logrank(time, event, group)
    assert res.log_hr[0] == -np.inf and res.hr[0] == 0 and res.se[0] == np.inf
    assert res.log_hr[1] == np.inf and res.ci_high[1] == np.inf
    assert res.z[0] == pytest.approx(lr.z[0], rel=1e-12) and res.z[0] > 0
    assert res.z[1] == pytest.approx(lr.z[1], rel=1e-12) and res.z[1] < 0
    for r in (2, 3):
        assert np.isnan(res.log_hr[r]) and res.z[r] == 0 and not res.converged[r]
    assert np.all(res.converged[4:]) and np.all(np.isfinite(res.log_hr[4:]))
    assert not res.converged[:2].any()


def test_unit_cox_interval_and_sign():
    rng = np.random.default_rng(12)
    time, event, group = simulate_cure(rng, 30, 300, hr=0.6)
    res = cox(time, event, group, level=0.9)
    q = stats.norm.ppf(0.95)
    np.testing.assert_allclose(res.ci_low, np.exp(res.log_hr - q * res.se), rtol=1e-12)
    np.testing.assert_allclose(res.ci_high, np.exp(res.log_hr + q * res.se), rtol=1e-12)
    np.testing.assert_allclose(res.z, -res.log_hr / res.se, rtol=1e-12)
    assert np.mean(res.z > 0) > 0.9 and np.all(res.estimate == res.hr)
    with pytest.raises(ValueError, match="ties"):
        cox(time, event, group, ties="exact")
    with pytest.raises(ValueError, match="level"):
        cox(time, event, group, level=95)
