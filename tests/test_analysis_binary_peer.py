"""trialsim.analysis.binary: Fisher's exact test and Cochran-Mantel-Haenszel.

Peer tier (see docs/architecture.md, "Validation tiers"): against lifelines
and scipy (run live) and R (golden values in tests/golden/r_survival_*.json,
written by tools/r/make_golden_survival.R with the R calls stored next to
each value).  docs/analysis.md lists the largest differences seen against
each peer.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from tests.support.survival_reference import GOLDEN
from trialsim.analysis import cmh, fisher_exact, reject

BINARY = json.loads((GOLDEN / "r_survival_binary.json").read_text())


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
