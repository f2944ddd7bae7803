"""trialsim.design.sample_size: Lachin-Foulkes (and Schoenfeld / Freedman) sample
size and duration.

Unit tier (see docs/architecture.md, "Validation tiers"): exact expectations,
loop references and argument errors; ``test_property_`` tests are hypothesis
invariants.
"""

from __future__ import annotations

import pytest

from trialsim.design import expected_events, lachin_foulkes


@pytest.mark.parametrize("method", ["lachin_foulkes", "schoenfeld", "freedman"])
def test_unit_sample_size_and_duration_questions_are_inverse(method):
    kw = dict(hazard_ratio=0.7, control_median=30, dropout_rate=0.004, method=method, allocation=1.5)
    a = lachin_foulkes(accrual_time=20, follow_up=15, **kw)
    assert a.power == pytest.approx(0.8, abs=1e-10)
    b = lachin_foulkes(accrual_time=20, n=a.n, **kw)
    assert b.follow_up == pytest.approx(15, abs=1e-7)
    pieces = [(6, 10), (None, 30)]
    c = lachin_foulkes(accrual=pieces, follow_up=15, **kw)
    assert c.n == pytest.approx(60 + 30 * (c.accrual_duration - 6), rel=1e-12)
    d = lachin_foulkes(accrual=pieces, n=c.n, **kw)
    assert d.follow_up == pytest.approx(15, abs=1e-7)
    assert d.accrual_duration == pytest.approx(c.accrual_duration, abs=1e-9)
    assert "months" in str(d)


def test_unit_lachin_foulkes_events_bookkeeping():
    r = lachin_foulkes(hazard_ratio=0.75, control_rate=0.02, accrual_time=12, follow_up=24)
    assert r.n_control + r.n_treatment == pytest.approx(r.n)
    assert r.events == pytest.approx(r.events_control + r.events_treatment)
    e = expected_events(r.study_duration, accrual=[(12, r.n / 12)], hazard_ratio=0.75, control_rate=0.02)
    assert e.total[0] == pytest.approx(r.events, rel=1e-12)


def test_unit_lachin_foulkes_given_n_already_enough_is_zero_follow_up():
    r = lachin_foulkes(hazard_ratio=0.5, control_rate=0.5, accrual_time=12, n=5000)
    assert r.follow_up == 0.0 and r.power > 0.8


@pytest.mark.parametrize("kwargs, message", [
    (dict(accrual_time=12), "follow_up"),
    (dict(accrual_time=12, follow_up=12, n=100), "follow_up"),
    (dict(follow_up=12), "accrual_time"),
    (dict(accrual_time=12, accrual=[(12, 10)], follow_up=12), "accrual_time"),
    (dict(accrual_time=12, follow_up=12, method="hsieh"), "unknown method"),
    (dict(accrual=[(12, 10)], follow_up=12), "extend the last piece"),
    (dict(accrual=[(None, 10), (5, 3)], follow_up=12), "only the last"),
    (dict(accrual=[(6, -1)], follow_up=12), "non-negative"),
    (dict(accrual="fast", follow_up=12), "pairs"),
    (dict(accrual_time=12, n=50, dropout_rate=0.5), "unlimited follow-up"),
    (dict(accrual_time=12, follow_up=-1), "follow_up"),
    (dict(accrual_time=12, follow_up=12, dropout_rate={"control": 0.1, "placebo": 0.1}), "keys"),
    (dict(accrual_time=12, follow_up=12, dropout_rate=-0.1), "dropout"),
    (dict(accrual_time=12, follow_up=12, control_median=10), "exactly one of control_rate"),
])
def test_unit_lachin_foulkes_argument_errors(kwargs, message):
    base = dict(hazard_ratio=0.7, control_rate=0.03)
    with pytest.raises(ValueError, match=message):
        lachin_foulkes(**{**base, **kwargs})
