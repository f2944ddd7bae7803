"""trialsim.design.group_sequential: group-sequential boundaries and exit
probabilities.

Theory tier (see docs/architecture.md, "Validation tiers"): seeded simulation
against the closed form or the null distribution, within 4 Monte Carlo
standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.support.montecarlo import within
from trialsim.design import Boundaries, boundaries, exit_probabilities


def _simulate_looks(b: Boundaries, drift: float, n: int, seed: int, futility: bool = True):
    """Z_k = (B(t_k) + drift t_k) / sqrt(t_k), B a Brownian motion; stop at the
    first crossing. Returns per look counts of efficacy (either side) and futility stops."""
    rng = np.random.default_rng(seed)
    t = np.asarray(b.information_fractions)
    inc = rng.standard_normal((n, t.size)) * np.sqrt(np.diff(t, prepend=0.0))
    z = (np.cumsum(inc, axis=1) + drift * t) / np.sqrt(t)
    alive = np.ones(n, dtype=bool)
    eff, fut = np.zeros(t.size), np.zeros(t.size)
    for k in range(t.size):
        cross = (np.abs(z[:, k]) if b.sided == 2 else z[:, k]) >= b.efficacy[k]
        f = np.zeros(n, dtype=bool)
        if futility and b.futility is not None and k < t.size - 1:
            f = z[:, k] <= b.futility[k]
        eff[k] = np.sum(alive & cross)
        fut[k] = np.sum(alive & ~cross & f)
        alive &= ~cross & ~f
    return eff / n, fut / n


@pytest.mark.parametrize("name, kwargs, drift", [
    ("OF, futility", dict(information_fractions=[0.3, 0.6], futility={"spending": "obrien_fleming", "beta": 0.2}), 2.5),
    ("Pocock, null", dict(information_fractions=[0.25, 0.5, 0.75], spending="pocock"), 0.0),
    ("HSD, two-sided", dict(information_fractions=[0.4, 0.7], spending="hsd(-2)", sided=2, alpha=0.05), 2.0),
    ("classical OF", dict(information_fractions=[0.5], spending="classical_obrien_fleming"), 2.8),
])
def test_theory_exit_probabilities_match_simulated_correlated_normals(name, kwargs, drift):
    n = 400_000
    b = boundaries(**kwargs)
    ex = exit_probabilities(b, drift)
    eff, fut = _simulate_looks(b, drift, n, seed=20250611)
    for p_sim, p in zip(eff, ex.efficacy + ex.efficacy_lower):
        within(p_sim, p, math.sqrt(max(p * (1 - p), 1e-6) / n))
    for p_sim, p in zip(fut, ex.futility):
        within(p_sim, p, math.sqrt(max(p * (1 - p), 1e-6) / n))
