"""Unit tier of trialsim/limits.py: runs too large are refused up front, with
the estimate and the limit, by simulate(), `trialsim run`, `validate`,
sweeps and the size search; large but feasible runs still run."""

from __future__ import annotations

import time

import numpy as np
import pytest
from typer.testing import CliRunner

import trialsim
from tests.conftest import CONVENTIONAL, CTDNA, SMALL, write
from trialsim import limits
from trialsim.cli import app
from trialsim.des import SAFETY_HORIZON
from trialsim.limits import SizeLimitError, check_size, estimate_size
from trialsim.scenario import Scenario, ScenarioError
from trialsim.sweeps import SweepError, TargetNotReached, find_sample_size, parse_values, run_sweep

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_line_exit_2(res, needle: str) -> None:
    """Exit 2, one line on stderr containing ``needle``, no traceback."""
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], res.stderr
    assert "Traceback" not in res.output and res.exception is None or isinstance(res.exception, SystemExit)


def _load(tmp_path, text):
    return trialsim.load_scenario(write(tmp_path, text))


def test_unit_safety_horizon_is_the_engines():
    assert limits.SAFETY_HORIZON == SAFETY_HORIZON


def test_unit_estimate_of_the_reference_kinds(tmp_path):
    conv = _load(tmp_path, CONVENTIONAL)
    e = estimate_size(conv, 10)
    assert (e.survivors_per_trial, e.visits_per_survivor, e.work) == (500, 1, 5000)
    ct = _load(tmp_path, CTDNA)
    e = estimate_size(ct, 10)
    # 10 sites opening over 6 months at 60/month, screening until month 36: 60 * (36 - 6) + ramp
    assert e.survivors_per_trial == pytest.approx(60 * 30 + 60 * 6 / 10 * 11 / 2)
    assert e.visits_per_survivor == 4 and e.work == pytest.approx(10 * e.survivors_per_trial * 4)
    assert e.survivors_per_trial == pytest.approx(
        float(trialsim.engine.AccrualSchedule(*ct.accrual.schedule()).cumulative(36)))


@pytest.mark.parametrize("edit, needle", [
    (("enrollment: 60", "enrollment: 1000000000"), "survivors may enter screening"),
    (("visits: {every: 6, count: 4}", "visits: {every: 0.001}"), "screening.visits: a visit every 0.001 months"),
    (("max_months: 36", "max_months: 1000000"), "accrual: up to"),
])
def test_unit_absurd_screening_sizes_are_refused(tmp_path, edit, needle):
    text = CTDNA.replace(*edit)
    if "1000000000" in edit[1]:
        text = text.replace("accrual: {rate: 60,", "accrual: {rate: 1000000,")   # the largest rate accepted
    sc = _load(tmp_path, text)
    with pytest.raises(SizeLimitError, match=needle):
        trialsim.simulate(sc, replicates=2, seed=1, workers=1)
    res = invoke("run", write(tmp_path, text), "-n", 2)
    one_line_exit_2(res, needle)


def test_unit_many_calendar_steps_are_refused(tmp_path):
    sc = _load(tmp_path, CTDNA.replace("visits: {every: 6, count: 4}", "visits: {every: 0.0001, count: 2}"))
    with pytest.raises(SizeLimitError, match=r"calendar steps, over the limit of 100,000"):
        check_size(sc, 2)


def test_unit_enrollment_of_a_billion_is_refused_by_run_and_validate(tmp_path):
    path = write(tmp_path, CONVENTIONAL.replace("enrollment: 500", "enrollment: 1000000000"))
    for cmd in (("run", path), ("validate", path)):
        res = invoke(*cmd)
        one_line_exit_2(res, "trial.enrollment: an enrollment of 1,000,000,000 patients per simulated trial "
                             "exceeds the limit of 10,000,000")
    with pytest.raises(SizeLimitError, match="use a smaller enrollment"):
        trialsim.simulate(trialsim.load_scenario(path), replicates=1, seed=1)


def test_unit_sites_and_replicates_in_the_file_are_bounded(tmp_path):
    with pytest.raises(ScenarioError, match=r"accrual.sites.count: .*10000"):
        _load(tmp_path, CTDNA.replace("count: 10,", "count: 1000000000,"))
    with pytest.raises(ScenarioError, match=r"simulation.replicates: .*1000000"):
        _load(tmp_path, CONVENTIONAL + "simulation: {replicates: 1000000000000}\n")


@pytest.mark.parametrize("n", ["1000000000000", str(10 ** 23)])
def test_unit_absurd_replicates_on_the_command_line_exit_2(tmp_path, n):
    path = write(tmp_path, CONVENTIONAL)
    for cmd in ("run", "sweep", "size"):
        extra = ["--vary", "arms.treatment.hazard_ratio=0.7,0.8"] if cmd == "sweep" else []
        t0 = time.perf_counter()
        res = invoke(cmd, path, "-n", n, *extra)
        one_line_exit_2(res, "at most 1,000,000 simulated trials")
        assert time.perf_counter() - t0 < 10


def test_unit_absurd_replicates_in_the_library(conventional):
    for n in (10 ** 12, 10 ** 23):
        with pytest.raises(ValueError, match="replicates .*at most 1,000,000"):
            trialsim.simulate(conventional, replicates=n, seed=1)


def test_unit_total_work_is_bounded(conventional, monkeypatch):
    monkeypatch.setattr(limits, "MAX_WORK", 1e6)
    with pytest.raises(SizeLimitError, match=r"2,500,000 survivor-visits .* over the limit of 1,000,000"):
        trialsim.simulate(conventional, replicates=5000, seed=1)
    assert trialsim.simulate(conventional, replicates=3, seed=1, workers=1).replicates == 3


def test_unit_timeline_memory_is_bounded(conventional):
    with pytest.raises(SizeLimitError, match="timeline of 5,000 months"):
        trialsim.simulate(conventional, replicates=2, seed=1, timeline=5000)
    with pytest.raises(SizeLimitError, match="GB of results"):
        check_size(conventional, 1_000_000, timeline_months=1200)


def test_unit_a_large_feasible_run_is_accepted(tmp_path):
    """100,000 replicates of the ctDNA reference scenario are within every limit
    (simulated in chunks, in bounded memory); so is the conventional design at 1,000,000."""
    ct = trialsim.load_scenario(trialsim.engine.__file__.replace("trialsim/engine.py", "scenarios/ctdna_er_positive.yaml"))
    e = check_size(ct, 100_000)
    assert e.work < limits.MAX_WORK and e.result_bytes < limits.MAX_RESULT_BYTES
    check_size(_load(tmp_path, CONVENTIONAL), 1_000_000)


def test_unit_vary_counts_and_grid_sizes_are_bounded(small):
    t0 = time.perf_counter()
    with pytest.raises(SweepError, match="100,000,000 values, over the limit of 10,000"):
        parse_values("0.5:0.9:100000000", 0.7)
    with pytest.raises(SweepError, match=r"3,000,000 designs, over the limit of 10,000 .*2,000 x 1,500"):
        run_sweep(small, {"arms.treatment.hazard_ratio": "0.5:0.9:2000", "trial.analysis.alpha": "0.01:0.05:1500"},
                  replicates=2, seed=1, workers=1)
    with pytest.raises(SweepError, match="over the limit of 10,000 per --vary"):
        run_sweep(small, {"arms.treatment.hazard_ratio": list(np.linspace(0.5, 0.9, 20_000))}, replicates=2, seed=1)
    assert time.perf_counter() - t0 < 10


def test_unit_sweep_names_the_point_too_large(small):
    with pytest.raises(SweepError, match=r"at trial.enrollment=50000000: trial.enrollment: an enrollment"):
        run_sweep(small, {"trial.enrollment": [200, 50_000_000]}, replicates=2, seed=1, workers=1)


def test_unit_cli_sweep_of_a_huge_range_exits_2_fast(tmp_path):
    path = write(tmp_path, SMALL)
    t0 = time.perf_counter()
    res = invoke("sweep", path, "--vary", "arms.treatment.hazard_ratio=0.5:0.9:100000000")
    one_line_exit_2(res, "over the limit of 10,000 per --vary")
    res = invoke("sweep", path, "--vary", "arms.treatment.hazard_ratio=0.5:0.9:2000",
                 "--vary", "trial.analysis.alpha=0.01:0.05:1500")
    one_line_exit_2(res, "3,000,000 designs")
    assert time.perf_counter() - t0 < 10


def test_unit_size_search_out_of_reach_stops_at_once(tmp_path):
    """HR 0.99 at power 0.999: Schoenfeld's start is beyond the largest value searched."""
    sc = _load(tmp_path, CONVENTIONAL.replace("hazard_ratio: 0.7", "hazard_ratio: 0.99"))
    t0 = time.perf_counter()
    with pytest.raises(TargetNotReached, match=r"no trial.enrollment up to 2,000,000 reaches power 0.999"):
        find_sample_size(sc, target_power=0.999, replicates=200, seed=1, workers=1)
    res = invoke("size", write(tmp_path, CONVENTIONAL.replace("hazard_ratio: 0.7", "hazard_ratio: 0.99")),
                 "--target-power", "0.999", "-n", 200, "--seed", 1, "-w", 1)
    one_line_exit_2(res, "reaches power 0.999")
    assert time.perf_counter() - t0 < 10


def test_unit_size_search_stops_within_its_budget(small):
    """A target the search cannot settle within its budget of simulated trials
    ends in TargetNotReached with the highest power reached, in bounded time."""
    t0 = time.perf_counter()
    with pytest.raises(TargetNotReached, match=r"budget is spent .*highest power reached is"):
        find_sample_size(small, target_power=0.95, replicates=300, seed=3, workers=1, budget=500)
    assert time.perf_counter() - t0 < 20
    with pytest.raises(TypeError, match="budget must be a whole number"):
        find_sample_size(small, target_power=0.9, replicates=300, seed=3, workers=1, budget=2.5)


def test_unit_size_budget_option(tmp_path):
    path = write(tmp_path, SMALL)
    res = invoke("size", path, "--target-power", "0.95", "-n", 300, "--seed", 3, "-w", 1, "--budget", 500)
    one_line_exit_2(res, "budget is spent")
    res = invoke("size", path, "--budget", 0)
    one_line_exit_2(res, "--budget must be at least 1")


def test_unit_size_limit_error_survives_pickling():
    import pickle  # only this test pickles

    e = SizeLimitError("too big", "trial.enrollment", "f.yaml")
    back = pickle.loads(pickle.dumps(e))
    assert str(back) == str(e) == "f.yaml: trial.enrollment: too big"


def test_unit_scenario_from_dict_keeps_sizes_within_bounds():
    d = trialsim.load_scenario(trialsim.engine.__file__.replace("trialsim/engine.py",
                                                                 "scenarios/conventional_logrank.yaml")).to_dict()
    d["simulation"]["replicates"] = 2_000_000
    with pytest.raises(ScenarioError, match="simulation.replicates"):
        Scenario.from_dict(d)


def test_visit_schedules_count_their_visits(tmp_path):
    text = CTDNA.replace("visits: {every: 6, count: 4}",
                         "visits: {schedule: [{every: 3, until: 12}, {every: 6, until: 24}]}")
    assert estimate_size(_load(tmp_path, text), 1).visits_per_survivor == 7     # 0, 3, ..., 12, 18, 24
    # an open last piece: the visits that fit in max_months (36): 0..12 by 3, then 18..36 by 6
    text = CTDNA.replace("visits: {every: 6, count: 4}", "visits: {schedule: [{every: 3, until: 12}, {every: 6}]}")
    assert estimate_size(_load(tmp_path, text), 1).visits_per_survivor == 9
    # anchored at diagnosis: the grid's visits up to the latest time since diagnosis plus the screening months
    text = CTDNA.replace("visits: {every: 6, count: 4}", "visits: {every: 6, anchor: diagnosis}")
    est = estimate_size(_load(tmp_path, text), 1)
    assert est.visits_per_survivor == 36 / 6 + 1      # bounded by the screening window from any entry
    # the shortest interval sets the calendar steps
    text = CTDNA.replace("visits: {every: 6, count: 4}", "visits: {schedule: [{every: 0.25, until: 3}, {every: 6}]}")
    assert estimate_size(_load(tmp_path, text), 1).windows == 36 / 0.25 + 1


def test_a_schedule_with_too_many_visits_is_refused(tmp_path):
    text = CTDNA.replace("visits: {every: 6, count: 4}",
                         "visits: {schedule: [{every: 1, until: 12}, {every: 0.02}]}").replace("max_months: 36",
                                                                                             "max_months: 40")
    path = write(tmp_path, text)
    res = invoke("validate", path)
    one_line_exit_2(res, "the visit schedule without a count gives up to")
    assert "screening.visits" in res.stderr
