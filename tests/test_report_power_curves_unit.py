"""Unit tier: trialsim.report.power_curves, reading sizes off a power curve and the default grids."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import SCENARIOS
from trialsim import load_scenario
from trialsim.report import (
    PowerCurve,
    effect_grid,
    effect_path,
    enrolment_grid,
    read_off,
)


def _curve(x, p, n=1000, **cols):
    x = np.asarray(x, float)
    p = np.asarray(p, float)
    return PowerCurve(path="trial.enrollment", x=x, power=p, mcse=np.sqrt(p * (1 - p) / n),
                 replicates=np.full(x.size, n, float), columns={k: np.asarray(v, float) for k, v in cols.items()})


def test_unit_read_off_interpolates_the_first_crossing():
    c = _curve([100, 200, 300, 400], [0.5, 0.7, 0.9, 0.95], screened=[1000, 2000, 3000, 4000])
    r = read_off(c, 0.8)
    assert r.status == "ok" and r.value == pytest.approx(250.0)
    assert r.at["screened"] == pytest.approx(2500.0)
    lo, hi = r.band
    assert lo < 250 < hi
    assert read_off(c, 0.4).status == "below"
    assert read_off(c, 0.99).status == "not_reached"


def test_unit_read_off_for_a_hazard_ratio_goes_from_weak_to_strong_effects():
    c = _curve([1.0, 0.9, 0.8, 0.7], [0.025, 0.3, 0.7, 0.95])
    r = read_off(c, 0.8, increasing=False)
    assert r.status == "ok" and r.value == pytest.approx(0.8 - 0.1 * 0.1 / 0.25)


def test_unit_default_grids_include_the_design():
    sc = load_scenario(SCENARIOS / "ctdna_er_positive.yaml")
    assert effect_path(sc) == "arms.treatment.eradication"
    assert 0.3 in effect_grid(sc) and min(effect_grid(sc)) == 0.0
    assert (150, 80) in enrolment_grid(sc)
    conv = load_scenario(SCENARIOS / "conventional_logrank.yaml")
    assert effect_path(conv) == "arms.treatment.hazard_ratio"
    assert 0.7 in effect_grid(conv) and max(effect_grid(conv)) == 1.0
    assert all(e <= n for n, e in enrolment_grid(conv))
