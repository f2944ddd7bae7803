"""trialsim.design.accrual: expected events under piecewise accrual and dropout.

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

import numpy as np
import pytest

from tests.support.rpact_golden import GOLDEN, _accrual_args, _dropout
from trialsim.design import expected_events

EVENTS = GOLDEN["event_probabilities"]


@pytest.mark.parametrize("d", EVENTS, ids=[d["id"] for d in EVENTS])
def test_peer_expected_events_match_rpact(d):
    """getEventProbabilities: pure probability (accrual x exponential survival
    x exponential dropout), so it agrees to rounding."""
    i = d["inputs"]
    e = expected_events(i["time"], hazard_ratio=i["hazard_ratio"], control_rate=i["lambda2"],
                        allocation=i["allocation_ratio"], dropout_rate=_dropout(i), **_accrual_args(i))
    n = d["max_number_of_subjects"]
    r = i["allocation_ratio"]
    assert e.randomized[-1] == pytest.approx(n, rel=1e-12)
    np.testing.assert_allclose(np.array(e.total) / n, d["overall_event_probabilities"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.array(e.treatment) / (n * r / (1 + r)), d["event_probabilities1"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.array(e.control) / (n / (1 + r)), d["event_probabilities2"], rtol=0, atol=1e-12)
