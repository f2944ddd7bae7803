"""Unit tier: trialsim.report.sensitivity and the protocol report's layout.

One small screened report (few replicates) is built once; its numbers are
parsed back from the HTML and compared with fresh simulations of the same
designs and seed: the simulated type I error (the design with no effect),
the sensitivity analysis (each input moved alone), results before
assumptions, SVG figures, the stylesheet unescaped, costs in the scenario's
currency.
"""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest

from tests.conftest import CONVENTIONAL, CTDNA, write
from tests.support.report_html import parse, value
from trialsim import load_scenario
from trialsim.curves import grammar
from trialsim.engine import simulate
from trialsim.report import make_report
from trialsim.report.sensitivity import (
    SPREAD,
    CannotScale,
    null_scenario,
    scale_time,
    sensitivity_inputs,
    sensitivity_requests,
)
from trialsim.scenario import ScenarioError

REPLICATES, NULL, SENS, SEED = 12, 16, 8, 11
EUR = CTDNA.replace("cost: 1500}", "cost: 1500, currency: EUR}").replace(
    "name: small ctDNA surveillance", "name: small ctDNA <surveillance> & co")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sens")
    path = write(tmp, EUR)
    rep = make_report(path, replicates=REPLICATES, seed=SEED, workers=1, null_replicates=NULL,
                      sensitivity_replicates=SENS, formats=("html",))
    return rep, parse(rep.html), load_scenario(path)


def test_unit_report_results_come_before_the_assumptions(report):
    rep, h, _ = report
    ids = [s.id for s in rep.document.sections]
    assert ids == ["funnel", "power-curves", "sensitivity", "timelines", "km", "crosscheck", "assumptions",
                   "reproducibility"]
    html = rep.html
    at = {k: html.index(f'<section id="{k}"') for k in ("key", "funnel", "power-curves", "sensitivity",
                                                         "assumptions")}
    assert at["key"] < at["funnel"] < at["power-curves"] < at["sensitivity"] < at["assumptions"]
    assert html.index('id="assumptions-table"') > html.index('id="fig-power"')
    assert rep.pdf is None          # only the HTML was asked for


def test_unit_report_stylesheet_is_not_escaped_and_figures_are_svg(report):
    rep, h, _ = report
    style = re.search(r"<style>(.*?)</style>", rep.html, re.S).group(1)
    assert 'font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif;' in style
    assert "&#34;" not in style and "&quot;" not in style and "&gt;" not in style
    imgs = [ref for tag, ref in h.refs if tag == "img"]
    assert len(imgs) == 6            # funnel, power, tornado, timelines, KM, hazard-ratio histogram
    for ref in imgs:
        assert ref.startswith("data:image/svg+xml;base64,")
        svg = base64.b64decode(ref.split(",", 1)[1])
        assert b"<svg" in svg[:400] and svg.rstrip().endswith(b"</svg>")
        assert b"<text" not in svg            # glyphs as paths: the same look without the fonts
    # Everything else is still escaped: a scenario name with markup is shown as text.
    assert "small ctDNA &lt;surveillance&gt; &amp; co" in rep.html and "<surveillance>" not in rep.html


def test_unit_report_type_one_error_is_the_null_design_simulated_with_the_seed(report):
    rep, h, sc = report
    null = null_scenario(sc)
    for arm in null.arms.values():
        assert (arm.eradication, arm.hazard_ratio, arm.delay) == (0.0, 1.0, 0.0)
    assert null.trial == sc.trial and null.screening == sc.screening      # nothing else changed
    fresh = simulate(null, replicates=NULL, seed=SEED, workers=1)
    assert value(h, "type1") == fresh.power
    assert value(h, "type1-power-section") == fresh.power
    assert value(h, "type1-mcse") == pytest.approx(fresh.power_mcse)
    assert value(h, "type1-replicates") == NULL
    key = rep.html.index('id="key-results"')
    assert key < rep.html.index('id="type1"') < rep.html.index('id="key-screened"')   # beside the power
    assert f"{NULL:,} for the type I error" in rep.html
    assert f"{SENS:,} for each design of the sensitivity analysis" in rep.html


def test_unit_report_sensitivity_rows_equal_simulations_of_the_moved_designs(report):
    rep, h, sc = report
    inputs = sensitivity_inputs(sc)
    assert [i.key for i in inputs] == ["lead-time", "sensitivity", "dormant-share", "imaging-lead", "effect"]
    assert not any(i.skipped for i in inputs)
    assert value(h, "sens-replicates") == SENS and value(h, "sens-seed") == SEED
    assert 'id="fig-tornado"' in rep.html and 'id="sensitivity-table"' in rep.html
    base = simulate(sc, replicates=SENS, seed=SEED, workers=1).summary()
    assert value(h, "sens-baseline-power") == base["power"]
    assert value(h, "sens-baseline-screened") == pytest.approx(base["screened"]["mean"])
    requests = {key: design for key, design, _ in sensitivity_requests(sc, inputs, SENS)}
    for inp in inputs:
        for which in ("low", "high"):
            assert f"sens-{inp.key}-{which}-power" in h.numbers
            assert f"sens-{inp.key}-{which}-screened" in h.numbers
    # Two of them simulated afresh: the numbers are those of the moved design.
    for key, which in (("sensitivity", "low"), ("lead-time", "high")):
        fresh = simulate(requests[("sens", key, which)], replicates=SENS, seed=SEED, workers=1).summary()
        assert value(h, f"sens-{key}-{which}-power") == fresh["power"]
        assert value(h, f"sens-{key}-{which}-screened") == pytest.approx(fresh["screened"]["mean"])
    # The designs move one input each, by the stated range.
    low = requests[("sens", "sensitivity", "low")]
    assert low.screening.test.sensitivity == pytest.approx(0.88 * (1 - SPREAD))
    assert low.mrd == sc.mrd and low.arms == sc.arms
    high = requests[("sens", "lead-time", "high")]
    assert high.mrd.lead_time.build().median() == pytest.approx(10.5 * (1 + SPREAD))
    assert high.screening == sc.screening
    assert requests[("sens", "sensitivity", "high")].screening.test.sensitivity == 1.0      # clipped
    erad = requests[("sens", "effect", "low")].arms[sc.treatment_arm]
    assert erad.eradication == pytest.approx(0.3 * (1 - SPREAD)) and erad.hazard_ratio == 0.7


def test_unit_report_costs_are_in_the_scenarios_currency(report, tmp_path):
    rep, h, _ = report
    assert "currency units" not in rep.html
    key = re.search(r'id="key-assay-cost"[^>]*>[^<]*</span>([^<]*)', rep.html).group(1)
    assert key.startswith(" EUR (")
    assert "assay cost (EUR)" in rep.html and "EUR per test" in rep.html
    # Without a currency: the bare number, no made-up unit.
    plain = make_report(write(tmp_path, CTDNA), replicates=4, seed=1, workers=1, null_replicates=2,
                        sensitivity_replicates=2, formats=("html",))
    assert "currency units" not in plain.html and "EUR" not in plain.html
    after = re.search(r'id="key-assay-cost"[^>]*>[^<]*</span>([^<]*)', plain.html).group(1)
    assert after.startswith(" (") and "assays)" in after


@pytest.mark.parametrize("currency,message", [('""', "currency must be a short code"),
                                              ('"a very long currency"', "1 to 12 printable characters"),
                                              ("12", "valid string")])
def test_unit_currency_is_validated_with_its_field(tmp_path, currency, message):
    path = write(tmp_path, CTDNA.replace("cost: 1500}", f"cost: 1500, currency: {currency}}}"))
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert "screening.test.currency" in str(err.value) and message in str(err.value)
    ok = write(tmp_path, CTDNA.replace("cost: 1500}", "cost: 1500, currency: ' £ '}"), "ok.yaml")
    assert load_scenario(ok).screening.test.currency == "£"


def test_unit_warnings_of_the_run_are_shown_above_the_key_results(tmp_path, monkeypatch):
    from trialsim.results import SimulationResult

    real = SimulationResult.summary

    def with_warnings(self):
        s = real(self)
        s["warnings"] = ["enrolment target reached in under half of the trials",
                         {"message": "the analysis often waits for the 24-month cap"}]
        return s

    monkeypatch.setattr(SimulationResult, "summary", with_warnings)
    rep = make_report(write(tmp_path, CONVENTIONAL), replicates=4, seed=1, workers=1, null_replicates=2,
                      sensitivity_replicates=2)
    html = rep.html
    assert html.index('id="warnings"') < html.index('id="key-results"')
    assert "enrolment target reached in under half of the trials" in html
    assert "the analysis often waits for the 24-month cap" in html
    assert rep.pdf.startswith(b"%PDF")


def test_unit_conventional_sensitivity_moves_the_log_hazard_ratio(conventional):
    inputs = sensitivity_inputs(conventional)
    assert [i.key for i in inputs] == ["effect"]
    e = inputs[0]
    assert (e.low, e.high) == pytest.approx((0.7 ** 0.75, 0.7 ** 1.25))
    reqs = sensitivity_requests(conventional, inputs, 10)
    assert [k for k, _, _ in reqs] == [("sens", "baseline"), ("sens", "effect", "low"), ("sens", "effect", "high")]
    assert reqs[1][1].arms["treatment"].hazard_ratio == pytest.approx(0.7 ** 0.75)


def test_unit_inputs_set_to_zero_are_not_moved(ctdna):
    d = ctdna.to_dict()
    d["screening"]["staging"]["imaging_lead"] = 0.0
    d["mrd"]["dormant_share"] = 0.0
    sc = type(ctdna).from_dict(d)
    inputs = {i.key: i for i in sensitivity_inputs(sc)}
    assert "no relative range" in inputs["imaging-lead"].skipped
    assert "no relative range" in inputs["dormant-share"].skipped
    keys = [k for k, _, _ in sensitivity_requests(sc, list(inputs.values()), 5)]
    assert ("sens", "imaging-lead", "low") not in keys and ("sens", "lead-time", "low") in keys


@pytest.mark.parametrize("spec", [3.0, {"fixed": 2.0}, {"uniform": [1.0, 4.0]}, {"exponential": {"rate": 0.1}},
                                  {"exponential": {"median": 5.0}}, {"exponential": {"cumulative": 0.3, "at": 12.0}},
                                  {"weibull": {"median": 10.5, "shape": 1.4}}, {"weibull": {"scale": 8.0, "shape": 2.0}},
                                  {"lognormal": {"mu": 1.0, "sigma": 0.5}}, {"lognormal": {"median": 6.0, "sigma": 1.0}},
                                  {"loglogistic": {"alpha": 4.0, "beta": 2.0}},
                                  {"piecewise_exponential": {"breaks": [6.0, 12.0], "rates": [0.05, 0.1, 0.02]}},
                                  {"table": {"times": [0.0, 5.0, 10.0], "survival": [1.0, 0.5, 0.2]}},
                                  {"cure": {"fraction": 0.2, "curve": {"weibull": {"scale": 3.0, "shape": 2.0}}}},
                                  {"proportional": {"hazard_ratio": 0.5, "curve": {"exponential": {"median": 4.0}}}}])
def test_unit_scale_time_scales_every_quantile(spec):
    before = grammar.read(spec, role=grammar.DISTRIBUTION)[1]
    after = grammar.read(scale_time(spec, 1.25), role=grammar.DISTRIBUTION)[1]
    for p in (0.1, 0.5, 0.7):
        q0 = float(np.asarray(before.quantile(p)))
        q1 = float(np.asarray(after.quantile(p)))
        if np.isfinite(q0):
            assert q1 == pytest.approx(1.25 * q0, rel=1e-6), (spec, p)


def test_unit_scale_time_refuses_a_reference_curve():
    with pytest.raises(CannotScale, match="reference"):
        scale_time({"reference": "pan2017/T1N0"}, 1.25)
