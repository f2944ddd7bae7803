"""trialsim.analysis.dispatch: test strings and run_test.

Unit tier (see docs/architecture.md, "Validation tiers"): exact expectations,
loop references and argument errors; ``test_property_`` tests are hypothesis
invariants.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.support.survival_reference import simulate_cure
from trialsim.analysis import (
    cox,
    logrank,
    maxcombo,
    milestone_difference,
    parse_test,
    rmst_difference,
    run_test,
    weighted_logrank,
)


def test_unit_run_test_dispatch():
    rng = np.random.default_rng(13)
    time, event, group = simulate_cure(rng, 5, 80, ties=True)
    strata = rng.integers(0, 2, time.shape)
    cases = {
        "logrank": (logrank(time, event, group), "hazard_ratio"),
        "fh(0,1)": (weighted_logrank(time, event, group, rho=0, gamma=1), None),
        " fh( 1 , 0.5 ) ": (weighted_logrank(time, event, group, rho=1, gamma=0.5), None),
        "maxcombo": (maxcombo(time, event, group), None),
        "rmst(18)": (rmst_difference(time, event, group, horizon=18), "rmst_difference"),
        "milestone(12.5)": (milestone_difference(time, event, group, at=12.5), "milestone_difference"),
        "cox": (cox(time, event, group), "hazard_ratio"),
    }
    for spec, (direct, name) in cases.items():
        res = run_test(spec, time, event, group)
        np.testing.assert_array_equal(res.z, direct.z, err_msg=spec)
        np.testing.assert_array_equal(res.p_value(1), direct.p_value(1))
        np.testing.assert_array_equal(res.p_value(2), direct.p_value(2))
        assert res.estimate_name == name
        if name is not None:
            np.testing.assert_array_equal(res.estimate, direct.estimate)
    np.testing.assert_array_equal(run_test("logrank", time, event, group, strata=strata).z,
                                  logrank(time, event, group, strata=strata).z)
    np.testing.assert_array_equal(run_test("cox", time, event, group, strata=strata).z,
                                  cox(time, event, group, strata=strata).z)
    assert parse_test("fh(0, 1)") == ("fh", (0.0, 1.0))
    assert parse_test("rmst(24)") == ("rmst", (24.0,))
    for bad in ("wilcoxon", "fh(1)", "rmst()", "logrank2"):
        with pytest.raises(ValueError, match="unknown test"):
            run_test(bad, time, event, group)
    with pytest.raises(ValueError, match="not stratified"):
        run_test("rmst(12)", time, event, group, strata=strata)


@pytest.mark.parametrize("spec, words", [("rmst(0)", "rmst needs a time above 0"),
                                         ("milestone(-5)", "milestone needs a time above 0"),
                                         ("fh(-1, 0)", "fh(rho, gamma) needs rho >= 0"),
                                         ("fh(0, -0.5)", "fh(rho, gamma) needs rho >= 0"),
                                         ("rmst(1e999)", "must be finite")])
def test_unit_parse_test_refuses_parameters_the_kernels_cannot_use(spec, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        parse_test(spec)
