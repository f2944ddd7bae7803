"""Tests for trialsim.analysis: the vectorised log-rank test.

Tiers (see docs/DESIGN.md, "Validation tiers"): ``test_unit_`` exact
expectations, ``test_peer_`` against lifelines (run live: it is a dependency),
``test_property_`` hypothesis invariants, ``test_theory_`` simulation against
the null distribution with Monte Carlo tolerances.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines.statistics import logrank_test
from scipy import stats

from trialsim import analysis
from trialsim.analysis import LogrankResult, critical_value, logrank, reject

# ---------------------------------------------------------------------------
# helpers


def reference_logrank(time, event, group):
    """Plain, loop-per-event-time log-rank sums for ONE replicate.

    The textbook definition, written independently of the vectorised kernel:
    returns (D, O1, E1, V) with the (n - d)/(n - 1) tie correction and the
    censored at a tied time counted at risk.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    group = np.asarray(group, dtype=bool)
    o1 = e1 = v = 0.0
    d_total = 0
    for t in sorted(set(time[event].tolist())):
        at_risk = time >= t
        n = int(at_risk.sum())
        n1 = int((at_risk & group).sum())
        here = (time == t) & event
        d = int(here.sum())
        d_total += d
        o1 += int((here & group).sum())
        e1 += d * n1 / n
        if n > 1:
            v += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    return d_total, o1, e1, v


def lifelines_chi2(time, event, group):
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    group = np.asarray(group, dtype=bool)
    res = logrank_test(time[group], time[~group], event[group], event[~group])
    return res.test_statistic


def assert_results_equal(a: LogrankResult, b: LogrankResult):
    for name in ("z", "observed", "expected", "variance", "events", "hazard_ratio"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def assert_results_close(a: LogrankResult, b: LogrankResult, rtol=1e-12, atol=1e-12):
    for name in ("z", "observed", "expected", "variance", "events", "hazard_ratio"):
        np.testing.assert_allclose(
            getattr(a, name), getattr(b, name), rtol=rtol, atol=atol, err_msg=name
        )


def simulate_two_arm(rng, R, n, *, hr=1.0, p_treat=0.5, censor_max=30.0, ties=False):
    """Exponential times (control median 10), uniform administrative censoring."""
    group = rng.random((R, n)) < p_treat
    rate = np.where(group, hr, 1.0) * math.log(2) / 10.0
    t_event = rng.exponential(1.0, (R, n)) / rate
    t_cens = rng.uniform(0.0, censor_max, (R, n))
    time = np.minimum(t_event, t_cens)
    event = t_event <= t_cens
    if ties:
        time = np.round(time)
    return time, event, group


# ---------------------------------------------------------------------------
# unit


# Hand-worked example.  Control (group 0): times 1 (event), 2 (event),
# 3 (censored), 4 (event); treatment (group 1): 2 (event), 3 (event),
# 5 (censored).  At each event time t: n at risk (time >= t), n1 treated at
# risk, d events; E1 += d*n1/n; V += d*(n1/n)*(1-n1/n)*(n-d)/(n-1).
#   t=1: n=7, n1=3, d=1:  E1 += 3/7;  V += (3/7)(4/7)(6/6) = 12/49
#   t=2: n=6, n1=3, d=2 (one per arm, a tie):
#                          E1 += 2*3/6 = 1;  V += 2*(1/2)(1/2)*(4/5) = 2/5
#   t=3: n=4 (the control censored at 3 is still at risk), n1=2, d=1:
#                          E1 += 1/2;  V += 1/4
#   t=4: n=2, n1=1, d=1:  E1 += 1/2;  V += 1/4
# O1 = 2 (t=2, t=3), O0 = 3, D = 5; E1 = 17/7, E0 = 5 - 17/7 = 18/7;
# V = 12/49 + 2/5 + 1/2 = 561/490;  z = (E1 - O1)/sqrt(V) = (3/7)/sqrt(561/490)
# chi2 = (9/49)/(561/490) = 90/561;  HR = exp((O1 - E1)/V) = exp(-210/561).
HAND_TIME = [1, 2, 3, 4, 2, 3, 5]
HAND_EVENT = [1, 1, 0, 1, 1, 1, 0]
HAND_GROUP = [0, 0, 0, 0, 1, 1, 1]


def test_unit_hand_worked_example():
    res = logrank(HAND_TIME, HAND_EVENT, HAND_GROUP)
    e1 = Fraction(17, 7)
    v = Fraction(561, 490)
    np.testing.assert_array_equal(res.events, [5])
    np.testing.assert_allclose(res.observed, [[3.0, 2.0]], rtol=0, atol=0)
    np.testing.assert_allclose(res.expected, [[float(5 - e1), float(e1)]], rtol=1e-15)
    np.testing.assert_allclose(res.variance, [float(v)], rtol=1e-15)
    np.testing.assert_allclose(res.z, [float(e1 - 2) / math.sqrt(float(v))], rtol=1e-14)
    np.testing.assert_allclose(res.chi2, [90 / 561], rtol=1e-14)
    np.testing.assert_allclose(res.hazard_ratio, [math.exp(-210 / 561)], rtol=1e-14)
    assert res.z[0] > 0  # fewer treated events than expected: favours treatment


def test_unit_one_dimensional_input_is_one_replicate():
    res = logrank(np.array(HAND_TIME, float), HAND_EVENT, HAND_GROUP)
    assert res.z.shape == (1,)
    assert res.observed.shape == (1, 2)
    assert res.expected.shape == (1, 2)
    assert res.variance.shape == res.events.shape == res.hazard_ratio.shape == (1,)
    assert res.events.dtype == np.int64


def test_unit_rows_without_events_give_zero_z_and_variance():
    time = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]])
    event = np.array([[0, 0, 0, 0], [1, 0, 1, 0]], bool)
    group = np.array([[0, 1, 0, 1], [0, 1, 0, 1]], bool)
    res = logrank(time, event, group)
    assert res.z[0] == 0.0 and res.variance[0] == 0.0 and res.events[0] == 0
    assert np.isnan(res.hazard_ratio[0])
    np.testing.assert_array_equal(res.observed[0], [0, 0])
    np.testing.assert_array_equal(res.expected[0], [0, 0])
    assert res.p_value(1)[0] == 0.5 and res.p_value(2)[0] == 1.0
    assert not reject(res.z, alpha=0.025, sided=1)[0]
    assert res.variance[1] > 0  # the other row is unaffected


def test_unit_single_group_row_has_zero_variance():
    # All patients treated: n1/n = 1 at every event time, V = 0, O1 = E1.
    res = logrank([1.0, 2.0, 3.0], [1, 1, 0], [1, 1, 1])
    assert res.variance[0] == 0.0 and res.z[0] == 0.0 and np.isnan(res.hazard_ratio[0])
    np.testing.assert_allclose(res.observed, res.expected)


def test_unit_empty_inputs():
    res = logrank(np.zeros((0, 5)), np.zeros((0, 5), bool), np.zeros((0, 5), bool))
    assert res.z.shape == (0,) and res.observed.shape == (0, 2)
    res = logrank(np.zeros((3, 0)), np.zeros((3, 0), bool), np.zeros((3, 0), bool))
    np.testing.assert_array_equal(res.z, [0, 0, 0])
    np.testing.assert_array_equal(res.events, [0, 0, 0])
    res = logrank(np.ones((2, 3)), np.ones((2, 3), bool), np.ones((2, 3), bool), np.zeros((2, 3), bool))
    np.testing.assert_array_equal(res.z, [0, 0])
    np.testing.assert_array_equal(res.events, [0, 0])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -1.0, -np.inf])
def test_unit_rejects_bad_valid_times_but_ignores_them_in_padding(bad):
    time = np.array([[1.0, 2.0, bad, 3.0]])
    event = np.ones((1, 4), bool)
    group = np.array([[0, 1, 0, 1]], bool)
    with pytest.raises(ValueError, match="finite and >= 0"):
        logrank(time, event, group)
    valid = np.array([[True, True, False, True]])
    res = logrank(time, event, group, valid)
    assert_results_equal(res, logrank([1.0, 2.0, 3.0], [1, 1, 1], [0, 1, 1]))


def test_unit_shape_errors():
    with pytest.raises(ValueError, match="broadcast"):
        logrank(np.ones((2, 3)), np.ones((2, 4), bool), np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="1-D or 2-D"):
        logrank(np.ones((2, 2, 2)), np.ones((2, 2, 2), bool), np.ones((2, 2, 2), bool))


def test_unit_zero_and_negative_zero_times_tie():
    time = np.array([[0.0, -0.0, 0.0, 1.0, 2.0, 2.0]])
    event = np.array([[1, 1, 0, 1, 1, 0]], bool)
    group = np.array([[0, 1, 1, 0, 1, 0]], bool)
    res = logrank(time, event, group)
    d, o1, e1, v = reference_logrank(time[0], event[0], group[0])
    assert res.events[0] == d and res.observed[0, 1] == o1
    np.testing.assert_allclose([res.expected[0, 1], res.variance[0]], [e1, v], rtol=1e-14)


def test_unit_extreme_time_ranges_stay_exact():
    """Times spanning > 2**500, with or without zero times, and times above
    2**510 use the exact lexsort path; nearly equal times (one ulp apart) are
    not merged into a tie."""
    tiny = 1e-200
    rows = [
        [tiny, np.nextafter(tiny, 1.0), 5.0, 1e2, tiny, 3.0],
        [1.0, np.nextafter(1.0, 2.0), 2.0, 1e300, 1.0, 3e300],
        [0.0, tiny, np.nextafter(tiny, 1.0), 1e2, tiny, 0.0],
    ]
    time = np.array(rows)
    event = np.array([[1, 1, 1, 0, 1, 1], [1, 1, 1, 1, 0, 1], [1, 1, 1, 0, 1, 1]], bool)
    group = np.array([[0, 1, 0, 1, 1, 0], [1, 0, 0, 1, 1, 0], [0, 1, 0, 1, 1, 1]], bool)
    assert analysis._packing_scale(tiny, 1e2) is None
    assert analysis._packing_scale(1.0, 3e300) is None
    for i in range(len(rows)):
        res = logrank(time[i], event[i], group[i])
        d, o1, e1, v = reference_logrank(time[i], event[i], group[i])
        assert res.events[0] == d and res.observed[0, 1] == o1
        np.testing.assert_allclose([res.expected[0, 1], res.variance[0]], [e1, v], rtol=1e-14)
    # ... and in a batch with ordinary rows, which must not change them
    rng = np.random.default_rng(3)
    t2, e2, g2 = simulate_two_arm(rng, 5, 6)
    batch = logrank(np.vstack([time, t2]), np.vstack([event, e2]), np.vstack([group, g2]))
    for i in range(len(rows)):
        d, o1, e1, v = reference_logrank(time[i], event[i], group[i])
        np.testing.assert_allclose([batch.expected[i, 1], batch.variance[i]], [e1, v], rtol=1e-14)
    ordinary = logrank(t2, e2, g2)
    np.testing.assert_allclose(batch.z[3:], ordinary.z, rtol=1e-14, atol=1e-15)


def test_unit_lexsort_fallback_agrees_with_packed_path(monkeypatch):
    rng = np.random.default_rng(20240601)
    time, event, group = simulate_two_arm(rng, 40, 70, ties=True)
    valid = rng.random(time.shape) < 0.8
    fast = logrank(time, event, group, valid)
    monkeypatch.setattr(analysis, "_packing_scale", lambda *args: None)
    slow = logrank(time, event, group, valid)
    assert_results_equal(fast, slow)


def test_unit_padding_matches_each_row_alone():
    """Padding (valid=False) filled with garbage -- random times, some nan,
    inf or negative, event True, random group -- changes nothing: each row
    gives exactly the result it gives alone.  Padding is scattered, not only at
    the end, and the batch spans several row blocks."""
    rng = np.random.default_rng(7)
    R, n = 70, 300
    time, event, group = simulate_two_arm(rng, R, n, ties=False)
    time[::3] = np.round(time[::3])  # some rows with ties
    counts = rng.integers(0, n + 1, R)
    counts[:3] = [0, 1, n]
    valid = np.zeros((R, n), bool)
    for r in range(R):
        valid[r, rng.choice(n, counts[r], replace=False)] = True
    garbage = rng.exponential(10.0, (R, n))
    garbage[rng.random((R, n)) < 0.05] = np.nan
    garbage[rng.random((R, n)) < 0.05] = np.inf
    garbage[rng.random((R, n)) < 0.05] = -3.0
    padded_time = np.where(valid, time, garbage)
    padded_event = np.where(valid, event, True)
    assert R > analysis._BLOCK_ELEMENTS // n  # several blocks

    batch = logrank(padded_time, padded_event, group, valid)
    for r in range(R):
        m = valid[r]
        alone = logrank(time[r, m], event[r, m], group[r, m])
        for name in ("z", "observed", "expected", "variance", "events", "hazard_ratio"):
            np.testing.assert_array_equal(getattr(batch, name)[r], getattr(alone, name)[0], err_msg=f"{name} row {r}")


def test_unit_critical_value_reject_and_p_values():
    assert critical_value(0.025, 1) == pytest.approx(1.959963984540054, rel=1e-14)
    assert critical_value(0.05, 2) == pytest.approx(1.959963984540054, rel=1e-14)
    assert critical_value(0.05, 1) == pytest.approx(stats.norm.ppf(0.95), rel=1e-14)
    crit = critical_value(0.025, 1)
    z = np.array([-3.0, 0.0, crit, 2.5, np.nan, -2.5])
    np.testing.assert_array_equal(reject(z, alpha=0.025, sided=1), [0, 0, 1, 1, 0, 0])
    np.testing.assert_array_equal(reject(z, alpha=0.05, sided=2), [1, 0, 1, 1, 0, 1])
    with pytest.raises(ValueError):
        critical_value(0.05, 3)
    with pytest.raises(ValueError):
        critical_value(1.5, 1)
    with pytest.raises(ValueError):
        reject(z, alpha=0.0, sided=1)

    res = logrank(HAND_TIME, HAND_EVENT, HAND_GROUP)
    np.testing.assert_allclose(res.p_value(), 1 - stats.norm.cdf(res.z), rtol=1e-12)
    np.testing.assert_allclose(res.p_value(1), stats.norm.sf(res.z), rtol=1e-12)
    np.testing.assert_allclose(res.p_value(2), 2 * stats.norm.sf(abs(res.z)), rtol=1e-12)
    np.testing.assert_allclose(res.p_value(2), stats.chi2.sf(res.chi2, 1), rtol=1e-12)
    with pytest.raises(ValueError):
        res.p_value(0)


def test_unit_direction_strong_treatment_effect():
    rng = np.random.default_rng(11)
    time, event, group = simulate_two_arm(rng, 50, 400, hr=0.4)
    res = logrank(time, event, group)
    assert np.all(res.z > 0)
    assert np.all(res.hazard_ratio < 1)
    assert np.all(res.observed[:, 1] < res.expected[:, 1])
    assert np.all(reject(res.z, alpha=0.025, sided=1))


# ---------------------------------------------------------------------------
# peer: lifelines


PEER_CASES = {
    # name: (seed, R, n, p_treat, censor_max, ties, hr)
    "continuous": (101, 25, 120, 0.5, 30.0, False, 1.0),
    "ties_integer_times": (102, 25, 150, 0.5, 30.0, True, 0.8),
    "heavy_censoring": (103, 25, 100, 0.5, 6.0, False, 1.2),
    "unequal_groups_1_to_3": (104, 25, 160, 0.25, 30.0, True, 0.7),
    "small_n_ties": (105, 40, 12, 0.6, 20.0, True, 1.0),
}


@pytest.mark.parametrize("case", sorted(PEER_CASES))
def test_peer_lifelines_chi2_and_reference_o_e(case):
    """chi2 equals lifelines' ``logrank_test(...).test_statistic`` per row.

    Reference computed live, row by row::

        from lifelines.statistics import logrank_test
        logrank_test(time[group], time[~group], event[group], event[~group]).test_statistic

    and O, E, V per row against ``reference_logrank`` (a loop over event
    times).  The sign of z is checked against O1 < E1.
    """
    seed, R, n, p_treat, censor_max, ties, hr = PEER_CASES[case]
    rng = np.random.default_rng(seed)
    time, event, group = simulate_two_arm(
        rng, R, n, hr=hr, p_treat=p_treat, censor_max=censor_max, ties=ties
    )
    if ties:
        assert any(len(np.unique(t)) < n for t in time)
    res = logrank(time, event, group)
    for r in range(R):
        ll = lifelines_chi2(time[r], event[r], group[r])
        assert res.chi2[r] == pytest.approx(ll, rel=1e-10, abs=1e-300), f"row {r}"
        d, o1, e1, v = reference_logrank(time[r], event[r], group[r])
        assert res.events[r] == d
        assert res.observed[r, 1] == o1 and res.observed[r, 0] == d - o1
        assert res.expected[r, 1] == pytest.approx(e1, rel=1e-12)
        assert res.expected[r, 0] == pytest.approx(d - e1, rel=1e-12)
        assert res.variance[r] == pytest.approx(v, rel=1e-12)
        if o1 < e1 - 1e-9:
            assert res.z[r] > 0
        elif o1 > e1 + 1e-9:
            assert res.z[r] < 0


def test_peer_hand_worked_example_lifelines():
    """lifelines gives chi2 = 90/561 for the hand-worked example::

        logrank_test([2, 3, 5], [1, 2, 3, 4], [1, 1, 0], [1, 1, 0, 1]).test_statistic
        # 0.16042780748663119
    """
    ll = lifelines_chi2(HAND_TIME, HAND_EVENT, HAND_GROUP)
    assert ll == pytest.approx(90 / 561, rel=1e-12)
    assert logrank(HAND_TIME, HAND_EVENT, HAND_GROUP).chi2[0] == pytest.approx(ll, rel=1e-10)


# ---------------------------------------------------------------------------
# property (hypothesis)


@st.composite
def batches(draw, with_valid=True, integer_times=True):
    """(time, event, group, valid) for a small padded batch."""
    R = draw(st.integers(1, 4))
    n = draw(st.integers(1, 25))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if integer_times:
        time = rng.integers(0, draw(st.integers(1, 12)), (R, n)).astype(float)
    else:
        time = np.round(rng.exponential(10.0, (R, n)), draw(st.integers(0, 6)))
    event = rng.random((R, n)) < draw(st.floats(0.0, 1.0))
    group = rng.random((R, n)) < draw(st.floats(0.0, 1.0))
    valid = None
    if with_valid and draw(st.booleans()):
        valid = rng.random((R, n)) < draw(st.floats(0.3, 1.0))
        time = np.where(valid, time, rng.normal(0, 100, (R, n)))  # garbage
    return time, event, group, valid


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)


@PROPERTY_SETTINGS
@given(batches(), st.booleans())
def test_property_swapping_groups_flips_sign(batch, _):
    time, event, group, valid = batch
    a = logrank(time, event, group, valid)
    b = logrank(time, event, ~group, valid)
    np.testing.assert_allclose(b.z, -a.z, atol=1e-9)
    np.testing.assert_allclose(b.variance, a.variance, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(b.observed, a.observed[:, ::-1])
    np.testing.assert_allclose(b.expected, a.expected[:, ::-1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.hazard_ratio, 1.0 / a.hazard_ratio, rtol=1e-9)


@PROPERTY_SETTINGS
@given(batches(), st.integers(0, 2**32 - 1))
def test_property_permuting_patients_changes_nothing(batch, seed):
    time, event, group, valid = batch
    rng = np.random.default_rng(seed)
    perm = np.argsort(rng.random(time.shape), axis=1)  # independent per row

    def take(x):
        return None if x is None else np.take_along_axis(x, perm, axis=1)

    a = logrank(time, event, group, valid)
    b = logrank(take(time), take(event), take(group), take(valid))
    assert_results_close(a, b)


@PROPERTY_SETTINGS
@given(
    batches(integer_times=True),
    st.floats(1e-3, 1e3, allow_nan=False, allow_infinity=False),
)
def test_property_scaling_times_changes_nothing(batch, c):
    # Integer times: distinct values differ by >= 1/12 relatively, so scaling
    # cannot merge or split ties.
    time, event, group, valid = batch
    a = logrank(time, event, group, valid)
    b = logrank(time * c, event, group, valid)
    assert_results_close(a, b)


@PROPERTY_SETTINGS
@given(batches(integer_times=False))
def test_property_counts_and_reference(batch):
    time, event, group, valid = batch
    res = logrank(time, event, group, valid)
    v = np.ones(time.shape, bool) if valid is None else valid
    np.testing.assert_array_equal(res.observed.sum(axis=1), (event & v).sum(axis=1))
    np.testing.assert_array_equal(res.events, (event & v).sum(axis=1))
    np.testing.assert_array_equal(res.observed[:, 1], (event & v & group).sum(axis=1))
    np.testing.assert_allclose(res.expected.sum(axis=1), res.events, rtol=1e-12, atol=1e-12)
    assert np.all(res.variance >= 0) and np.all(np.isfinite(res.z))
    for r in range(time.shape[0]):
        m = v[r]
        d, o1, e1, var = reference_logrank(time[r, m], event[r, m], group[r, m])
        assert res.expected[r, 1] == pytest.approx(e1, rel=1e-12, abs=1e-12)
        assert res.variance[r] == pytest.approx(var, rel=1e-12, abs=1e-12)


# ---------------------------------------------------------------------------
# theory


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


# ---------------------------------------------------------------------------
# stratified log-rank


def reference_stratified(time, event, group, strata):
    """Loop reference: the log-rank sums of each stratum alone, added."""
    tot = np.zeros(4)
    for s in np.unique(strata):
        m = strata == s
        tot += np.array(reference_logrank(time[m], event[m], group[m]), dtype=float)
    return tot  # D, O1, E1, V


@pytest.mark.parametrize("n_strata", [2, 3, 5, 16, 300])
def test_unit_stratified_matches_loop_over_strata(n_strata):
    """Risk sets within strata; O1, E1, V summed over strata.  300 codes need
    more than 8 key bits: the exact lexsort path."""
    rng = np.random.default_rng(40 + n_strata)
    R, n = 12, 180
    time, event, group = simulate_two_arm(rng, R, n, hr=0.8, ties=True)
    strata = rng.integers(0, n_strata, (R, n)) * 7 - 3  # arbitrary integer codes
    res = logrank(time, event, group, strata=strata)
    for r in range(R):
        d, o1, e1, v = reference_stratified(time[r], event[r], group[r], strata[r])
        assert res.events[r] == d and res.observed[r, 1] == o1
        np.testing.assert_allclose([res.expected[r, 1], res.variance[r]], [e1, v], rtol=1e-12)


def test_unit_one_stratum_is_the_unstratified_test_exactly():
    rng = np.random.default_rng(44)
    time, event, group = simulate_two_arm(rng, 30, 90, ties=True)
    assert_results_equal(logrank(time, event, group, strata=np.full(time.shape, 4)), logrank(time, event, group))
    # padding may carry any code: only valid entries count
    valid = rng.random(time.shape) < 0.8
    strata = np.where(valid, 2, -1)
    assert_results_equal(logrank(time, event, group, valid, strata=strata), logrank(time, event, group, valid))


def test_unit_stratified_padding_and_lexsort_fallback(monkeypatch):
    rng = np.random.default_rng(45)
    R, n = 40, 120
    time, event, group = simulate_two_arm(rng, R, n, ties=True)
    valid = rng.random((R, n)) < 0.85
    strata = rng.integers(0, 3, (R, n))
    garbage_t = np.where(valid, time, rng.normal(0, 50, (R, n)))
    garbage_s = np.where(valid, strata, rng.integers(-10**12, 10**12, (R, n)))
    batch = logrank(garbage_t, event, group, valid, strata=garbage_s)
    for r in range(R):
        m = valid[r]
        alone = logrank(time[r, m], event[r, m], group[r, m], strata=strata[r, m])
        for name in ("z", "observed", "expected", "variance", "events", "hazard_ratio"):
            np.testing.assert_array_equal(getattr(batch, name)[r], getattr(alone, name)[0], err_msg=name)
    monkeypatch.setattr(analysis, "_packing_scale", lambda *args: None)
    assert_results_equal(logrank(garbage_t, event, group, valid, strata=garbage_s), batch)


def test_unit_strata_must_be_integers():
    with pytest.raises(ValueError, match="integer"):
        logrank([1.0, 2.0], [1, 1], [0, 1], strata=[0.5, 1.5])


@PROPERTY_SETTINGS
@given(batches(), st.integers(0, 2**32 - 1))
def test_property_stratified_permutation_and_sign(batch, seed):
    time, event, group, valid = batch
    rng = np.random.default_rng(seed)
    strata = rng.integers(0, 3, time.shape)
    a = logrank(time, event, group, valid, strata=strata)
    perm = np.argsort(rng.random(time.shape), axis=1)

    def take(x):
        return None if x is None else np.take_along_axis(x, perm, axis=1)

    b = logrank(take(time), take(event), take(group), take(valid), strata=take(strata))
    assert_results_close(a, b)
    c = logrank(time, event, ~group, valid, strata=strata)
    np.testing.assert_allclose(c.z, -a.z, atol=1e-9)
    np.testing.assert_allclose(c.variance, a.variance, rtol=1e-12, atol=1e-12)
