"""The sample-size search (trialsim/sweeps/search.py).

Unit tier: the design at a value keeps the scenario's ratio of events to
enrolment.
"""

from __future__ import annotations

import math

from trialsim.sweeps.search import SizeSearch


def test_unit_design_at_a_value_keeps_the_ratios(small):
    s = SizeSearch(small, solve="trial.enrollment", target=0.8, replicates=10, seed=1, runner=None)
    d = s.design_dict(301)
    assert d["trial"]["enrollment"] == 301 and d["trial"]["analysis"]["events"] == round(301 * 120 / 200)
    s = SizeSearch(small, solve="trial.analysis.events", target=0.8, replicates=10, seed=1, runner=None)
    assert s.design_dict(150)["trial"]["enrollment"] == 200           # within the enrolment: unchanged
    d = s.design_dict(300)                                            # beyond it: raised at 200/120
    assert d["trial"]["analysis"]["events"] == 300 and d["trial"]["enrollment"] == math.ceil(300 * 200 / 120)
