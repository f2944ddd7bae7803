"""Peer tier of trialsim.curves.kinds: equality with scipy.stats and lifelines formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from trialsim.curves import (
    Exponential,
    LogLogistic,
    LogNormal,
    PiecewiseExponential,
    TableCurve,
    Uniform,
    Weibull,
)


def test_peer_weibull_and_exponential_match_scipy():
    t = np.array([0.0, 0.5, 3.0, 12.0, 30.0, 100.0])
    for scale, shape in [(30.0, 1.5), (12.0, 0.7), (50.0, 1.0)]:
        c = Weibull(scale=scale, shape=shape)
        np.testing.assert_allclose(c.survival(t), stats.weibull_min.sf(t, shape, scale=scale), rtol=1e-12, atol=0)
        np.testing.assert_allclose(c.cdf(t), stats.weibull_min.cdf(t, shape, scale=scale), rtol=1e-12, atol=0)
        p = np.array([0.01, 0.5, 0.99])
        np.testing.assert_allclose(c.quantile(p), stats.weibull_min.ppf(p, shape, scale=scale), rtol=1e-12)
        assert c.mean() == pytest.approx(stats.weibull_min.mean(shape, scale=scale), rel=1e-12)
        assert c.variance() == pytest.approx(stats.weibull_min.var(shape, scale=scale), rel=1e-12)
    e = Exponential(rate=0.03)
    np.testing.assert_allclose(e.survival(t), stats.expon.sf(t, scale=1 / 0.03), rtol=1e-12, atol=0)
    u = Uniform(low=60, high=120)
    p = np.array([0.1, 0.5, 1.0])
    np.testing.assert_allclose(u.quantile(p), stats.uniform.ppf(p, loc=60, scale=60), rtol=1e-12)
    # at p = 0 both give the lower end of the support
    assert u.quantile(0.0) == stats.uniform.ppf(0.0, loc=60, scale=60) == 60.0
    assert Weibull(scale=3, shape=2).quantile(0.0) == stats.weibull_min.ppf(0.0, 2, scale=3) == 0.0


def test_peer_lifelines_fitted_models():
    """lifelines' fitted parametric models evaluated with trialsim's curves.

    lifelines parameterisations: WeibullFitter S(t) = exp(-(t/lambda_)**rho_);
    ExponentialFitter S(t) = exp(-t/lambda_); PiecewiseExponentialFitter has
    hazard 1/lambda_i_ between breakpoints.
    """
    lifelines = pytest.importorskip("lifelines")
    rng = np.random.default_rng(31)
    truth = Weibull(scale=30, shape=1.4)
    durations = truth.sample(rng, 500)
    censor = rng.uniform(0, 60, 500)
    observed = durations <= censor
    times = np.minimum(durations, censor)
    grid = np.array([1.0, 5.0, 12.0, 24.0, 48.0])

    wf = lifelines.WeibullFitter().fit(times, observed)
    c = Weibull(scale=wf.lambda_, shape=wf.rho_)
    np.testing.assert_allclose(c.survival(grid), wf.survival_function_at_times(grid).to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(c.cumhaz(grid), wf.cumulative_hazard_at_times(grid).to_numpy(), rtol=1e-12)

    ef = lifelines.ExponentialFitter().fit(times, observed)
    e = Exponential(rate=1 / ef.lambda_)
    np.testing.assert_allclose(e.survival(grid), ef.survival_function_at_times(grid).to_numpy(), rtol=1e-12)

    pf = lifelines.PiecewiseExponentialFitter(breakpoints=[12, 36]).fit(times, observed)
    lam = [pf.params_[f"lambda_{i}_"] for i in range(3)]
    pw = PiecewiseExponential(breaks=[12, 36], rates=1 / np.asarray(lam))
    np.testing.assert_allclose(pw.survival(grid), pf.survival_function_at_times(grid).to_numpy(), rtol=1e-12)


def test_peer_table_from_lifelines_kaplan_meier():
    """A TableCurve built from lifelines' Kaplan-Meier estimate reproduces it at every step."""
    lifelines = pytest.importorskip("lifelines")
    rng = np.random.default_rng(8)
    durations = np.round(Exponential(rate=0.03).sample(rng, 300), 1)
    observed = rng.random(300) < 0.8
    observed[np.argmax(durations)] = False  # last point censored: KM stays > 0
    km = lifelines.KaplanMeierFitter().fit(durations, observed)
    sf = km.survival_function_
    t = sf.index.to_numpy(dtype=float)
    s = sf.iloc[:, 0].to_numpy()
    c = TableCurve(times=t, survival=s)
    np.testing.assert_array_equal(c.survival(t), s)
    assert c.cured_fraction == s[-1]


def test_peer_lognormal_and_loglogistic_match_scipy():
    """scipy.stats.lognorm(s=sigma, scale=exp(mu)) and scipy.stats.fisk(c=beta, scale=alpha)."""
    t = np.array([0.0, 0.5, 3.0, 12.0, 30.0, 100.0, 1000.0])
    p = np.array([0.01, 0.3, 0.5, 0.9, 0.999])
    for mu, sigma in [(3.0, 0.8), (1.0, 2.0), (4.5, 0.3)]:
        c = LogNormal(mu=mu, sigma=sigma)
        ref = stats.lognorm(sigma, scale=math.exp(mu))
        np.testing.assert_allclose(c.survival(t), ref.sf(t), rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(c.quantile(p), ref.ppf(p), rtol=1e-11)
        pos = t > 0
        np.testing.assert_allclose(c.hazard(t[pos]), ref.pdf(t[pos]) / ref.sf(t[pos]), rtol=1e-9)
        assert c.mean() == pytest.approx(ref.mean(), rel=1e-12)
        assert c.variance() == pytest.approx(ref.var(), rel=1e-12)
        assert c.median() == pytest.approx(ref.median(), rel=1e-15)
    for alpha, beta in [(25.0, 2.5), (10.0, 0.8), (40.0, 6.0)]:
        c = LogLogistic(alpha=alpha, beta=beta)
        ref = stats.fisk(beta, scale=alpha)
        np.testing.assert_allclose(c.survival(t), ref.sf(t), rtol=1e-9)
        np.testing.assert_allclose(c.quantile(p), ref.ppf(p), rtol=1e-11)
        pos = t > 0
        np.testing.assert_allclose(c.hazard(t[pos]), ref.pdf(t[pos]) / ref.sf(t[pos]), rtol=1e-9)
        assert c.median() == alpha
        if beta > 1:
            assert c.mean() == pytest.approx(ref.mean(), rel=1e-12)
        else:
            assert c.mean() == math.inf
        if beta > 2:
            assert c.variance() == pytest.approx(ref.var(), rel=1e-12)
        else:
            assert c.variance() == math.inf
