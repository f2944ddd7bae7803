"""Unit tier of trialsim.curves.kinds: exact values, validation, edge cases and value semantics of every kind."""

from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from tests.support.curves import all_kinds
from trialsim.curves import (
    CureMixture,
    Curve,
    Exponential,
    Fixed,
    LogLogistic,
    LogNormal,
    PiecewiseExponential,
    Proportional,
    TableCurve,
    Uniform,
    Weibull,
    reference,
)


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



@pytest.mark.parametrize("name", sorted(all_kinds()))
def test_unit_hazards_at_is_hazard_at_at_each_time(name):
    """The one-pass hazards_at (piecewise and table curves) gives hazard_at's floats exactly,
    at the breaks, just before and after them, before time 0, at nan and infinity."""
    c = all_kinds()[name]
    times = [-1.0, -0.0, 0.0, 1e-300, 5.999999999, 6.0, 6.000000001, 11.9, 12.0, 12.1, 24.0, 36.0,
             36.0000001, 60.0, 90.0, 1e300, math.inf, math.nan, 7, np.float64(13.5)]
    got, want = c.hazards_at(times), [c.hazard_at(t) for t in times]
    assert [type(h) for h in got] == [float] * len(times)
    assert [h if not math.isnan(h) else "nan" for h in got] == [h if not math.isnan(h) else "nan" for h in want]

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


def test_unit_to_spec_shapes():
    assert Exponential(rate=0.01).to_spec() == {"exponential": {"rate": 0.01}}
    assert Fixed(3).to_spec() == 3.0
    assert Uniform(low=60, high=120).to_spec() == {"uniform": [60.0, 120.0]}
    assert TableCurve(times=[12], survival=[0.5]).to_spec() == {"table": {"times": [0.0, 12.0],
                                                                         "survival": [1.0, 0.5]}}
    assert reference("pan2017/T1N0").to_spec()["piecewise_exponential"]["breaks"] == [60.0]


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


def test_unit_lognormal_far_tail_keeps_precision():
    c = LogNormal(mu=2.0, sigma=0.5)
    # survival 1e-200 and 1 - 1e-12: both ends invert to the right time
    for x in (1e-12, 460.5):
        t = c.inv_cumhaz(x)
        assert c.cumhaz(t) == pytest.approx(x, rel=1e-10)


def test_unit_lognormal_moments_overflow_to_inf():
    """A sigma too large for exp(): the mean and variance are inf, not an OverflowError."""
    c = LogNormal(mu=np.log(12.0), sigma=1e300)
    assert c.mean() == math.inf and c.variance() == math.inf
    assert LogNormal(mu=2.0, sigma=0.5).mean() == pytest.approx(math.exp(2.125))


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


def test_unit_docs_examples_run():
    """The python examples of docs/curves.md run as written."""
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "curves.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/curves.md", "exec"), {})
