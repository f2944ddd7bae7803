"""trialsim.design.group_sequential: group-sequential boundaries and exit
probabilities.

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

import numpy as np
import pytest

from tests.support.rpact_golden import GOLDEN, P_TOL
from trialsim.design import Boundaries, boundaries, exit_probabilities

DESIGNS = GOLDEN["designs"]


Z_TOL = 1e-6          # in z


_RPACT_SPENDING = {"asOF": "obrien_fleming", "asP": "pocock", "OF": "classical_obrien_fleming",
                   "P": "classical_pocock", "bsOF": "obrien_fleming", "bsP": "pocock"}


def _spending(kind: str, gamma) -> str:
    return f"hsd({gamma})" if kind.endswith("HSD") else _RPACT_SPENDING[kind]


def _ours(d) -> Boundaries:
    """Our boundaries for an rpact design of the golden file."""
    i = d["inputs"]
    spending = _spending(i["type_of_design"], i.get("gamma_a"))
    if "type_beta_spending" in i:
        fut = {"spending": _spending(i["type_beta_spending"], i.get("gamma_b")), "beta": i["beta"]}
        return boundaries(i["information_rates"], alpha=i["alpha"], sided=i["sided"], spending=spending,
                          futility=fut)
    return boundaries(i["information_rates"], alpha=i["alpha"], sided=i["sided"], spending=spending,
                      beta=i.get("beta"))


@pytest.mark.parametrize("d", DESIGNS, ids=[d["id"] for d in DESIGNS])
def test_peer_boundaries_match_rpact(d):
    """Efficacy z, cumulative alpha spent and nominal levels against
    rpact's getDesignGroupSequential (call in d['r_call'])."""
    b = _ours(d)
    np.testing.assert_allclose(b.efficacy, d["critical_values"], rtol=0, atol=Z_TOL, err_msg=d["r_call"])
    np.testing.assert_allclose(b.cumulative_alpha_spent, d["alpha_spent"], rtol=0, atol=2e-8)
    np.testing.assert_allclose(b.nominal_p, d["stage_levels"], rtol=0, atol=1e-8)


FUTILITY = [d for d in DESIGNS if "type_beta_spending" in d["inputs"]]


WITH_BETA = [d for d in DESIGNS if "characteristics" in d]


@pytest.mark.parametrize("d", FUTILITY, ids=[d["id"] for d in FUTILITY])
def test_peer_futility_bounds_match_rpact(d):
    """Non-binding beta-spending futility: rpact reports interim bounds only;
    ours end with the final efficacy bound. Beta spent by look and power too."""
    b = _ours(d)
    np.testing.assert_allclose(b.futility[:-1], d["futility_bounds"], rtol=0, atol=Z_TOL, err_msg=d["r_call"])
    assert b.futility[-1] == b.efficacy[-1]
    np.testing.assert_allclose(b.cumulative_beta_spent, d["beta_spent"], rtol=0, atol=P_TOL)
    ex = exit_probabilities(b, b.drift)
    np.testing.assert_allclose(np.cumsum(ex.efficacy), d["power"], rtol=0, atol=P_TOL)


@pytest.mark.parametrize("d", WITH_BETA, ids=[d["id"] for d in WITH_BETA])
def test_peer_drift_and_inflation_match_rpact(d):
    """The drift for power 1 - beta is sqrt(rpact's shift) (getDesignCharacteristics)."""
    b = _ours(d)
    ch = d["characteristics"]
    assert b.drift == pytest.approx(ch["drift"], abs=1e-6)
    assert b.inflation_factor == pytest.approx(ch["inflation_factor"], abs=1e-6)


@pytest.mark.parametrize("d", DESIGNS, ids=[d["id"] for d in DESIGNS])
def test_peer_exit_probabilities_match_rpact(d):
    """getPowerAndAverageSampleNumber(design, theta, nMax = 1): rejection and
    futility stops by look (futility applied), power, expected information.
    rpact's two-sided rejectPerStage counts both directions."""
    b = _ours(d)
    for e in d["exit_probabilities"]:
        ex = exit_probabilities(b, e["drift"])
        np.testing.assert_allclose(ex.efficacy + ex.efficacy_lower, e["reject_per_stage"], rtol=0, atol=P_TOL)
        assert ex.power == pytest.approx(e["overall_reject"], abs=P_TOL)
        assert ex.expected_information_fraction == pytest.approx(e["average_information_fraction"], abs=P_TOL)
        if e["futility_per_stage"] is not None and b.futility is not None:
            np.testing.assert_allclose(ex.futility[:-1], e["futility_per_stage"], rtol=0, atol=P_TOL)
