"""trialsim.analysis.dispatch: test strings and run_test.

Theory tier (see docs/architecture.md, "Validation tiers"): seeded simulation
against the closed form or the null distribution, within 4 Monte Carlo
standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.support.survival_reference import simulate_cure
from trialsim.analysis import cox, reject, run_test


@pytest.fixture(scope="module")
def null_trials():
    """R = 4000 trials of n = 200 under the null: both arms a 25% cure
    mixture (non-proportional hazards tests exercised), half with ties."""
    rng = np.random.default_rng(20240614)
    time, event, group = simulate_cure(rng, 4000, 200, cure_control=0.25, cure_treatment=0.25)
    time[::2] = np.round(time[::2])
    strata = rng.integers(0, 3, time.shape)
    return time, event, group, strata


NULL_TESTS = ["logrank", "fh(0,1)", "fh(1,0)", "fh(1,1)", "maxcombo", "rmst(24)", "milestone(18)", "cox",
              "logrank+strata", "cox+strata", "cox_efron"]


@pytest.mark.parametrize("spec", NULL_TESTS)
def test_theory_type_one_error_at_the_null(null_trials, spec):
    """One-sided alpha = 0.025: the rejection share (p-value <= alpha, the
    test's own p-value; MaxCombo's from the multivariate normal) is within 4
    Monte Carlo SE, sqrt(alpha (1 - alpha) / R), of alpha."""
    time, event, group, strata = null_trials
    alpha, R = 0.025, time.shape[0]
    if spec == "cox_efron":
        res = cox(time, event, group, ties="efron")
    elif spec.endswith("+strata"):
        res = run_test(spec.split("+")[0], time, event, group, strata=strata)
    else:
        res = run_test(spec, time, event, group)
    p = res.p_value(1)
    rate = np.mean(p <= alpha)
    se = math.sqrt(alpha * (1 - alpha) / R)
    assert abs(rate - alpha) <= 4 * se, (spec, rate, se)
    np.testing.assert_array_equal(reject(res.z, alpha=alpha, sided=1), p <= alpha)
    rate2 = np.mean(res.p_value(2) <= 2 * alpha)
    assert abs(rate2 - 2 * alpha) <= 4 * math.sqrt(2 * alpha * (1 - 2 * alpha) / R), (spec, rate2)
