"""trialsim.design.spending: alpha-spending functions.

Unit tier (see docs/architecture.md, "Validation tiers"): exact expectations,
loop references and argument errors; ``test_property_`` tests are hypothesis
invariants.
"""

from __future__ import annotations

import numpy as np
import pytest

from trialsim.design import boundaries
from trialsim.design.spending import _alpha_spending


def test_unit_hsd_spellings_agree_and_gamma_zero_is_linear():
    a = boundaries([0.3, 0.6], spending="hsd(-4)")
    b = boundaries([0.3, 0.6], spending="hsd", gamma=-4)
    np.testing.assert_array_equal(a.efficacy, b.efficacy)
    assert a.spending == "hsd(-4)"
    lin = boundaries([0.25, 0.5, 0.75], spending="hsd(0)")
    np.testing.assert_allclose(lin.cumulative_alpha_spent, 0.025 * np.array([0.25, 0.5, 0.75, 1.0]), atol=1e-10)


def test_unit_spending_functions_spend_alpha_by_the_end():
    t = np.array([1e-6, 0.5, 1.0])
    for kind, g in (("obrien_fleming", None), ("pocock", None), ("hsd", -4.0), ("hsd", 1.0)):
        for sided in (1, 2):
            s = _alpha_spending(kind, g, 0.05, t, sided)
            assert s[-1] == pytest.approx(0.05, abs=1e-15)
            assert np.all(np.diff(s) > 0) and s[0] < 1e-3
