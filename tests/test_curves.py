"""Tests of trialsim.curves.

Tiers (DESIGN.md): ``test_unit_*`` exact expectations of one function;
``test_theory_*`` samples against the curve's own analytic distribution
(Kolmogorov-Smirnov, moments within 4 Monte Carlo standard errors);
``test_peer_*`` equality with scipy.stats / lifelines formulas, and with the
engine's own calibration (trialsim.cohort). MRD tests: the prevalence model's
calibrated components must mix back to the marginal curve (to 1e-6 as
required; in fact to rounding); the lead_time model must leave the marginal
curve untouched (KS) and its share of detectable MRD must match the closed form
within 4 Monte Carlo standard errors.

Statistical thresholds: every KS test asserts p > 0.001 (a false alarm rate of
1 in 1000 per test for a correct sampler; the seeds are fixed, so the suite is
deterministic), and every moment / proportion check allows 4 Monte Carlo
standard errors.
"""

from __future__ import annotations

import json
import math
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from trialsim import cohort
from trialsim.curves import (
    REFERENCES,
    CureMixture,
    Curve,
    CurveDataError,
    CurveSpecError,
    Exponential,
    Fixed,
    LogLogistic,
    LogNormal,
    MrdComponent,
    PiecewiseExponential,
    Proportional,
    Reference,
    TableCurve,
    Uniform,
    UnknownReferenceError,
    Weibull,
    detectable_mrd_prevalence,
    from_spec,
    mrd_components,
    read_table_csv,
    reference,
)

N = 20_000  # draws per theory test
KS_P_MIN = 1e-3  # KS threshold: reject only if p <= 0.001
N_SE = 4.0  # moment/proportion tolerance in Monte Carlo standard errors


def all_kinds() -> dict[str, Curve]:
    return {
        "exponential": Exponential(rate=0.02),
        "weibull_increasing": Weibull(scale=30.0, shape=1.5),
        "weibull_decreasing": Weibull(scale=30.0, shape=0.7),
        "piecewise": PiecewiseExponential(breaks=[12, 36], rates=[0.01, 0.005, 0.002]),
        "piecewise_cured": PiecewiseExponential(breaks=[12, 36], rates=[0.02, 0.01, 0.0]),
        "cure": CureMixture(fraction=0.3, curve=Weibull.from_median(median=20, shape=1.1)),
        "proportional": Proportional(hazard_ratio=2.3, curve=Weibull(scale=40, shape=1.2)),
        "lognormal": LogNormal(mu=3.0, sigma=0.6),
        "loglogistic": LogLogistic(alpha=25.0, beta=6.0),
        "table": TableCurve(times=[6, 12, 24, 36], survival=[0.9, 0.8, 0.8, 0.6]),
        "fixed": Fixed(value=12.0),
        "uniform": Uniform(low=60.0, high=120.0),
        "reference": reference("pan2017/T2N1-3"),
    }


def proper_continuous() -> dict[str, Curve]:
    k = all_kinds()
    return {n: k[n] for n in ("exponential", "weibull_increasing", "weibull_decreasing", "piecewise",
                              "proportional", "uniform", "reference", "lognormal", "loglogistic")}


# ---------------------------------------------------------------------------
# unit: each kind
# ---------------------------------------------------------------------------


def test_unit_exponential_values():
    c = Exponential(rate=0.02)
    t = np.array([0.0, 1.0, 10.0, 50.0])
    np.testing.assert_allclose(c.cumhaz(t), 0.02 * t, rtol=0, atol=0)
    np.testing.assert_allclose(c.survival(t), np.exp(-0.02 * t), rtol=1e-15)
    np.testing.assert_array_equal(c.hazard(t), 0.02)
    assert c.mean() == 50.0 and c.variance() == 2500.0
    assert c.median() == pytest.approx(math.log(2) / 0.02, rel=1e-15)
    assert c.cured_fraction == 0.0
    assert c.cumhaz(np.inf) == np.inf and c.survival(np.inf) == 0.0
    assert c.inv_cumhaz(0.0) == 0.0 and c.inv_cumhaz(np.inf) == np.inf


def test_unit_exponential_from_median_and_cumulative():
    c = Exponential.from_median(24)
    assert c.rate == math.log(2) / 24
    assert c.median() == pytest.approx(24, rel=1e-14)
    assert c.survival(24) == pytest.approx(0.5, rel=1e-14)
    d = Exponential.from_cumulative(0.26, at=180)
    assert d.rate == pytest.approx(-math.log(1 - 0.26) / 180, rel=1e-15)
    assert d.cdf(180) == pytest.approx(0.26, rel=1e-14)
    assert Exponential.from_cumulative(0.0, at=12).rate == 0.0


def test_unit_exponential_describe():
    assert Exponential.from_median(24).describe() == "exponential(rate=0.0289/month, median 24 months)"
    for c in all_kinds().values():
        text = c.describe()
        assert isinstance(text, str) and "\n" not in text and len(text) < 200


def test_unit_exponential_rate_zero_never_happens():
    c = Exponential(rate=0)
    assert c.cured_fraction == 1.0 and c.mean() == math.inf
    assert np.all(np.isinf(c.sample(np.random.default_rng(1), 5)))
    assert c.quantile(0.5) == np.inf and c.quantile(0.0) == np.inf


def test_unit_weibull_values():
    c = Weibull(scale=30, shape=1.5)
    t = np.array([0.0, 5.0, 30.0, 90.0])
    np.testing.assert_allclose(c.cumhaz(t), (t / 30) ** 1.5, rtol=1e-15)
    np.testing.assert_allclose(c.hazard(t), 1.5 / 30 * (t / 30) ** 0.5, rtol=1e-15)
    assert c.survival(30) == pytest.approx(math.exp(-1), rel=1e-15)
    assert c.mean() == pytest.approx(30 * math.gamma(1 + 1 / 1.5), rel=1e-14)
    assert c.variance() == pytest.approx(900 * (math.gamma(1 + 2 / 1.5) - math.gamma(1 + 1 / 1.5) ** 2), rel=1e-13)
    # hazard at 0: 0 for shape > 1, 1/scale for shape 1, inf for shape < 1
    assert Weibull(scale=30, shape=1.5).hazard(0) == 0.0
    assert Weibull(scale=30, shape=1.0).hazard(0) == pytest.approx(1 / 30, rel=1e-15)
    assert Weibull(scale=30, shape=0.5).hazard(0) == np.inf


def test_unit_weibull_from_median():
    c = Weibull.from_median(median=10.5, shape=1.5)
    assert c.median() == pytest.approx(10.5, rel=1e-14)
    assert c.survival(10.5) == pytest.approx(0.5, rel=1e-14)
    assert c.scale == pytest.approx(10.5 / math.log(2) ** (1 / 1.5), rel=1e-15)


def test_unit_piecewise_known_values():
    c = PiecewiseExponential(breaks=[12, 36], rates=[0.01, 0.005, 0.002])
    t = np.array([0, 6, 12, 24, 36, 48])
    expected = np.array([0, 0.06, 0.12, 0.18, 0.24, 0.264])
    np.testing.assert_allclose(c.cumhaz(t), expected, rtol=1e-14, atol=1e-16)
    # right-continuous hazard: at a break the next rate applies
    np.testing.assert_array_equal(c.hazard([0, 11.999, 12, 35.9, 36, 1e6]), [0.01, 0.01, 0.005, 0.005, 0.002, 0.002])
    # exact at knots
    np.testing.assert_array_equal(c.inv_cumhaz(c.cumhaz([12.0, 36.0])), [12.0, 36.0])
    assert c.cured_fraction == 0.0


def test_unit_piecewise_flat_start_and_cure():
    pan_like = PiecewiseExponential(breaks=[60], rates=[0, 0.01])
    assert pan_like.cumhaz(59.9) == 0.0 and pan_like.hazard(30) == 0.0
    assert pan_like.inv_cumhaz(0.1) == pytest.approx(70.0, rel=1e-14)
    assert pan_like.inv_cumhaz(0.0) == 0.0  # smallest t with Λ(t) >= 0
    assert pan_like.quantile(0.0) == 60.0  # but the support starts at 60
    # a sampled time is never inside the flat start (E > 0)
    assert np.min(pan_like.sample(np.random.default_rng(3), 10_000)) > 60
    cured = PiecewiseExponential(breaks=[12], rates=[0.01, 0.0])
    assert cured.cured_fraction == pytest.approx(math.exp(-0.12), rel=1e-15)
    assert cured.cumhaz(np.inf) == pytest.approx(0.12, rel=1e-15)
    assert cured.inv_cumhaz(0.12 + 1e-9) == np.inf
    assert cured.quantile(0.5) == np.inf
    assert cured.mean() == math.inf


@pytest.mark.parametrize(
    "breaks, rates, match",
    [
        ([12], [0.1], "len\\(rates\\) == len\\(breaks\\) \\+ 1"),
        ([12, 12], [0.1, 0.1, 0.1], "strictly increasing"),
        ([0, 12], [0.1, 0.1, 0.1], "breaks must be > 0"),
        ([12], [0.1, -0.1], "rates must be >= 0"),
        ([12], [0.1, float("nan")], "finite"),
        ("12", [0.1, 0.1], "list of numbers"),
    ],
)
def test_unit_piecewise_validation(breaks, rates, match):
    with pytest.raises(ValueError, match=match):
        PiecewiseExponential(breaks=breaks, rates=rates)


def test_unit_piecewise_moments_match_numerical_integration():
    for c in (PiecewiseExponential(breaks=[12, 36], rates=[0.01, 0.0, 0.05]),
              PiecewiseExponential(breaks=[60], rates=[0.0, 0.002]),
              PiecewiseExponential(breaks=[1e-3, 5], rates=[1e-7, 0.3, 0.1])):
        pieces = list(zip([0.0, *c.breaks], [*c.breaks, np.inf]))  # integrate piece by piece

        def integral(f):
            return sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-12, limit=200)[0] for a, b in pieces)

        m1 = integral(lambda t: float(c.survival(t)))  # E[T] = ∫ S
        m2 = integral(lambda t: 2 * t * float(c.survival(t)))  # E[T²] = ∫ 2 t S
        assert c.mean() == pytest.approx(m1, rel=1e-8)
        assert c.variance() == pytest.approx(m2 - m1 ** 2, rel=1e-7)


def test_unit_cure_mixture_values():
    base = Weibull(scale=25, shape=1.3)
    c = CureMixture(fraction=0.4, curve=base)
    t = np.array([0, 5, 20, 100, np.inf])
    np.testing.assert_allclose(c.survival(t), 0.4 + 0.6 * base.survival(t), rtol=1e-14)
    assert c.cured_fraction == 0.4
    assert c.cumhaz(np.inf) == pytest.approx(-math.log(0.4), rel=1e-14)
    assert c.inv_cumhaz(-math.log(0.4) + 1e-6) == np.inf
    assert c.mean() == math.inf
    # hazard equals the derivative of the cumulative hazard
    tt = np.array([1.0, 10.0, 40.0])
    h = 1e-6
    np.testing.assert_allclose(c.hazard(tt), (c.cumhaz(tt + h) - c.cumhaz(tt - h)) / (2 * h), rtol=1e-6)
    # no cure: identical to the base curve
    np.testing.assert_allclose(CureMixture(fraction=0, curve=base).cumhaz(t[:-1]), base.cumhaz(t[:-1]), rtol=1e-12)
    assert CureMixture(fraction=0, curve=base).mean() == base.mean()
    with pytest.raises(ValueError, match="fraction must be in \\[0, 1\\]"):
        CureMixture(fraction=1.5, curve=base)


def test_unit_proportional_values():
    base = Weibull(scale=40, shape=1.2)
    c = Proportional(hazard_ratio=2.3, curve=base)
    t = np.array([0, 1, 12, 80])
    np.testing.assert_allclose(c.cumhaz(t), 2.3 * base.cumhaz(t), rtol=1e-15)
    np.testing.assert_allclose(c.hazard(t), 2.3 * base.hazard(t), rtol=1e-15)
    np.testing.assert_allclose(c.survival(t), base.survival(t) ** 2.3, rtol=1e-14)
    # closed forms: a hazard ratio on a Weibull is a Weibull with scale * hr^(-1/shape)
    eq = Weibull(scale=40 * 2.3 ** (-1 / 1.2), shape=1.2)
    assert c.mean() == pytest.approx(eq.mean(), rel=1e-14)
    assert c.variance() == pytest.approx(eq.variance(), rel=1e-13)
    assert Proportional(hazard_ratio=0.5, curve=Exponential(rate=0.02)).mean() == pytest.approx(100, rel=1e-15)
    cured = Proportional(hazard_ratio=2, curve=CureMixture(fraction=0.5, curve=Exponential(rate=0.1)))
    assert cured.cured_fraction == pytest.approx(0.25, rel=1e-15)
    assert cured.mean() == math.inf
    with pytest.raises(NotImplementedError):
        Proportional(hazard_ratio=2, curve=Uniform(low=0, high=1)).mean()


def test_unit_table_reproduces_points_exactly():
    times = [3.0, 6.0, 12.0, 24.0, 36.0]
    surv = [0.97, 0.9, 0.9, 0.75, 0.62]
    c = TableCurve(times=times, survival=surv)
    np.testing.assert_array_equal(c.survival(times), surv)
    np.testing.assert_array_equal(c.cumhaz(times), -np.log(surv))
    np.testing.assert_array_equal(c.inv_cumhaz(-np.log([0.97, 0.9, 0.75, 0.62])), [3.0, 6.0, 24.0, 36.0])
    np.testing.assert_allclose(c.quantile(1 - np.array([0.97, 0.75, 0.62])), [3.0, 24.0, 36.0], rtol=1e-12)
    assert c.survival(0) == 1.0  # (0, 1) prepended
    # log-linear in between
    assert c.survival(18.0) == pytest.approx(math.sqrt(0.9 * 0.75), rel=1e-14)
    assert c.survival(9.0) == 0.9  # flat stretch
    # flat after the last point: a cured fraction equal to the last survival value
    np.testing.assert_array_equal(c.survival([36.0, 100.0, 1e9, np.inf]), 0.62)
    assert c.cured_fraction == 0.62
    assert c.quantile(0.5) == np.inf and c.mean() == math.inf
    assert TableCurve(times=[0, 12], survival=[1, 0.5]) == TableCurve(times=[12], survival=[0.5])


@pytest.mark.parametrize(
    "times, survival, match",
    [
        ([6, 12], [0.9], "differ in length"),
        ([12, 6], [0.9, 0.8], "point 2 .*not greater than the previous time"),
        ([6, 12], [0.8, 0.9], "point 2 .*greater than the previous survival"),
        ([6, 12], [0.8, 1.2], "outside \\[0, 1\\]"),
        ([6, 12], [0.8, 0.0], "cannot be interpolated"),
        ([0, 12], [0.9, 0.8], "survival at time 0 must be 1"),
        ([-1, 12], [0.9, 0.8], "negative"),
    ],
)
def test_unit_table_validation(times, survival, match):
    with pytest.raises(ValueError, match=match):
        TableCurve(times=times, survival=survival)


def test_unit_fixed_point_mass():
    c = Fixed(value=12)
    np.testing.assert_array_equal(c.quantile([0, 0.3, 1]), [12, 12, 12])
    np.testing.assert_array_equal(c.cumhaz([0, 11.99, 12, 50]), [0, 0, np.inf, np.inf])
    np.testing.assert_array_equal(c.cdf([0, 11.99, 12, 50]), [0, 0, 1, 1])
    np.testing.assert_array_equal(c.sample(np.random.default_rng(0), 4), [12, 12, 12, 12])
    np.testing.assert_array_equal(c.residual([1.0, 2.0], [0.0, 5.0]), [12, 7])
    assert np.isnan(c.residual(1.0, 12.0))  # T > 12 is impossible
    assert (c.mean(), c.variance(), c.median(), c.cured_fraction) == (12, 0, 12, 0)
    assert Fixed(0).sample(np.random.default_rng(0)) == 0.0
    with pytest.raises(ValueError, match="value must be >= 0"):
        Fixed(-1)


def test_unit_uniform_values():
    c = Uniform(low=60, high=120)
    np.testing.assert_allclose(c.cdf([0, 60, 75, 90, 120, 200]), [0, 0, 0.25, 0.5, 1, 1], rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(c.quantile([0.25, 0.5, 1.0]), [75, 90, 120], rtol=1e-14)
    assert c.hazard(90) == pytest.approx(1 / 30, rel=1e-15)
    assert (c.mean(), c.variance()) == (90, 3600 / 12)
    with pytest.raises(ValueError, match="low < high"):
        Uniform(low=5, high=5)
    with pytest.raises(ValueError, match="low must be >= 0"):
        Uniform(low=-1, high=5)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "0.1", True, None])
def test_unit_parameter_validation_messages(bad):
    with pytest.raises(ValueError, match="Exponential: rate must be"):
        Exponential(rate=bad)
    with pytest.raises(ValueError, match="Weibull: "):
        Weibull(scale=bad, shape=1)


def test_unit_constructor_validation_more():
    with pytest.raises(ValueError, match="median must be > 0"):
        Exponential.from_median(0)
    with pytest.raises(ValueError, match="cumulative must be in \\[0, 1\\)"):
        Exponential.from_cumulative(1.0, at=12)
    with pytest.raises(ValueError, match="at must be > 0"):
        Exponential.from_cumulative(0.2, at=0)
    with pytest.raises(ValueError, match="shape must be > 0"):
        Weibull.from_median(10, shape=0)
    with pytest.raises(ValueError, match="curve must be a Curve"):
        Proportional(hazard_ratio=2, curve={"exponential": {"rate": 0.1}})


# ---------------------------------------------------------------------------
# unit: shared behaviour
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(all_kinds()))
def test_unit_round_trip_inv_cumhaz(name):
    c = all_kinds()[name]
    t = np.linspace(0.0, 400.0, 801)[1:]
    lam = c.cumhaz(t)
    h = c.hazard(t)
    # round trip holds wherever Λ is strictly increasing at t (positive hazard, finite Λ)
    # (at Λ = 0 the generalised inverse is 0, the start of a flat stretch, not t)
    ok = (h > 0) & (c.hazard(t - 1e-9) > 0) & np.isfinite(lam) & (lam > 0)  # Λ increasing on both sides
    if name == "fixed":
        assert not ok.any()
        return
    assert ok.sum() > 20
    # Tolerance: 1e-12, widened by the problem's own condition number where Λ
    # flattens out (near a cure plateau a relative error eps in Λ moves t by
    # eps * Λ / (t λ(t)) relative; no formula can do better).
    cond = lam[ok] / (t[ok] * h[ok])
    err = np.abs(c.inv_cumhaz(lam[ok]) - t[ok]) / t[ok]
    assert np.all(err <= 1e-12 + 32 * np.finfo(float).eps * cond), (err / (1e-12 + 32 * 2.2e-16 * cond)).max()
    # and the other way round on Λ's range
    x = lam[ok]
    np.testing.assert_allclose(c.cumhaz(c.inv_cumhaz(x)), x, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(all_kinds()))
def test_unit_edge_values_without_warnings(name):
    c = all_kinds()[name]
    t = np.array([-1.0, 0.0, 1e-300, 12.0, 1e300, np.inf, np.nan])
    x = np.array([-1.0, 0.0, 1e-300, 1.0, 1e300, np.inf, np.nan])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lam, s, f, h = c.cumhaz(t), c.survival(t), c.cdf(t), c.hazard(t)
        inv = c.inv_cumhaz(x)
        q = c.quantile([0.0, 0.5, 1.0])
        r = c.residual(np.array([0.0, 1.0, np.inf]), np.array([0.0, 5.0, 1.0]))
        _ = c.cured_fraction, c.median(), c.describe()
    assert lam[0] == 0.0 and s[0] == 1.0 and f[0] == 0.0 and h[0] == 0.0  # t < 0
    assert np.isnan(lam[-1]) and np.isnan(s[-1]) and np.isnan(inv[-1])  # NaN in, NaN out
    assert inv[0] == 0.0 and inv[1] == 0.0  # x <= 0
    assert s[-2] == pytest.approx(c.cured_fraction, abs=1e-15)
    assert np.all(lam[1:-1] >= lam[:-2]) and np.all((s[:-1] >= 0) & (s[:-1] <= 1))
    assert np.all(inv[1:-1] >= inv[:-2])  # non-decreasing
    # quantile(0) is the start of the support
    assert q[0] == {"fixed": 12.0, "uniform": 60.0, "reference": 60.0}.get(name, 0.0)
    if c.cured_fraction > 0 or name in ("exponential", "weibull_increasing", "piecewise", "proportional"):
        assert q[2] == np.inf
    assert np.all(r[~np.isnan(r)] >= 0)


def test_unit_shapes_and_scalars():
    c = Weibull(scale=30, shape=1.5)
    grid = np.arange(12.0).reshape(3, 4)
    for method in (c.cumhaz, c.survival, c.cdf, c.hazard, c.inv_cumhaz):
        out = method(grid)
        assert isinstance(out, np.ndarray) and out.shape == (3, 4)
        scalar = method(3.0)
        assert np.ndim(scalar) == 0 and isinstance(scalar, float)
    assert c.sample(np.random.default_rng(0), (2, 5)).shape == (2, 5)
    assert c.sample_conditional(np.random.default_rng(0), np.zeros((3, 2))).shape == (3, 2)
    assert c.residual(np.ones(4), 0.0).shape == (4,)
    with pytest.raises(ValueError, match="p must be in"):
        c.quantile(1.5)


def test_unit_rng_only_argument():
    c = Exponential(rate=0.1)
    before = np.random.get_state()[1].copy()
    a = c.sample(np.random.default_rng(7), 100)
    b = c.sample(np.random.default_rng(7), 100)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # global state untouched
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        c.sample(np.random.RandomState(1), 3)
    with pytest.raises(TypeError):
        c.sample_conditional(7, [0.0])


def test_unit_common_random_numbers():
    # every kind consumes one standard exponential per draw: same rng state after sampling
    states = set()
    for c in all_kinds().values():
        rng = np.random.default_rng(11)
        c.sample(rng, 100)
        states.add(float(rng.random()))
    assert len(states) == 1


def test_unit_residual_definition():
    c = Weibull(scale=30, shape=1.5)
    e = np.array([0.1, 1.0, 3.0])
    s = np.array([0.0, 10.0, 50.0])
    np.testing.assert_allclose(c.residual(e, s), c.inv_cumhaz(c.cumhaz(s) + e) - s, rtol=1e-14)
    np.testing.assert_allclose(Exponential(rate=0.05).residual(e, s), e / 0.05, rtol=1e-15)  # memoryless
    pan_like = PiecewiseExponential(breaks=[60], rates=[0.0, 0.01])
    np.testing.assert_allclose(pan_like.residual(e, 30.0), 30 + e / 0.01, rtol=1e-14)
    cured = CureMixture(fraction=0.5, curve=Exponential(rate=0.1))
    assert cured.residual(1.0, np.inf) == np.inf  # survived forever: cured
    assert np.isnan(Exponential(rate=0.1).residual(1.0, np.inf))  # impossible conditioning


def test_unit_curves_are_values():
    for c in all_kinds().values():
        assert c == pickle.loads(pickle.dumps(c))
        assert hash(c) == hash(pickle.loads(pickle.dumps(c)))
        assert type(c).__name__ in repr(c)
    assert Exponential(rate=0.1) != Exponential(rate=0.2)
    assert Exponential(rate=0.1) != Weibull(scale=10, shape=1)


# ---------------------------------------------------------------------------
# unit: specs
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(all_kinds()))
def test_unit_to_spec_from_spec_round_trip(name):
    c = all_kinds()[name]
    spec = c.to_spec()
    rebuilt = from_spec(json.loads(json.dumps(spec)))  # plain JSON/YAML data, exact floats
    t = np.linspace(0, 300, 61)
    np.testing.assert_array_equal(rebuilt.cumhaz(t), c.cumhaz(t))
    np.testing.assert_array_equal(rebuilt.inv_cumhaz(t / 100), c.inv_cumhaz(t / 100))
    if name != "reference":
        assert rebuilt == c


def test_unit_to_spec_shapes():
    assert Exponential(rate=0.01).to_spec() == {"exponential": {"rate": 0.01}}
    assert Fixed(3).to_spec() == 3.0
    assert Uniform(low=60, high=120).to_spec() == {"uniform": [60.0, 120.0]}
    assert TableCurve(times=[12], survival=[0.5]).to_spec() == {"table": {"times": [0.0, 12.0],
                                                                         "survival": [1.0, 0.5]}}
    assert reference("pan2017/T1N0").to_spec()["piecewise_exponential"]["breaks"] == [60.0]


def test_unit_from_spec_all_kinds(tmp_path):
    (tmp_path / "curves").mkdir()
    (tmp_path / "curves" / "km.csv").write_text("time,survival\n12,0.9\n24,0.8\n")
    assert from_spec({"exponential": {"median": 24}}) == Exponential.from_median(24)
    assert from_spec({"exponential": {"cumulative": 0.26, "at": 180}}) == Exponential.from_cumulative(0.26, 180)
    assert from_spec({"weibull": {"median": 10.5, "shape": 1.5}}) == Weibull.from_median(10.5, 1.5)
    assert from_spec({"weibull": {"scale": 30, "shape": 1.2}}) == Weibull(scale=30, shape=1.2)
    assert from_spec({"piecewise_exponential": {"breaks": [12, 36], "rates": [0.01, 0.005, 0.002]}}) == \
        PiecewiseExponential(breaks=[12, 36], rates=[0.01, 0.005, 0.002])
    cure = from_spec({"cure": {"fraction": 0.7, "curve": {"weibull": {"median": 20, "shape": 1.1}}}})
    assert cure == CureMixture(fraction=0.7, curve=Weibull.from_median(20, 1.1))
    prop = from_spec({"proportional": {"hazard_ratio": 2.3, "curve": {"exponential": {"rate": 0.002}}}})
    assert prop == Proportional(hazard_ratio=2.3, curve=Exponential(rate=0.002))
    table = from_spec({"table": {"file": "curves/km.csv"}}, base_dir=tmp_path)
    assert table == TableCurve(times=[12, 24], survival=[0.9, 0.8])
    assert from_spec({"table": {"times": [12, 24], "survival": [0.9, 0.8]}}) == table
    assert from_spec({"reference": "pan2017/T2N1-3"}) is REFERENCES["pan2017/T2N1-3"].curve
    assert from_spec({"uniform": [60, 120]}) == Uniform(low=60, high=120)
    assert from_spec(84) == Fixed(84)
    c = Exponential(rate=0.1)
    assert from_spec(c) is c


@pytest.mark.parametrize(
    "spec, match",
    [
        ({"exponential": {"rate": 0.1}, "weibull": {}}, "exactly one key"),
        ({"exponentail": {"rate": 0.1}}, "did you mean 'exponential'"),
        ({"exponential": {"rate": 0.1, "median": 3}}, "exactly one of rate, median"),
        ({"exponential": {"cumulative": 0.2}}, "needs 'at'"),
        ({"exponential": {"rate": 0.1, "at": 3}}, "'at' only goes with 'cumulative'"),
        ({"exponential": {"rate": "0.1"}}, "rate must be a number"),
        ({"exponential": {"rate": -1}}, "^exponential: .*rate must be >= 0"),
        ({"weibull": {"scale": 3}}, "^weibull: missing 'shape'"),
        ({"weibull": {"scale": 3, "median": 2, "shape": 1}}, "exactly one of scale or median"),
        ({"weibull": {"scale": 3, "shap": 1}}, "did you mean 'shape'"),
        ({"cure": {"fraction": 0.5, "curve": {"weibull": {"scale": 3}}}}, "^cure.curve.weibull: missing 'shape'"),
        ({"cure": {"fraction": 2, "curve": {"exponential": {"rate": 1}}}}, "^cure: .*fraction"),
        ({"table": {"file": "x.csv", "times": [1], "survival": [0.5]}}, "not both"),
        ({"table": {"times": [1]}}, "both 'times' and 'survival'"),
        ({"uniform": [1, 2, 3]}, "\\[low, high\\]"),
        ({"uniform": [5, 1]}, "low < high"),
        ({"reference": 3}, "reference name"),
        ("weibull", "expected a curve mapping"),
        (True, "expected a curve mapping or a number"),
        (-3, "value must be >= 0"),
        ({"piecewise_exponential": {"breaks": [12], "rates": [0.1]}}, "len\\(rates\\)"),
    ],
)
def test_unit_from_spec_errors(spec, match):
    with pytest.raises(ValueError, match=match) as info:
        from_spec(spec)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, CurveSpecError)


# ---------------------------------------------------------------------------
# unit: reference curves
# ---------------------------------------------------------------------------

PAN2017 = {"T1N0": 0.13, "T1N1-3": 0.20, "T1N4-9": 0.34, "T2N0": 0.19, "T2N1-3": 0.26, "T2N4-9": 0.41}


def test_unit_pan2017_references():
    for group, risk in PAN2017.items():
        ref = REFERENCES[f"pan2017/{group}"]
        assert isinstance(ref, Reference) and ref.name == f"pan2017/{group}"
        assert "10.1056/NEJMoa1701830" in ref.source
        assert "60 months" in ref.note and "time_since_diagnosis >= 60" in ref.note
        c = reference(ref.name)
        assert c is ref.curve
        rate = -math.log(1 - risk) / 180
        np.testing.assert_allclose(c.rates, [0.0, rate], rtol=1e-15)
        np.testing.assert_array_equal(c.breaks, [60.0])
        # risk from year 5 to year 20 among those recurrence-free at year 5
        assert 1 - c.survival(240) / c.survival(60) == pytest.approx(risk, rel=1e-13)
        assert c.hazard(59.9) == 0.0 and c.cumhaz(60) == 0.0
    assert {n for n in REFERENCES if n.startswith("pan2017/")} == {f"pan2017/{g}" for g in PAN2017}
    with pytest.raises(AttributeError):
        REFERENCES["pan2017/T1N0"].note = "x"  # frozen


def test_unit_unknown_reference_suggests():
    with pytest.raises(UnknownReferenceError) as info:
        reference("pan2017/T2N13")
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    assert "did you mean 'pan2017/T2N1-3'" in str(info.value)
    with pytest.raises(UnknownReferenceError, match="did you mean"):
        from_spec({"reference": "Pan2017/t1n0"})
    with pytest.raises(UnknownReferenceError, match="unknown reference curve 'nothing'"):
        reference("nothing")


# ---------------------------------------------------------------------------
# unit: CSV tables
# ---------------------------------------------------------------------------


def test_unit_read_table_csv(tmp_path):
    p = tmp_path / "km.csv"
    p.write_text("# digitised from figure 2\ntime,survival,n_risk\n0,1,100\n\n12,0.9,80\n24,0.85,60\n")
    c = read_table_csv(p)
    np.testing.assert_array_equal(c.survival([0, 12, 24]), [1, 0.9, 0.85])
    assert c.source == str(p) and "km.csv" in c.describe()
    # spec replays without the file
    p.unlink()
    assert from_spec(c.to_spec()) == c


@pytest.mark.parametrize(
    "content, where, what",
    [
        ("time,surv\n12,0.9\n", "line 1", "header lacks column(s) 'survival'"),
        ("12,0.9\n24,0.8\n", "line 1", "header"),
        ("time,survival\n12,0.9\n24,abc\n", "data row 2 (line 3)", "survival 'abc' is not a number"),
        ("time,survival\n12,0.9\n\n6,0.8\n", "data row 2 (line 4)", "not greater than the previous time"),
        ("time,survival\n12,0.9\n24,1.2\n", "data row 2 (line 3)", "outside [0, 1]"),
        ("time,survival\n12,0.8\n24,0.9\n", "data row 2 (line 3)", "greater than the previous survival"),
        ("time,survival\n12,0.8\n24,-0.1\n", "data row 2 (line 3)", "outside [0, 1]"),
        ("time,survival\n12,0.8,7\n", "data row 1 (line 2)", "expected 2 fields"),
        ("time,survival\n12,\n", "data row 1 (line 2)", "survival is empty"),
        ("time,survival\n", "no data rows", ""),
        ("", "empty file", ""),
    ],
)
def test_unit_read_table_csv_errors(tmp_path, content, where, what):
    p = tmp_path / "bad_km.csv"
    p.write_text(content)
    with pytest.raises(CurveDataError) as info:
        read_table_csv(p)
    msg = str(info.value)
    assert str(p) in msg and where in msg and what in msg
    assert "\n" not in msg
    assert isinstance(info.value, ValueError)


def test_unit_read_table_csv_missing_file(tmp_path):
    p = tmp_path / "nope.csv"
    with pytest.raises(CurveDataError, match="nope.csv: survival table file not found"):
        read_table_csv(p)
    with pytest.raises(CurveDataError, match="nope.csv"):
        from_spec({"table": {"file": "nope.csv"}}, base_dir=tmp_path)


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.floats(min_value=0.01, max_value=50), min_size=0, max_size=6),
    rates=st.lists(st.floats(min_value=0.0, max_value=2.0), min_size=7, max_size=7),
    x=st.lists(st.floats(min_value=0.0, max_value=30.0), min_size=1, max_size=20),
)
def test_unit_piecewise_generalised_inverse_property(gaps, rates, x):
    breaks = np.cumsum(gaps)
    c = PiecewiseExponential(breaks=breaks, rates=rates[: len(gaps) + 1])
    x = np.asarray(x)
    t = c.inv_cumhaz(x)
    lam_inf = c.cumhaz(np.inf)
    # inf exactly beyond the limit; otherwise Λ(t) >= x and Λ just before t is < x (smallest t)
    assert np.all(np.isinf(t[x > lam_inf]))
    fin = np.isfinite(t) & (x > 0)
    np.testing.assert_allclose(c.cumhaz(t[fin]), x[fin], rtol=1e-9, atol=1e-12)
    assert np.all(c.cumhaz(np.maximum(t[fin] * (1 - 1e-9) - 1e-9, 0)) < x[fin] + 1e-12)


def test_unit_docs_examples_run():
    """The python examples of docs/curves.md run as written."""
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "curves.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/curves.md", "exec"), {})


# ---------------------------------------------------------------------------
# theory: samples against the curve's own distribution
# ---------------------------------------------------------------------------


def _ks_against_own_cdf(c: Curve, draws: np.ndarray) -> float:
    """KS p-value of the finite draws against F(t) / F(inf) (the non-cured part)."""
    finite = draws[np.isfinite(draws)]
    f_inf = 1.0 - c.cured_fraction
    return stats.kstest(finite, lambda t: np.asarray(c.cdf(t)) / f_inf).pvalue


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


def test_theory_pan2017_risk_from_year5_to_year20():
    """Among survivors recurrence-free at 60 months, the share recurring by 240 is the published risk."""
    rng = np.random.default_rng(2017)
    for group, risk in PAN2017.items():
        c = reference(f"pan2017/{group}")
        r = c.sample_conditional(rng, np.full(N, 60.0))
        share = np.mean(r <= 180.0)
        assert abs(share - risk) <= N_SE * math.sqrt(risk * (1 - risk) / N)


# ---------------------------------------------------------------------------
# peer: scipy.stats and lifelines
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# log-normal and log-logistic
# ---------------------------------------------------------------------------


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


def test_unit_lognormal_far_tail_keeps_precision():
    c = LogNormal(mu=2.0, sigma=0.5)
    # survival 1e-200 and 1 - 1e-12: both ends invert to the right time
    for x in (1e-12, 460.5):
        t = c.inv_cumhaz(x)
        assert c.cumhaz(t) == pytest.approx(x, rel=1e-10)


def test_unit_lognormal_loglogistic_specs():
    assert from_spec({"lognormal": {"mu": 3, "sigma": 0.5}}) == LogNormal(mu=3, sigma=0.5)
    assert from_spec({"lognormal": {"median": 20, "sigma": 0.5}}) == LogNormal.from_median(20, 0.5)
    assert LogNormal.from_median(20, 0.5).median() == pytest.approx(20, rel=1e-15)
    assert from_spec({"loglogistic": {"alpha": 20, "beta": 2}}) == LogLogistic(alpha=20, beta=2)
    assert from_spec({"loglogistic": {"median": 20, "beta": 2}}) == LogLogistic(alpha=20, beta=2)
    assert LogNormal(mu=3, sigma=0.5).to_spec() == {"lognormal": {"mu": 3.0, "sigma": 0.5}}
    assert LogLogistic(alpha=20, beta=2).to_spec() == {"loglogistic": {"alpha": 20.0, "beta": 2.0}}
    for spec, match in [({"lognormal": {"mu": 3}}, "missing 'sigma'"),
                        ({"lognormal": {"mu": 3, "median": 3, "sigma": 1}}, "exactly one of mu or median"),
                        ({"lognormal": {"mu": 3, "sigma": -1}}, "sigma must be > 0"),
                        ({"loglogistic": {"alpha": 3}}, "missing 'beta'"),
                        ({"loglogistic": {"alpha": 0, "beta": 1}}, "alpha must be > 0")]:
        with pytest.raises(CurveSpecError, match=match):
            from_spec(spec)


def test_unit_from_lifelines_all_fitters():
    """Curve.from_lifelines: each fitter's own survival function, at its own parameters."""
    lifelines = pytest.importorskip("lifelines")
    rng = np.random.default_rng(12)
    durations = Weibull(scale=30, shape=1.3).sample(rng, 400)
    censor = rng.uniform(0, 70, 400)
    times, observed = np.minimum(durations, censor), durations <= censor
    grid = np.array([0.5, 5.0, 12.0, 30.0, 60.0])
    fitters = [lifelines.ExponentialFitter(), lifelines.WeibullFitter(), lifelines.LogNormalFitter(),
               lifelines.LogLogisticFitter(), lifelines.PiecewiseExponentialFitter(breakpoints=[10, 30])]
    kinds = [Exponential, Weibull, LogNormal, LogLogistic, PiecewiseExponential]
    for f, kind in zip(fitters, kinds):
        f.fit(times, observed)
        c = Curve.from_lifelines(f)
        assert type(c) is kind
        np.testing.assert_allclose(c.survival(grid), f.survival_function_at_times(grid).to_numpy(), rtol=1e-10)
        assert kind.from_lifelines(f) == c
    km = lifelines.KaplanMeierFitter().fit(times, observed)
    table = Curve.from_lifelines(km)
    steps = km.survival_function_.index.to_numpy()[1:][np.diff(km.survival_function_.iloc[:, 0].to_numpy()) < 0]
    # equal at every step (a Kaplan-Meier survival of 0 is held as 1e-9 in the table)
    np.testing.assert_allclose(table.survival(steps), km.survival_function_at_times(steps).to_numpy(), rtol=1e-12,
                               atol=1e-9)
    with pytest.raises(ValueError, match="not a Weibull"):
        Weibull.from_lifelines(fitters[0])
    with pytest.raises(ValueError, match="has not been fitted"):
        Curve.from_lifelines(lifelines.WeibullFitter())
    with pytest.raises(ValueError, match="no trialsim curve for"):
        Curve.from_lifelines(lifelines.NelsonAalenFitter().fit(times, observed))


# ---------------------------------------------------------------------------
# MRD: calibrated components (prevalence) and detectable MRD (lead time)
# ---------------------------------------------------------------------------

MARGINALS = {
    "pan2017": (reference("pan2017/T2N1-3"), 84.0),
    "weibull": (Weibull.from_median(60, 1.3), 12.0),
    "cure": (CureMixture(fraction=0.6, curve=Weibull.from_median(30, 1.1)), 6.0),
    "lognormal": (LogNormal(mu=4.0, sigma=1.0), 0.0),
}


@pytest.mark.parametrize("name", sorted(MARGINALS))
@pytest.mark.parametrize("p,h", [(0.08, 2.3), (0.3, 5.0), (0.5, 0.6), (0.0, 2.0), (1.0, 2.0)])
def test_unit_mrd_components_mix_to_the_marginal(name, p, h):
    """p S_pos + (1-p) S_neg = S(tsd + t)/S(tsd) on a grid (required to 1e-6; holds to rounding)."""
    curve, tsd = MARGINALS[name]
    pos, neg = mrd_components(curve, prevalence=p, hazard_ratio=h, time_since_diagnosis=tsd)
    t = np.concatenate((np.linspace(0.0, 600.0, 1201), [1e4, np.inf]))
    marginal = np.asarray(curve.survival(tsd + t)) / curve.survival(tsd)
    mix = p * pos.survival(t) + (1 - p) * neg.survival(t)
    assert np.max(np.abs(mix - marginal)) <= 1e-6
    assert np.max(np.abs(mix - marginal)) <= 1e-13  # in fact to rounding
    # proportional hazards between the components, and the cure fractions mix too
    np.testing.assert_allclose(pos.cumhaz(t[1:-1]), h * np.asarray(neg.cumhaz(t[1:-1])), rtol=1e-12)
    assert p * pos.cured_fraction + (1 - p) * neg.cured_fraction == pytest.approx(
        curve.cured_fraction / curve.survival(tsd), abs=1e-12)


def test_peer_mrd_components_equal_cohort_baseline():
    """The engine's calibration (cohort.Baseline) and curves.mrd_components agree."""
    curve = reference("pan2017/T1N4-9")
    mrd = cohort.MrdModel(kind="prevalence", prevalence=0.12, hazard_ratio=3.0)
    stratum = cohort.StratumModel("s", 1.0, Uniform(60, 120), curve, mrd)
    base = cohort.Baseline(stratum)
    t = np.linspace(0, 300, 301)
    x = np.linspace(0, 4, 201)
    for tsd in (60.0, 75.5, 119.0):
        _, neg = mrd_components(curve, prevalence=0.12, hazard_ratio=3.0, time_since_diagnosis=tsd)
        np.testing.assert_allclose(neg.cumhaz(t), base.B(np.full(t.size, tsd), t), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(neg.inv_cumhaz(x), base.Binv(np.full(x.size, tsd), x), rtol=1e-12)


def test_unit_mrd_component_hazard_is_the_derivative():
    pos, neg = mrd_components(Weibull.from_median(60, 1.3), prevalence=0.2, hazard_ratio=3.0,
                              time_since_diagnosis=10.0)
    t = np.array([1.0, 10.0, 50.0, 200.0])
    for c in (pos, neg):
        eps = 1e-5 * t
        numeric = (np.asarray(c.cumhaz(t + eps)) - np.asarray(c.cumhaz(t - eps))) / (2 * eps)
        np.testing.assert_allclose(c.hazard(t), numeric, rtol=1e-6)
    np.testing.assert_allclose(pos.hazard(t), 3.0 * np.asarray(neg.hazard(t)), rtol=1e-12)


def test_unit_mrd_component_values():
    pos, neg = mrd_components(reference("pan2017/T1N0"), prevalence=0.1, hazard_ratio=2.0,
                              time_since_diagnosis=60)
    assert isinstance(pos, MrdComponent) and pos.status == "positive" and neg.status == "negative"
    assert pos == pickle.loads(pickle.dumps(pos)) and pos != neg
    assert "MRD-positive" in pos.describe() and "\n" not in pos.describe()
    with pytest.raises(NotImplementedError, match="no YAML form"):
        pos.to_spec()
    with pytest.raises(ValueError, match="prevalence must be in"):
        mrd_components(Exponential(rate=0.1), prevalence=1.5, hazard_ratio=2.0)
    with pytest.raises(ValueError, match="hazard_ratio must be > 0"):
        mrd_components(Exponential(rate=0.1), prevalence=0.5, hazard_ratio=0.0)
    with pytest.raises(ValueError, match="survival 0"):
        mrd_components(Uniform(0, 10), prevalence=0.5, hazard_ratio=2.0, time_since_diagnosis=10)


def test_theory_mrd_components_sample_like_the_engine():
    """Sampling the negative component reproduces its survival (KS, p > 0.001), and the
    share of MRD-positive survivors recurring by 60 months matches S_pos within 4 SE."""
    curve, tsd = MARGINALS["pan2017"]
    pos, neg = mrd_components(curve, prevalence=0.2, hazard_ratio=4.0, time_since_diagnosis=tsd)
    rng = np.random.default_rng(2030)
    draws = neg.sample(rng, N)
    assert _ks_against_own_cdf(neg, draws) > KS_P_MIN
    # the engine: a prevalence stratum, everyone MRD-positive at entry (u_MRD < p), no onset/clearance
    mrd = cohort.MrdModel(kind="prevalence", prevalence=0.2, hazard_ratio=4.0)
    pop = cohort.PopulationModel((cohort.StratumModel("s", 1.0, Fixed(tsd), curve, mrd),), None, np.array([1.0]))
    u = rng.random((N, cohort.N_UNIFORMS))
    s = cohort.draw_survivors(pop, u)
    positive = s.mrd_start == 0.0
    share = np.mean(s.t_rec[positive] <= 60.0)
    truth = float(pos.cdf(60.0))
    assert abs(share - truth) <= N_SE * math.sqrt(truth * (1 - truth) / positive.sum())


def _lead_time_population(curve, tsd, lead, dormant=0.0):
    mrd = cohort.MrdModel(kind="lead_time", lead_time=lead, dormant_share=dormant)
    return cohort.PopulationModel((cohort.StratumModel("s", 1.0, tsd, curve, mrd),), None, np.array([1.0]))


def test_theory_lead_time_leaves_the_marginal_curve_untouched():
    """T_R of lead_time survivors (cohort.draw_survivors) against S(tsd + t)/S(tsd): KS p > 0.001."""
    curve = reference("pan2017/T2N4-9")
    pop = _lead_time_population(curve, Uniform(60, 120), Weibull.from_median(10.5, 1.4), dormant=0.01)
    s = cohort.draw_survivors(pop, np.random.default_rng(77).random((N, cohort.N_UNIFORMS)))
    # probability integral transform: F(T_R | tsd) is Uniform(0, 1); infinite T_R (none here) would map to 1
    u = 1.0 - np.asarray(curve.survival(s.tsd + s.t_rec)) / np.asarray(curve.survival(s.tsd))
    assert stats.kstest(u, "uniform").pvalue > KS_P_MIN
    # and at one fixed tsd, directly against the conditional curve
    pop = _lead_time_population(curve, Fixed(84.0), Weibull.from_median(10.5, 1.4))
    s = cohort.draw_survivors(pop, np.random.default_rng(78).random((N, cohort.N_UNIFORMS)))
    cond = lambda r: 1.0 - np.asarray(curve.survival(84.0 + r)) / curve.survival(84.0)  # noqa: E731
    assert stats.kstest(s.t_rec, cond).pvalue > KS_P_MIN


@pytest.mark.parametrize("case", ["weibull_fixed_tsd", "pan_uniform_tsd", "cure_dormant"])
def test_theory_detectable_mrd_prevalence_closed_form(case):
    """Share of simulated survivors with detectable MRD at t (cohort.draw_survivors, no
    other-cause death) against E_L[m(t) - m(t + L)] + d m(inf), within 4 Monte Carlo SE."""
    n = 200_000
    lead = Weibull.from_median(10.5, 1.4)
    if case == "weibull_fixed_tsd":
        curve, tsd, dormant = Weibull.from_median(60, 1.2), Fixed(12.0), 0.0
    elif case == "pan_uniform_tsd":
        curve, tsd, dormant = reference("pan2017/T2N4-9"), Uniform(60, 120), 0.0
    else:
        curve, tsd, dormant = CureMixture(fraction=0.7, curve=Weibull.from_median(24, 1.0)), Fixed(0.0), 0.05
    pop = _lead_time_population(curve, tsd, lead, dormant)
    s = cohort.draw_survivors(pop, np.random.default_rng(4321).random((n, cohort.N_UNIFORMS)))
    times = np.array([0.0, 6.0, 24.0, 60.0])
    truth = detectable_mrd_prevalence(curve, lead, times, dormant_share=dormant, time_since_diagnosis=tsd)
    for t, p in zip(times, truth):
        share = np.mean(s.detectable(t))
        assert p > 0.002
        assert abs(share - p) <= N_SE * math.sqrt(p * (1 - p) / n), (t, share, p)


def test_unit_detectable_mrd_prevalence_edge_cases():
    curve = Exponential(rate=0.02)
    # a fixed lead time l: P(t < T_R <= t + l) = e^{-rt}(1 - e^{-rl}) exactly
    got = detectable_mrd_prevalence(curve, Fixed(6.0), np.array([0.0, 12.0]))
    np.testing.assert_allclose(got, np.exp(-0.02 * np.array([0.0, 12.0])) * (1 - math.exp(-0.12)), rtol=1e-12)
    # no recurrence at all: only the dormant share, throughout
    assert detectable_mrd_prevalence(Exponential(rate=0.0), Fixed(6.0), 5.0, dormant_share=0.03) == \
        pytest.approx(0.03, abs=1e-15)


# ---------------------------------------------------------------------------
# reference curves beyond Pan 2017
# ---------------------------------------------------------------------------

CTS5 = {"low": (0.036, 0.0, 0.05), "intermediate": (0.075, 0.05, 0.10), "high": (0.15, 0.10, 1.0)}


def test_unit_cts5_references():
    for group, (risk, low, high) in CTS5.items():
        ref = REFERENCES[f"cts5/{group}"]
        assert "10.1200/JCO.2017.76.4258" in ref.source
        c = ref.curve
        late = 1 - c.survival(120) / c.survival(60)
        assert late == pytest.approx(risk, rel=1e-13)
        assert low <= late <= high  # inside the published CTS5 band
        assert c.cumhaz(60) == 0.0 and "time_since_diagnosis >= 60" in ref.note
        assert ("representative choice" in ref.note) == (group != "low")


def test_unit_braun2005_references():
    neg = reference("braun2005/dtc_negative")
    pos = reference("braun2005/dtc_positive")
    t = np.array([12.0, 60.0, 120.0, 240.0])
    np.testing.assert_allclose(pos.cumhaz(t), 2.33 * np.asarray(neg.cumhaz(t)), rtol=1e-14)
    assert neg.cdf(120) == pytest.approx(0.10, rel=1e-13)  # the stated assumption
    for name in ("braun2005/dtc_negative", "braun2005/dtc_positive"):
        ref = REFERENCES[name]
        assert "10.1056/NEJMoa050434" in ref.source and "ASSUMPTION" in ref.note


def test_unit_ssa2020_life_table_references():
    """One year of the curve reproduces q_x of the table; later years chain."""
    qx = {50: 0.003476, 60: 0.007926, 61: 0.008544, 70: 0.016634, 90: 0.146985, 100: 0.33361}
    for age in (50, 60, 70, 90):
        c = reference(f"ssa2020/female_age{age}")
        assert 1 - c.survival(12.0) == pytest.approx(qx[age], rel=1e-12)
        assert "Social Security" in REFERENCES[f"ssa2020/female_age{age}"].source
    c = reference("ssa2020/female_age60")
    assert c.survival(24.0) == pytest.approx((1 - qx[60]) * (1 - qx[61]), rel=1e-12)
    # beyond the table's last age the hazard of age 100 continues
    c90 = reference("ssa2020/female_age90")
    assert c90.hazard(500.0) == pytest.approx(-math.log1p(-qx[100]) / 12, rel=1e-12)
    from trialsim.curves import life_table

    assert life_table(60) == c
    assert life_table(60.5).survival(6.0) == pytest.approx(math.sqrt(1 - qx[60]), rel=1e-12)
    with pytest.raises(ValueError, match="age must be in"):
        life_table(101)


def test_unit_every_reference_loads_in_a_scenario():
    """Each shipped name is accepted by the scenario loader and builds the same curve."""
    from trialsim.scenario import CurveSpec

    for name, ref in REFERENCES.items():
        assert CurveSpec.model_validate({"reference": name}).build() is ref.curve
        assert ref.source and ref.note and "\n" not in ref.note
        assert len(ref.curve.describe()) < 200
