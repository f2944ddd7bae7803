"""trialsim.analysis.proportional_hazards: the vectorised Cox model.

Peer tier (see docs/architecture.md, "Validation tiers"): against lifelines
and scipy (run live) and R (golden values in tests/golden/r_survival_*.json,
written by tools/r/make_golden_survival.R with the R calls stored next to
each value).  docs/analysis.md lists the largest differences seen against
each peer.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter

from tests.support.survival_reference import TTE, golden_arrays, simulate_cure
from trialsim.analysis import cox


@pytest.mark.parametrize("case", TTE, ids=[c["name"] for c in TTE])
def test_peer_r_coxph(case):
    """coxph(ties = "breslow" / "efron"), unstratified and stratified by
    strata(stratum), eps = 1e-12: coefficient and SE within 1e-9."""
    time, event, group, strata = golden_arrays(case)
    for ties in ("breslow", "efron"):
        gold = case["coxph"][ties]
        res = cox(time, event, group, ties=ties)
        ress = cox(time, event, group, ties=ties, strata=strata)
        assert res.log_hr[0] == pytest.approx(gold["coef"], abs=1e-9)
        assert res.se[0] == pytest.approx(gold["se"], abs=1e-9)
        assert ress.log_hr[0] == pytest.approx(gold["coef_strata"], abs=1e-9)
        assert ress.se[0] == pytest.approx(gold["se_strata"], abs=1e-9)
        assert res.converged[0] and ress.converged[0]


def lifelines_cox(time, event, group, **fit_options):
    df = pd.DataFrame({"T": time, "E": event.astype(int), "x": group.astype(float)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph = CoxPHFitter().fit(df, "T", "E", fit_options=fit_options or None)
    return cph.params_["x"], cph.standard_errors_["x"]


def test_peer_lifelines_coxph_efron():
    """``CoxPHFitter`` (Efron ties) with tight convergence (precision 1e-12,
    r_precision 1e-15): log HR and SE within 1e-6 (largest seen 2.3e-7); with
    lifelines' default stopping rule (relative log-likelihood change < 1e-9)
    within 5e-4 (largest seen 8e-5 in log HR: lifelines stops early).  R's coxph(ties =
    "efron", eps = 1e-12) agrees with trialsim to 1e-12 (test_peer_r_coxph)."""
    rng = np.random.default_rng(9)
    R, n = 12, 120
    time, event, group = simulate_cure(rng, R, n, cure_treatment=0.3, hr=0.8, ties=True)
    time[1::2] += rng.uniform(0, 0.5, time[1::2].shape)
    res = cox(time, event, group, ties="efron")
    for r in range(R):
        b, se = lifelines_cox(time[r], event[r], group[r], precision=1e-12, r_precision=1e-15)
        assert res.log_hr[r] == pytest.approx(b, abs=1e-6)
        assert res.se[r] == pytest.approx(se, abs=1e-6)
        b0, se0 = lifelines_cox(time[r], event[r], group[r])
        assert res.log_hr[r] == pytest.approx(b0, abs=5e-4)
