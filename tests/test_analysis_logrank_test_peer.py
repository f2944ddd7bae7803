"""trialsim.analysis.logrank_test: the vectorised log-rank test, plain and
stratified.

Peer tier (see docs/architecture.md, "Validation tiers"): against lifelines,
run live (it is a dependency).
"""

from __future__ import annotations

import numpy as np
import pytest
from lifelines.statistics import logrank_test

from tests.support.logrank_reference import (
    HAND_EVENT,
    HAND_GROUP,
    HAND_TIME,
    reference_logrank,
    simulate_two_arm,
)
from trialsim.analysis import logrank


def lifelines_chi2(time, event, group):
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    group = np.asarray(group, dtype=bool)
    res = logrank_test(time[group], time[~group], event[group], event[~group])
    return res.test_statistic


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
