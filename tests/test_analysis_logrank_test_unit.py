"""trialsim.analysis.logrank_test: the vectorised log-rank test, plain and
stratified.

Unit tier (see docs/architecture.md, "Validation tiers"): exact expectations,
loop references and argument errors; ``test_property_`` tests are hypothesis
invariants.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.logrank_reference import (
    HAND_EVENT,
    HAND_GROUP,
    HAND_TIME,
    assert_results_equal,
    reference_logrank,
    simulate_two_arm,
)
from trialsim.analysis import LogrankResult, logrank, reject, risksets


def assert_results_close(a: LogrankResult, b: LogrankResult, rtol=1e-12, atol=1e-12):
    for name in ("z", "observed", "expected", "variance", "events", "hazard_ratio"):
        np.testing.assert_allclose(
            getattr(a, name), getattr(b, name), rtol=rtol, atol=atol, err_msg=name
        )


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
    assert R > risksets._BLOCK_ELEMENTS // n  # several blocks

    batch = logrank(padded_time, padded_event, group, valid)
    for r in range(R):
        m = valid[r]
        alone = logrank(time[r, m], event[r, m], group[r, m])
        for name in ("z", "observed", "expected", "variance", "events", "hazard_ratio"):
            np.testing.assert_array_equal(getattr(batch, name)[r], getattr(alone, name)[0], err_msg=f"{name} row {r}")


def test_unit_direction_strong_treatment_effect():
    rng = np.random.default_rng(11)
    time, event, group = simulate_two_arm(rng, 50, 400, hr=0.4)
    res = logrank(time, event, group)
    assert np.all(res.z > 0)
    assert np.all(res.hazard_ratio < 1)
    assert np.all(res.observed[:, 1] < res.expected[:, 1])
    assert np.all(reject(res.z, alpha=0.025, sided=1))


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
