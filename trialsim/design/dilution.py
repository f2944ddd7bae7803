"""The hazard ratio the log-rank test sees when false positives and
non-eradicated patients are randomised: the information-weighted average of
the log hazard ratio of two exponential mixtures."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trialsim.design.common import _N, _check_positive, _prob, _z


@dataclass(frozen=True)
class DilutedHazardRatio:
    """The effect the log-rank test sees in a randomised mixture."""

    hazard_ratio: float
    """exp(average log HR(t) over [0, horizon], log-rank information weights)."""
    true_positive_share: float
    event_probability_control: float
    """P(event observed by the end of follow-up), control arm."""
    event_probability_treatment: float
    allocation: float

    @property
    def log_hazard_ratio(self) -> float:
        return math.log(self.hazard_ratio)

    def drift(self, events: float) -> float:
        """Schoenfeld drift at ``events`` events: sqrt(d r) / (1 + r) |log HR|."""
        _check_positive(events=events)
        r = self.allocation
        return math.sqrt(events * r) / (1 + r) * abs(self.log_hazard_ratio)

    def power(self, events: float, *, alpha: float = 0.025, sided: int = 1) -> float:
        """Schoenfeld's power at ``events`` events with the diluted hazard ratio."""
        return _N.cdf(self.drift(events) - _z(alpha, sided))


def _mixture_arms(pi, erad, hr, lam_pos, lam_neg, lam_erad):
    """Per arm, (weights, rates) of the exponential mixture."""
    control = (np.array([pi, 1 - pi]), np.array([lam_pos, lam_neg]))
    treatment = (np.array([pi * erad, pi * (1 - erad), 1 - pi]), np.array([lam_erad, hr * lam_pos, hr * lam_neg]))
    return control, treatment


def diluted_hazard_ratio(*, true_positive_share: float, positive_rate: float, hazard_ratio: float = 1.0,
                         eradication: float = 0.0, negative_rate: float = 0.0, eradicated_rate: float = 0.0,
                         horizon: float, allocation: float = 1.0, dropout_rate: float = 0.0,
                         accrual_time: float = 0.0) -> DilutedHazardRatio:
    """The hazard ratio the log-rank test sees when a share ``1 - pi`` of the
    randomised are false positives and a share ``eradication`` of true
    positives on treatment is eradicated, under exponential hazards.

    Arms (docs/model.md, arm effects): control = pi Exp(positive_rate) +
    (1 - pi) Exp(negative_rate); treatment = pi [e Exp(eradicated_rate) +
    (1 - e) Exp(HR positive_rate)] + (1 - pi) Exp(HR negative_rate).
    eradicated_rate is 0 in the lead_time model (the recurrence is removed)
    and the MRD-negative rate in the prevalence model.

    The arm hazards h_c(t), h_t(t) of these mixtures are not proportional, so
    the answer is the average of log(h_t / h_c) over [0, horizon] weighted by
    the log-rank information density
    ``w(t) = G(t) S_c S_t n_c n_t / (n_c S_c + n_t S_t)^2 (n_c S_c h_c + n_t S_t h_t)``
    (Schoenfeld 1981; the expected variance increment of the log-rank
    statistic), with censoring survival G(t) = exp(-dropout t) times the
    share of patients followed at least t (uniform accrual over
    ``accrual_time`` months, analysis ``horizon`` months after the first
    randomisation; all followed for ``horizon`` when accrual_time = 0). The
    log-rank drift at d events is then close to ``sqrt(d r)/(1 + r) |log HR|``.
    """
    from scipy import integrate  # deferred: scipy.integrate and .optimize cost 0.3 s at start-up
    pi = _prob("true_positive_share", true_positive_share)
    e = _prob("eradication", eradication)
    _check_positive(hazard_ratio=hazard_ratio, horizon=horizon, allocation=allocation)
    for name, v in (("positive_rate", positive_rate), ("negative_rate", negative_rate),
                    ("eradicated_rate", eradicated_rate), ("dropout_rate", dropout_rate),
                    ("accrual_time", accrual_time)):
        if not (isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a non-negative number, got {v!r}")
    if accrual_time > horizon:
        raise ValueError("accrual_time must not exceed horizon (the analysis is after the last randomisation)")
    (wc, rc), (wt, rt) = _mixture_arms(pi, e, hazard_ratio, positive_rate, negative_rate, eradicated_rate)
    if not np.any((wc > 0) & (rc > 0)):
        raise ValueError("the control arm has no events (positive_rate and negative_rate are 0 where it has patients)")
    if not np.any((wt > 0) & (rt > 0)):
        raise ValueError("the treatment arm has no events: the hazard ratio is 0")
    nc, nt = 1 / (1 + allocation), allocation / (1 + allocation)

    def arm(w, rates, t):
        ex = w * np.exp(-rates * t)
        s = ex.sum()
        return s, (rates * ex).sum() / s

    def censor(t):
        g = math.exp(-dropout_rate * t)
        if accrual_time > 0:
            g *= min(1.0, max(0.0, (horizon - t) / accrual_time))
        return g

    def weight(t):
        sc, hc = arm(wc, rc, t)
        st, ht = arm(wt, rt, t)
        yc, yt = nc * sc, nt * st
        return censor(t) * yc * yt / (yc + yt) ** 2 * (yc * hc + yt * ht), hc, ht

    def num(t):
        w, hc, ht = weight(t)
        return w * (math.log(ht) - math.log(hc)) if w > 0 else 0.0

    opts = dict(limit=200, epsabs=1e-14, epsrel=1e-10)
    den = integrate.quad(lambda t: weight(t)[0], 0.0, horizon, **opts)[0]
    if den <= 0:
        raise ValueError("no information: no events expected before horizon")
    avg = integrate.quad(num, 0.0, horizon, **opts)[0] / den

    def event_probability(w, rates):
        # P(event before censoring) = int_0^horizon f(t) G(t) dt
        f = lambda t: float((w * rates * np.exp(-rates * t)).sum()) * censor(t)  # noqa: E731
        return integrate.quad(f, 0.0, horizon, **opts)[0]

    return DilutedHazardRatio(hazard_ratio=math.exp(avg), true_positive_share=pi,
                              event_probability_control=event_probability(wc, rc),
                              event_probability_treatment=event_probability(wt, rt), allocation=float(allocation))
