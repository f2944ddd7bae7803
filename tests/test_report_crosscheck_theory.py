"""Theory tier (slow): trialsim.report.crosscheck, the simulated power against Schoenfeld's at full size."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import SCENARIOS
from tests.support.report_html import parse, value
from trialsim.report import make_report


@pytest.mark.slow
def test_theory_conventional_report_schoenfeld_cross_check_agrees(tmp_path):
    """At 4,000 replicates the simulated power of the conventional design sits
    within 4 Monte Carlo SE of Schoenfeld's power at the simulated events, and
    so does every point of the hazard-ratio curve."""
    rep = make_report(SCENARIOS / "conventional_logrank.yaml", out=tmp_path, replicates=4000, workers=2)
    h = parse(rep.html)
    assert abs(value(h, "crosscheck-gap-se")) <= 4
    for c in rep.curves:
        se = np.sqrt(c.analytic * (1 - c.analytic) / c.replicates)
        assert np.all(np.abs(c.power - c.analytic) <= 4 * np.maximum(se, 1e-3) + 0.01), (c.path, c.power, c.analytic)
