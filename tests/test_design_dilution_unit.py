"""trialsim.design.dilution: the diluted hazard ratio.

Unit tier (see docs/architecture.md, "Validation tiers"): exact expectations,
loop references and argument errors; ``test_property_`` tests are hypothesis
invariants.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from trialsim.design import diluted_hazard_ratio, schoenfeld_power


def test_unit_diluted_hazard_ratio_without_dilution_is_the_hazard_ratio():
    a = diluted_hazard_ratio(true_positive_share=1.0, positive_rate=0.05, hazard_ratio=0.7, horizon=36)
    assert a.hazard_ratio == pytest.approx(0.7, rel=1e-10)
    # equal rates in positives and negatives: proportional hazards whatever the mix
    b = diluted_hazard_ratio(true_positive_share=0.4, positive_rate=0.02, negative_rate=0.02, hazard_ratio=0.6,
                             horizon=24, accrual_time=12, dropout_rate=0.01, allocation=2)
    assert b.hazard_ratio == pytest.approx(0.6, rel=1e-10)
    assert b.event_probability_control == pytest.approx(
        0.02 / 0.03 * (1 - (math.exp(-0.03 * 12) - math.exp(-0.03 * 24)) / (0.03 * 12)), rel=1e-9)
    assert b.power(500) == pytest.approx(schoenfeld_power(events=500, hazard_ratio=0.6, allocation=2), rel=1e-9)


def test_unit_diluted_hazard_ratio_moves_towards_one_with_false_positives():
    kw = dict(positive_rate=0.05, negative_rate=0.002, hazard_ratio=0.7, eradication=0.3, horizon=36)
    hrs = [diluted_hazard_ratio(true_positive_share=pi, **kw).hazard_ratio for pi in (1.0, 0.7, 0.4, 0.1)]
    assert all(a < b for a, b in zip(hrs, hrs[1:])) and hrs[-1] < 1


def test_unit_diluted_hazard_ratio_matches_an_independent_quadrature():
    """Hazards from numerical derivatives of the arms' survival on a fine
    grid, log-rank weights, trapezoid rule: the same number."""
    pi, e, hr, lp, ln, le, T, A, eta, r = 0.6, 0.35, 0.75, 0.04, 0.004, 0.004, 48.0, 18.0, 0.003, 1.5
    res = diluted_hazard_ratio(true_positive_share=pi, eradication=e, hazard_ratio=hr, positive_rate=lp,
                               negative_rate=ln, eradicated_rate=le, horizon=T, accrual_time=A, dropout_rate=eta,
                               allocation=r)
    t = np.linspace(0, T, 400_001)[:-1]      # G(T) = 0: nobody is at risk at the horizon
    s_c = pi * np.exp(-lp * t) + (1 - pi) * np.exp(-ln * t)
    s_t = pi * (e * np.exp(-le * t) + (1 - e) * np.exp(-hr * lp * t)) + (1 - pi) * np.exp(-hr * ln * t)
    h_c = -np.gradient(np.log(s_c), t)
    h_t = -np.gradient(np.log(s_t), t)
    g = np.exp(-eta * t) * np.clip((T - t) / A, 0, 1)
    yc, yt = s_c / (1 + r) * g, s_t * r / (1 + r) * g
    w = yc * yt / (yc + yt) ** 2 * (yc * h_c + yt * h_t)
    avg = np.trapezoid(w * np.log(h_t / h_c), t) / np.trapezoid(w, t)
    assert res.log_hazard_ratio == pytest.approx(avg, abs=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    (dict(true_positive_share=1.5), "true_positive_share"),
    (dict(positive_rate=-0.1), "positive_rate"),
    (dict(horizon=0), "horizon"),
    (dict(accrual_time=50), "accrual_time"),
    (dict(true_positive_share=1.0, eradication=1.0), "hazard ratio is 0"),
    (dict(positive_rate=0.0, negative_rate=0.0), "control arm has no events"),
])
def test_unit_diluted_hazard_ratio_argument_errors(kwargs, message):
    base = dict(true_positive_share=0.7, positive_rate=0.05, hazard_ratio=0.8, horizon=36)
    with pytest.raises(ValueError, match=message):
        diluted_hazard_ratio(**{**base, **kwargs})
