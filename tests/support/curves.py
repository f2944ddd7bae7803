"""Shared helpers of the curves tests: the kinds under test, thresholds, data files."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from trialsim import cohort
from trialsim.curves import (
    CureMixture,
    Curve,
    Exponential,
    Fixed,
    LogLogistic,
    LogNormal,
    PiecewiseExponential,
    Proportional,
    TableCurve,
    Uniform,
    Weibull,
    reference,
)

N = 20_000  # draws per theory test
KS_P_MIN = 1e-3  # KS threshold: reject only if p <= 0.001
N_SE = 4.0  # moment/proportion tolerance in Monte Carlo standard errors


def all_kinds() -> dict[str, Curve]:
    return {
        "exponential": Exponential(rate=0.02),
        "weibull_increasing": Weibull(scale=30.0, shape=1.5),
        "weibull_decreasing": Weibull(scale=30.0, shape=0.7),
        "piecewise": PiecewiseExponential(breaks=[12, 36], rates=[0.01, 0.005, 0.002]),
        "piecewise_cured": PiecewiseExponential(breaks=[12, 36], rates=[0.02, 0.01, 0.0]),
        "cure": CureMixture(fraction=0.3, curve=Weibull.from_median(median=20, shape=1.1)),
        "proportional": Proportional(hazard_ratio=2.3, curve=Weibull(scale=40, shape=1.2)),
        "lognormal": LogNormal(mu=3.0, sigma=0.6),
        "loglogistic": LogLogistic(alpha=25.0, beta=6.0),
        "table": TableCurve(times=[6, 12, 24, 36], survival=[0.9, 0.8, 0.8, 0.6]),
        "fixed": Fixed(value=12.0),
        "uniform": Uniform(low=60.0, high=120.0),
        "reference": reference("pan2017/T2N1-3"),
    }


def proper_continuous() -> dict[str, Curve]:
    k = all_kinds()
    return {n: k[n] for n in ("exponential", "weibull_increasing", "weibull_decreasing", "piecewise",
                              "proportional", "uniform", "reference", "lognormal", "loglogistic")}


def _ks_against_own_cdf(c: Curve, draws: np.ndarray) -> float:
    """KS p-value of the finite draws against F(t) / F(inf) (the non-cured part)."""
    finite = draws[np.isfinite(draws)]
    f_inf = 1.0 - c.cured_fraction
    return stats.kstest(finite, lambda t: np.asarray(c.cdf(t)) / f_inf).pvalue


MARGINALS = {
    "pan2017": (reference("pan2017/T2N1-3"), 84.0),
    "weibull": (Weibull.from_median(60, 1.3), 12.0),
    "cure": (CureMixture(fraction=0.6, curve=Weibull.from_median(30, 1.1)), 6.0),
    "lognormal": (LogNormal(mu=4.0, sigma=1.0), 0.0),
}


def _lead_time_population(curve, tsd, lead, dormant=0.0):
    mrd = cohort.MrdModel(kind="lead_time", lead_time=lead, dormant_share=dormant)
    return cohort.PopulationModel((cohort.StratumModel("s", 1.0, tsd, curve, mrd),), None, np.array([1.0]))


PAN2017 = {"T1N0": 0.13, "T1N1-3": 0.20, "T1N4-9": 0.34, "T2N0": 0.19, "T2N1-3": 0.26, "T2N4-9": 0.41}


CTS5 = {"low": (0.036, 0.0, 0.05), "intermediate": (0.075, 0.05, 0.10), "high": (0.15, 0.10, 1.0)}


DATA = Path(__file__).resolve().parents[1] / "data"
PATIENTS = DATA / "patients_weibull.csv"
DIGITISED = DATA / "km_digitised.csv"


def simulate(truth, n, seed, *, follow_up=None):
    """Patient data from ``truth``, censored by Uniform(0, follow_up) (default: about the 90th centile)."""
    rng = np.random.default_rng(seed)
    t = truth.sample(rng, n)
    c = rng.uniform(0.0, follow_up or 2.0 * float(truth.quantile(0.9)), n)
    return pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int)})


def km_steps(durations, events, weights=None):
    from lifelines import KaplanMeierFitter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return KaplanMeierFitter().fit(durations, events, weights=weights)


