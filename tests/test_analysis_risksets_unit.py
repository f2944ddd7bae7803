"""trialsim.analysis.risksets: sorting, packed keys, padding and block boundaries,
seen through every time-to-event kernel.

Unit tier (see docs/architecture.md, "Validation tiers"): exact expectations,
loop references and argument errors; ``test_property_`` tests are hypothesis
invariants.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.logrank_reference import (
    assert_results_equal,
    reference_logrank,
    simulate_two_arm,
)
from tests.support.survival_reference import PROPERTY_SETTINGS, simulate_cure
from trialsim.analysis import (
    cox,
    logrank,
    maxcombo,
    milestone_difference,
    risksets,
    rmst_difference,
    weighted_logrank,
)


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
    assert risksets._packing_scale(tiny, 1e2) is None
    assert risksets._packing_scale(1.0, 3e300) is None
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
    monkeypatch.setattr(risksets, "_packing_scale", lambda *args: None)
    slow = logrank(time, event, group, valid)
    assert_results_equal(fast, slow)


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
    monkeypatch.setattr(risksets, "_packing_scale", lambda *args: None)
    assert_results_equal(logrank(garbage_t, event, group, valid, strata=garbage_s), batch)


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


@pytest.mark.parametrize("kernel", sorted(KERNELS))
@pytest.mark.parametrize("full_rows", [0, 20])
def test_unit_padding_matches_each_row_alone(kernel, full_rows, monkeypatch):
    """Garbage in padding changes nothing, and a row's result does not depend
    on the other rows (several blocks); blocks whose rows hold no padding
    (``full_rows``: the first rows entirely valid) agree too."""
    monkeypatch.setattr(risksets, "_BLOCK_ELEMENTS", 1 << 13)
    rng = np.random.default_rng(3)
    R, n = 40, 260
    time, event, group = simulate_cure(rng, R, n, cure_treatment=0.35, ties=False)
    time[::3] = np.round(time[::3])
    valid = rng.random((R, n)) < rng.uniform(0.3, 1.0, (R, 1))
    valid[:full_rows] = True
    garbage = np.where(rng.random((R, n)) < 0.1, np.nan, rng.normal(0, 30, (R, n)))
    fn = KERNELS[kernel]
    batch = fn(np.where(valid, time, garbage), np.where(valid, event, True), group, valid)
    assert R > risksets._BLOCK_ELEMENTS // n
    for r in range(0, R, 3):
        m = valid[r]
        alone = fn(time[r, m], event[r, m], group[r, m], None)
        for name in FIELDS[kernel]:
            np.testing.assert_array_equal(getattr(batch, name)[r], getattr(alone, name)[0], err_msg=f"{name} row {r}")


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
