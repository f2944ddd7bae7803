"""trialsim.design.accrual: expected events under piecewise accrual and dropout.

Unit tier (see docs/architecture.md, "Validation tiers"): exact expectations,
loop references and argument errors; ``test_property_`` tests are hypothesis
invariants.
"""

from __future__ import annotations

import pytest

from trialsim.design import expected_events


def test_unit_expected_events_argument_errors():
    with pytest.raises(ValueError, match="needs n"):
        expected_events(12, accrual=[(None, 10)], hazard_ratio=0.7, control_rate=0.02)
    with pytest.raises(ValueError, match="fewer than"):
        expected_events(12, accrual=[(10, 10)], hazard_ratio=0.7, control_rate=0.02, n=200)
    with pytest.raises(ValueError, match="time"):
        expected_events(-1, accrual=[(10, 10)], hazard_ratio=0.7, control_rate=0.02)
