"""Unit tier of trialsim.curves.grammar: the one curve grammar, through from_spec and through scenario files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.curves_common import all_kinds
from trialsim.curves import (
    CureMixture,
    CurveSpecError,
    Exponential,
    Fixed,
    LogLogistic,
    LogNormal,
    PiecewiseExponential,
    Proportional,
    REFERENCES,
    TableCurve,
    Uniform,
    Weibull,
    from_spec,
    reference,
)


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
