"""trialsim.design.sample_size: Lachin-Foulkes (and Schoenfeld / Freedman) sample
size and duration.

Theory tier (see docs/architecture.md, "Validation tiers"): seeded simulation
against the closed form or the null distribution, within 4 Monte Carlo
standard errors.
"""

from __future__ import annotations

import math

import numpy as np

from tests.support.montecarlo import within
from trialsim.design import lachin_foulkes


def test_theory_lachin_foulkes_hazard_difference_test_has_its_power():
    """The test Lachin & Foulkes size: Z = (lam_c_hat - lam_t_hat) /
    sqrt(phi(lam_bar_hat) (1/n_c + 1/n_t)) with lam_hat = events / exposure.
    At n from the formula its simulated power is 1 - beta up to the
    asymptotic approximation (about +0.007 at this n: docs/design.md)."""
    r = lachin_foulkes(hazard_ratio=0.75, control_rate=0.03, accrual_time=18, follow_up=12,
                       dropout_rate=0.005, allocation=1.5)
    reps = 4000
    rng = np.random.default_rng(8)
    nc = round(r.n_control)
    nt = round(r.n) - nc

    def arm(m, lam):
        a = rng.uniform(0, 18, (reps, m))
        t, d = rng.exponential(1 / lam, (reps, m)), rng.exponential(1 / 0.005, (reps, m))
        x = np.minimum(np.minimum(t, d), 30 - a)
        return ((t <= d) & (t <= 30 - a)).sum(axis=1), x.sum(axis=1)

    ec, xc = arm(nc, 0.03)
    et, xt = arm(nt, 0.0225)
    lc, lt = ec / xc, et / xt
    lbar = (nc * lc + nt * lt) / (nc + nt)
    k = lbar + 0.005
    p_event = lbar / k * (1 - (np.exp(-k * 12) - np.exp(-k * 30)) / (k * 18))
    z = (lc - lt) / np.sqrt(lbar ** 2 / p_event * (1 / nc + 1 / nt))
    power = np.mean(z >= 1.959963984540054)
    within(power, 0.8, math.sqrt(0.8 * 0.2 / reps))
