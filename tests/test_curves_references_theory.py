"""Theory tier of trialsim.curves.references: draws from a reference curve reproduce its published risk."""

from __future__ import annotations

import math

import numpy as np

from tests.support.curves import N_SE, PAN2017, N
from trialsim.curves import reference


def test_theory_pan2017_risk_from_year5_to_year20():
    """Among survivors recurrence-free at 60 months, the share recurring by 240 is the published risk."""
    rng = np.random.default_rng(2017)
    for group, risk in PAN2017.items():
        c = reference(f"pan2017/{group}")
        r = c.sample_conditional(rng, np.full(N, 60.0))
        share = np.mean(r <= 180.0)
        assert abs(share - risk) <= N_SE * math.sqrt(risk * (1 - risk) / N)
