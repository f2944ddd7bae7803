"""Monte Carlo uncertainty of a simulated proportion (power, type I error).

One estimate and one interval for every place that shows a simulated
power: the standard error ``sqrt(p (1 - p) / n)`` (the "± MCSE" printed
beside a power) and the Wilson score interval for its 95% band. Wilson's
interval stays inside [0, 1] and keeps close to its nominal coverage near
0 and 1 (a type I error of 0.025 from 1,000 trials, a power of 0.99), where
the Wald interval ``p ± 1.96 SE`` collapses to a point or leaves [0, 1].
"""
from __future__ import annotations

import numpy as np

__all__ = ["Z95", "binomial_mcse", "wilson_interval"]

Z95 = 1.959963984540054      # the standard normal's 97.5% quantile


def binomial_mcse(p, n):
    """Monte Carlo standard error of a proportion ``p`` estimated from ``n`` trials."""
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.sqrt(p * (1 - p) / n)
    return float(out) if out.ndim == 0 else out


def wilson_interval(p, n, z: float = Z95):
    """Wilson score interval (95% by default) of a proportion ``p`` over ``n``
    trials; arrays broadcast. Returns ``(low, high)``, clipped to [0, 1]."""
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low, high = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high
