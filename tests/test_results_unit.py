"""Unit tier of trialsim/results.py: the tidy frames of a SimulationResult."""
from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from trialsim import load_scenario, simulate
from trialsim.cli import app


@pytest.fixture(scope="module")
def looked():
    sc = load_scenario({"name": "with a look", "accrual": {"rate": 20.8333},
                        "population": {"strata": [{"name": "all", "share": 1,
                                                   "recurrence": {"exponential": {"median": 24}}}]},
                        "arms": {"control": {}, "treatment": {"hazard_ratio": 0.7}},
                        "trial": {"enrollment": 500, "analysis": {"events": 247, "looks": [0.5]}}})
    return simulate(sc, replicates=40, seed=3, workers=1, timeline=60)


def test_unit_looks_frame_one_row_per_replicate_per_analysis(looked):
    f = looked.looks_frame()
    assert list(f.columns) == ["replicate", "look", "month", "events", "randomized", "z", "efficacy_bound",
                               "futility_bound", "decision"]
    assert (f.groupby("replicate")["look"].max().to_numpy() == looked.table["stopped_at_look"]).all()
    last = f.groupby("replicate").tail(1)
    assert set(last["decision"]) <= {"efficacy", "futility", "final"}
    assert np.array_equal(last["decision"].eq("efficacy").to_numpy(), looked.table["rejected"])


def test_unit_looks_frame_refused_without_looks(conventional):
    r = simulate(conventional, replicates=3, seed=1, workers=1)
    with pytest.raises(ValueError, match="no interim looks"):
        r.looks_frame()
    with pytest.raises(ValueError, match="timeline=True"):
        r.timeline_frame()


def test_unit_timeline_frame_is_the_timeline_in_long_form(looked):
    f = looked.timeline_frame()
    assert list(f.columns) == ["replicate", "month", "screened", "randomized", "events"]
    assert len(f) == looked.replicates * 60
    wide = f.pivot(index="replicate", columns="month", values="randomized").to_numpy()
    np.testing.assert_array_equal(wide, looked.timeline["randomized"])
    assert (f.groupby("replicate")["events"].diff().dropna() >= 0).all()


def test_unit_to_frame_one_row_per_replicate(looked):
    f = looked.to_frame()
    assert isinstance(f, pd.DataFrame) and len(f) == looked.replicates
    assert f["replicate"].tolist() == list(range(looked.replicates))


PATHWAY_CLI = """\
name: pathway results
simulation: {replicates: 6, seed: 5}
accrual: {rate: 30}
population:
  strata:
    - {name: young, share: 0.5, recurrence: {exponential: {median: 40}}}
    - {name: old, share: 0.5, time_since_diagnosis: 20, recurrence: {exponential: {median: 90}}}
mrd: {model: prevalence, prevalence: 0.2, hazard_ratio: 2}
screening:
  test: {sensitivity: 0.9, specificity: 0.99}
  visits: {schedule: [{every: 3, until: 9}, {every: 6}], anchor: diagnosis}
  prescreen: {consent: 0.9, assay_setup: 0.75, setup_time: 1}
  max_months: 18
arms: {control: {}, treatment: {hazard_ratio: 0.7}}
trial: {enrollment: 30, analysis: {events: 10}}
"""


def test_pathway_keys_reach_the_json_the_csv_and_the_table(tmp_path):
    path = tmp_path / "pathway.yaml"
    path.write_text(PATHWAY_CLI)
    res = CliRunner().invoke(app, ["run", str(path), "-w", "1", "-f", "json", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    s = json.loads(res.stdout)
    for key in ("approached", "registered", "assay_ready", "metastatic_at_staging_share"):
        assert set(s[key]) == {"mean", "median", "p10", "p90"}, key
    assert list(s["by_stratum"]) == ["young", "old"]
    assert s["by_stratum"]["old"]["approached"]["mean"] > 0
    assert s["by_visit"][0]["visit"] == 1 and set(s["by_visit"][0]) == {"visit", "tests", "positive", "positive_share"}
    with open(tmp_path / "out" / "replicates.csv", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header[1:5] == ["approached", "registered", "assay_ready", "screened"]
    assert "metastatic_at_staging" in header and "randomized[old]" in header and "approached[young]" in header
    table = CliRunner().invoke(app, ["run", str(path), "-w", "1"]).stdout
    for text in ("approached", "registered", "assay set up", "staged metastatic share", "by stratum",
                 "by visit", "young", "old"):
        assert text in table, text
