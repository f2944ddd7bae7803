"""trialsim.analysis.kaplan_meier: RMST and milestone-survival differences.

Peer tier (see docs/architecture.md, "Validation tiers"): against lifelines
and scipy (run live) and R (golden values in tests/golden/r_survival_*.json,
written by tools/r/make_golden_survival.R with the R calls stored next to
each value).  docs/analysis.md lists the largest differences seen against
each peer.
"""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import restricted_mean_survival_time
from scipy import stats

from tests.support.survival_reference import TTE, golden_arrays, simulate_cure
from trialsim.analysis import milestone_difference, rmst_difference


def lifelines_km(time, event):
    kmf = KaplanMeierFitter()
    kmf.fit(np.asarray(time, float), np.asarray(event, bool))
    return kmf


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
