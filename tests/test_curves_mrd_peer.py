"""Peer tier of trialsim.curves.mrd: the MRD components and the simulator's baseline (trialsim.cohort) agree."""

from __future__ import annotations

import numpy as np

from trialsim import cohort
from trialsim.curves import Uniform, mrd_components, reference


def test_peer_mrd_components_equal_cohort_baseline():
    """The engine's calibration (cohort.Baseline) and curves.mrd_components agree."""
    curve = reference("pan2017/T1N4-9")
    mrd = cohort.MrdModel(kind="prevalence", prevalence=0.12, hazard_ratio=3.0)
    stratum = cohort.StratumModel("s", 1.0, Uniform(60, 120), curve, mrd)
    base = cohort.Baseline(stratum)
    t = np.linspace(0, 300, 301)
    x = np.linspace(0, 4, 201)
    for tsd in (60.0, 75.5, 119.0):
        _, neg = mrd_components(curve, prevalence=0.12, hazard_ratio=3.0, time_since_diagnosis=tsd)
        np.testing.assert_allclose(neg.cumhaz(t), base.B(np.full(t.size, tsd), t), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(neg.inv_cumhaz(x), base.Binv(np.full(x.size, tsd), x), rtol=1e-12)
