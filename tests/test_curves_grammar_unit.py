"""Unit tier of trialsim.curves.grammar: the one curve grammar, through from_spec and through scenario files
(whose problems name the field path and the YAML line)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests.conftest import CONVENTIONAL, CTDNA, write
from tests.support.curves import all_kinds
from trialsim.curves import (
    REFERENCES,
    CureMixture,
    CurveSpecError,
    Exponential,
    Fixed,
    LogLogistic,
    LogNormal,
    PiecewiseExponential,
    Proportional,
    TableCurve,
    Uniform,
    Weibull,
    from_spec,
    grammar,
)
from trialsim.scenario import (
    CurveSpec,
    DistributionSpec,
    Scenario,
    ScenarioError,
    json_schema,
    load_scenario,
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


# ---------------------------------------------------------------------------
# unit: the grammar as the scenario loader reads it
# ---------------------------------------------------------------------------


def problems(tmp_path, text):
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, text))
    return info.value


def test_unit_missing_curve_file(tmp_path):
    text = CONVENTIONAL.replace("{exponential: {median: 24}}", "{table: {file: curves/km.csv}}")
    err = problems(tmp_path, text)
    assert "population.strata.0.recurrence.table.file" in str(err)
    assert "curves/km.csv" in str(err)


def test_unit_curve_file_relative_to_scenario(tmp_path):
    (tmp_path / "curves").mkdir()
    (tmp_path / "curves" / "km.csv").write_text("time,survival\n0,1\n12,0.8\n24,0.7\n")
    text = CONVENTIONAL.replace("{exponential: {median: 24}}", "{table: {file: curves/km.csv}}")
    sc = load_scenario(write(tmp_path, text))
    table = sc.population.strata[0].recurrence.root["table"]
    assert table["times"][-1] == 24 and table["survival"][-1] == 0.7
    # the scenario as loaded carries the table inline, so provenance replays without the file
    assert Scenario.from_dict(sc.to_dict()) == sc


def test_unit_unknown_reference_suggests(tmp_path):
    text = CTDNA.replace("pan2017/T2N1-3", "pan2017/T2N13")
    err = problems(tmp_path, text)
    assert "unknown reference curve 'pan2017/T2N13'" in str(err)
    assert "did you mean" in str(err)


def test_unit_curve_needs_exactly_one_kind(tmp_path):
    text = CONVENTIONAL.replace("{exponential: {median: 24}}", "{exponential: {median: 24}, weibull: {scale: 3, shape: 1}}")
    assert "exactly one key" in str(problems(tmp_path, text))


def test_unit_exponential_needs_one_form(tmp_path):
    text = CONVENTIONAL.replace("{median: 24}", "{median: 24, rate: 0.1}")
    assert "exactly one of rate, median" in str(problems(tmp_path, text))


# ---------------------------------------------------------------------------
# unit: one grammar, both entry points accept every form either accepted
# ---------------------------------------------------------------------------

DISTRIBUTION_FORMS = [
    ({"uniform": {"low": 60, "high": 120}}, Uniform(low=60, high=120)),
    ({"uniform": [60, 120]}, Uniform(low=60, high=120)),
    ({"fixed": 3}, Fixed(3)),
    (3, Fixed(3)),
    ({"weibull": {"median": 10.5, "shape": 1.5}}, Weibull.from_median(10.5, 1.5)),
]


@pytest.mark.parametrize("spec,curve", DISTRIBUTION_FORMS, ids=lambda x: json.dumps(x) if not hasattr(x, "cumhaz") else "")
def test_unit_distribution_forms_read_alike_by_from_spec_and_a_scenario(tmp_path, spec, curve):
    """{uniform: {low, high}}, {uniform: [a, b]}, {fixed: 3} and a bare number: the library and
    a scenario file (as a time since diagnosis, a lead time, a turnaround) build equal curves."""
    assert from_spec(spec) == curve
    text = json.dumps(spec)  # JSON is YAML flow style
    scenario = CTDNA.replace("lead_time: {weibull: {median: 10.5, shape: 1.5}}", f"lead_time: {text}")
    scenario = scenario.replace("turnaround: 0.5", f"turnaround: {text}")
    scenario = scenario.replace("time_since_diagnosis: {uniform: [60, 120]}", f"time_since_diagnosis: {text}", 1)
    assert scenario.count(text) >= 3
    sc = load_scenario(write(tmp_path, scenario))
    assert sc.mrd.lead_time.build() == curve
    assert sc.screening.test.turnaround.build() == curve
    assert sc.population.strata[0].time_since_diagnosis.build() == curve
    assert DistributionSpec.model_validate(spec).build() == curve
    # the scenario keeps one written form, which reads back to the same curve
    assert from_spec(sc.mrd.lead_time.root) == curve
    assert Scenario.from_dict(sc.to_dict()) == sc


def test_unit_curve_forms_read_alike_by_from_spec_and_a_scenario(tmp_path):
    """Every survival-curve kind reads the same through from_spec and as a scenario's recurrence."""
    (tmp_path / "km.csv").write_text("time,survival\n12,0.9\n24,0.8\n")
    specs = [{"exponential": {"rate": 0.0}}, {"exponential": {"cumulative": 0.13, "at": 240}},
             {"lognormal": {"median": 20, "sigma": 0.5}}, {"loglogistic": {"median": 20, "beta": 2}},
             {"cure": {"fraction": 1.0, "curve": {"exponential": {"rate": 0.1}}}},
             {"proportional": {"hazard_ratio": 0.0, "curve": {"reference": "pan2017/T1N0"}}},
             {"table": {"file": "km.csv"}}, {"table": {"times": [12, 24], "survival": [0.9, 0.8]}}]
    for spec in specs:
        curve = from_spec(spec, base_dir=tmp_path)
        text = CONVENTIONAL.replace("{exponential: {median: 24}}", json.dumps(spec))
        sc = load_scenario(write(tmp_path, text))
        assert sc.population.strata[0].recurrence.build() == curve, spec
        assert CurveSpec.model_validate(spec, context={"base_dir": str(tmp_path)}).build() == curve


def test_unit_survival_curves_refuse_distribution_only_kinds(tmp_path):
    for spec in ({"uniform": [1, 2]}, {"fixed": 3}, 3):
        text = CONVENTIONAL.replace("{exponential: {median: 24}}", json.dumps(spec))
        assert "population.strata.0.recurrence" in str(problems(tmp_path, text))
        assert not grammar.accepts(spec, role=grammar.CURVE) and grammar.accepts(spec)


def test_unit_scenario_problems_name_the_field_and_line(tmp_path):
    text = CONVENTIONAL.replace("{exponential: {median: 24}}", "{weibull: {median: 10, shap: 1.5}}")
    err = problems(tmp_path, text)
    assert "population.strata.0.recurrence.weibull.shap" in str(err) and "did you mean 'shape'" in str(err)
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "shap:" in l)
    assert err.problems[0][1] == line
    err = problems(tmp_path, CONVENTIONAL.replace("{median: 24}", "{median: -24}"))
    assert "population.strata.0.recurrence.exponential.median" in str(err) and "must be > 0" in str(err)


def test_unit_json_schema_describes_the_curve_kinds():
    schema = json_schema()
    defs = schema["$defs"]
    curve_kinds = {o.get("title") for o in defs["CurveSpec"]["anyOf"]}
    assert set(grammar.KINDS) - {"uniform", "fixed"} == curve_kinds
    dist_kinds = {o.get("title") for o in defs["DistributionSpec"]["anyOf"]}
    assert set(grammar.KINDS) <= dist_kinds
    text = json.dumps(schema)
    for ref in set(re.findall(r'"\$ref": "#/\$defs/([^"]+)"', text)):
        assert ref in defs, ref
