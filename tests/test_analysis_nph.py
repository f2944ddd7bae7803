"""Tests for trialsim.analysis beyond the log-rank: Fleming-Harrington
weighted log-rank, MaxCombo, RMST, milestone survival, Cox, Fisher's exact
test, Cochran-Mantel-Haenszel and the ``run_test`` dispatcher.

Tiers (docs/DESIGN.md, "Validation tiers"): ``test_unit_`` exact expectations
and loop references, ``test_peer_`` against lifelines and scipy (run live) and
R (golden values in tests/golden/r_survival_*.json, written by
tools/r/make_golden_survival.R with the R calls stored next to each value),
``test_property_`` hypothesis invariants, ``test_theory_`` type I error at the
null within 4 Monte Carlo standard errors.  docs/analysis.md lists the largest
differences seen against each peer.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.utils import restricted_mean_survival_time
from scipy import special, stats

from trialsim import analysis
from trialsim.analysis import (
    cmh,
    cox,
    fisher_exact,
    logrank,
    maxcombo,
    milestone_difference,
    parse_test,
    reject,
    rmst_difference,
    run_test,
    weighted_logrank,
)

GOLDEN = Path(__file__).parent / "golden"
TTE = json.loads((GOLDEN / "r_survival_tte.json").read_text())
BINARY = json.loads((GOLDEN / "r_survival_binary.json").read_text())

# ---------------------------------------------------------------------------
# helpers


def simulate_cure(rng, R, n, *, cure_control=0.2, cure_treatment=0.2, hr=1.0, ties=False, censor=(6.0, 48.0)):
    """Cure mixture: a share of each arm never recurs, the rest exponential
    (control median 12); administrative censoring Uniform(censor).  With equal
    cure shares and ``hr = 1`` the arms have the same distribution (the null)."""
    group = rng.random((R, n)) < 0.5
    rate = np.where(group, hr, 1.0) * math.log(2) / 12.0
    t_event = rng.exponential(1.0, (R, n)) / rate
    t_event[rng.random((R, n)) < np.where(group, cure_treatment, cure_control)] = np.inf
    t_cens = rng.uniform(*censor, (R, n))
    time = np.minimum(t_event, t_cens)
    event = t_event <= t_cens
    if ties:
        time = np.round(time)
    return time, event, group


def reference_fh(time, event, group, rho, gamma, strata=None):
    """Loop reference for FH(rho, gamma): (U, V), U the weighted treatment
    O - E, weights from the pooled within-stratum KM just before each time."""
    time = np.asarray(time, float)
    event = np.asarray(event, bool)
    group = np.asarray(group, bool)
    strata = np.zeros(time.size, int) if strata is None else np.asarray(strata)
    u = v = 0.0
    for s in np.unique(strata):
        m = strata == s
        t, e, g = time[m], event[m], group[m]
        surv = 1.0
        for x in sorted(set(t[e].tolist())):
            risk = t >= x
            n, n1 = risk.sum(), (risk & g).sum()
            here = (t == x) & e
            d, d1 = here.sum(), (here & g).sum()
            w = surv**rho * (1 - surv) ** gamma
            u += w * (d1 - d * n1 / n)
            if n > 1:
                v += w * w * d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
            surv *= (n - d) / n
    return u, v


def lifelines_km(time, event):
    kmf = KaplanMeierFitter()
    kmf.fit(np.asarray(time, float), np.asarray(event, bool))
    return kmf


def golden_arrays(case):
    return (np.array(case["time"], float), np.array(case["status"], bool), np.array(case["arm"], bool),
            np.array(case["stratum"], np.int64))


def take_rows(perm, *arrays):
    return [None if a is None else np.take_along_axis(a, perm, axis=1) for a in arrays]


KERNELS = {
    "fh01": lambda t, e, g, v: weighted_logrank(t, e, g, v, rho=0, gamma=1),
    "fh11": lambda t, e, g, v: weighted_logrank(t, e, g, v, rho=1, gamma=1),
    "maxcombo": lambda t, e, g, v: maxcombo(t, e, g, v),
    "rmst": lambda t, e, g, v: rmst_difference(t, e, g, v, horizon=20.0),
    "milestone": lambda t, e, g, v: milestone_difference(t, e, g, v, at=15.0),
    "cox_breslow": lambda t, e, g, v: cox(t, e, g, v),
    "cox_efron": lambda t, e, g, v: cox(t, e, g, v, ties="efron"),
}
FIELDS = {
    "fh01": ("z", "observed_minus_expected", "variance", "events"),
    "fh11": ("z", "observed_minus_expected", "variance", "events"),
    "maxcombo": ("z", "z_max", "z_tests", "correlation", "p_one_sided"),
    "rmst": ("z", "rmst", "variance", "difference", "se"),
    "milestone": ("z", "survival", "variance", "difference", "se"),
    "cox_breslow": ("z", "log_hr", "se", "ci_low", "ci_high", "iterations", "converged"),
    "cox_efron": ("z", "log_hr", "se", "ci_low", "ci_high", "iterations", "converged"),
}


# ---------------------------------------------------------------------------
# unit: Fleming-Harrington


def test_unit_fh00_is_the_logrank_exactly():
    rng = np.random.default_rng(1)
    time, event, group = simulate_cure(rng, 30, 80, ties=True)
    valid = rng.random(time.shape) < 0.9
    strata = rng.integers(0, 3, time.shape)
    for s in (None, strata):
        lr = logrank(time, event, group, valid, strata=s)
        fh = weighted_logrank(time, event, group, valid, rho=0, gamma=0, strata=s)
        np.testing.assert_array_equal(fh.z, lr.z)
        np.testing.assert_array_equal(fh.variance, lr.variance)
        np.testing.assert_array_equal(fh.observed_minus_expected, lr.observed[:, 1] - lr.expected[:, 1])


@pytest.mark.parametrize("rho,gamma", [(0, 1), (1, 0), (1, 1), (0.5, 2.0), (2, 0.5)])
@pytest.mark.parametrize("stratified", [False, True])
def test_unit_fh_matches_loop_reference(rho, gamma, stratified):
    rng = np.random.default_rng(2)
    R, n = 10, 90
    time, event, group = simulate_cure(rng, R, n, cure_treatment=0.4, ties=True)
    strata = rng.integers(0, 3, (R, n)) if stratified else None
    res = weighted_logrank(time, event, group, rho=rho, gamma=gamma, strata=strata)
    for r in range(R):
        u, v = reference_fh(time[r], event[r], group[r], rho, gamma, None if strata is None else strata[r])
        assert res.observed_minus_expected[r] == pytest.approx(u, rel=1e-12, abs=1e-12)
        assert res.variance[r] == pytest.approx(v, rel=1e-12, abs=1e-12)
        assert res.z[r] == pytest.approx(-u / math.sqrt(v) if v > 0 else 0.0, rel=1e-12, abs=1e-12)


def test_unit_fh_hand_worked_example():
    """Control 1, 2, 3+, 4; treatment 2, 3, 5+ ('+' censored).  Pooled KM
    just before each event time: S(1-) = 1, S(2-) = 6/7, S(3-) = 6/7 * 4/6 =
    4/7, S(4-) = 4/7 * 3/4 = 3/7.  FH(0, 1) weights 1 - S: 0, 1/7, 3/7, 4/7.
    Per time (d, n, n1, d1): (1, 7, 3, 0), (2, 6, 3, 1), (1, 4, 2, 1), (1, 2, 1, 0);
    U = 0 + 1/7 (1 - 1) + 3/7 (1 - 1/2) + 4/7 (0 - 1/2) = -1/14;
    V = (1/7)^2 (2 (1/2)(1/2)(4/5)) + (3/7)^2 (1/4) + (4/7)^2 (1/4) = 2/245 + 25/196
      = 133/980."""
    time = [1, 2, 3, 4, 2, 3, 5]
    event = [1, 1, 0, 1, 1, 1, 0]
    group = [0, 0, 0, 0, 1, 1, 1]
    res = weighted_logrank(time, event, group, rho=0, gamma=1)
    u, v = -1 / 14, 133 / 980
    assert res.observed_minus_expected[0] == pytest.approx(u, rel=1e-14)
    assert res.variance[0] == pytest.approx(v, rel=1e-14)
    assert res.z[0] == pytest.approx(-u / math.sqrt(v), rel=1e-14)
    assert res.z[0] > 0  # fewer late treated events than expected


def test_unit_fh_rejects_bad_weights():
    for rho, gamma in [(-1, 0), (0, np.nan), (np.inf, 0)]:
        with pytest.raises(ValueError, match="rho and gamma"):
            weighted_logrank([1.0], [1], [1], rho=rho, gamma=gamma)


@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_unit_padding_matches_each_row_alone(kernel):
    """Garbage in padding changes nothing, and a row's result does not depend
    on the other rows (several blocks)."""
    rng = np.random.default_rng(3)
    R, n = 40, 260
    time, event, group = simulate_cure(rng, R, n, cure_treatment=0.35, ties=False)
    time[::3] = np.round(time[::3])
    valid = rng.random((R, n)) < rng.uniform(0.3, 1.0, (R, 1))
    garbage = np.where(rng.random((R, n)) < 0.1, np.nan, rng.normal(0, 30, (R, n)))
    fn = KERNELS[kernel]
    batch = fn(np.where(valid, time, garbage), np.where(valid, event, True), group, valid)
    assert R > analysis._BLOCK_ELEMENTS // n
    for r in range(0, R, 3):
        m = valid[r]
        alone = fn(time[r, m], event[r, m], group[r, m], None)
        for name in FIELDS[kernel]:
            np.testing.assert_array_equal(getattr(batch, name)[r], getattr(alone, name)[0], err_msg=f"{name} row {r}")


# ---------------------------------------------------------------------------
# unit: MaxCombo


def scipy_max_tail(z_max, corr, two_sided=False):
    mvn = stats.multivariate_normal(np.zeros(len(corr)), corr, abseps=1e-9, releps=1e-9, maxpts=1_000_000)
    if two_sided:
        return 1.0 - mvn.cdf(np.full(len(corr), z_max), lower_limit=np.full(len(corr), -z_max))
    return 1.0 - mvn.cdf(np.full(len(corr), z_max))


def test_unit_maxcombo_statistics_are_the_fh_statistics():
    rng = np.random.default_rng(4)
    time, event, group = simulate_cure(rng, 20, 150, cure_treatment=0.35, ties=True)
    res = maxcombo(time, event, group)
    for k, (rho, gamma) in enumerate(res.tests):
        fh = weighted_logrank(time, event, group, rho=rho, gamma=gamma)
        np.testing.assert_allclose(res.z_tests[:, k], fh.z, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(res.z_max, res.z_tests.max(axis=1))
    np.testing.assert_allclose(np.diagonal(res.correlation, axis1=1, axis2=2), 1.0)
    np.testing.assert_allclose(res.correlation, np.swapaxes(res.correlation, 1, 2))
    # FH(0,0) = FH(0,1) + FH(1,0) before standardisation: the default four have rank 3
    assert np.all(np.linalg.eigvalsh(res.correlation)[:, 0] < 1e-9)
    # the one-sided p-value of the maximum: at least each test's, at most Bonferroni's
    single = special.ndtr(-res.z_max)
    assert np.all(res.p_value(1) >= single * (1 - 1e-9))
    assert np.all(res.p_value(1) <= 4 * single)
    np.testing.assert_allclose(res.z, -special.ndtri(res.p_value(1)), rtol=1e-12)


def test_unit_maxcombo_correlation_matches_loop():
    """Cov(FH_a, FH_b) = sum w_a w_b v_j: with the loop reference's weights."""
    rng = np.random.default_rng(5)
    time, event, group = simulate_cure(rng, 6, 100, cure_treatment=0.3, ties=True)
    tests = ((0, 0), (0, 1), (1, 1))
    res = maxcombo(time, event, group, tests=tests)
    for r in range(6):
        # v(FH_a + FH_b) = V_a + V_b + 2 C_ab with weights w_a + w_b: C from sums of variances
        for a in range(3):
            for b in range(a + 1, 3):
                _, va = reference_fh(time[r], event[r], group[r], *tests[a])
                _, vb = reference_fh(time[r], event[r], group[r], *tests[b])
                # weights of FH(0,1) + FH(1,1) etc. are not FH weights: use the loop directly
                c = _reference_cov(time[r], event[r], group[r], tests[a], tests[b])
                assert res.correlation[r, a, b] == pytest.approx(c / math.sqrt(va * vb), rel=1e-12)


def _reference_cov(time, event, group, ta, tb):
    cov = 0.0
    surv = 1.0
    for x in sorted(set(time[event].tolist())):
        risk = time >= x
        n, n1 = risk.sum(), (risk & group).sum()
        d = ((time == x) & event).sum()
        wa = surv ** ta[0] * (1 - surv) ** ta[1]
        wb = surv ** tb[0] * (1 - surv) ** tb[1]
        if n > 1:
            cov += wa * wb * d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
        surv *= (n - d) / n
    return cov


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
            p = analysis._mvn_max_tail(np.array([m]), c[None], np.ones((1, K), bool), two_sided=False)[0]
            worst = max(worst, abs(p - scipy_max_tail(m, c)))
    assert worst < 5e-5, worst


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
    fast1 = analysis._mvn_max_tail(mm, C, has, two_sided=False)
    fast2 = analysis._mvn_max_tail(np.abs(mm), C, has, two_sided=True)
    saved = analysis._GAUSS_MAX_DIM, analysis._SOBOL_POINTS, dict(analysis._RULES)
    try:
        analysis._GAUSS_MAX_DIM, analysis._SOBOL_POINTS = 0, 1 << 14
        analysis._RULES.clear()
        fine1 = analysis._mvn_max_tail(mm, C, has, two_sided=False)
        fine2 = analysis._mvn_max_tail(np.abs(mm), C, has, two_sided=True)
    finally:
        analysis._GAUSS_MAX_DIM, analysis._SOBOL_POINTS = saved[0], saved[1]
        analysis._RULES.clear()
        analysis._RULES.update(saved[2])
    low = fine1 <= 0.5
    assert np.abs(fast1 - fine1)[low].max() < 2e-6
    assert np.abs(fast1 - fine1).max() < 5e-5
    assert np.abs(fast2 - fine2)[fine2 <= 0.5].max() < 1e-5
    # small p-values keep their relative accuracy
    tiny = fine1 < 1e-3
    assert np.all(np.abs(fast1 / fine1 - 1)[tiny] < 1e-3)


def test_unit_maxcombo_degenerate_rows():
    """No events: z = z_max = 0, p = 1.  A single event: FH(0,1) and FH(1,1)
    have weight 0 (no information) and drop out of the maximum."""
    time = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]])
    event = np.array([[0, 0, 0, 0], [1, 0, 0, 0]], bool)
    group = np.array([[0, 1, 0, 1], [0, 1, 0, 1]], bool)
    res = maxcombo(time, event, group)
    assert res.z[0] == 0 and res.z_max[0] == 0 and res.p_value(1)[0] == 1 and res.p_value(2)[0] == 1
    lr = logrank(time[1], event[1], group[1])
    assert res.z_max[1] == pytest.approx(lr.z[0])
    np.testing.assert_array_equal(res.z_tests[1, [1, 3]], [0, 0])
    # FH(0,0) and FH(1,0) are identical there (weight 1 at the first time)
    assert res.p_value(1)[1] == pytest.approx(special.ndtr(-lr.z[0]), abs=1e-9)


# ---------------------------------------------------------------------------
# peer: R golden values (tools/r/make_golden_survival.R)


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


@pytest.mark.parametrize("case", TTE, ids=[c["name"] for c in TTE])
def test_peer_r_coxph(case):
    """coxph(ties = "breslow" / "efron"), unstratified and stratified by
    strata(stratum), eps = 1e-12: coefficient and SE within 1e-9."""
    time, event, group, strata = golden_arrays(case)
    for ties in ("breslow", "efron"):
        gold = case["coxph"][ties]
        res = cox(time, event, group, ties=ties)
        ress = cox(time, event, group, ties=ties, strata=strata)
        assert res.log_hr[0] == pytest.approx(gold["coef"], abs=1e-9)
        assert res.se[0] == pytest.approx(gold["se"], abs=1e-9)
        assert ress.log_hr[0] == pytest.approx(gold["coef_strata"], abs=1e-9)
        assert ress.se[0] == pytest.approx(gold["se_strata"], abs=1e-9)
        assert res.converged[0] and ress.converged[0]


@pytest.mark.parametrize("case", TTE, ids=[c["name"] for c in TTE])
def test_peer_r_rmst_and_milestone(case):
    """RMST and its variance per arm from survRM2's rmst1 code (tau = 24),
    survival and Greenwood standard error from summary(survfit(...), times =
    18): within 1e-10."""
    time, event, group, _ = golden_arrays(case)
    rm = rmst_difference(time, event, group, horizon=case["rmst"]["horizon"])
    np.testing.assert_allclose(rm.rmst[0], case["rmst"]["rmst"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(rm.variance[0], case["rmst"]["var"], rtol=0, atol=1e-10)
    ms = milestone_difference(time, event, group, at=case["milestone"]["at"])
    np.testing.assert_allclose(ms.survival[0], case["milestone"]["surv"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.sqrt(ms.variance[0]), case["milestone"]["std_err"], rtol=0, atol=1e-12)


def test_peer_r_mantelhaen():
    """mantelhaen.test(x, correct = TRUE / FALSE) on 12 2x2xK tables:
    statistic, two-sided and 'greater' p-values, MH odds ratio and its 95%
    interval, within 1e-12 (relative 1e-12 for the odds ratio and interval)."""
    for c in BINARY["cmh"]:
        res = cmh(c["successes_treatment"], c["n_treatment"], c["successes_control"], c["n_control"],
                  correct=c["correct"])
        assert res.chi2[0] == pytest.approx(c["statistic"], rel=1e-12, abs=1e-12)
        assert res.p_value(2)[0] == pytest.approx(c["p_two_sided"], rel=1e-10, abs=1e-12)
        assert res.p_value(1)[0] == pytest.approx(c["p_greater"], rel=1e-10, abs=1e-12)
        assert res.odds_ratio[0] == pytest.approx(c["estimate"], rel=1e-12)
        np.testing.assert_allclose([res.ci_low[0], res.ci_high[0]], c["conf_int"], rtol=1e-12)


def test_peer_r_fisher_test():
    """fisher.test: 'greater' p-values within 1e-12; two-sided ones too on
    these tables (R uses a relative tolerance of 1e-7 where scipy, and
    trialsim, use 1e-14 to decide which tables are 'as probable': they could
    differ on tables with near-ties, none here)."""
    c = BINARY["fisher"]
    res = fisher_exact([x["successes_treatment"] for x in c], [x["n_treatment"] for x in c],
                       [x["successes_control"] for x in c], [x["n_control"] for x in c])
    np.testing.assert_allclose(res.p_greater, [x["p_greater"] for x in c], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.p_two_sided, [x["p_two_sided"] for x in c], rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------
# peer: lifelines and scipy, live


def test_peer_lifelines_rmst_and_km():
    """Per arm: ``restricted_mean_survival_time(KaplanMeierFitter().fit(...),
    t=horizon)`` (within 1e-10), ``kmf.survival_function_at_times(at)``, the
    Greenwood sum ``kmf._cumulative_sq_`` (S**2 times it is our variance) and
    the exponential-Greenwood 95% interval lifelines reports, recomputed from
    our variance (within 1e-10).  lifelines' RMST 'variance' is that of
    min(T, tau) under the KM distribution, not of the estimator: not
    compared (docs/analysis.md)."""
    rng = np.random.default_rng(8)
    R, n = 15, 140
    time, event, group = simulate_cure(rng, R, n, cure_treatment=0.35, ties=True)
    time[1::2] += rng.uniform(0, 0.5, time[1::2].shape)  # continuous rows too
    horizon, at = 20.0, 15.0
    rm = rmst_difference(time, event, group, horizon=horizon)
    ms = milestone_difference(time, event, group, at=at)
    q = stats.norm.ppf(0.975)
    worst = 0.0
    for r in range(R):
        for arm in (0, 1):
            m = group[r] == arm
            kmf = lifelines_km(time[r, m], event[r, m])
            worst = max(worst, abs(restricted_mean_survival_time(kmf, t=horizon) - rm.rmst[r, arm]))
            s = kmf.survival_function_at_times(at).iloc[0]
            gw = kmf._cumulative_sq_.loc[:at].iloc[-1]
            assert ms.survival[r, arm] == pytest.approx(s, abs=1e-12)
            assert ms.variance[r, arm] == pytest.approx(s * s * gw, abs=1e-12)
            ci = kmf.confidence_interval_.loc[:at].iloc[-1].to_numpy()
            lv = np.log(ms.survival[r, arm])
            half = q * np.sqrt(ms.variance[r, arm]) / ms.survival[r, arm] / lv
            mine = np.exp(-np.exp(np.log(-lv) + np.array([-half, half])))
            np.testing.assert_allclose(mine, ci, rtol=0, atol=1e-10)
    assert worst < 1e-10


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


def lifelines_cox(time, event, group, **fit_options):
    df = pd.DataFrame({"T": time, "E": event.astype(int), "x": group.astype(float)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph = CoxPHFitter().fit(df, "T", "E", fit_options=fit_options or None)
    return cph.params_["x"], cph.standard_errors_["x"]


def test_peer_lifelines_coxph_efron():
    """``CoxPHFitter`` (Efron ties) with tight convergence (precision 1e-12,
    r_precision 1e-15): log HR and SE within 1e-6 (largest seen 2.3e-7); with
    lifelines' default stopping rule (relative log-likelihood change < 1e-9)
    within 5e-4 (largest seen 8e-5 in log HR: lifelines stops early).  R's coxph(ties =
    "efron", eps = 1e-12) agrees with trialsim to 1e-12 (test_peer_r_coxph)."""
    rng = np.random.default_rng(9)
    R, n = 12, 120
    time, event, group = simulate_cure(rng, R, n, cure_treatment=0.3, hr=0.8, ties=True)
    time[1::2] += rng.uniform(0, 0.5, time[1::2].shape)
    res = cox(time, event, group, ties="efron")
    for r in range(R):
        b, se = lifelines_cox(time[r], event[r], group[r], precision=1e-12, r_precision=1e-15)
        assert res.log_hr[r] == pytest.approx(b, abs=1e-6)
        assert res.se[r] == pytest.approx(se, abs=1e-6)
        b0, se0 = lifelines_cox(time[r], event[r], group[r])
        assert res.log_hr[r] == pytest.approx(b0, abs=5e-4)


def test_peer_scipy_fisher_exact():
    """``scipy.stats.fisher_exact(table, alternative)`` per replicate on 1,500
    random tables (with empty rows, columns and cells): p-values within
    1e-12 (the same hypergeometric functions: equal in practice)."""
    rng = np.random.default_rng(10)
    N = 1500
    nt = rng.integers(0, 60, N)
    nc = rng.integers(0, 60, N)
    st_ = rng.binomial(nt, rng.uniform(0, 1, N))
    sc = rng.binomial(nc, rng.uniform(0, 1, N))
    st_[:20] = 0
    sc[20:40] = nc[20:40]
    nt[40:45] = 0
    st_[40:45] = 0
    res = fisher_exact(st_, nt, sc, nc)
    res2 = fisher_exact(st_, nt, sc, nc, alternative="two-sided")
    for i in range(N):
        table = [[st_[i], nt[i] - st_[i]], [sc[i], nc[i] - sc[i]]]
        g = stats.fisher_exact(table, alternative="greater")
        t = stats.fisher_exact(table)
        assert res.p_greater[i] == pytest.approx(g.pvalue, rel=1e-12, abs=1e-12)
        assert res.p_two_sided[i] == pytest.approx(t.pvalue, rel=1e-12, abs=1e-12)
        if np.isfinite(g.statistic):
            assert res.odds_ratio[i] == pytest.approx(g.statistic, rel=1e-12)
        else:
            assert np.isnan(g.statistic) == np.isnan(res.odds_ratio[i])
    np.testing.assert_array_equal(res.pvalue, res.p_greater)
    np.testing.assert_array_equal(res2.pvalue, res2.p_two_sided)
    np.testing.assert_array_equal(res.p_value(2), res.p_two_sided)
    assert np.all(np.isfinite(res.z))
    np.testing.assert_array_equal(reject(res.z, alpha=0.025, sided=1), res.p_greater <= 0.025)


# ---------------------------------------------------------------------------
# unit: Cox, RMST, milestone, binary


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


def test_unit_rmst_and_milestone_hand_example():
    """Control 1, 2, 3+, 4; treatment 2, 3, 5+.  Control KM: 3/4 after 1,
    1/2 after 2, 0 after 4; treatment: 2/3 after 2, 1/3 after 3.
    RMST to 4.5: control 1 + 3/4 + 1/2 + 1/2 = 2.75, treatment 2 + 2/3 +
    1/3 * 1.5 = 3.1666...; milestone at 2.5: 1/2 and 2/3, Greenwood
    (1/2)^2 (1/(4*3) + 1/(3*2)) = 1/16, (2/3)^2 (1/(3*2)) = 2/27."""
    time = [1, 2, 3, 4, 2, 3, 5]
    event = [1, 1, 0, 1, 1, 1, 0]
    group = [0, 0, 0, 0, 1, 1, 1]
    rm = rmst_difference(time, event, group, horizon=4.5)
    np.testing.assert_allclose(rm.rmst[0], [2.75, 2 + 2 / 3 + 0.5], rtol=1e-14)
    assert rm.difference[0] == pytest.approx(2 + 2 / 3 + 0.5 - 2.75, rel=1e-13)
    ms = milestone_difference(time, event, group, at=2.5)
    np.testing.assert_allclose(ms.survival[0], [0.5, 2 / 3], rtol=1e-15)
    np.testing.assert_allclose(ms.variance[0], [1 / 16, 2 / 27], rtol=1e-14)
    assert ms.z[0] == pytest.approx((2 / 3 - 0.5) / math.sqrt(1 / 16 + 2 / 27), rel=1e-13)
    # horizon before the first event: both arms tau, variance 0, z = 0
    early = rmst_difference(time, event, group, horizon=0.5)
    np.testing.assert_array_equal(early.rmst[0], [0.5, 0.5])
    assert early.z[0] == 0
    # an arm without patients: nan, z = 0
    one_arm = rmst_difference([1.0, 2.0], [1, 1], [1, 1], horizon=3.0)
    assert np.isnan(one_arm.rmst[0, 0]) and one_arm.z[0] == 0
    with pytest.raises(ValueError, match="horizon"):
        rmst_difference(time, event, group, horizon=0)
    with pytest.raises(ValueError, match="not stratified"):
        milestone_difference(time, event, group, at=2, strata=[0, 0, 0, 1, 1, 1, 1])


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


# ---------------------------------------------------------------------------
# dispatcher


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


# ---------------------------------------------------------------------------
# property (hypothesis)


@st.composite
def batches(draw):
    R = draw(st.integers(1, 3))
    n = draw(st.integers(2, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        time = rng.integers(0, draw(st.integers(1, 10)), (R, n)).astype(float)
    else:
        time = np.round(rng.exponential(10.0, (R, n)), 3)
    event = rng.random((R, n)) < draw(st.floats(0.0, 1.0))
    group = rng.random((R, n)) < draw(st.floats(0.1, 0.9))
    valid = None
    if draw(st.booleans()):
        valid = rng.random((R, n)) < draw(st.floats(0.4, 1.0))
        time = np.where(valid, time, rng.normal(0, 100, (R, n)))
    return time, event, group, valid, rng


PROPERTY_SETTINGS = settings(max_examples=60, deadline=None)


@PROPERTY_SETTINGS
@given(batches())
def test_property_swapping_groups_flips_signs(batch):
    time, event, group, valid, _ = batch
    for rho, gamma in ((0, 1), (1, 1)):
        a = weighted_logrank(time, event, group, valid, rho=rho, gamma=gamma)
        b = weighted_logrank(time, event, ~group, valid, rho=rho, gamma=gamma)
        np.testing.assert_allclose(b.z, -a.z, atol=1e-9)
    a, b = maxcombo(time, event, group, valid), maxcombo(time, event, ~group, valid)
    np.testing.assert_allclose(b.z_tests, -a.z_tests, atol=1e-9)
    np.testing.assert_allclose(b.correlation, a.correlation, atol=1e-9)
    np.testing.assert_allclose(b.p_value(2), a.p_value(2), atol=1e-9)
    for fn in (lambda g: rmst_difference(time, event, g, valid, horizon=8.0),
               lambda g: milestone_difference(time, event, g, valid, at=6.0)):
        a, b = fn(group), fn(~group)
        np.testing.assert_allclose(b.z, -a.z, atol=1e-9)
        np.testing.assert_allclose(b.difference, -a.difference, atol=1e-12)
    for ties in ("breslow", "efron"):
        a, b = cox(time, event, group, valid, ties=ties), cox(time, event, ~group, valid, ties=ties)
        np.testing.assert_allclose(b.log_hr, -a.log_hr, atol=1e-7)
        np.testing.assert_allclose(b.z, -a.z, atol=1e-7)


@PROPERTY_SETTINGS
@given(batches())
def test_property_patient_order_changes_nothing(batch):
    time, event, group, valid, rng = batch
    perm = np.argsort(rng.random(time.shape), axis=1)
    pt, pe, pg, pv = take_rows(perm, time, event, group, valid)
    for name, fn in KERNELS.items():
        a, b = fn(time, event, group, valid), fn(pt, pe, pg, pv)
        for field in FIELDS[name]:
            np.testing.assert_allclose(getattr(b, field), getattr(a, field), rtol=1e-9, atol=1e-9,
                                       err_msg=f"{name}.{field}")


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


# ---------------------------------------------------------------------------
# theory: type I error at the null


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


@pytest.mark.slow
def test_theory_slow_maxcombo_p_value_against_brute_force():
    """The default four (singular correlation): p-values of 8 real maxima
    against 4 million draws of the multivariate normal each: within 4 Monte
    Carlo SE (plus 1e-6)."""
    rng = np.random.default_rng(16)
    time, event, group = simulate_cure(rng, 8, 150, cure_treatment=0.35, ties=True)
    res = maxcombo(time, event, group)
    for r in range(8):
        w, vec = np.linalg.eigh(res.correlation[r])
        L = vec * np.sqrt(np.clip(w, 0, None))
        hits, N = 0, 0
        for _ in range(4):
            z = rng.standard_normal((1_000_000, 4)) @ L.T
            hits += np.count_nonzero(z.max(axis=1) >= res.z_max[r])
            N += z.shape[0]
        p = hits / N
        assert abs(res.p_value(1)[r] - p) <= 4 * math.sqrt(max(p, 1e-6) * (1 - p) / N) + 1e-6


@pytest.mark.slow
def test_theory_slow_power_under_a_delayed_effect():
    """A delayed effect (hazard ratio 1 for 6 months, 0.5 after; control
    median 12; censoring Uniform(24, 48)): FH(0,1), which weighs late
    differences, has more power than the log-rank, and MaxCombo more than the
    log-rank too (R = 2000, n = 300; the gaps are > 10 Monte Carlo SE)."""
    rng = np.random.default_rng(17)
    R, n = 2000, 300
    group = rng.random((R, n)) < 0.5
    lam = math.log(2) / 12.0
    h = rng.exponential(1.0, (R, n)) / lam  # event time at rate 1 per lam
    late = np.where(group, 6.0 + (h - 6.0) / 0.5, h)
    t_event = np.where(h < 6.0, h, late)
    t_cens = rng.uniform(24.0, 48.0, (R, n))
    time, event = np.minimum(t_event, t_cens), t_event <= t_cens
    power = {s: np.mean(run_test(s, time, event, group).p_value(1) <= 0.025)
             for s in ("logrank", "fh(0,1)", "maxcombo")}
    se = math.sqrt(0.25 / R)
    assert power["fh(0,1)"] > power["logrank"] + 4 * se, power
    assert power["maxcombo"] > power["logrank"] + 2 * se, power
