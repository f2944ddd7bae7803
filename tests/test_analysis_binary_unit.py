"""trialsim.analysis.binary: Fisher's exact test and Cochran-Mantel-Haenszel.

Unit tier (see docs/architecture.md, "Validation tiers"): exact expectations,
loop references and argument errors; ``test_property_`` tests are hypothesis
invariants.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from tests.support.survival_reference import PROPERTY_SETTINGS
from trialsim.analysis import cmh, fisher_exact


def test_unit_cmh_conventions():
    """One stratum without correction is the squared Mantel-Haenszel z of the
    2x2 table; strata with < 2 patients add nothing; z signed."""
    res = cmh([[8, 0]], [[10, 1]], [[3, 0]], [[10, 0]], correct=False)
    n, m = 20, 11  # the second stratum has one patient
    expected, var = 10 * m / n, 10 * 10 * m * (n - m) / (n * n * (n - 1))
    assert res.z[0] == pytest.approx((8 - expected) / math.sqrt(var), rel=1e-13)
    flip = cmh([[3, 0]], [[10, 0]], [[8, 0]], [[10, 1]], correct=False)
    assert flip.z[0] == pytest.approx(-res.z[0], rel=1e-13)
    empty = cmh([[0, 0]], [[0, 0]], [[0, 0]], [[0, 0]])
    assert empty.z[0] == 0 and empty.p_value(2)[0] == 1.0
    with pytest.raises(ValueError, match="exceed"):
        cmh([[5]], [[4]], [[1]], [[4]])


@PROPERTY_SETTINGS
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)),
                min_size=1, max_size=6))
def test_property_fisher_and_cmh_symmetry(tables):
    """Swapping arms: 'greater' becomes 'less' (p_greater of the swap is
    1 - p_greater + P(observed)), two-sided unchanged; CMH z flips."""
    a, x, c, y = (np.array(v) for v in zip(*tables))
    nt, nc = a + x, c + y
    f1, f2 = fisher_exact(a, nt, c, nc), fisher_exact(c, nc, a, nt)
    np.testing.assert_allclose(f1.p_two_sided, f2.p_two_sided, rtol=1e-12)
    pmf = stats.hypergeom.pmf(a, nt + nc, nt, a + c)
    informative = (nt > 0) & (nc > 0) & (a + c > 0) & (a + c < nt + nc)
    np.testing.assert_allclose(f2.p_greater[informative], (1 - f1.p_greater + pmf)[informative], atol=1e-9)
    k1 = cmh(a[None], nt[None], c[None], nc[None])
    k2 = cmh(c[None], nc[None], a[None], nt[None])
    np.testing.assert_allclose(k2.z, -k1.z, atol=1e-12)
