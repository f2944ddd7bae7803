"""trialsim.analysis.mvn: the multivariate-normal tail behind MaxCombo's p-value.

Unit tier (see docs/architecture.md, "Validation tiers"): exact expectations,
loop references and argument errors; ``test_property_`` tests are hypothesis
invariants.
"""

from __future__ import annotations

import numpy as np

from tests.support.survival_reference import simulate_cure
from trialsim.analysis import maxcombo, mvn


def test_unit_maxcombo_quadrature_against_fine_qmc():
    """The default four (singular correlation): the production rule (Gauss-
    Legendre, 24 nodes a dimension) against 2**14 scrambled Sobol' points of
    the same integrals, over maxima from -2.5 to 4.5: absolute difference <
    2e-6 one-sided for p <= 1/2 (maxima >= 0), < 1e-5 two-sided, < 5e-5
    anywhere; relative < 1e-3 for p < 1e-3."""
    rng = np.random.default_rng(7)
    time, event, group = simulate_cure(rng, 3, 150, cure_treatment=0.35, ties=True)
    corr = maxcombo(time, event, group).correlation
    m = np.linspace(-2.5, 4.5, 15)
    C = np.repeat(corr, m.size, axis=0)
    mm = np.tile(m, corr.shape[0])
    has = np.ones(C.shape[:2], bool)
    fast1 = mvn._mvn_max_tail(mm, C, has, two_sided=False)
    fast2 = mvn._mvn_max_tail(np.abs(mm), C, has, two_sided=True)
    saved = mvn._GAUSS_MAX_DIM, mvn._SOBOL_POINTS, dict(mvn._RULES)
    try:
        mvn._GAUSS_MAX_DIM, mvn._SOBOL_POINTS = 0, 1 << 14
        mvn._RULES.clear()
        fine1 = mvn._mvn_max_tail(mm, C, has, two_sided=False)
        fine2 = mvn._mvn_max_tail(np.abs(mm), C, has, two_sided=True)
    finally:
        mvn._GAUSS_MAX_DIM, mvn._SOBOL_POINTS = saved[0], saved[1]
        mvn._RULES.clear()
        mvn._RULES.update(saved[2])
    low = fine1 <= 0.5
    assert np.abs(fast1 - fine1)[low].max() < 2e-6
    assert np.abs(fast1 - fine1).max() < 5e-5
    assert np.abs(fast2 - fine2)[fine2 <= 0.5].max() < 1e-5
    # small p-values keep their relative accuracy
    tiny = fine1 < 1e-3
    assert np.all(np.abs(fast1 / fine1 - 1)[tiny] < 1e-3)
