"""Unit tier: scenario files load into a frozen Scenario, and every user
mistake becomes one clear message naming the field path and YAML line."""

from __future__ import annotations

import json

import pydantic
import pytest

from tests.conftest import CONVENTIONAL, CTDNA, SCENARIOS, write
from trialsim.scenario import Scenario, ScenarioError, json_schema, load_scenario


def problems(tmp_path, text):
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, text))
    return info.value


def test_unit_smallest_scenario_loads_with_defaults(tmp_path):
    sc = load_scenario(write(tmp_path, CONVENTIONAL))
    assert sc.name == "conventional log-rank design"
    assert sc.screening is None and sc.mrd is None
    assert sc.arms["treatment"].hazard_ratio == 0.7
    assert sc.arms["control"].allocation == 1.0
    assert sc.trial.death == "censor" and sc.trial.analysis.test == "logrank"
    assert sc.population.strata[0].time_since_diagnosis.fixed == 0.0
    assert sc.control_arm == "control" and sc.treatment_arm == "treatment"


def test_unit_scenario_is_frozen(tmp_path):
    sc = load_scenario(write(tmp_path, CONVENTIONAL))
    with pytest.raises(pydantic.ValidationError):
        sc.name = "other"


def test_unit_full_format_loads(tmp_path):
    sc = load_scenario(write(tmp_path, CTDNA))
    assert sc.mrd.model == "lead_time"
    assert sc.screening.visits.count == 4
    assert sc.accrual.schedule()[1][-1] == pytest.approx(60)
    assert sc.stratum_mrd(0)["dormant_share"] == 0.01


def test_unit_to_dict_round_trip(tmp_path):
    sc = load_scenario(write(tmp_path, CTDNA))
    again = Scenario.from_dict(json.loads(json.dumps(sc.to_dict())))
    assert again == sc


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_unit_reference_scenarios_validate(path):
    sc = load_scenario(path)
    assert sc.name


def test_unit_sites_open_evenly():
    from trialsim.scenario import AccrualSpec

    starts, rates = AccrualSpec(rate=120, sites={"count": 4, "open_over": 6}).schedule()
    assert starts == [0.0, 1.5, 3.0, 4.5]
    assert rates == [30.0, 60.0, 90.0, 120.0]


def test_unit_piecewise_accrual():
    from trialsim.scenario import AccrualSpec

    starts, rates = AccrualSpec(piecewise=[{"months": 6, "rate": 40}, {"rate": 120}]).schedule()
    assert starts == [0.0, 6.0] and rates == [40.0, 120.0]


def test_unit_unknown_key_suggests_and_names_line(tmp_path):
    text = CTDNA.replace("sensitivity: 0.88", "sensitivty: 0.88")
    err = problems(tmp_path, text)
    msg = str(err)
    assert "screening.test.sensitivty" in msg
    assert "did you mean 'sensitivity'" in msg
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "sensitivty" in l)
    assert f"scenario.yaml:{line}:" in msg


def test_unit_wrong_type_names_field(tmp_path):
    err = problems(tmp_path, CONVENTIONAL.replace("enrollment: 500", "enrollment: many"))
    assert "trial.enrollment" in str(err) and "'many'" in str(err)
    assert err.problems[0][1] == 9


def test_unit_shares_must_sum_to_one(tmp_path):
    err = problems(tmp_path, CTDNA.replace("share: 0.4", "share: 0.3"))
    assert "population.strata" in str(err) and "sum to 0.9" in str(err)


@pytest.mark.parametrize("old,new,path", [
    ("sensitivity: 0.88", "sensitivity: 1.2", "screening.test.sensitivity"),
    ("consent: 0.8", "consent: -0.1", "screening.consent"),
    ("dormant_share: 0.01", "dormant_share: 2", "mrd.dormant_share"),
    ("eradication: 0.3", "eradication: 1.5", "arms.treatment.eradication"),
])
def test_unit_probabilities_in_unit_interval(tmp_path, old, new, path):
    err = problems(tmp_path, CTDNA.replace(old, new))
    assert path in str(err)


@pytest.mark.parametrize("old,new,path", [
    ("enrollment: 60", "enrollment: 0", "trial.enrollment"),
    ("rate: 60,", "rate: -5,", "accrual.rate"),
    ("every: 6", "every: 0", "screening.visits.every"),
    ("median: 10.5", "median: -1", "mrd.lead_time.weibull.median"),
    ("max_months: 36", "max_months: 0", "screening.max_months"),
    ("turnaround: 0.5", "turnaround: -0.5", "screening.test.turnaround"),
])
def test_unit_sizes_and_times_positive(tmp_path, old, new, path):
    err = problems(tmp_path, CTDNA.replace(old, new))
    assert path in str(err)


def test_unit_events_beyond_enrollment(tmp_path):
    err = problems(tmp_path, CONVENTIONAL.replace("events: 247", "events: 600"))
    assert "trial.analysis.events" in str(err) and "600" in str(err)
    assert err.problems[0][1] == 10


@pytest.mark.parametrize("test", ["rmst(36)", "milestone(24)"])
def test_unit_stratified_rmst_and_milestone_refused(tmp_path, test):
    text = CTDNA.replace("analysis: {events: 30,", f"analysis: {{test: '{test}', stratified: true, events: 30,")
    err = problems(tmp_path, text)
    assert "trial.analysis.stratified" in str(err) and test.split("(")[0] in str(err)


def test_unit_stratified_logrank_accepted(tmp_path):
    text = CTDNA.replace("analysis: {events: 30,", "analysis: {stratified: true, events: 30,")
    assert load_scenario(write(tmp_path, text)).trial.analysis.stratified


def test_unit_malformed_yaml_names_line(tmp_path):
    err = problems(tmp_path, CONVENTIONAL.replace("arms:", "arms: [unclosed"))
    assert "not valid YAML" in str(err) and "scenario.yaml:" in str(err)


def test_unit_empty_file(tmp_path):
    err = problems(tmp_path, "# only a comment\n")
    assert "empty" in str(err)


def test_unit_not_a_mapping(tmp_path):
    err = problems(tmp_path, "- a\n- b\n")
    assert "mapping" in str(err)


def test_unit_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "nope.yaml")


def test_unit_yaml_tags_never_run_code(tmp_path):
    marker = tmp_path / "pwned"
    text = CONVENTIONAL.replace("name: conventional log-rank design",
                                f"name: !!python/object/apply:os.system ['touch {marker}']")
    err = problems(tmp_path, text)
    assert "not valid YAML" in str(err)
    assert not marker.exists()


def test_unit_duplicate_keys_refused(tmp_path):
    err = problems(tmp_path, CONVENTIONAL + "name: again\n")
    assert "appears twice" in str(err)


def test_unit_model_specific_keys(tmp_path):
    text = CTDNA.replace("dormant_share: 0.01", "dormant_share: 0.01\n  prevalence: 0.1")
    assert "prevalence belongs to the prevalence model" in str(problems(tmp_path, text))


def test_unit_prevalence_model_needs_hazard_ratio(tmp_path):
    text = CTDNA.replace("""  model: lead_time
  lead_time: {weibull: {median: 10.5, shape: 1.5}}
  dormant_share: 0.01""", "  model: prevalence\n  prevalence: 0.08")
    assert "mrd" in str(problems(tmp_path, text)) and "hazard_ratio" in str(problems(tmp_path, text))


def test_unit_stratum_override_merges(tmp_path):
    text = CTDNA.replace("""  model: lead_time
  lead_time: {weibull: {median: 10.5, shape: 1.5}}
  dormant_share: 0.01""", "  model: prevalence\n  prevalence: 0.08\n  hazard_ratio: 2.3").replace(
        "recurrence: {exponential: {cumulative: 0.13, at: 240}}}",
        "recurrence: {exponential: {cumulative: 0.13, at: 240}}, mrd: {prevalence: 0.02}}")
    sc = load_scenario(write(tmp_path, text))
    assert sc.stratum_mrd(0)["prevalence"] == 0.08
    assert sc.stratum_mrd(1)["prevalence"] == 0.02 and sc.stratum_mrd(1)["hazard_ratio"] == 2.3


@pytest.mark.parametrize("old,new,path,needle", [
    ("sided: 1}", "sided: 1, looks: [0.6, 0.4]}", "trial.analysis.looks", "strictly increasing"),
    ("events: 247, ", "months: 30, ", "trial.analysis.looks", "give events"),
    ("sided: 1}", "sided: 1, looks: [0.5], spending: fancy}", "trial.analysis.spending", "unknown spending"),
    ("sided: 1}", "sided: 1, test: wilcoxon}", "trial.analysis.test", "unknown test"),
    ("sided: 1}", "sided: 1, futility: {beta: 0.2, hazard_ratio: 0.7}}", "trial.analysis.futility", "give looks"),
    ("sided: 1}", "sided: 1, stratified: true}", "trial.analysis.stratified", "two strata"),
    ("sided: 1}", "sided: 2, looks: [0.5], futility: {hazard_ratio: 0.7}}", "trial.analysis.futility", "one-sided"),
    ("enrollment: 500", "enrollment: 500\n  endpoint: mrd_clearance", "trial.clearance", "clearance: {at"),
])
def test_unit_analysis_options_checked(tmp_path, old, new, path, needle):
    text = CONVENTIONAL.replace(old, new)
    if "looks: [0.5]" not in new and "looks: [0.6" not in new and old == "events: 247, ":
        text = text.replace("sided: 1}", "sided: 1, looks: [0.5]}")
    err = problems(tmp_path, text)
    assert path in str(err) and needle in str(err), str(err)


def test_unit_unquoted_comma_in_flow_mapping_gets_a_hint(tmp_path):
    err = problems(tmp_path, CONVENTIONAL.replace("sided: 1}", "sided: 1, test: fh(0, 1)}"))
    assert "quote it" in str(err)


def test_unit_full_analysis_block_loads(tmp_path):
    text = CONVENTIONAL.replace("analysis: {events: 247, alpha: 0.025, sided: 1}",
                                "analysis: {events: 247, test: \"fh(0, 1)\", looks: [0.5], spending: hsd(-4),\n"
                                "             futility: {spending: pocock, beta: 0.2, hazard_ratio: 0.7}}")
    an = load_scenario(write(tmp_path, text)).trial.analysis
    assert an.test == "fh(0,1)" and an.spending == "hsd(-4)" and an.futility.beta == 0.2


def test_unit_clearance_endpoint_needs_screening(tmp_path):
    text = CONVENTIONAL.replace("enrollment: 500", "enrollment: 500\n  endpoint: [drfs, mrd_clearance]\n"
                                "  clearance: {at: 6}")
    err = problems(tmp_path, text)
    assert "trial.endpoint" in str(err) and "screening" in str(err)
    text = CTDNA.replace("enrollment: 60", "enrollment: 60\n  endpoint: [drfs, mrd_clearance]\n"
                         "  clearance: {at: 6, alpha: 0.01}")
    sc = load_scenario(write(tmp_path, text))
    assert sc.trial.endpoints == ["drfs", "mrd_clearance"] and sc.trial.clearance.at == 6


def test_unit_json_schema_describes_the_format():
    schema = json_schema()
    assert schema["title"].startswith("trialsim scenario")
    assert {"accrual", "population", "arms", "trial"} <= set(schema["required"])
    json.dumps(schema)
