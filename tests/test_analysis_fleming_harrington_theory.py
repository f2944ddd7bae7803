"""trialsim.analysis.fleming_harrington: Fleming-Harrington weighted log-rank and
MaxCombo.

Theory tier (see docs/architecture.md, "Validation tiers"): seeded simulation
against the closed form or the null distribution, within 4 Monte Carlo
standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.support.survival_reference import simulate_cure
from trialsim.analysis import maxcombo, run_test


@pytest.mark.slow
def test_theory_slow_maxcombo_p_value_against_brute_force():
    """The default four (singular correlation): p-values of 8 real maxima
    against 4 million draws of the multivariate normal each: within 4 Monte
    Carlo SE (plus 1e-6)."""
    rng = np.random.default_rng(16)
    time, event, group = simulate_cure(rng, 8, 150, cure_treatment=0.35, ties=True)
    res = maxcombo(time, event, group)
    for r in range(8):
        w, vec = np.linalg.eigh(res.correlation[r])
        L = vec * np.sqrt(np.clip(w, 0, None))
        hits, N = 0, 0
        for _ in range(4):
            z = rng.standard_normal((1_000_000, 4)) @ L.T
            hits += np.count_nonzero(z.max(axis=1) >= res.z_max[r])
            N += z.shape[0]
        p = hits / N
        assert abs(res.p_value(1)[r] - p) <= 4 * math.sqrt(max(p, 1e-6) * (1 - p) / N) + 1e-6


@pytest.mark.slow
def test_theory_slow_power_under_a_delayed_effect():
    """A delayed effect (hazard ratio 1 for 6 months, 0.5 after; control
    median 12; censoring Uniform(24, 48)): FH(0,1), which weighs late
    differences, has more power than the log-rank, and MaxCombo more than the
    log-rank too (R = 2000, n = 300; the gaps are > 10 Monte Carlo SE)."""
    rng = np.random.default_rng(17)
    R, n = 2000, 300
    group = rng.random((R, n)) < 0.5
    lam = math.log(2) / 12.0
    h = rng.exponential(1.0, (R, n)) / lam  # event time at rate 1 per lam
    late = np.where(group, 6.0 + (h - 6.0) / 0.5, h)
    t_event = np.where(h < 6.0, h, late)
    t_cens = rng.uniform(24.0, 48.0, (R, n))
    time, event = np.minimum(t_event, t_cens), t_event <= t_cens
    power = {s: np.mean(run_test(s, time, event, group).p_value(1) <= 0.025)
             for s in ("logrank", "fh(0,1)", "maxcombo")}
    se = math.sqrt(0.25 / R)
    assert power["fh(0,1)"] > power["logrank"] + 4 * se, power
    assert power["maxcombo"] > power["logrank"] + 2 * se, power
