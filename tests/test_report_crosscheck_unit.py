"""Unit tier: trialsim.report.crosscheck, the report shows the run's analytic companions."""

from __future__ import annotations

import pytest

from tests.conftest import CONVENTIONAL, write
from tests.support.report_html import parse, value
from trialsim import load_scenario
from trialsim.engine import simulate
from trialsim.report import make_report


def test_unit_group_sequential_cross_check_uses_the_simulators_boundaries(tmp_path):
    """The report's exit-probability power is the run's analytic companion:
    the same boundaries (looks at the ceil(f * D)-th event, futility with the
    allocation) at the same drift."""
    text = CONVENTIONAL.replace("sided: 1}", "sided: 1, looks: [0.4, 0.7], futility: {beta: 0.2, hazard_ratio: 0.7}}")
    path = write(tmp_path, text, "gs.yaml")
    rep = make_report(path, out=tmp_path / "report", replicates=20, seed=3, workers=1)
    run = simulate(load_scenario(path), replicates=20, seed=3, workers=1).summary()
    assert value(parse(rep.html), "gsd-power") == pytest.approx(run["analytic"]["schoenfeld_power"], abs=1e-12)
