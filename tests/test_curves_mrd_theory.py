"""Theory tier of trialsim.curves.mrd: the calibration solves its defining equation, and the
simulator's survivors (trialsim.cohort.draw_survivors) follow the MRD models' closed forms:
KS p > 0.001, shares within 4 Monte Carlo standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from tests.support.curves import (
    KS_P_MIN,
    MARGINALS,
    N_SE,
    N,
    _ks_against_own_cdf,
    _lead_time_population,
)
from trialsim import cohort
from trialsim.curves import (
    CureMixture,
    Fixed,
    Uniform,
    Weibull,
    detectable_mrd_prevalence,
    mrd_components,
    reference,
)


def test_theory_mrd_components_sample_like_the_engine():
    """Sampling the negative component reproduces its survival (KS, p > 0.001), and the
    share of MRD-positive survivors recurring by 60 months matches S_pos within 4 SE."""
    curve, tsd = MARGINALS["pan2017"]
    pos, neg = mrd_components(curve, prevalence=0.2, hazard_ratio=4.0, time_since_diagnosis=tsd)
    rng = np.random.default_rng(2030)
    draws = neg.sample(rng, N)
    assert _ks_against_own_cdf(neg, draws) > KS_P_MIN
    # the engine: a prevalence stratum, everyone MRD-positive at entry (u_MRD < p), no onset/clearance
    mrd = cohort.MrdModel(kind="prevalence", prevalence=0.2, hazard_ratio=4.0)
    pop = cohort.PopulationModel((cohort.StratumModel("s", 1.0, Fixed(tsd), curve, mrd),), None, np.array([1.0]))
    u = rng.random((N, cohort.N_UNIFORMS))
    s = cohort.draw_survivors(pop, u)
    positive = s.mrd_start == 0.0
    share = np.mean(s.t_rec[positive] <= 60.0)
    truth = float(pos.cdf(60.0))
    assert abs(share - truth) <= N_SE * math.sqrt(truth * (1 - truth) / positive.sum())


def test_theory_lead_time_leaves_the_marginal_curve_untouched():
    """T_R of lead_time survivors (cohort.draw_survivors) against S(tsd + t)/S(tsd): KS p > 0.001."""
    curve = reference("pan2017/T2N4-9")
    pop = _lead_time_population(curve, Uniform(60, 120), Weibull.from_median(10.5, 1.4), dormant=0.01)
    s = cohort.draw_survivors(pop, np.random.default_rng(77).random((N, cohort.N_UNIFORMS)))
    # probability integral transform: F(T_R | tsd) is Uniform(0, 1); infinite T_R (none here) would map to 1
    u = 1.0 - np.asarray(curve.survival(s.tsd + s.t_rec)) / np.asarray(curve.survival(s.tsd))
    assert stats.kstest(u, "uniform").pvalue > KS_P_MIN
    # and at one fixed tsd, directly against the conditional curve
    pop = _lead_time_population(curve, Fixed(84.0), Weibull.from_median(10.5, 1.4))
    s = cohort.draw_survivors(pop, np.random.default_rng(78).random((N, cohort.N_UNIFORMS)))
    cond = lambda r: 1.0 - np.asarray(curve.survival(84.0 + r)) / curve.survival(84.0)  # noqa: E731
    assert stats.kstest(s.t_rec, cond).pvalue > KS_P_MIN


@pytest.mark.parametrize("case", ["weibull_fixed_tsd", "pan_uniform_tsd", "cure_dormant"])
def test_theory_detectable_mrd_prevalence_closed_form(case):
    """Share of simulated survivors with detectable MRD at t (cohort.draw_survivors, no
    other-cause death) against E_L[m(t) - m(t + L)] + d m(inf), within 4 Monte Carlo SE."""
    n = 200_000
    lead = Weibull.from_median(10.5, 1.4)
    if case == "weibull_fixed_tsd":
        curve, tsd, dormant = Weibull.from_median(60, 1.2), Fixed(12.0), 0.0
    elif case == "pan_uniform_tsd":
        curve, tsd, dormant = reference("pan2017/T2N4-9"), Uniform(60, 120), 0.0
    else:
        curve, tsd, dormant = CureMixture(fraction=0.7, curve=Weibull.from_median(24, 1.0)), Fixed(0.0), 0.05
    pop = _lead_time_population(curve, tsd, lead, dormant)
    s = cohort.draw_survivors(pop, np.random.default_rng(4321).random((n, cohort.N_UNIFORMS)))
    times = np.array([0.0, 6.0, 24.0, 60.0])
    truth = detectable_mrd_prevalence(curve, lead, times, dormant_share=dormant, time_since_diagnosis=tsd)
    for t, p in zip(times, truth):
        share = np.mean(s.detectable(t))
        assert p > 0.002
        assert abs(share - p) <= N_SE * math.sqrt(p * (1 - p) / n), (t, share, p)


@pytest.mark.parametrize("p,h", [(0.08, 2.3), (0.3, 5.0), (0.5, 0.6), (0.2, 1.0), (0.0, 2.0), (1.0, 2.0)])
def test_theory_negative_survival_solves_its_defining_equation(p, h):
    """The one calibration (used by the simulator's draws and by the MRD components):
    u = negative_survival(m) satisfies p·u^h + (1 - p)·u = m to rounding, and
    negative_cumhaz is its hazard-scale view with exact ends."""
    from trialsim.curves import negative_cumhaz, negative_survival

    m = np.concatenate(([1.0], np.geomspace(1.0, 1e-12, 241)[1:], [0.5, 0.25]))
    u = negative_survival(m, p, h)
    assert np.all((u >= 0) & (u <= 1))
    # The stopping rule is absolute (Newton steps below 1e-15 in u), so where u is
    # tiny (h < 1 and m < 1e-8) the residual is up to ~1e-10 on the survival scale;
    # elsewhere it is at rounding. The draws use this arithmetic as it is.
    np.testing.assert_allclose(p * u**h + (1 - p) * u, m, rtol=1e-12, atol=1e-10)
    big = m > 1e-6
    np.testing.assert_allclose((p * u**h + (1 - p) * u)[big], m[big], rtol=1e-12, atol=1e-15)
    lam = -np.log(m)
    y = negative_cumhaz(np.concatenate((lam, [np.inf])), p, h)
    assert y[0] == 0.0 and y[-1] == np.inf
    np.testing.assert_allclose(p * np.exp(-h * y[1:-1]) + (1 - p) * np.exp(-y[1:-1]), m[1:], rtol=1e-12, atol=1e-10)
