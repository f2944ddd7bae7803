"""trialsim.analysis.mvn: the multivariate-normal tail behind MaxCombo's p-value.

Peer tier (see docs/architecture.md, "Validation tiers"): against lifelines
and scipy (run live) and R (golden values in tests/golden/r_survival_*.json,
written by tools/r/make_golden_survival.R with the R calls stored next to
each value).  docs/analysis.md lists the largest differences seen against
each peer.
"""

from __future__ import annotations

import numpy as np

from tests.support.survival_reference import scipy_max_tail
from trialsim.analysis import mvn


def test_peer_mvn_tail_general_matrices_against_scipy():
    """Well-conditioned random correlations of 4 and 5 statistics (3 and 4
    integration dimensions: the Sobol' rule) against scipy: < 5e-5."""
    rng = np.random.default_rng(61)
    worst = 0.0
    for K in (4, 5):
        for _ in range(4):
            a = rng.normal(size=(K, K + 3))
            c = a @ a.T
            c /= np.sqrt(np.outer(np.diag(c), np.diag(c)))
            m = rng.uniform(1.0, 3.0)
            p = mvn._mvn_max_tail(np.array([m]), c[None], np.ones((1, K), bool), two_sided=False)[0]
            worst = max(worst, abs(p - scipy_max_tail(m, c)))
    assert worst < 5e-5, worst
