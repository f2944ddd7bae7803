"""Unit tier of trialsim.des: the visit loop with schedules, anchors and the
prescreen steps, watched sample by sample on tiny trials."""
from __future__ import annotations

import numpy as np
import pytest

from trialsim import load_scenario, simulate
from trialsim.des import TrialOperations
from trialsim.engine import TrialModel, prescreen_stream, replicate_streams

ONE_SURVIVOR = """\
name: one survivor per trial
accrual: {rate: 5}
population:
  strata: [{name: all, share: 1, time_since_diagnosis: TSD, recurrence: {exponential: {median: 1.0e7}}}]
screening:
  test: {sensitivity: 0.9, specificity: 1}
  visits: VISITS
  max_screened: 1
  max_months: 80
PRESCREEN
arms: {control: {}, treatment: {hazard_ratio: 0.7}}
trial: {enrollment: 1, analysis: {months: 1}}
"""


def visit_offsets(visits: str, tsd: str = "0", prescreen: str = "", replicates: int = 3) -> list[list[float]]:
    """Each replicate's sample times after its only survivor's arrival."""
    text = ONE_SURVIVOR.replace("VISITS", visits).replace("TSD", tsd).replace("PRESCREEN", prescreen)
    model = TrialModel.from_scenario(load_scenario(text=text))
    seed = 11
    pre = [prescreen_stream(seed, i) for i in range(replicates)] if model.operations.prescreen else None
    ops = TrialOperations(model.operations, model.population,
                          [replicate_streams(seed, i)[0] for i in range(replicates)], pre, record=True)
    enrolment = ops.run()
    arrival = {int(r): float(a) for b in ops.batches.values() for r, a in zip(b.rep, b.arrival)}
    assert len(arrival) == replicates    # max_screened: one survivor per trial
    times: list[list[float]] = [[] for _ in range(replicates)]
    for b, idx, visit in ops.record["tests"]:
        for r, t in zip(ops.batches[b].rep[idx].tolist(), visit.tolist()):
            times[r].append(t)
    out = []
    tests = enrolment.by_visit.get("tests", np.zeros((replicates, 0), dtype=np.int64))
    for r in range(replicates):
        n = len(times[r])
        # visit numbers 1, 2, ..., n: one result at each (no test fails here)
        assert tests[r].tolist() == [1] * n + [0] * (tests.shape[1] - n)
        out.append([round(t - arrival[r], 9) for t in sorted(times[r])])
    return out


def test_a_schedule_in_pieces_samples_at_its_times():
    for offsets in visit_offsets("{schedule: [{every: 3, until: 12}, {every: 6, until: 24}]}"):
        assert offsets == [0, 3, 6, 9, 12, 18, 24]


def test_count_stops_a_schedule():
    for offsets in visit_offsets("{schedule: [{every: 3, until: 12}, {every: 6}], count: 6}"):
        assert offsets == [0, 3, 6, 9, 12, 18]


def test_anchor_diagnosis_samples_at_fixed_months_since_diagnosis():
    # at 14 months since diagnosis, every 3 since diagnosis: 15, 18, 21 -> 1, 4, 7 months after entry
    for offsets in visit_offsets("{every: 3, count: 3, anchor: diagnosis}", tsd="14"):
        assert offsets == [1, 4, 7]


def test_the_first_sample_waits_for_the_assay():
    # set-up 2.5 months: anchored at entry, the schedule starts at the first sample
    for offsets in visit_offsets("{every: 3, count: 3}", prescreen="  prescreen: {setup_time: 2.5}"):
        assert offsets == [2.5, 5.5, 8.5]
    # anchored at diagnosis (entry at 14): the first scheduled time at or after 16.5 is 18
    for offsets in visit_offsets("{every: 3, count: 2, anchor: diagnosis}", tsd="14",
                                 prescreen="  prescreen: {setup_time: 2.5}"):
        assert offsets == [4, 7]


def test_a_survivor_without_consent_or_assay_is_never_sampled():
    assert visit_offsets("{every: 3, count: 3}", prescreen="  prescreen: {consent: 0}") == [[], [], []]
    assert visit_offsets("{every: 3, count: 3}", prescreen="  prescreen: {assay_setup: 0}") == [[], [], []]


SMALL = """\
name: pathway funnel
simulation: {seed: 4, replicates: 30}
accrual: {rate: 40}
population:
  strata:
    - {name: young, share: 0.4, time_since_diagnosis: {uniform: [0, 12]}, recurrence: {exponential: {median: 40}}}
    - {name: old, share: 0.6, time_since_diagnosis: 30, recurrence: {exponential: {median: 120}}}
mrd: {model: prevalence, prevalence: 0.1, hazard_ratio: 3}
screening:
  test: {sensitivity: 0.9, specificity: 0.98, failure: 0.1, turnaround: 1}
  visits: {schedule: [{every: 3, until: 12}, {every: 6}], anchor: diagnosis}
  prescreen: {consent: 0.8, assay_setup: 0.7, setup_time: {uniform: [0.5, 2]}}
  staging: {imaging_lead: 4}
  max_months: 24
arms: {control: {}, treatment: {hazard_ratio: 0.7}}
trial: {enrollment: 60, analysis: {events: 20}}
"""


@pytest.fixture(scope="module")
def funnel():
    return simulate(load_scenario(text=SMALL), workers=1)


def test_stages_are_nested_and_strata_add_up(funnel):
    t = funnel.table
    chain = ["approached", "registered", "assay_ready", "screened", "tested", "test_positive", "eligible",
             "consented", "randomized"]
    for a, b in zip(chain, chain[1:]):
        assert (t[a] >= t[b]).all(), (a, b)
    assert (t["approached"] > t["registered"]).any() and (t["screened"] > t["tested"]).any()
    for key in chain + ["assays", "metastatic_at_staging", "truly_mrd_positive"]:
        assert (t[f"{key}[young]"] + t[f"{key}[old]"] == t[key]).all(), key


def test_staging_splits_the_positives_without_other_deaths(funnel):
    t = funnel.table
    # no other-cause death: a positive is either eligible or already metastatic at staging
    assert (t["eligible"] + t["metastatic_at_staging"] == t["test_positive"]).all()
    assert t["metastatic_at_staging"].sum() > 0


def test_by_visit_adds_up_to_the_positives(funnel):
    s = funnel.summary()
    visits = s["by_visit"]
    assert [v["visit"] for v in visits] == list(range(1, len(visits) + 1))
    assert len(visits) >= 3
    assert sum(v["positive"] for v in visits) == pytest.approx(s["test_positive"]["mean"])
    total_tests = funnel.by_visit["tests"].sum()
    assert total_tests == pytest.approx(sum(v["tests"] for v in visits) * funnel.replicates, rel=1e-12)
    for v in visits:
        assert v["positive_share"] == pytest.approx(v["positive"] / v["tests"])


def test_summary_keys_by_stratum(funnel):
    s = funnel.summary()
    assert set(s["by_stratum"]) == {"young", "old"}
    young = s["by_stratum"]["young"]
    for key in ("approached", "registered", "assay_ready", "screened", "tested", "test_positive", "eligible",
                "consented", "randomized", "metastatic_at_staging_share", "truly_mrd_positive_share"):
        assert young[key] is not None and "mean" in young[key], key
    assert young["screened"]["mean"] == pytest.approx(np.mean(funnel.table["screened[young]"]))
    share = s["metastatic_at_staging_share"]["mean"]
    t = funnel.table
    per_trial = t["metastatic_at_staging"][t["test_positive"] > 0] / t["test_positive"][t["test_positive"] > 0]
    assert share == pytest.approx(per_trial.mean())


def test_one_stratum_and_no_prescreen_keep_the_columns_and_null_keys(ctdna):
    r = simulate(ctdna, replicates=4, seed=2, workers=1)
    s = r.summary()
    assert s["approached"] is None and s["registered"] is None and s["assay_ready"] is None
    assert not any("[" in c for c in r.columns()) or len(ctdna.population.strata) > 1
    for name, entry in s["by_stratum"].items():
        assert "approached" not in entry
        assert set(entry) >= {"screened", "tested", "test_positive", "randomized"}


def test_a_conventional_trial_has_no_visits(conventional):
    s = simulate(conventional, replicates=3, seed=1, workers=1).summary()
    assert s["by_visit"] is None and s["metastatic_at_staging_share"] is None
    assert list(s["by_stratum"]) == ["all"] or len(s["by_stratum"]) == len(conventional.population.strata)
    only = next(iter(s["by_stratum"].values()))
    assert only["randomized"] == s["randomized"] and only["screened"] == s["screened"]


NO_SCREENING = """\
name: no screening
accrual: {rate: 20}
population:
  strata: STRATA
OTHER
arms: {control: {}, treatment: {hazard_ratio: 0.7}}
trial: {enrollment: 40, analysis: {events: 20}}
"""


@pytest.mark.parametrize("strata, other", [
    ("[{name: all, share: 1, recurrence: {exponential: {median: 24}}}]", ""),
    ("[{name: a, share: 0.4, recurrence: {exponential: {median: 24}}},"
     " {name: b, share: 0.6, time_since_diagnosis: {uniform: [0, 12]}, recurrence: {weibull: {scale: 30, shape: 1.3}}}]",
     "  other_cause_death: {exponential: {rate: 0.001}}"),
])
def test_unit_enrolment_without_screening_skips_only_uniforms_nobody_reads(monkeypatch, strata, other):
    """Without screening, the uniform rows that nothing reads are skipped by
    advancing each replicate's stream: arrivals, histories, close times and the
    streams' states after enrolment are those of drawing every row."""
    import trialsim.des as des

    text = NO_SCREENING.replace("STRATA", strata).replace("OTHER", other)
    model = TrialModel.from_scenario(load_scenario(text=text))
    reps = 7

    def enrol():
        rngs = [replicate_streams(5, i)[0] for i in range(reps)]
        ops = TrialOperations(model.operations, model.population, rngs)
        return ops.run(), [rng.random() for rng in rngs]

    skipped, after_skipped = enrol()
    monkeypatch.setattr(des, "uniforms_read", lambda pop, consent=True: (True,) * des.N_UNIFORMS)
    drawn, after_drawn = enrol()
    assert after_skipped == after_drawn
    np.testing.assert_array_equal(skipped.close_time, drawn.close_time)
    np.testing.assert_array_equal(skipped.randomized_at, drawn.randomized_at)
    np.testing.assert_array_equal(skipped.close_time, drawn.randomized_at.reshape(reps, 40)[:, -1])
    for name in ("stratum", "tsd", "e_rec", "t_rec", "t_death", "mrd_start", "mrd_end"):
        np.testing.assert_array_equal(getattr(skipped.patients, name), getattr(drawn.patients, name), err_msg=name)


@pytest.mark.parametrize("strata, accrual", [
    ("[{name: all, share: 1, recurrence: {exponential: {median: 24}}}]", "{rate: 20}"),
    ("[{name: a, share: 0.4, recurrence: {exponential: {median: 24}}},"
     " {name: b, share: 0.6, time_since_diagnosis: {uniform: [0, 12]}, recurrence: {weibull: {scale: 30, shape: 1.3}}}]",
     "{piecewise: [{months: 2, rate: 5}, {months: 1, rate: 0}, {rate: 12}]}"),
])
def test_unit_enrolment_without_screening_is_the_general_outcome_array_for_array(monkeypatch, strata, accrual):
    """Without screening the outcome takes a shorter way (nothing to reorder,
    rank or drop): every count, count by stratum, screened list and patient
    array is the one the general steps give, value, dtype and order."""
    import dataclasses

    import trialsim.des as des

    text = NO_SCREENING.replace("STRATA", strata).replace("OTHER", "").replace("{rate: 20}", accrual)
    model = TrialModel.from_scenario(load_scenario(text=text))
    reps = 9

    def enrol():
        ops = TrialOperations(model.operations, model.population, [replicate_streams(3, i)[0] for i in range(reps)])
        return ops.run(), ops

    fast, ops = enrol()
    assert ops._outcome_unscreened() is not None     # the shorter way was taken
    monkeypatch.setattr(des.TrialOperations, "_outcome_unscreened", lambda self: None)
    slow, _ = enrol()

    def same(a, b, what):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape, what
        np.testing.assert_array_equal(a, b, err_msg=what)

    assert fast.randomized_at.size == reps * 40
    for f in dataclasses.fields(des.Enrolment):
        a, b = getattr(fast, f.name), getattr(slow, f.name)
        if f.name == "patients":
            for k in ("stratum", "tsd", "e_rec", "t_rec", "t_death", "mrd_start", "mrd_end", "u_consent"):
                same(getattr(a, k), getattr(b, k), k)
        elif isinstance(a, dict):
            assert list(a) == list(b), f.name
            for k in a:
                same(a[k], b[k], f"{f.name}[{k}]")
        elif isinstance(a, list):
            assert len(a) == len(b), f.name
            for (ra, ta), (rb, tb) in zip(a, b):
                same(ra, rb, f.name)
                same(ta, tb, f.name)
        elif a is None or b is None:
            assert a is None and b is None, f.name
        else:
            same(a, b, f.name)
