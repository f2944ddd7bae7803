"""trialsim.analysis.binary: Fisher's exact test and Cochran-Mantel-Haenszel.

Theory tier (see docs/architecture.md, "Validation tiers"): seeded simulation
against the closed form or the null distribution, within 4 Monte Carlo
standard errors.
"""

from __future__ import annotations

import math

import numpy as np

from trialsim.analysis import cmh, fisher_exact


def test_theory_binary_tests_at_the_null():
    """Clearance 30% in both arms, 100 per arm (3 strata for CMH): Fisher's
    exact test is conservative (rate <= alpha + 4 SE); CMH without the
    continuity correction is within 4 SE of alpha, with it at most alpha +
    4 SE."""
    rng = np.random.default_rng(20240615)
    R, alpha = 4000, 0.025
    se = math.sqrt(alpha * (1 - alpha) / R)
    st_, sc = rng.binomial(100, 0.3, R), rng.binomial(100, 0.3, R)
    assert np.mean(fisher_exact(st_, 100, sc, 100).p_value(1) <= alpha) <= alpha + 4 * se
    nt = np.array([40, 35, 25])
    a, c = rng.binomial(nt, [0.2, 0.3, 0.45], (R, 3)), rng.binomial(nt, [0.2, 0.3, 0.45], (R, 3))
    raw = np.mean(cmh(a, nt, c, nt, correct=False).p_value(1) <= alpha)
    assert abs(raw - alpha) <= 4 * se, raw
    assert np.mean(cmh(a, nt, c, nt).p_value(1) <= alpha) <= alpha + 4 * se
