"""Unit tier of trialsim/plan_checks.py: plans that cannot work are refused
(exit 2, one message naming the field), weak plans get warnings (stderr,
the JSON summary's ``warnings``, the table), never power 0 in silence."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import trialsim
from tests.conftest import CONVENTIONAL, CTDNA, ROOT, write
from trialsim.cli import app
from trialsim.plan_checks import PlanError, check_plan, plan_errors, result_warnings, scenario_warnings

runner = CliRunner()
REF_CTDNA = (ROOT / "scenarios" / "ctdna_er_positive.yaml").read_text()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def _load(tmp_path, text):
    return trialsim.load_scenario(write(tmp_path, text))


IMPOSSIBLE = [
    ("allocation 1e-9", CTDNA.replace("treatment: {allocation: 1,", "treatment: {allocation: 0.000000001,"),
     "arms.treatment.allocation: the treatment arm expects 6e-08 of the 60 patients randomised"),
    ("consent 0", CTDNA.replace("consent: 0.8", "consent: 0"), "screening.consent: consent 0"),
    ("sensitivity 0", CTDNA.replace("sensitivity: 0.88, specificity: 0.998", "sensitivity: 0, specificity: 1"),
     "screening.test.sensitivity: sensitivity 0 and specificity 1"),
    ("accrual 1e-6", CTDNA.replace("accrual: {rate: 60,", "accrual: {rate: 0.000001,"),
     "accrual: only 3.33e-05 survivors are expected to enter screening before max_months 36"),
    ("max_months 1e-6", CTDNA.replace("max_months: 36", "max_months: 0.000001"),
     "accrual: only 6e-06 survivors are expected to enter screening"),
    ("failure 0.999999", CTDNA.replace("failure: 0.05", "failure: 0.999999"),
     "screening: at most 0.0"),
    ("prescreen consent 0", CTDNA.replace("  consent: 0.8", "  consent: 0.8\n  prescreen: {consent: 0}"),
     "screening.prescreen.consent: prescreen consent 0: nobody would enter screening"),
    ("assay set-up 0", CTDNA.replace("  consent: 0.8", "  consent: 0.8\n  prescreen: {assay_setup: 0}"),
     "screening.prescreen.assay_setup: prescreen assay_setup 0"),
    ("no hazard at all", CONVENTIONAL.replace("recurrence: {exponential: {median: 24}}",
                                              "recurrence: {piecewise_exponential: {breaks: [1000], rates: [0, 0.01]}}"),
     "population.strata: no events can be expected among 500 patients"),
]


@pytest.mark.parametrize("label, text, needle", IMPOSSIBLE, ids=[c[0] for c in IMPOSSIBLE])
def test_unit_impossible_plans_are_refused_everywhere(tmp_path, label, text, needle):
    sc = _load(tmp_path, text)
    with pytest.raises(PlanError, match=needle.replace("(", r"\(").replace(".", r"\.")):
        trialsim.simulate(sc, replicates=3, seed=1, workers=1)
    assert isinstance(PlanError([]), trialsim.ScenarioError)
    path = write(tmp_path, text)
    for cmd in ("run", "validate"):
        res = invoke(cmd, path, *(["-n", 3, "-w", 1] if cmd == "run" else []))
        assert res.exit_code == 2, res.output
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {path}: ") and needle in lines[0], res.stderr
        assert "Traceback" not in res.output


def test_unit_the_reference_scenarios_are_possible_and_clean():
    for name in ("ctdna_er_positive", "dtc_bone_marrow", "zest_like_tnbc", "conventional_logrank"):
        sc = trialsim.load_scenario(ROOT / "scenarios" / f"{name}.yaml")
        assert plan_errors(sc) == [] and scenario_warnings(sc) == [], name


def test_unit_a_curve_without_hazard_at_entry_is_a_warning(tmp_path):
    """time_since_diagnosis 0 with a curve that starts at month 60: validate and
    run warn about each stratum; the run's JSON lists the warnings."""
    text = REF_CTDNA.replace("time_since_diagnosis: {uniform: [60, 120]}", "time_since_diagnosis: 0")
    path = write(tmp_path, text)
    sc = trialsim.load_scenario(path)
    warnings = check_plan(sc)
    assert len(warnings) == 6 and all("no hazard over 83% of the 72 months" in w for w in warnings), warnings
    res = invoke("validate", path)
    assert res.exit_code == 0 and res.stderr.count("warning: stratum ") == 6, res.output
    res = invoke("run", path, "-n", 40, "--seed", 2, "-w", 1, "--format", "json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert all(w in summary["warnings"] for w in warnings)
    assert any("events on average" in w for w in summary["warnings"])
    assert all(f"warning: {w}" in res.stderr for w in summary["warnings"])


def test_unit_no_warnings_key_when_all_is_well(conventional):
    s = trialsim.simulate(conventional, replicates=20, seed=1, workers=1).summary()
    assert "warnings" not in s


def _table(**cols):
    base = dict(randomized=np.full(300, 60), enrollment_reached=np.ones(300, bool), events=np.full(300, 30),
                analysis_month=np.full(300, 40.0), last_randomized_month=np.full(300, 30.0),
                truly_mrd_positive=np.full(300, 50), rejected=np.r_[np.ones(100, bool), np.zeros(200, bool)])
    base.update(cols)
    return base


@pytest.mark.parametrize("cols, needle", [
    (dict(randomized=np.r_[np.zeros(200), np.full(100, 5)]), "nobody was randomised in 67%"),
    (dict(enrollment_reached=np.r_[np.ones(100, bool), np.zeros(200, bool)]), "reached in only 33%"),
    (dict(events=np.full(300, 2)), "only 2.0 events on average"),
    (dict(analysis_month=np.full(300, 10.0)), "analysis came before the last randomisation in 100%"),
    (dict(truly_mrd_positive=np.full(300, 20)), "only 33% of the randomised were truly MRD-positive"),
    (dict(rejected=np.zeros(300, bool)), "none of the 300 simulated trials rejected"),
])
def test_unit_warnings_only_visible_after_simulating(ctdna, cols, needle):
    assert result_warnings(ctdna, _table()) == []
    got = result_warnings(ctdna, _table(**cols))
    assert len(got) == 1 and needle in got[0], got


def test_unit_few_patients_reach_the_table_and_text(tmp_path):
    """A weak plan runs and says so: warnings in summary(), in str(result), never a silent power 0."""
    sc = _load(tmp_path, CTDNA.replace("accrual: {rate: 60,", "accrual: {rate: 0.5,"))
    r = trialsim.simulate(sc, replicates=30, seed=4, workers=1)
    s = r.summary()
    assert any("reached in only" in w for w in s["warnings"]), s.get("warnings")
    text = str(r)
    assert "see the warnings below" in text and "warning: the enrolment target (60)" in text


def test_unit_an_arm_with_few_patients_is_a_warning(tmp_path):
    sc = _load(tmp_path, CTDNA.replace("treatment: {allocation: 1,", "treatment: {allocation: 0.05,"))
    assert plan_errors(sc) == []
    assert any("treatment arm expects only 2.9" in w for w in scenario_warnings(sc))


def test_unit_few_expected_events_without_screening_is_a_warning(tmp_path):
    sc = _load(tmp_path, CONVENTIONAL.replace("enrollment: 500", "enrollment: 8").replace("events: 247", "events: 2")
               .replace("median: 24", "median: 2400"))
    assert any("only about 0.27 events are expected among 8 patients over the 120 months" in w for w in scenario_warnings(sc))


def test_unit_a_century_of_accrual_is_a_warning(tmp_path):
    sc = _load(tmp_path, CONVENTIONAL.replace("rate: 20.8333", "rate: 0.000001"))
    assert any("takes about 500,000,000 months" in w for w in scenario_warnings(sc))


def test_unit_report_refuses_an_impossible_plan_and_an_absurd_size(tmp_path):
    path = write(tmp_path, CTDNA.replace("consent: 0.8", "consent: 0"))
    res = invoke("report", path, "--out", tmp_path / "rep")
    assert res.exit_code == 2 and res.stderr.strip() == f"error: {path}: screening.consent: consent 0: nobody " \
                                                        "eligible would agree to be randomised", res.output
    res = invoke("report", write(tmp_path, CONVENTIONAL, "c.yaml"), "-n", 10 ** 12, "--out", tmp_path / "rep")
    assert res.exit_code == 2 and "at most 1,000,000 simulated trials" in res.stderr
    res = invoke("report", write(tmp_path, CONVENTIONAL, "c.yaml"), "-n", 10 ** 6, "--out", tmp_path / "rep")
    assert res.exit_code == 2 and res.stderr.startswith("error: 1,000,000 simulated trials with a 240-month "
                                                        "timeline need about 6.1 GB"), res.stderr
    assert not (tmp_path / "rep").exists()


# --------------------------------------------------------------------------
# Slow accrual, a missed enrolment target, few events: said before simulating


def test_unit_analysis_before_the_last_randomisation_is_foreseen(tmp_path):
    """Accrual of 1e-6 a month: 500 patients take 5e8 months, so the 247th event
    comes long before the last randomisation; said from the scenario (validate),
    and confirmed by the run (stderr, JSON warnings, the table)."""
    text = CONVENTIONAL.replace("rate: 20.8333", "rate: 0.000001")
    path = write(tmp_path, text)
    sc = trialsim.load_scenario(path)
    early = [w for w in scenario_warnings(sc) if "expected before the last randomisation" in w]
    assert len(early) == 1 and early[0].startswith("the analysis at 247 events is expected before the last "
                                                   "randomisation: at least about 500 events are expected by "
                                                   "month 500,000,000, when the last of the 500 patients is randomised"), early
    res = invoke("validate", path)
    assert res.exit_code == 0 and f"warning: {early[0]}" in res.stderr, res.output
    res = invoke("run", path, "-n", 20, "--seed", 1, "-w", 1, "--format", "json")
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)["warnings"]
    assert early[0] in got and any("the analysis came before the last randomisation in 100%" in w for w in got)
    assert all(f"warning: {w}" in res.stderr for w in got)


@pytest.mark.parametrize("rate, warned", [(2, True), (6, True), (8, False), (20.8333, False)])
def test_unit_the_early_analysis_warning_agrees_with_the_simulation(tmp_path, rate, warned):
    """The scenario-level bound warns where the simulated analysis does come
    before the last randomisation (rate 6: 285 events expected by month 83 for
    a target of 247), and not where it does not (rate 8: 242 by month 62.5)."""
    sc = _load(tmp_path, CONVENTIONAL.replace("rate: 20.8333", f"rate: {rate}"))
    said = any("expected before the last randomisation" in w for w in scenario_warnings(sc))
    assert said == warned
    t = trialsim.simulate(sc, replicates=40, seed=3, workers=1).table
    early = float(np.mean(t["analysis_month"] < t["last_randomized_month"]))
    assert (early > 0.5) == warned, early


def test_unit_an_enrolment_target_beyond_reach_is_foreseen(tmp_path):
    """Screening that can randomise at most about 20 of the 60 wanted: said from
    the scenario, and the run finds the target missed."""
    sc = _load(tmp_path, CTDNA.replace("accrual: {rate: 60,", "accrual: {rate: 1,"))
    said = [w for w in scenario_warnings(sc) if "fewer than trial.enrollment 60" in w]
    assert len(said) == 1 and said[0].startswith("at most about ") and "will be missed in most trials" in said[0]
    t = trialsim.simulate(sc, replicates=30, seed=4, workers=1).table
    assert float(np.mean(t["enrollment_reached"])) < 0.5


def test_unit_an_analysis_at_fewer_than_10_events_is_a_warning(tmp_path):
    sc = _load(tmp_path, CONVENTIONAL.replace("events: 247", "events: 9"))
    assert any(w.startswith("trial.analysis.events 9: an analysis at fewer than 10 events") for w in
               scenario_warnings(sc))
    sc = _load(tmp_path, CONVENTIONAL.replace("events: 247", "events: 10"))
    assert not any("fewer than 10 events" in w for w in scenario_warnings(sc))


def test_unit_fewer_than_10_events_on_average_is_a_warning(ctdna):
    assert result_warnings(ctdna, _table(events=np.full(300, 10))) == []
    got = result_warnings(ctdna, _table(events=np.full(300, 9.5)))
    assert len(got) == 1 and "only 9.5 events on average at the analysis" in got[0]
