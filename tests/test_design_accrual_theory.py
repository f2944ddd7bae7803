"""trialsim.design.accrual: expected events under piecewise accrual and dropout.

Theory tier (see docs/architecture.md, "Validation tiers"): seeded simulation
against the closed form or the null distribution, within 4 Monte Carlo
standard errors.
"""

from __future__ import annotations

import math

import numpy as np

from tests.support.montecarlo import within
from trialsim.design import expected_events


def test_theory_expected_events_match_monte_carlo():
    """Piecewise uniform entry, exponential event and dropout times, both arms."""
    rng = np.random.default_rng(4)
    pieces, n_mc = [(6, 10), (12, 25)], 1_000_000
    hr, lam, eta, r, t_cut = 0.7, 0.03, 0.004, 2.0, 30.0
    n_acc = 60 + 300
    piece = rng.random(n_mc) < 60 / n_acc
    entry = np.where(piece, rng.uniform(0, 6, n_mc), rng.uniform(6, 18, n_mc))
    treated = rng.random(n_mc) < r / (1 + r)
    t_ev = rng.exponential(1.0, n_mc) / (lam * np.where(treated, hr, 1.0))
    event = (t_ev <= rng.exponential(1 / eta, n_mc)) & (entry + t_ev <= t_cut)
    e = expected_events(t_cut, accrual=pieces, hazard_ratio=hr, control_rate=lam, allocation=r, dropout_rate=eta)
    p = event.mean()
    within(p * n_acc, e.total[0], n_acc * math.sqrt(p * (1 - p) / n_mc))
