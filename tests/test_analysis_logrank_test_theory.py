"""trialsim.analysis.logrank_test: the vectorised log-rank test, plain and
stratified.

Theory tier (see docs/architecture.md, "Validation tiers"): seeded simulation
against the closed form or the null distribution, within 4 Monte Carlo
standard errors.
"""

from __future__ import annotations

import math

import numpy as np

from tests.support.logrank_reference import simulate_two_arm
from trialsim.analysis import logrank, reject


def test_theory_null_type_one_error_and_z_moments():
    """Under H0 (same exponential in both arms) z is ~N(0, 1): the one-sided
    rejection share at alpha = 0.025 is within 4 Monte Carlo SE of 0.025, the
    mean of z within 4 SE of 0, and its SD within 4 SE of 1 (SE of a sample
    SD ~ 1/sqrt(2R))."""
    R, n, alpha = 4000, 200, 0.025
    rng = np.random.default_rng(20240602)
    time, event, group = simulate_two_arm(rng, R, n, hr=1.0, censor_max=25.0)
    res = logrank(time, event, group)
    rate = reject(res.z, alpha=alpha, sided=1).mean()
    se = math.sqrt(alpha * (1 - alpha) / R)
    assert abs(rate - alpha) <= 4 * se, (rate, se)
    assert abs(res.z.mean()) <= 4 * res.z.std(ddof=1) / math.sqrt(R)
    assert abs(res.z.std(ddof=1) - 1.0) <= 4 / math.sqrt(2 * R)
    # the p-value is uniform: same share below alpha
    assert (res.p_value(1) <= alpha).mean() == rate
