"""Unit tier of trialsim.curves.references: every reference curve reproduces its published figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.support.curves import CTS5, PAN2017
from trialsim.curves import (
    REFERENCES,
    Reference,
    UnknownReferenceError,
    from_spec,
    reference,
)


def test_unit_pan2017_references():
    for group, risk in PAN2017.items():
        ref = REFERENCES[f"pan2017/{group}"]
        assert isinstance(ref, Reference) and ref.name == f"pan2017/{group}"
        assert "10.1056/NEJMoa1701830" in ref.source
        assert "60 months" in ref.note and "time_since_diagnosis >= 60" in ref.note
        c = reference(ref.name)
        assert c is ref.curve
        rate = -math.log(1 - risk) / 180
        np.testing.assert_allclose(c.rates, [0.0, rate], rtol=1e-15)
        np.testing.assert_array_equal(c.breaks, [60.0])
        # risk from year 5 to year 20 among those recurrence-free at year 5
        assert 1 - c.survival(240) / c.survival(60) == pytest.approx(risk, rel=1e-13)
        assert c.hazard(59.9) == 0.0 and c.cumhaz(60) == 0.0
    assert {n for n in REFERENCES if n.startswith("pan2017/")} == {f"pan2017/{g}" for g in PAN2017}
    with pytest.raises(AttributeError):
        REFERENCES["pan2017/T1N0"].note = "x"  # frozen


def test_unit_unknown_reference_suggests():
    with pytest.raises(UnknownReferenceError) as info:
        reference("pan2017/T2N13")
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    assert "did you mean 'pan2017/T2N1-3'" in str(info.value)
    with pytest.raises(UnknownReferenceError, match="did you mean"):
        from_spec({"reference": "Pan2017/t1n0"})
    with pytest.raises(UnknownReferenceError, match="unknown reference curve 'nothing'"):
        reference("nothing")


def test_unit_cts5_references():
    for group, (risk, low, high) in CTS5.items():
        ref = REFERENCES[f"cts5/{group}"]
        assert "10.1200/JCO.2017.76.4258" in ref.source
        c = ref.curve
        late = 1 - c.survival(120) / c.survival(60)
        assert late == pytest.approx(risk, rel=1e-13)
        assert low <= late <= high  # inside the published CTS5 band
        assert c.cumhaz(60) == 0.0 and "time_since_diagnosis >= 60" in ref.note
        assert ("representative choice" in ref.note) == (group != "low")


def test_unit_braun2005_references():
    neg = reference("braun2005/dtc_negative")
    pos = reference("braun2005/dtc_positive")
    t = np.array([12.0, 60.0, 120.0, 240.0])
    np.testing.assert_allclose(pos.cumhaz(t), 2.33 * np.asarray(neg.cumhaz(t)), rtol=1e-14)
    assert neg.cdf(120) == pytest.approx(0.10, rel=1e-13)  # the stated assumption
    for name in ("braun2005/dtc_negative", "braun2005/dtc_positive"):
        ref = REFERENCES[name]
        assert "10.1056/NEJMoa050434" in ref.source and "ASSUMPTION" in ref.note


def test_unit_ssa2020_life_table_references():
    """One year of the curve reproduces q_x of the table; later years chain."""
    qx = {50: 0.003476, 60: 0.007926, 61: 0.008544, 70: 0.016634, 90: 0.146985, 100: 0.33361}
    for age in (50, 60, 70, 90):
        c = reference(f"ssa2020/female_age{age}")
        assert 1 - c.survival(12.0) == pytest.approx(qx[age], rel=1e-12)
        assert "Social Security" in REFERENCES[f"ssa2020/female_age{age}"].source
    c = reference("ssa2020/female_age60")
    assert c.survival(24.0) == pytest.approx((1 - qx[60]) * (1 - qx[61]), rel=1e-12)
    # beyond the table's last age the hazard of age 100 continues
    c90 = reference("ssa2020/female_age90")
    assert c90.hazard(500.0) == pytest.approx(-math.log1p(-qx[100]) / 12, rel=1e-12)
    from trialsim.curves import life_table

    assert life_table(60) == c
    assert life_table(60.5).survival(6.0) == pytest.approx(math.sqrt(1 - qx[60]), rel=1e-12)
    with pytest.raises(ValueError, match="age must be in"):
        life_table(101)


def test_unit_every_reference_loads_in_a_scenario():
    """Each shipped name is accepted by the scenario loader and builds the same curve."""
    from trialsim.scenario import CurveSpec

    for name, ref in REFERENCES.items():
        assert CurveSpec.model_validate({"reference": name}).build() is ref.curve
        assert ref.source and ref.note and "\n" not in ref.note
        assert len(ref.curve.describe()) < 200
