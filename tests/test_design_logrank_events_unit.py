"""trialsim.design.logrank_events: Schoenfeld's and Freedman's events and power.

Unit tier (see docs/architecture.md, "Validation tiers"): exact expectations,
loop references and argument errors; ``test_property_`` tests are hypothesis
invariants.
"""

from __future__ import annotations

import pytest

from trialsim.design import (
    freedman_events,
    freedman_power,
    schoenfeld_events,
    schoenfeld_power,
)


def test_unit_freedman_equal_allocation_is_the_textbook_formula():
    za, zb = 1.959963984540054, 0.8416212335729143
    assert freedman_events(hazard_ratio=0.7, power=0.8) == pytest.approx((1.7 / 0.3) ** 2 * (za + zb) ** 2, rel=1e-12)


@pytest.mark.parametrize("hr, r, sided", [(0.7, 1.0, 1), (0.6, 2.0, 1), (1.3, 0.5, 2)])
def test_unit_power_and_events_are_inverse(hr, r, sided):
    for ev_f, pw_f in ((freedman_events, freedman_power), (schoenfeld_events, schoenfeld_power)):
        d = ev_f(hazard_ratio=hr, power=0.85, sided=sided, alpha=0.05, allocation=r)
        assert pw_f(events=d, hazard_ratio=hr, sided=sided, alpha=0.05, allocation=r) == pytest.approx(0.85, abs=1e-12)


def test_unit_freedman_argument_errors():
    with pytest.raises(ValueError, match="not be 1"):
        freedman_events(hazard_ratio=1.0)
    with pytest.raises(ValueError, match="power"):
        freedman_events(hazard_ratio=0.7, power=1.0)
    with pytest.raises(ValueError, match="allocation"):
        freedman_events(hazard_ratio=0.7, allocation=0)
    with pytest.raises(ValueError, match="events"):
        freedman_power(events=-1, hazard_ratio=0.7)
    with pytest.raises(ValueError, match="allocation"):
        schoenfeld_events(hazard_ratio=0.7, allocation=-1)
