"""Unit tier for `trialsim init` (trialsim/cli/init.py): every starting
scenario, from a template or from the answers, validates and runs."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from trialsim import load_scenario, simulate
from trialsim.cli import app

runner = CliRunner()


@pytest.mark.parametrize("template", ["conventional", "ctdna", "marrow"])
def test_unit_every_template_validates_and_runs(tmp_path, template):
    out = tmp_path / f"{template}.yaml"
    res = runner.invoke(app, ["init", "--template", template, "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert text.count("#") >= 10          # a commented file, not bare values
    sc = load_scenario(out)
    assert (sc.screening is None) == (template == "conventional")
    r = simulate(sc, replicates=4, seed=1, workers=1)
    assert r.replicates == 4


@pytest.mark.parametrize("answers,model,assay", [
    ("screening\nctdna\nreference\n", "lead_time", "ctDNA"),
    ("screening\nctdna\nprevalence\n", "prevalence", "ctDNA"),
    ("screening\nmarrow\nprevalence\n", "prevalence", "marrow"),
    ("screening\nmarrow\nreference\n", "lead_time", "marrow"),
    ("conventional\n", None, None),
    ("\n\n\n", "lead_time", "ctDNA"),      # the defaults
])
def test_unit_answers_decide_the_scenario(tmp_path, answers, model, assay):
    out = tmp_path / "scenario.yaml"
    res = runner.invoke(app, ["init", "--out", str(out)], input=answers)
    assert res.exit_code == 0, res.output
    sc = load_scenario(out)
    if model is None:
        assert sc.mrd is None and sc.screening is None
    else:
        assert sc.mrd.model == model
        assert assay in sc.screening.test.name


def test_unit_default_file_and_no_overwrite_without_force(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init", "-t", "conventional"]).exit_code == 0
    assert (tmp_path / "scenario.yaml").exists()
    (tmp_path / "scenario.yaml").write_text("mine")
    res = runner.invoke(app, ["init", "-t", "ctdna"])
    assert res.exit_code == 2 and "exists" in res.output
    assert (tmp_path / "scenario.yaml").read_text() == "mine"
    assert runner.invoke(app, ["init", "-t", "ctdna", "--force"]).exit_code == 0
    assert "ctDNA" in (tmp_path / "scenario.yaml").read_text()


def test_unit_questions_without_answers_exit_2_naming_the_option(tmp_path):
    res = runner.invoke(app, ["init", "--out", str(tmp_path / "s.yaml")], input="")
    assert res.exit_code == 2
    assert "--template" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "s.yaml").exists()


def test_unit_unknown_template_is_refused(tmp_path):
    res = runner.invoke(app, ["init", "--template", "zest", "--out", str(tmp_path / "s.yaml")])
    assert res.exit_code == 2
