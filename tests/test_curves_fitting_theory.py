"""Theory tier of trialsim.curves.fitting: fits recover the known parameters of large simulated
samples, within 4 standard errors (lifelines' own, from the observed information).
"""

from __future__ import annotations

import pytest

from tests.support.curves import DIGITISED, N_SE, PATIENTS, simulate
from trialsim.curves import (
    Exponential,
    LogLogistic,
    LogNormal,
    PiecewiseExponential,
    Weibull,
)
from trialsim.curves.fitting import fit

TRUTHS = {
    "exponential": (Exponential(rate=0.02), {"rate": 0.02}),
    "weibull": (Weibull(scale=30.0, shape=1.4), {"scale": 30.0, "shape": 1.4}),
    "lognormal": (LogNormal(mu=3.0, sigma=0.8), {"mu": 3.0, "sigma": 0.8}),
    "loglogistic": (LogLogistic(alpha=25.0, beta=2.5), {"alpha": 25.0, "beta": 2.5}),
    "piecewise_exponential": (PiecewiseExponential(breaks=[12, 36], rates=[0.01, 0.03, 0.015]),
                              {"rate0": 0.01, "rate1": 0.03, "rate2": 0.015}),
}


@pytest.mark.parametrize("model", sorted(TRUTHS))
def test_theory_fit_recovers_known_parameters_within_4_se(model):
    """n = 4000 with about 30-50% censoring; every parameter within 4 of lifelines' standard errors.

    Each standard error is itself checked against the parameter's scale (relative SE
    below 10%), so the band is narrow enough to mean something.
    """
    truth, params = TRUTHS[model]
    df = simulate(truth, 4000, seed=sum(map(ord, model)))  # a fixed seed per model
    r = fit(df, models=(model,), breakpoints=[12, 36] if model == "piecewise_exponential" else None)
    got = r[model].parameters
    assert set(got) == set(params)
    for name, true in params.items():
        est, se = got[name]
        assert 0 < se < 0.1 * abs(true)
        assert abs(est - true) <= N_SE * se, (name, est, true, se)


def test_theory_digitised_reconstruction_is_close_to_the_patient_level_fit():
    """Fitting the reconstructed pseudo-patients of km_digitised.csv (a Kaplan-Meier curve with
    numbers at risk every 12 months) gives the Weibull fit of the original patients
    (patients_weibull.csv) to within half a standard error: the reconstruction loses less
    than the sampling error. (A check at the fixture's fixed data, not a theorem.)"""
    ipd = fit(PATIENTS, models=("weibull",))["weibull"]
    rec = fit(DIGITISED, models=("weibull",))["weibull"]
    for name in ("scale", "shape"):
        est, _ = rec.parameters[name]
        true, se = ipd.parameters[name]
        assert abs(est - true) <= 0.5 * se, (name, est, true, se)
