"""Theory tier of trialsim.curves.kinds: samples against each curve's own analytic distribution.

Every KS test asserts p > 0.001 (a false alarm rate of 1 in 1000 per test for a
correct sampler; the seeds are fixed, so the suite is deterministic), and every
moment / proportion check allows 4 Monte Carlo standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from tests.support.curves import (
    KS_P_MIN,
    N_SE,
    N,
    _ks_against_own_cdf,
    all_kinds,
    proper_continuous,
)
from trialsim.curves import Exponential


@pytest.mark.parametrize("name", ["exponential", "weibull_increasing", "weibull_decreasing", "piecewise",
                                  "piecewise_cured", "cure", "proportional", "table", "uniform", "reference",
                                  "lognormal", "loglogistic"])
def test_theory_samples_match_own_cdf(name):
    c = all_kinds()[name]
    draws = c.sample(np.random.default_rng(20240 + len(name)), N)
    assert _ks_against_own_cdf(c, draws) > KS_P_MIN  # threshold p > 0.001


@pytest.mark.parametrize("name", sorted(proper_continuous()))
def test_theory_sample_mean_within_4_se(name):
    c = proper_continuous()[name]
    draws = c.sample(np.random.default_rng(777), N)
    se = math.sqrt(c.variance() / N)
    assert abs(draws.mean() - c.mean()) <= N_SE * se
    # and the sample variance agrees with the analytic one (loose: 10% relative)
    assert draws.var() == pytest.approx(c.variance(), rel=0.1)


@pytest.mark.parametrize("name", ["piecewise_cured", "cure", "table"])
def test_theory_cured_share_within_4_se(name):
    c = all_kinds()[name]
    draws = c.sample(np.random.default_rng(4242), N)
    p = c.cured_fraction
    se = math.sqrt(p * (1 - p) / N)
    assert abs(np.isinf(draws).mean() - p) <= N_SE * se


@pytest.mark.parametrize("name", ["exponential", "weibull_increasing", "weibull_decreasing", "piecewise",
                                  "cure", "proportional", "table", "uniform", "reference", "lognormal",
                                  "loglogistic"])
def test_theory_conditional_sampling(name):
    """Residuals R = T - s given T > s have survival S(s + r) / S(s)."""
    c = all_kinds()[name]
    rng = np.random.default_rng(99)
    # one fixed s: KS of the finite residuals against 1 - S(s + r)/S(s), renormalised for cure
    s = {"uniform": 80.0, "reference": 84.0}.get(name, 20.0)
    r = c.sample_conditional(rng, np.full(N, s))
    assert np.all(r[np.isfinite(r)] >= 0)
    s_s = c.survival(s)
    cure_given_s = c.cured_fraction / s_s
    fin = r[np.isfinite(r)]
    p = stats.kstest(fin, lambda x: (1 - np.asarray(c.survival(s + x)) / s_s) / (1 - cure_given_s)).pvalue
    assert p > KS_P_MIN  # threshold p > 0.001
    if cure_given_s > 0:
        se = math.sqrt(cure_given_s * (1 - cure_given_s) / N)
        assert abs(np.isinf(r).mean() - cure_given_s) <= N_SE * se
    # heterogeneous s: the conditional CDF at s + R is Uniform(0, 1) (probability integral transform)
    hi = {"uniform": 119.0, "reference": 200.0, "table": 30.0}.get(name, 60.0)
    lo = {"reference": 60.0}.get(name, 0.0)
    svec = rng.uniform(lo, hi, N)
    r = c.sample_conditional(rng, svec)
    ok = np.isfinite(r)
    svec, r = svec[ok], r[ok]
    s_s = np.asarray(c.survival(svec))
    u = (1 - np.asarray(c.survival(svec + r)) / s_s) / (1 - c.cured_fraction / s_s)
    assert ok.sum() > N / 4
    assert stats.kstest(u, "uniform").pvalue > KS_P_MIN  # threshold p > 0.001


def test_theory_conditional_mean_memoryless():
    c = Exponential(rate=0.05)
    r = c.sample_conditional(np.random.default_rng(5), np.linspace(0, 500, N))
    assert abs(r.mean() - 20.0) <= N_SE * math.sqrt(400.0 / N)
