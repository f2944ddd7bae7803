"""What the design modules share: normal quantiles of alpha and power with
their argument checks, the checks of positive numbers, hazard ratios and
probabilities, and one tight root finder, so that every closed form rejects
bad input with the same words."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np


_N = NormalDist()


def _special():
    """scipy.special, imported on first use."""
    # deferred: scipy.special costs 0.2-0.3 s of start-up; a run without interim looks never needs it
    from scipy import special

    return special


def _z(alpha: float, sided: int) -> float:
    if sided not in (1, 2):
        raise ValueError(f"sided must be 1 or 2, got {sided}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    return _N.inv_cdf(1 - alpha / sided)


def _check_power(power: float) -> float:
    if not 0 < power < 1:
        raise ValueError(f"power must lie in (0, 1), got {power}")
    return _N.inv_cdf(power)


def _check_positive(**kw) -> None:
    for name, v in kw.items():
        if not (isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive number, got {v!r}")


def _check_hr(hazard_ratio: float) -> None:
    _check_positive(hazard_ratio=hazard_ratio)
    if hazard_ratio == 1:
        raise ValueError("hazard_ratio must not be 1 (no effect: no sample size gives power)")


def _prob(name: str, v) -> float:
    if not (isinstance(v, (int, float, np.floating, np.integer)) and 0 <= v <= 1):
        raise ValueError(f"{name} must be a probability in [0, 1], got {v!r}")
    return float(v)


def _solve(f, lo: float, hi: float) -> float:
    """Root of an increasing or decreasing f on [lo, hi] (brentq, tight)."""
    from scipy import optimize  # deferred: scipy.optimize and .integrate cost 0.3 s at start-up
    return optimize.brentq(f, lo, hi, xtol=1e-13, rtol=4 * np.finfo(float).eps, maxiter=200)
