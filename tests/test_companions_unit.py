"""Unit tier: trialsim.companions, the closed forms shown beside the simulation.

Each companion is shown only where its assumptions hold, and says why when it
is withheld; with interim looks it is the exit probabilities of the
simulator's own boundaries; the report shows the run's closed-form funnel.
"""

from __future__ import annotations

import math

import pytest

from tests.conftest import SCENARIOS
from tests.support.report_html import parse, value
from trialsim.companions import analytic_companions, screening_funnel_companion, visits_available
from trialsim.engine import simulate
from trialsim.report import make_report
from trialsim.scenario import Scenario, load_scenario


def test_unit_analytic_companion_only_where_its_assumptions_hold(conventional, ctdna):
    from trialsim.design import schoenfeld_power

    a = simulate(conventional, replicates=5, seed=1, workers=1).summary()["analytic"]
    assert a["schoenfeld_power"] == schoenfeld_power(events=247, hazard_ratio=0.7)
    assert 330 < a["schoenfeld_events_for_90"] < 331
    assert "schoenfeld_note" not in a
    withheld = simulate(ctdna, replicates=3, seed=1, workers=1).summary()
    assert "schoenfeld_power" not in withheld["analytic"]
    # a withheld companion says why, in the JSON and in the table
    assert "not proportional" in withheld["analytic"]["schoenfeld_note"]
    from trialsim.results import format_summary
    assert "analytic: Schoenfeld's formula not shown" in format_summary(withheld)


def test_unit_analytic_companion_of_a_group_sequential_design(tmp_path, conventional):
    """With interim looks the companion is the exit probabilities of the
    simulator's own boundaries at Schoenfeld's drift."""
    from trialsim.design import boundaries, exit_probabilities
    from trialsim.results import format_summary

    d = conventional.to_dict()
    d["trial"]["analysis"].update(looks=[0.5], spending="pocock")
    s = simulate(Scenario.from_dict(d), replicates=5, seed=1, workers=1).summary()
    a = s["analytic"]
    ex = exit_probabilities(boundaries([124 / 247, 1.0], alpha=0.025, spending="pocock"),
                            math.sqrt(247) / 2 * -math.log(0.7))
    assert a["schoenfeld_rejection_by_look"] == pytest.approx(list(ex.efficacy), abs=1e-12)
    assert a["schoenfeld_power"] == pytest.approx(sum(a["schoenfeld_rejection_by_look"]), abs=1e-12)
    assert a["schoenfeld_expected_events"] == pytest.approx(247 * ex.expected_information_fraction)
    assert "schoenfeld_note" not in a and "analytic (Schoenfeld)" in format_summary(s)


def test_unit_the_report_shows_the_runs_closed_form_funnel():
    """One closed-form funnel: the report's cross-check shows the numbers of
    the "analytic" block of `trialsim run` (companions.screening_funnel_companion)."""
    path = SCENARIOS / "dtc_bone_marrow.yaml"
    rep = make_report(path, replicates=10, seed=3, workers=1)
    fun = simulate(load_scenario(path), replicates=10, seed=3, workers=1).summary()["analytic"]["funnel"]
    h = parse(rep.html)
    for key in ("tested", "test_positive", "eligible", "randomized", "assays"):
        assert value(h, f"analytic-{key.replace('_', '-')}-rate") == fun[f"{key}_per_screened"], key
    assert value(h, "analytic-truly") == fun["true_positive_share"]


def _screened_scenario(visits: str, extra: str = "") -> Scenario:
    text = f"""\
name: funnel companion
accrual: {{rate: 30}}
population:
  strata: [{{name: all, share: 1, time_since_diagnosis: 20, recurrence: {{exponential: {{median: 100}}}}}}]
mrd: {{model: prevalence, prevalence: 0.1, hazard_ratio: 2}}
screening:
  test: {{sensitivity: 0.9, specificity: 0.99}}
  visits: {visits}
  max_months: 24
{extra}
arms: {{control: {{}}, treatment: {{hazard_ratio: 0.7}}}}
trial: {{enrollment: 40, analysis: {{events: 20}}}}
"""
    return load_scenario(text=text)


def test_unit_funnel_is_withheld_for_visits_anchored_at_diagnosis():
    sc = _screened_scenario("{every: 3, count: 2, anchor: diagnosis}")
    out = analytic_companions(sc, {"screening_closed_month": [24.0], "events": [20]})
    assert "funnel" not in out and "anchored at diagnosis" in out["funnel_note"]


def test_unit_funnel_counts_the_visits_of_a_schedule_and_of_unlimited_visits():
    # schedule 0, 3, 6, 9, 12, 18 within 24 months of screening; arrivals uniform over 24 months
    sc = _screened_scenario("{schedule: [{every: 3, until: 12}, {every: 6}]}")
    got = visits_available(sc, 24.0)
    grid = [0, 3, 6, 9, 12, 18, 24]
    expect = {j: (grid[j] - grid[j - 1]) / 24 for j in range(1, 7)}
    expect[7] = 0.0
    assert set(got) <= set(expect) and sum(got.values()) == pytest.approx(1.0)
    for j, w in got.items():
        assert w == pytest.approx(expect[j])
    # without a count, every visit that fits counts (not one visit)
    got = visits_available(_screened_scenario("{every: 6}"), 24.0)
    assert got == pytest.approx({j: 0.25 for j in range(1, 5)})


def test_unit_funnel_with_prescreen_gives_the_stage_probabilities():
    sc = _screened_scenario("{every: 6, count: 1}",
                            "  prescreen: {consent: 0.8, assay_setup: 0.7, setup_time: 3}")
    fun = screening_funnel_companion(sc, 24.0)
    assert fun["registered_per_approached"] == 0.8 and fun["assay_ready_per_registered"] == 0.7
    assert fun["screened_per_assay_ready"] == pytest.approx(21 / 24)
    assert "set-up time" in fun["assumes"]
