"""Unit tier of trialsim.population_plot: a scenario (file or object) is drawn through its
population model, and everything else goes to trialsim.curves.plot unchanged."""

from __future__ import annotations

import pytest

from tests.conftest import CTDNA, SCENARIOS, write
from trialsim import population_plot
from trialsim.cohort import PopulationModel
from trialsim.curves import CurveSpecError, plots, reference
from trialsim.scenario import load_scenario


def test_unit_scenario_file_object_and_population_model_draw_alike(tmp_path):
    path = write(tmp_path, CTDNA)
    sc = load_scenario(path)
    from_file = population_plot.plot(path, months=60)
    from_object = population_plot.plot(sc, months=60)
    from_model = plots.plot(PopulationModel.from_scenario(sc), name=sc.name, months=60)
    titles = [f.axes[0].get_title(loc="left") for f in (from_file, from_object, from_model)]
    assert titles[0] == titles[1] == titles[2] and sc.name in titles[0]
    assert len(from_file.axes) == 2  # the lead_time model adds the detectable-MRD panel
    out = tmp_path / "dtc.svg"
    population_plot.plot(SCENARIOS / "dtc_bone_marrow.yaml", out=out)
    assert b"<svg" in out.read_bytes()[:500]


def test_unit_curves_go_straight_to_the_curves_plot(tmp_path):
    fig = population_plot.plot({"T1N0": reference("pan2017/T1N0")}, months=120)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["T1N0"]
    # the curves subpackage itself does not read scenarios (it sits below them)
    with pytest.raises(CurveSpecError, match="a scenario, not a curve"):
        plots.plot(write(tmp_path, CTDNA))
