"""trialsim.analysis.fleming_harrington: Fleming-Harrington weighted log-rank and
MaxCombo.

Peer tier (see docs/architecture.md, "Validation tiers"): against lifelines
and scipy (run live) and R (golden values in tests/golden/r_survival_*.json,
written by tools/r/make_golden_survival.R with the R calls stored next to
each value).  docs/analysis.md lists the largest differences seen against
each peer.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.survival_reference import (
    TTE,
    golden_arrays,
    scipy_max_tail,
    simulate_cure,
)
from trialsim.analysis import logrank, maxcombo, weighted_logrank


@pytest.mark.parametrize("tests", [((0, 0), (0, 1)), ((0, 0), (0, 1), (1, 1))])
def test_peer_maxcombo_p_value_against_scipy_mvn(tests):
    """Non-singular correlations: our quadrature against
    ``scipy.stats.multivariate_normal(..., abseps=1e-9, releps=1e-9).cdf``
    per replicate: absolute difference < 3e-6 one-sided and two-sided
    (largest seen 1e-6).  (FH weights are nearly collinear -- polynomials of
    S of degree <= 2 span 3 dimensions -- so a fourth test is singular or
    nearly so, where scipy's own error reaches 3e-5: see the next test.)"""
    rng = np.random.default_rng(6)
    time, event, group = simulate_cure(rng, 6, 120, cure_treatment=0.35, hr=0.9, ties=True)
    res = maxcombo(time, event, group, tests=tests)
    worst = 0.0
    for r in range(6):
        ref1 = scipy_max_tail(res.z_max[r], res.correlation[r])
        ref2 = scipy_max_tail(np.abs(res.z_tests[r]).max(), res.correlation[r], two_sided=True)
        worst = max(worst, abs(res.p_value(1)[r] - ref1), abs(res.p_value(2)[r] - ref2))
    assert worst < 3e-6, worst


@pytest.mark.parametrize("case", TTE, ids=[c["name"] for c in TTE])
def test_peer_r_survdiff_and_fh_by_hand(case):
    """survdiff chi-squares (log-rank, stratified, G-rho rho = 1 and rho = 0.5
    stratified) and the R loop's FH(rho, gamma) U and V: relative 1e-11."""
    time, event, group, strata = golden_arrays(case)
    sd = case["survdiff"]
    assert logrank(time, event, group).chi2[0] == pytest.approx(sd["logrank"]["chisq"], rel=1e-11)
    lrs = logrank(time, event, group, strata=strata)
    assert lrs.chi2[0] == pytest.approx(sd["logrank_strata"]["chisq"], rel=1e-11)
    assert lrs.expected[0, 1] == pytest.approx(sd["logrank_strata"]["exp_treatment"], rel=1e-12)
    assert lrs.variance[0] == pytest.approx(sd["logrank_strata"]["var"], rel=1e-12)
    assert lrs.observed[0, 1] == sd["logrank_strata"]["obs_treatment"]
    r1 = weighted_logrank(time, event, group, rho=1)
    assert r1.z[0] ** 2 == pytest.approx(sd["rho_1"]["chisq"], rel=1e-11)
    assert r1.variance[0] == pytest.approx(sd["rho_1"]["var"], rel=1e-12)
    r05 = weighted_logrank(time, event, group, rho=0.5, strata=strata)
    assert r05.z[0] ** 2 == pytest.approx(sd["rho_0.5_strata"]["chisq"], rel=1e-11)
    for h in case["fh_by_hand"]:
        res = weighted_logrank(time, event, group, rho=h["rho"], gamma=h["gamma"],
                               strata=strata if h["strata"] else None)
        assert res.observed_minus_expected[0] == pytest.approx(h["U"], rel=1e-11, abs=1e-12)
        assert res.variance[0] == pytest.approx(h["V"], rel=1e-11)


@pytest.mark.parametrize("case", TTE, ids=[c["name"] for c in TTE])
def test_peer_r_maxcombo_mvtnorm(case):
    """FH statistics and their correlation from the R loop (1e-12), and the
    p-values of the maximum from mvtnorm::pmvnorm (GenzBretz, abseps 1e-9).
    Non-singular set FH(0,0), FH(0,1), FH(1,1): within 3e-6.  The default
    four are singular (rank 3); there mvtnorm's own error is larger than it
    reports (brute-force Monte Carlo sides with trialsim: docs/analysis.md),
    so the tolerance is 2e-5."""
    time, event, group, _ = golden_arrays(case)
    for mc, tol in zip(case["maxcombo"], (3e-6, 2e-5)):
        tests = tuple(tuple(t) for t in mc["tests"])
        res = maxcombo(time, event, group, tests=tests)
        np.testing.assert_allclose(res.z_tests[0], mc["z"], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(res.correlation[0], mc["corr"], rtol=1e-12, atol=1e-12)
        assert res.p_value(1)[0] == pytest.approx(mc["p_one_sided"], abs=tol)
        assert res.p_value(2)[0] == pytest.approx(mc["p_two_sided"], abs=tol)


def test_peer_lifelines_fleming_harrington():
    """``logrank_test(..., weightings="fleming-harrington", p=rho, q=gamma)``:
    chi-square within relative 1e-10 (largest seen 6e-15) on continuous times.
    (lifelines 0.30 raises on some data with tied times -- its weight vector
    is one entry short -- so tied data are checked against R instead.)"""
    from lifelines.statistics import logrank_test

    rng = np.random.default_rng(14)
    R = 8
    time, event, group = simulate_cure(rng, R, 100, cure_treatment=0.35)
    for rho, gamma in ((0, 1), (1, 0), (1, 1), (0.5, 2)):
        res = weighted_logrank(time, event, group, rho=rho, gamma=gamma)
        for r in range(R):
            g = group[r]
            ll = logrank_test(time[r, g], time[r, ~g], event[r, g], event[r, ~g],
                              weightings="fleming-harrington", p=rho, q=gamma).test_statistic
            assert res.z[r] ** 2 == pytest.approx(ll, rel=1e-10)
