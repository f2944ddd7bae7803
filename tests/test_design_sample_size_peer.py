"""trialsim.design.sample_size: Lachin-Foulkes (and Schoenfeld / Freedman) sample
size and duration.

Peer tier (see docs/architecture.md, "Validation tiers"): golden values from
rpact 3.3.4 in tests/golden/rpact_boundaries.json, written by
tools/rpact/make_golden_gsd.R; each entry carries the exact R call
(``r_call``) that produced it, e.g.

    getDesignGroupSequential(kMax = 3, alpha = 0.025, sided = 1, typeOfDesign = "asOF",
        informationRates = c(0.333333333333333, 0.666666666666667, 1), beta = 0.2,
        typeBetaSpending = "bsOF", bindingFutility = FALSE)

The tests ask for agreement to 1e-6 in z (the largest differences observed
are listed in docs/design.md).
"""

from __future__ import annotations

import pytest

from tests.support.rpact_golden import GOLDEN, _accrual_args, _dropout
from trialsim.design import lachin_foulkes

SAMPLE_SIZES = GOLDEN["survival_sample_size"]


@pytest.mark.parametrize("d", SAMPLE_SIZES, ids=[d["id"] for d in SAMPLE_SIZES])
def test_peer_sample_size_and_duration_match_rpact(d):
    """getSampleSizeSurvival (Schoenfeld / Freedman): n, events, accrual
    duration, follow-up, analysis time. rpact solves durations to about 1e-6
    months (its S3 follow-up is 12.0000005 for a requested 12)."""
    i = d["inputs"]
    kw = _accrual_args(i)
    if i.get("follow_up_time") is not None:
        kw["follow_up"] = i["follow_up_time"]
    else:
        kw["n"] = i["max_number_of_subjects"]
    r = lachin_foulkes(hazard_ratio=i["hazard_ratio"], control_rate=i["lambda2"], alpha=i["alpha"],
                       power=1 - i["beta"], sided=i["sided"], allocation=i["allocation_ratio"],
                       dropout_rate=_dropout(i), method=i["type_of_computation"].lower(), **kw)
    assert r.required_events == pytest.approx(d["events_fixed"], rel=1e-12)
    assert r.events == pytest.approx(d["events_fixed"], rel=1e-9)
    assert r.n == pytest.approx(d["max_number_of_subjects"], rel=1e-7)
    assert r.accrual_duration == pytest.approx(d["total_accrual_time"], abs=1e-5)
    assert r.study_duration == pytest.approx(d["analysis_time"], abs=1e-5)
    assert r.follow_up == pytest.approx(d["follow_up_time"], abs=1e-5)
