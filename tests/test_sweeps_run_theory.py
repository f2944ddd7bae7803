"""Sweeps against theory (trialsim/sweeps/run.py).

Theory tier: powers along a hazard-ratio sweep against Schoenfeld's
formula, within 4 Monte Carlo SE.
"""

from __future__ import annotations

import trialsim
from trialsim.design import schoenfeld_power


def test_theory_sweep_powers_match_schoenfeld_within_4_mcse(small):
    """Conventional 1:1 design, 120 events: each simulated power along a
    hazard-ratio sweep lies within 4 Monte Carlo SE of Schoenfeld's power."""
    hrs = [0.6, 0.7, 0.8]
    df = trialsim.sweep(small, {"arms.treatment.hazard_ratio": hrs}, replicates=2000, seed=20261122)
    for hr, p, se in zip(hrs, df["power"], df["power_mcse"]):
        theory = schoenfeld_power(events=120, hazard_ratio=hr, alpha=0.025, sided=1)
        assert abs(p - theory) <= 4 * se, (hr, p, theory, se)
    assert df["power"].is_monotonic_decreasing
