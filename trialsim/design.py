"""Analytic companions of the simulation (closed forms a statistician checks
simulated figures against). Schoenfeld's approximation for the log-rank test:
with d events, allocation ratio r (treatment : control) and hazard ratio HR,
the log-rank statistic is approximately normal with mean
sqrt(d r) / (1 + r) * |log HR| and unit variance.
"""

from __future__ import annotations

import math
from statistics import NormalDist

_N = NormalDist()


def _z(alpha: float, sided: int) -> float:
    if sided not in (1, 2):
        raise ValueError(f"sided must be 1 or 2, got {sided}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    return _N.inv_cdf(1 - alpha / sided)


def schoenfeld_power(*, events: float, hazard_ratio: float, alpha: float = 0.025, sided: int = 1,
                     allocation: float = 1.0) -> float:
    """Power of the log-rank test at ``events`` events (Schoenfeld 1981).

    allocation: patients on treatment per patient on control. Two-sided power
    ignores rejection in the wrong direction, as rpact and gsDesign do.
    """
    if hazard_ratio <= 0 or events <= 0 or allocation <= 0:
        raise ValueError("hazard_ratio, events and allocation must be positive")
    drift = math.sqrt(events * allocation) / (1 + allocation) * abs(math.log(hazard_ratio))
    return _N.cdf(drift - _z(alpha, sided))


def schoenfeld_events(*, hazard_ratio: float, alpha: float = 0.025, power: float = 0.8, sided: int = 1,
                      allocation: float = 1.0) -> float:
    """Events needed for ``power`` (not rounded): (1+r)^2/r (z_a + z_b)^2 / log(HR)^2."""
    if hazard_ratio <= 0 or hazard_ratio == 1:
        raise ValueError("hazard_ratio must be positive and not 1")
    if not 0 < power < 1:
        raise ValueError(f"power must lie in (0, 1), got {power}")
    zb = _N.inv_cdf(power)
    return (1 + allocation) ** 2 / allocation * (_z(alpha, sided) + zb) ** 2 / math.log(hazard_ratio) ** 2
