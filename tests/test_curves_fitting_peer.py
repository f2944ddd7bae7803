"""Peer tier of trialsim.curves.fitting: equality with lifelines fitted directly on the same data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialsim.curves.fitting import fit, reconstruct_patient_data


def test_peer_fits_equal_lifelines_on_the_waltons_data():
    """lifelines' own fitters on its bundled 'waltons' data set, compared with trialsim.curves.fitting.fit.

    Peer code (the reference values are computed here, from lifelines itself):
        from lifelines.datasets import load_waltons
        df = load_waltons(); T, E = df["T"], df["E"]
        WeibullFitter().fit(T, E)  # etc., and KaplanMeierFitter().fit(T, E)
    """
    import lifelines
    from lifelines.datasets import load_waltons

    df = load_waltons()
    r = fit(pd.DataFrame({"time": df["T"], "event": df["E"]}), breakpoints=[30, 50], source="waltons")
    grid = np.array([5.0, 20.0, 40.0, 60.0, 75.0])
    peers = {"exponential": lifelines.ExponentialFitter(), "weibull": lifelines.WeibullFitter(),
             "lognormal": lifelines.LogNormalFitter(), "loglogistic": lifelines.LogLogisticFitter(),
             "piecewise_exponential": lifelines.PiecewiseExponentialFitter(breakpoints=[30, 50])}
    for name, peer in peers.items():
        peer.fit(df["T"], df["E"])
        ours = r[name]
        np.testing.assert_allclose(ours.curve.survival(grid), peer.survival_function_at_times(grid), rtol=1e-10)
        assert ours.log_likelihood == pytest.approx(peer.log_likelihood_, rel=1e-12)
        assert ours.aic == pytest.approx(peer.AIC_, rel=1e-12)
    km = lifelines.KaplanMeierFitter().fit(df["T"], df["E"])
    times = km.event_table.index[km.event_table["observed"] > 0].to_numpy()
    np.testing.assert_allclose(r["kaplan_meier"].curve.survival(times), km.survival_function_at_times(times),
                               rtol=1e-12, atol=1e-9)
    se = peers["weibull"].summary["se(coef)"]
    assert r["weibull"].parameters["scale"] == pytest.approx((peers["weibull"].lambda_, se["lambda_"]), rel=1e-10)


def test_peer_weighted_pseudo_patients_equal_expanded_rows():
    """lifelines treats integer weights as repeated rows: the reconstruction's weights are counts."""
    import lifelines

    d, e, w, _ = reconstruct_patient_data([0, 6, 12, 24], [1, 0.9, 0.75, 0.6], n=40)
    # with n = 40 every count is whole: 4, 6, 8 events and 24 censored at the end
    np.testing.assert_allclose(w, np.round(w), atol=1e-9)
    k = np.round(w).astype(int)
    a = lifelines.WeibullFitter().fit(d, e, weights=w)
    b = lifelines.WeibullFitter().fit(np.repeat(d, k), np.repeat(e, k))
    # the same likelihood (to rounding), so the same optimum (to the optimiser's tolerance)
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=1e-9)
    assert a.lambda_ == pytest.approx(b.lambda_, rel=1e-5) and a.rho_ == pytest.approx(b.rho_, rel=1e-5)
