"""trialsim.analysis.fleming_harrington: Fleming-Harrington weighted log-rank and
MaxCombo.

Unit tier (see docs/architecture.md, "Validation tiers"): exact expectations,
loop references and argument errors; ``test_property_`` tests are hypothesis
invariants.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from tests.support.survival_reference import simulate_cure
from trialsim.analysis import logrank, maxcombo, weighted_logrank


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
