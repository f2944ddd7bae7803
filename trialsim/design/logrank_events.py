"""Events and power of the log-rank test in closed form: Schoenfeld (1981)
and Freedman (1982), as rpact computes them."""

from __future__ import annotations

import math

from trialsim.design.common import _N, _check_hr, _check_positive, _check_power, _z


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
    _check_positive(allocation=allocation)
    zb = _N.inv_cdf(power)
    return (1 + allocation) ** 2 / allocation * (_z(alpha, sided) + zb) ** 2 / math.log(hazard_ratio) ** 2


def freedman_events(*, hazard_ratio: float, alpha: float = 0.025, power: float = 0.8, sided: int = 1,
                    allocation: float = 1.0) -> float:
    """Events needed for ``power`` by Freedman (1982), not rounded:
    ``d = (1 + r HR)^2 / (r (1 - HR)^2) (z_a + z_b)^2``; for r = 1 this is
    Freedman's ``(1 + HR)^2 / (1 - HR)^2 (z_a + z_b)^2``. Same as rpact's
    ``typeOfComputation = "Freedman"``."""
    _check_hr(hazard_ratio)
    _check_positive(allocation=allocation)
    zb = _check_power(power)
    r = allocation
    return (1 + r * hazard_ratio) ** 2 / (r * (1 - hazard_ratio) ** 2) * (_z(alpha, sided) + zb) ** 2


def freedman_power(*, events: float, hazard_ratio: float, alpha: float = 0.025, sided: int = 1,
                   allocation: float = 1.0) -> float:
    """Power of the log-rank test at ``events`` events by Freedman (1982):
    ``Phi(sqrt(d r) |1 - HR| / (1 + r HR) - z_a)`` (rejection in the wrong
    direction ignored, as rpact does)."""
    _check_positive(events=events, hazard_ratio=hazard_ratio, allocation=allocation)
    r = allocation
    drift = math.sqrt(events * r) * abs(1 - hazard_ratio) / (1 + r * hazard_ratio)
    return _N.cdf(drift - _z(alpha, sided))
