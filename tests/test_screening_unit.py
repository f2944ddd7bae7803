"""Unit tier of trialsim.screening and the scenario fields it reads: visit
schedules (pieces, anchor), the prescreen steps, and their validation."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tests.conftest import SCENARIOS
from trialsim import load_scenario
from trialsim.loading import ScenarioError
from trialsim.scenario import PrescreenSpec, VisitsSpec, json_schema
from trialsim.screening import PrescreenModel, VisitPlan, person_propensities
from trialsim.screening import TestModel as Assay

BASE = """\
name: pathway unit
accrual: {rate: 20}
population:
  strata: [{name: all, share: 1, recurrence: {exponential: {median: 60}}}]
mrd: {model: prevalence, prevalence: 0.1, hazard_ratio: 2}
screening:
  test: {sensitivity: 0.9, specificity: 0.99}
  visits: VISITS
  max_months: 24
PRESCREEN
arms: {control: {}, treatment: {hazard_ratio: 0.7}}
trial: {enrollment: 40, analysis: {events: 20}}
"""


def scenario(visits: str = "{every: 6}", prescreen: str = ""):
    return load_scenario(text=BASE.replace("VISITS", visits).replace("PRESCREEN", prescreen), source="s.yaml")


def problem(visits: str = "{every: 6}", prescreen: str = "") -> str:
    with pytest.raises(ScenarioError) as exc:
        scenario(visits, prescreen)
    assert len(exc.value.problems) == 1, exc.value.problems
    path, line, message = exc.value.problems[0]
    return f"{path}: {message}"


def walk(plan: VisitPlan, first: float = 0.0, n: int = 20) -> list[float]:
    times = [float(plan.at_or_after(np.array([first]))[0])]
    while len(times) < n and math.isfinite(times[-1]):
        times.append(float(plan.after(np.array([times[-1]]))[0]))
    return [t for t in times if math.isfinite(t)]


def test_schedule_pieces_give_the_documented_visit_times():
    v = VisitsSpec.model_validate({"schedule": [{"every": 3, "until": 12}, {"every": 6, "until": 24}]})
    assert v.grid(100) == [0, 3, 6, 9, 12, 18, 24]
    assert walk(VisitPlan.from_spec(v)) == [0, 3, 6, 9, 12, 18, 24]


def test_a_piece_starts_at_the_last_visit_of_the_piece_before():
    v = VisitsSpec.model_validate({"schedule": [{"every": 5, "until": 12}, {"every": 6}]})
    assert v.grid(30) == [0, 5, 10, 16, 22, 28]
    assert walk(VisitPlan.from_spec(v), n=6) == [0, 5, 10, 16, 22, 28]


def test_an_open_last_piece_goes_on_and_one_interval_is_the_every_form():
    assert VisitsSpec.model_validate({"schedule": [{"every": 6}]}).grid(24) == \
        VisitsSpec.model_validate({"every": 6}).grid(24) == [0, 6, 12, 18, 24]
    assert VisitsSpec.model_validate({"every": 6}).legacy
    assert not VisitsSpec.model_validate({"schedule": [{"every": 6}]}).legacy
    assert not VisitsSpec.model_validate({"every": 6, "anchor": "diagnosis"}).legacy


def test_anchor_diagnosis_first_visit_is_the_next_scheduled_time_since_diagnosis():
    plan = VisitPlan.from_spec(VisitsSpec.model_validate({"every": 3, "anchor": "diagnosis"}))
    # entering at 14 months since diagnosis: first visit at 15 (1 month after entry); at 15: at entry
    assert plan.at_or_after(np.array([14.0, 15.0, 0.0, 14.999999999999])).tolist() == [15.0, 15.0, 0.0, 15.0]
    assert plan.after(np.array([15.0])).tolist() == [18.0]


def test_a_finite_schedule_ends():
    plan = VisitPlan.from_spec(VisitsSpec.model_validate({"schedule": [{"every": 3, "until": 12}],
                                                          "anchor": "diagnosis"}))
    assert plan.at_or_after(np.array([12.5])).tolist() == [math.inf]
    assert plan.after(np.array([12.0])).tolist() == [math.inf]


def test_defaults_keep_the_every_form_and_no_prescreen():
    sc = scenario()
    v = sc.screening.visits
    assert (v.every, v.count, v.schedule, v.anchor) == (6.0, None, None, "entry")
    assert sc.screening.prescreen is None
    pre = PrescreenSpec()
    assert (pre.consent, pre.assay_setup, pre.setup_time.fixed) == (1.0, 1.0, 0.0)


def test_prescreen_is_read_with_a_setup_time_distribution():
    sc = scenario(prescreen="  prescreen: {consent: 0.8, assay_setup: 0.72, setup_time: {uniform: [1, 2]}}")
    m = PrescreenModel.from_scenario(sc)
    assert (m.consent, m.assay_setup) == (0.8, 0.72)
    assert m.setup_time.quantile(np.array([0.5]))[0] == pytest.approx(1.5)


def _with_prescreen(text: str):
    return BASE.replace("VISITS", "{every: 6}").replace("PRESCREEN", "  prescreen: " + text)


@pytest.mark.parametrize("text,expect", [
    ("{consent: 1.2}", "screening.prescreen.consent: Input should be less than or equal to 1"),
    ("{assay_setup: -0.1}", "screening.prescreen.assay_setup: Input should be greater than or equal to 0"),
    ("{setup_time: {uniform: [2, 1]}}", "screening.prescreen.setup_time"),
    ("{consnt: 0.5}", "unknown key 'consnt' (did you mean 'consent'?)"),
    ("{consent: '0.5'}", "screening.prescreen.consent: must be a number written without quotes"),
])
def test_prescreen_mistakes_are_named(text, expect):
    with pytest.raises(ScenarioError) as exc:
        load_scenario(text=_with_prescreen(text), source="s.yaml")
    assert len(exc.value.problems) == 1
    path, line, message = exc.value.problems[0]
    assert expect in f"{path}: {message}"
    assert line is not None


@pytest.mark.parametrize("visits,expect", [
    ("{every: 3, schedule: [{every: 3}]}",
     "screening.visits.schedule: give either every (one interval) or schedule (pieces), not both"),
    ("{count: 3}", "screening.visits.every: give every (months between visits) or schedule"),
    ("{schedule: [{every: 3}, {every: 6}]}",
     "screening.visits.schedule.0.until: every piece but the last needs until"),
    ("{schedule: [{every: 3, until: 12}, {every: 6, until: 12}]}",
     "screening.visits.schedule.1.until: until must increase from piece to piece (got 12 after 12)"),
    ("{schedule: []}", "screening.visits.schedule"),
    ("{schedule: [{every: 0}]}", "screening.visits.schedule.0.every: Input should be greater than 0"),
    ("{every: 3, anchor: surgery}", "screening.visits.anchor: Input should be 'entry' or 'diagnosis'"),
    ("{schedule: [{every: 3, untill: 12}]}", "unknown key 'untill' (did you mean 'until'?)"),
])
def test_visit_mistakes_are_named(visits, expect):
    assert expect in problem(visits)


def test_describe_says_the_schedule_in_words():
    v = VisitsSpec.model_validate({"schedule": [{"every": 3, "until": 12}, {"every": 6}], "anchor": "diagnosis",
                                   "count": 5})
    assert v.describe() == "every 3 months to month 12, then every 6 months, up to 5 times (months since diagnosis)"
    assert VisitsSpec.model_validate({"every": 6, "count": 4}).describe() == "every 6 months, up to 4 times"


def test_the_json_schema_describes_the_new_fields_with_units():
    defs = json_schema()["$defs"]
    assert "months" in defs["SchedulePiece"]["properties"]["every"]["description"]
    assert "months since the anchor" in defs["SchedulePiece"]["properties"]["until"]["description"].lower()
    assert "diagnosis" in defs["VisitsSpec"]["properties"]["anchor"]["description"]
    props = defs["PrescreenSpec"]["properties"]
    assert "Unit: share 0-1" in props["consent"]["description"]
    assert "Unit: share 0-1" in props["assay_setup"]["description"]
    assert "months" in props["setup_time"]["description"]


@pytest.mark.parametrize("change, expect", [
    ({"screening": {"confirm": {"tests": 1}}}, "screening.confirm.tests: Input should be greater than or equal to 2"),
    ({"screening": {"mode": "watch"}}, "screening.mode: Input should be 'enrol_first_positive' or 'surveillance'"),
    ({"mrd": {"shedding": 1}}, "mrd.shedding: Input should be less than 1"),
    ({"screening": {"confirm": {"tests": 2.5}}}, "screening.confirm.tests"),
])
def test_serial_sampling_mistakes_are_named(change, expect):
    from trialsim.scenario import Scenario

    d = load_scenario(SCENARIOS / "ctdna_er_positive.yaml").to_dict()
    for block, values in change.items():
        d[block].update(values)
    with pytest.raises(ScenarioError) as exc:
        Scenario.from_dict(d)
    assert expect in str(exc.value)


def test_person_propensities_keep_the_test_on_average():
    """Beta around the test's values: the mean is the test's sensitivity and
    false-positive rate, the intra-person correlation rho; rho 0 gives the test's."""
    rng = np.random.default_rng(8)
    v = rng.random(200_000)
    t = Assay("t", 0.7, 0.9, 0.0, None, None)
    se, fpr = person_propensities(t, np.full(v.size, 0.3), v)
    assert abs(se.mean() - 0.7) < 4 * se.std() / math.sqrt(v.size)
    assert abs(fpr.mean() - 0.1) < 4 * fpr.std() / math.sqrt(v.size)
    # var(Se_i) = rho Se (1 - Se) for a Beta with intra-class correlation rho; the sample
    # variance's Monte Carlo SE is the SD of the squared deviations over sqrt(n)
    sq = (se - se.mean()) ** 2
    assert abs(sq.mean() - 0.3 * 0.7 * 0.3) < 4 * sq.std() / math.sqrt(v.size)
    se0, fpr0 = person_propensities(t, np.zeros(5), v[:5])
    np.testing.assert_array_equal(se0, 0.7)
    np.testing.assert_array_equal(fpr0, 1.0 - 0.9)     # as run_tests computes it
