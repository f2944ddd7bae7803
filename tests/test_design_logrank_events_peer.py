"""trialsim.design.logrank_events: Schoenfeld's and Freedman's events and power.

Peer tier (see docs/architecture.md, "Validation tiers"): golden values from
rpact 3.3.4 in tests/golden/rpact_boundaries.json, written by
tools/rpact/make_golden_gsd.R; each entry carries the exact R call
(``r_call``) that produced it, e.g.

    getDesignGroupSequential(kMax = 3, alpha = 0.025, sided = 1, typeOfDesign = "asOF",
        informationRates = c(0.333333333333333, 0.666666666666667, 1), beta = 0.2,
        typeBetaSpending = "bsOF", bindingFutility = FALSE)

The tests ask for agreement to 1e-6 in z (the largest differences observed
are listed in docs/design.md).
"""

from __future__ import annotations

import pytest

from tests.support.rpact_golden import GOLDEN
from trialsim.design import (
    freedman_events,
    freedman_power,
    schoenfeld_events,
    schoenfeld_power,
)

POWERS = GOLDEN["power_survival"]


@pytest.mark.parametrize("d", POWERS, ids=[d["id"] for d in POWERS])
def test_peer_freedman_and_schoenfeld_match_rpact(d):
    """getPowerSurvival / getSampleSizeSurvival. rpact's two-sided power adds
    the wrong-direction rejection (here 4.6e-6); ours leaves it out."""
    i = d["inputs"]
    power_f, events_f = ((freedman_power, freedman_events) if i["type_of_computation"] == "Freedman"
                         else (schoenfeld_power, schoenfeld_events))
    kw = dict(hazard_ratio=i["hazard_ratio"], alpha=i["alpha"], sided=i["sided"], allocation=i["allocation_ratio"])
    assert power_f(events=i["events"], **kw) == pytest.approx(d["power"], abs=1e-5 if i["sided"] == 2 else 1e-12)
    assert events_f(power=0.8, **kw) == pytest.approx(d["events_for_80"], rel=1e-12)
