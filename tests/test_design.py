"""trialsim.design: group-sequential boundaries, log-rank events, sample size,
the screening funnel and the diluted hazard ratio.

Tiers (in the test names):

* unit: one function, exact expectations and argument errors;
* theory: a closed form against a seeded Monte Carlo (np.random.default_rng,
  tolerance 4 Monte Carlo SE) or against trialsim's own simulator;
* peer: golden values from rpact 3.3.4 in tests/golden/rpact_boundaries.json,
  written by tools/rpact/make_golden_gsd.R; each entry carries the exact R
  call (``r_call``) that produced it, e.g.

      getDesignGroupSequential(kMax = 3, alpha = 0.025, sided = 1, typeOfDesign = "asOF",
          informationRates = c(0.333333333333333, 0.666666666666667, 1), beta = 0.2,
          typeBetaSpending = "bsOF", bindingFutility = FALSE)

  The tests ask for agreement to 1e-6 in z (the largest differences
  observed are listed in docs/design.md).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from trialsim import design
from trialsim.design import (
    Boundaries,
    boundaries,
    diluted_hazard_ratio,
    exit_probabilities,
    expected_events,
    freedman_events,
    freedman_power,
    lachin_foulkes,
    lead_time_staging,
    schoenfeld_events,
    schoenfeld_power,
    screening_funnel,
)

GOLDEN = json.loads((Path(__file__).parent / "golden" / "rpact_boundaries.json").read_text())
DESIGNS = GOLDEN["designs"]
Z_TOL = 1e-6          # in z
P_TOL = 1e-7          # probabilities from the recursion

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


def within(estimate, truth, se, k=4.0):
    assert abs(estimate - truth) <= k * se, f"{estimate} vs {truth}: {abs(estimate - truth) / se:.2f} SE"


# --------------------------------------------------------------------------
# Peer: rpact


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


def _accrual_args(i):
    at = i["accrual_time"]
    if not i.get("accrual_intensity"):
        return {"accrual_time": at[-1]}
    rates = i["accrual_intensity"]
    rates = rates if isinstance(rates, list) else [rates]
    pieces = [(at[j + 1] - at[j], rates[j]) for j in range(len(at) - 1)]
    if len(rates) == len(at):          # rpact: the last interval is open-ended
        pieces.append((None, rates[-1]))
    return {"accrual": pieces}


def _dropout(i):
    return {"control": i["dropout_hazard2"], "treatment": i["dropout_hazard1"]}


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


EVENTS = GOLDEN["event_probabilities"]


@pytest.mark.parametrize("d", EVENTS, ids=[d["id"] for d in EVENTS])
def test_peer_expected_events_match_rpact(d):
    """getEventProbabilities: pure probability (accrual x exponential survival
    x exponential dropout), so it agrees to rounding."""
    i = d["inputs"]
    e = expected_events(i["time"], hazard_ratio=i["hazard_ratio"], control_rate=i["lambda2"],
                        allocation=i["allocation_ratio"], dropout_rate=_dropout(i), **_accrual_args(i))
    n = d["max_number_of_subjects"]
    r = i["allocation_ratio"]
    assert e.randomized[-1] == pytest.approx(n, rel=1e-12)
    np.testing.assert_allclose(np.array(e.total) / n, d["overall_event_probabilities"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.array(e.treatment) / (n * r / (1 + r)), d["event_probabilities1"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.array(e.control) / (n / (1 + r)), d["event_probabilities2"], rtol=0, atol=1e-12)


POWERS = GOLDEN["power_survival"]


@pytest.mark.parametrize("d", POWERS, ids=[d["id"] for d in POWERS])
def test_peer_freedman_and_schoenfeld_match_rpact(d):
    """getPowerSurvival / getSampleSizeSurvival. rpact's two-sided power adds
    the wrong-direction rejection (here 4.6e-6); ours leaves it out."""
    i = d["inputs"]
    power_f, events_f = ((freedman_power, freedman_events) if i["type_of_computation"] == "Freedman"
                         else (schoenfeld_power, schoenfeld_events))
    kw = dict(hazard_ratio=i["hazard_ratio"], alpha=i["alpha"], sided=i["sided"], allocation=i["allocation_ratio"])
    assert power_f(events=i["events"], **kw) == pytest.approx(d["power"], abs=1e-5 if i["sided"] == 2 else 1e-12)
    assert events_f(power=0.8, **kw) == pytest.approx(d["events_for_80"], rel=1e-12)


# --------------------------------------------------------------------------
# Unit: boundaries


def test_unit_final_look_is_optional():
    a = boundaries([0.5], spending="pocock")
    b = boundaries([0.5, 1.0], spending="pocock")
    np.testing.assert_array_equal(a.information_fractions, [0.5, 1.0])
    np.testing.assert_array_equal(a.efficacy, b.efficacy)


def test_unit_single_look_is_the_fixed_design():
    b = boundaries([1.0], alpha=0.025)
    assert b.efficacy[0] == pytest.approx(1.959963984540054, abs=1e-10)
    b2 = boundaries([1.0], alpha=0.05, sided=2, spending="classical_pocock")
    assert b2.efficacy[0] == pytest.approx(1.959963984540054, abs=1e-9)


def test_unit_hsd_spellings_agree_and_gamma_zero_is_linear():
    a = boundaries([0.3, 0.6], spending="hsd(-4)")
    b = boundaries([0.3, 0.6], spending="hsd", gamma=-4)
    np.testing.assert_array_equal(a.efficacy, b.efficacy)
    assert a.spending == "hsd(-4)"
    lin = boundaries([0.25, 0.5, 0.75], spending="hsd(0)")
    np.testing.assert_allclose(lin.cumulative_alpha_spent, 0.025 * np.array([0.25, 0.5, 0.75, 1.0]), atol=1e-10)


def test_unit_spending_functions_spend_alpha_by_the_end():
    t = np.array([1e-6, 0.5, 1.0])
    for kind, g in (("obrien_fleming", None), ("pocock", None), ("hsd", -4.0), ("hsd", 1.0)):
        for sided in (1, 2):
            s = design._alpha_spending(kind, g, 0.05, t, sided)
            assert s[-1] == pytest.approx(0.05, abs=1e-15)
            assert np.all(np.diff(s) > 0) and s[0] < 1e-3


def test_unit_wang_tsiatis_shapes():
    t = np.array([0.3, 0.6, 1.0])
    p = boundaries(t, spending="classical_pocock")
    assert np.ptp(p.efficacy) < 1e-12
    of = boundaries(t, spending="classical_obrien_fleming")
    np.testing.assert_allclose(of.efficacy * np.sqrt(t), of.efficacy[-1], rtol=1e-12)
    assert of.cumulative_alpha_spent[-1] == pytest.approx(0.025, abs=1e-12)


def test_unit_two_sided_uses_both_tails():
    """Symmetric two-sided at alpha spends alpha over |Z|: at one look the bound is z_{1-alpha/2}."""
    b = boundaries([0.5], alpha=0.05, sided=2, spending="pocock")
    ex = exit_probabilities(b, 0.0)
    assert ex.power == pytest.approx(0.05, abs=1e-10)
    np.testing.assert_allclose(ex.efficacy, ex.efficacy_lower, atol=1e-12)


def test_unit_boundaries_object_is_frozen_and_printable():
    b = boundaries([0.5], futility="obrien_fleming", beta=0.2)
    with pytest.raises(Exception):
        b.alpha = 0.05
    with pytest.raises(ValueError):
        b.efficacy[0] = 0.0
    text = str(b)
    assert "obrien_fleming" in text and "futility z" in text and len(text.splitlines()) == 4
    assert b.looks == 2


def test_unit_futility_forms_agree():
    """The log-rank drift from hazard_ratio and events equals an explicit drift."""
    hr, d = 0.7, 247
    drift = math.sqrt(d) / 2 * abs(math.log(hr))
    a = boundaries([0.5], futility={"spending": "pocock", "beta": 0.2, "hazard_ratio": hr, "events": d})
    b = boundaries([0.5], futility={"spending": "pocock", "beta": 0.2, "drift": drift})
    np.testing.assert_array_equal(a.futility, b.futility)
    assert a.drift == pytest.approx(drift) and a.inflation_factor is None
    # the string form solves the drift (rpact's way) with beta from the beta argument
    c = boundaries([0.5], futility="pocock", beta=0.1)
    assert c.beta == 0.1 and c.inflation_factor > 1
    assert exit_probabilities(c, c.drift).power == pytest.approx(0.9, abs=1e-8)


def test_unit_futility_at_a_large_drift_is_capped_at_efficacy():
    b = boundaries([0.5, 0.75], futility={"spending": "pocock", "beta": 0.2, "drift": 8.0})
    assert np.all(b.futility <= b.efficacy)


def test_unit_futility_lowers_rejection_probability():
    b = boundaries([1 / 3, 2 / 3], futility={"spending": "obrien_fleming", "beta": 0.2})
    with_fut = exit_probabilities(b, 0.0)
    without = exit_probabilities(b, 0.0, futility=False)
    assert without.power == pytest.approx(0.025, abs=1e-9)
    assert with_fut.power < without.power
    assert with_fut.futility[-1] == 0 and with_fut.futility[0] > 0
    assert sum(with_fut.efficacy) + sum(with_fut.futility) + (with_fut.reach[-1] - with_fut.efficacy[-1]) == \
        pytest.approx(1.0, abs=P_TOL)


@pytest.mark.parametrize("kwargs, message", [
    (dict(information_fractions=[0.5, 0.4]), "strictly increasing"),
    (dict(information_fractions=[0.0, 1.0]), r"\(0, 1\]"),
    (dict(information_fractions=[0.5, 1.2]), r"\(0, 1\]"),
    (dict(information_fractions=[]), "at least one"),
    (dict(information_fractions="abc"), "information"),
    (dict(information_fractions=[0.5], spending="lan_demets"), "unknown spending"),
    (dict(information_fractions=[0.5], spending="hsd"), "needs its gamma"),
    (dict(information_fractions=[0.5], spending="pocock", gamma=1), "hsd spending only"),
    (dict(information_fractions=[0.5], spending="hsd(-4)", gamma=2), "disagree"),
    (dict(information_fractions=[0.5], alpha=1.5), "alpha"),
    (dict(information_fractions=[0.5], sided=3), "sided"),
    (dict(information_fractions=[0.5], beta=1.0), "beta"),
    (dict(information_fractions=[0.5], sided=2, alpha=0.05, futility="pocock"), "one-sided"),
    (dict(information_fractions=[1.0], futility="pocock"), "interim"),
    (dict(information_fractions=[0.5], futility={"spending": "pocock", "power": 0.8}), "unknown futility key"),
    (dict(information_fractions=[0.5], futility={"spending": "classical_pocock"}), "unknown futility spending"),
    (dict(information_fractions=[0.5], futility={"hazard_ratio": 0.7}), "both hazard_ratio and events"),
    (dict(information_fractions=[0.5], futility={"drift": 2.0, "hazard_ratio": 0.7, "events": 9}), "not both"),
    (dict(information_fractions=[0.5], futility={"drift": -1.0}), "drift"),
    (dict(information_fractions=[0.5], futility=3), "futility must be"),
])
def test_unit_boundaries_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        boundaries(**kwargs)


def test_unit_exit_probabilities_argument_errors():
    with pytest.raises(ValueError, match="Boundaries"):
        exit_probabilities([1.96], 1.0)
    with pytest.raises(ValueError, match="drift"):
        exit_probabilities(boundaries([0.5]), float("nan"))


# --------------------------------------------------------------------------
# Theory: exit probabilities against correlated normals


def _simulate_looks(b: Boundaries, drift: float, n: int, seed: int, futility: bool = True):
    """Z_k = (B(t_k) + drift t_k) / sqrt(t_k), B a Brownian motion; stop at the
    first crossing. Returns per look counts of efficacy (either side) and futility stops."""
    rng = np.random.default_rng(seed)
    t = np.asarray(b.information_fractions)
    inc = rng.standard_normal((n, t.size)) * np.sqrt(np.diff(t, prepend=0.0))
    z = (np.cumsum(inc, axis=1) + drift * t) / np.sqrt(t)
    alive = np.ones(n, dtype=bool)
    eff, fut = np.zeros(t.size), np.zeros(t.size)
    for k in range(t.size):
        cross = (np.abs(z[:, k]) if b.sided == 2 else z[:, k]) >= b.efficacy[k]
        f = np.zeros(n, dtype=bool)
        if futility and b.futility is not None and k < t.size - 1:
            f = z[:, k] <= b.futility[k]
        eff[k] = np.sum(alive & cross)
        fut[k] = np.sum(alive & ~cross & f)
        alive &= ~cross & ~f
    return eff / n, fut / n


@pytest.mark.parametrize("name, kwargs, drift", [
    ("OF, futility", dict(information_fractions=[0.3, 0.6], futility={"spending": "obrien_fleming", "beta": 0.2}), 2.5),
    ("Pocock, null", dict(information_fractions=[0.25, 0.5, 0.75], spending="pocock"), 0.0),
    ("HSD, two-sided", dict(information_fractions=[0.4, 0.7], spending="hsd(-2)", sided=2, alpha=0.05), 2.0),
    ("classical OF", dict(information_fractions=[0.5], spending="classical_obrien_fleming"), 2.8),
])
def test_theory_exit_probabilities_match_simulated_correlated_normals(name, kwargs, drift):
    n = 400_000
    b = boundaries(**kwargs)
    ex = exit_probabilities(b, drift)
    eff, fut = _simulate_looks(b, drift, n, seed=20250611)
    for p_sim, p in zip(eff, ex.efficacy + ex.efficacy_lower):
        within(p_sim, p, math.sqrt(max(p * (1 - p), 1e-6) / n))
    for p_sim, p in zip(fut, ex.futility):
        within(p_sim, p, math.sqrt(max(p * (1 - p), 1e-6) / n))


# --------------------------------------------------------------------------
# Unit and theory: events, power, sample size


def test_unit_freedman_equal_allocation_is_the_textbook_formula():
    za, zb = 1.959963984540054, 0.8416212335729143
    assert freedman_events(hazard_ratio=0.7, power=0.8) == pytest.approx((1.7 / 0.3) ** 2 * (za + zb) ** 2, rel=1e-12)


@pytest.mark.parametrize("hr, r, sided", [(0.7, 1.0, 1), (0.6, 2.0, 1), (1.3, 0.5, 2)])
def test_unit_power_and_events_are_inverse(hr, r, sided):
    for ev_f, pw_f in ((freedman_events, freedman_power), (schoenfeld_events, schoenfeld_power)):
        d = ev_f(hazard_ratio=hr, power=0.85, sided=sided, alpha=0.05, allocation=r)
        assert pw_f(events=d, hazard_ratio=hr, sided=sided, alpha=0.05, allocation=r) == pytest.approx(0.85, abs=1e-12)


def test_unit_freedman_argument_errors():
    with pytest.raises(ValueError, match="not be 1"):
        freedman_events(hazard_ratio=1.0)
    with pytest.raises(ValueError, match="power"):
        freedman_events(hazard_ratio=0.7, power=1.0)
    with pytest.raises(ValueError, match="allocation"):
        freedman_events(hazard_ratio=0.7, allocation=0)
    with pytest.raises(ValueError, match="events"):
        freedman_power(events=-1, hazard_ratio=0.7)
    with pytest.raises(ValueError, match="allocation"):
        schoenfeld_events(hazard_ratio=0.7, allocation=-1)


@pytest.mark.parametrize("method", ["lachin_foulkes", "schoenfeld", "freedman"])
def test_unit_sample_size_and_duration_questions_are_inverse(method):
    kw = dict(hazard_ratio=0.7, control_median=30, dropout_rate=0.004, method=method, allocation=1.5)
    a = lachin_foulkes(accrual_time=20, follow_up=15, **kw)
    assert a.power == pytest.approx(0.8, abs=1e-10)
    b = lachin_foulkes(accrual_time=20, n=a.n, **kw)
    assert b.follow_up == pytest.approx(15, abs=1e-7)
    pieces = [(6, 10), (None, 30)]
    c = lachin_foulkes(accrual=pieces, follow_up=15, **kw)
    assert c.n == pytest.approx(60 + 30 * (c.accrual_duration - 6), rel=1e-12)
    d = lachin_foulkes(accrual=pieces, n=c.n, **kw)
    assert d.follow_up == pytest.approx(15, abs=1e-7)
    assert d.accrual_duration == pytest.approx(c.accrual_duration, abs=1e-9)
    assert "months" in str(d)


def test_unit_lachin_foulkes_events_bookkeeping():
    r = lachin_foulkes(hazard_ratio=0.75, control_rate=0.02, accrual_time=12, follow_up=24)
    assert r.n_control + r.n_treatment == pytest.approx(r.n)
    assert r.events == pytest.approx(r.events_control + r.events_treatment)
    e = expected_events(r.study_duration, accrual=[(12, r.n / 12)], hazard_ratio=0.75, control_rate=0.02)
    assert e.total[0] == pytest.approx(r.events, rel=1e-12)


def test_unit_lachin_foulkes_given_n_already_enough_is_zero_follow_up():
    r = lachin_foulkes(hazard_ratio=0.5, control_rate=0.5, accrual_time=12, n=5000)
    assert r.follow_up == 0.0 and r.power > 0.8


@pytest.mark.parametrize("kwargs, message", [
    (dict(accrual_time=12), "follow_up"),
    (dict(accrual_time=12, follow_up=12, n=100), "follow_up"),
    (dict(follow_up=12), "accrual_time"),
    (dict(accrual_time=12, accrual=[(12, 10)], follow_up=12), "accrual_time"),
    (dict(accrual_time=12, follow_up=12, method="hsieh"), "unknown method"),
    (dict(accrual=[(12, 10)], follow_up=12), "extend the last piece"),
    (dict(accrual=[(None, 10), (5, 3)], follow_up=12), "only the last"),
    (dict(accrual=[(6, -1)], follow_up=12), "non-negative"),
    (dict(accrual="fast", follow_up=12), "pairs"),
    (dict(accrual_time=12, n=50, dropout_rate=0.5), "unlimited follow-up"),
    (dict(accrual_time=12, follow_up=-1), "follow_up"),
    (dict(accrual_time=12, follow_up=12, dropout_rate={"control": 0.1, "placebo": 0.1}), "keys"),
    (dict(accrual_time=12, follow_up=12, dropout_rate=-0.1), "dropout"),
    (dict(accrual_time=12, follow_up=12, control_median=10), "exactly one of control_rate"),
])
def test_unit_lachin_foulkes_argument_errors(kwargs, message):
    base = dict(hazard_ratio=0.7, control_rate=0.03)
    with pytest.raises(ValueError, match=message):
        lachin_foulkes(**{**base, **kwargs})


def test_unit_expected_events_argument_errors():
    with pytest.raises(ValueError, match="needs n"):
        expected_events(12, accrual=[(None, 10)], hazard_ratio=0.7, control_rate=0.02)
    with pytest.raises(ValueError, match="fewer than"):
        expected_events(12, accrual=[(10, 10)], hazard_ratio=0.7, control_rate=0.02, n=200)
    with pytest.raises(ValueError, match="time"):
        expected_events(-1, accrual=[(10, 10)], hazard_ratio=0.7, control_rate=0.02)


def test_theory_expected_events_match_monte_carlo():
    """Piecewise uniform entry, exponential event and dropout times, both arms."""
    rng = np.random.default_rng(4)
    pieces, n_mc = [(6, 10), (12, 25)], 1_000_000
    hr, lam, eta, r, t_cut = 0.7, 0.03, 0.004, 2.0, 30.0
    n_acc = 60 + 300
    piece = rng.random(n_mc) < 60 / n_acc
    entry = np.where(piece, rng.uniform(0, 6, n_mc), rng.uniform(6, 18, n_mc))
    treated = rng.random(n_mc) < r / (1 + r)
    t_ev = rng.exponential(1.0, n_mc) / (lam * np.where(treated, hr, 1.0))
    event = (t_ev <= rng.exponential(1 / eta, n_mc)) & (entry + t_ev <= t_cut)
    e = expected_events(t_cut, accrual=pieces, hazard_ratio=hr, control_rate=lam, allocation=r, dropout_rate=eta)
    p = event.mean()
    within(p * n_acc, e.total[0], n_acc * math.sqrt(p * (1 - p) / n_mc))


def test_theory_lachin_foulkes_hazard_difference_test_has_its_power():
    """The test Lachin & Foulkes size: Z = (lam_c_hat - lam_t_hat) /
    sqrt(phi(lam_bar_hat) (1/n_c + 1/n_t)) with lam_hat = events / exposure.
    At n from the formula its simulated power is 1 - beta up to the
    asymptotic approximation (about +0.007 at this n: docs/design.md)."""
    r = lachin_foulkes(hazard_ratio=0.75, control_rate=0.03, accrual_time=18, follow_up=12,
                       dropout_rate=0.005, allocation=1.5)
    reps = 4000
    rng = np.random.default_rng(8)
    nc = round(r.n_control)
    nt = round(r.n) - nc

    def arm(m, lam):
        a = rng.uniform(0, 18, (reps, m))
        t, d = rng.exponential(1 / lam, (reps, m)), rng.exponential(1 / 0.005, (reps, m))
        x = np.minimum(np.minimum(t, d), 30 - a)
        return ((t <= d) & (t <= 30 - a)).sum(axis=1), x.sum(axis=1)

    ec, xc = arm(nc, 0.03)
    et, xt = arm(nt, 0.0225)
    lc, lt = ec / xc, et / xt
    lbar = (nc * lc + nt * lt) / (nc + nt)
    k = lbar + 0.005
    p_event = lbar / k * (1 - (np.exp(-k * 12) - np.exp(-k * 30)) / (k * 18))
    z = (lc - lt) / np.sqrt(lbar ** 2 / p_event * (1 / nc + 1 / nt))
    power = np.mean(z >= 1.959963984540054)
    within(power, 0.8, math.sqrt(0.8 * 0.2 / reps))


# --------------------------------------------------------------------------
# The screening funnel


def test_unit_single_visit_funnel_is_the_yield_times_eligibility():
    from trialsim.screening import expected_yield, positive_predictive_value

    kw = dict(prevalence=0.08, sensitivity=0.88, specificity=0.998, failure=0.05)
    for persistence in ("stationary", "fixed"):
        f = screening_funnel(**kw, staging_ineligible=0.4, consent=0.8, persistence=persistence)
        assert f.test_positive == pytest.approx(expected_yield(0.08, 0.88, 0.998, 0.05), rel=1e-14)
        tp = 0.08 * 0.88 * 0.95
        assert f.eligible == pytest.approx(tp * 0.6 + f.test_positive - tp, rel=1e-14)
        assert f.randomized == pytest.approx(0.8 * f.eligible, rel=1e-14)
        assert f.screened_per_randomized == pytest.approx(1 / f.randomized)
        assert f.assays == pytest.approx(1.0, rel=1e-14)
    assert screening_funnel(**kw).true_positive_share == pytest.approx(positive_predictive_value(0.08, 0.88, 0.998))


def test_unit_multi_visit_funnel_edges():
    f = screening_funnel(prevalence=0.0, sensitivity=0.9, specificity=1.0, visits=4)
    assert f.randomized == 0 and f.assays == 4 and math.isinf(f.screened_per_randomized)
    assert math.isnan(f.true_positive_share)
    g = screening_funnel(prevalence=1.0, sensitivity=1.0, specificity=0.5, failure=0.5, visits=3, persistence="fixed")
    assert g.test_positive == pytest.approx(1 - 0.5 ** 3)
    assert g.assays == pytest.approx(1 + 0.5 + 0.25)
    assert "3 visits" in str(g)


@pytest.mark.parametrize("kwargs, message", [
    (dict(prevalence=1.2), "prevalence"),
    (dict(sensitivity=-0.1), "sensitivity"),
    (dict(visits=0), "visits"),
    (dict(visits=2.5), "visits"),
    (dict(persistence="markov"), "persistence"),
    (dict(consent="all"), "consent"),
])
def test_unit_screening_funnel_argument_errors(kwargs, message):
    base = dict(prevalence=0.1, sensitivity=0.9, specificity=0.99)
    with pytest.raises(ValueError, match=message):
        screening_funnel(**{**base, **kwargs})


@pytest.mark.parametrize("persistence", ["stationary", "fixed"])
def test_theory_multi_visit_funnel_matches_its_assumptions_simulated(persistence):
    """Direct simulation of each approximation (a fresh MRD status per visit,
    or one status for all visits), tests until the first positive."""
    rng = np.random.default_rng(11)
    n, k, p, se, sp, f, s, c = 400_000, 4, 0.06, 0.8, 0.99, 0.1, 0.3, 0.85
    pos_any = np.zeros(n, dtype=bool)
    true_at_pos = np.zeros(n, dtype=bool)
    assays = np.zeros(n)
    status = rng.random(n) < p
    for _ in range(k):
        if persistence == "stationary":
            status = rng.random(n) < p
        testing = ~pos_any
        assays += testing
        ok = rng.random(n) >= f
        hit = testing & ok & (rng.random(n) < np.where(status, se, 1 - sp))
        true_at_pos |= hit & status
        pos_any |= hit
    eligible = pos_any & ~(true_at_pos & (rng.random(n) < s))
    randomized = eligible & (rng.random(n) < c)
    fun = screening_funnel(prevalence=p, sensitivity=se, specificity=sp, failure=f, staging_ineligible=s,
                           consent=c, visits=k, persistence=persistence)
    for est, truth in ((pos_any.mean(), fun.test_positive), (randomized.mean(), fun.randomized)):
        within(est, truth, math.sqrt(truth * (1 - truth) / n))
    within(assays.mean(), fun.assays, assays.std() / math.sqrt(n))
    share = (randomized & true_at_pos).sum() / randomized.sum()
    within(share, fun.true_positive_share, math.sqrt(share * (1 - share) / randomized.sum()))


def test_unit_lead_time_staging_fixed_lead_time_closed_form():
    lam, mu, L, m = 0.02, 0.001, 12.0, 3.5
    st = lead_time_staging(recurrence_rate=lam, lead_time=L, imaging_lead=3, turnaround=0.5, death_rate=mu,
                           dormant_share=0.1)
    k = lam + mu
    prev = lam / k * (1 - math.exp(-k * L)) + 0.1 * mu / k
    assert st.prevalence == pytest.approx(prev, rel=1e-10)
    assert st.staging_ineligible == pytest.approx(lam / k * (1 - math.exp(-k * m)) / prev, rel=1e-10)
    short = lead_time_staging(recurrence_rate=lam, lead_time=2.0, imaging_lead=3)
    assert short.staging_ineligible == pytest.approx(1.0)


def test_unit_lead_time_staging_argument_errors():
    with pytest.raises(ValueError, match="recurrence_rate"):
        lead_time_staging(recurrence_rate=0, lead_time=10, imaging_lead=3)
    with pytest.raises(ValueError, match="lead_time"):
        lead_time_staging(recurrence_rate=0.01, lead_time="long", imaging_lead=3)
    with pytest.raises(ValueError, match="imaging_lead"):
        lead_time_staging(recurrence_rate=0.01, lead_time=10, imaging_lead=-3)


def test_theory_lead_time_staging_matches_monte_carlo():
    from trialsim.curves import Weibull

    rng = np.random.default_rng(12)
    n, lam, mu, dormant = 2_000_000, 0.01, 0.001, 0.02
    lead = Weibull.from_median(10.5, 1.5)
    st = lead_time_staging(recurrence_rate=lam, lead_time=lead, imaging_lead=3, turnaround=0.5,
                           dormant_share=dormant, death_rate=mu)
    t_rec, t_death = rng.exponential(1 / lam, n), rng.exponential(1 / mu, n)
    never = t_rec >= t_death
    detectable = np.where(never, rng.random(n) < dormant, t_rec < lead.quantile(rng.random(n)))
    visible = detectable & ~never & (t_rec <= 3.5)
    p = detectable.mean()
    within(p, st.prevalence, math.sqrt(p * (1 - p) / n))
    share = visible.sum() / detectable.sum()
    within(share, st.staging_ineligible, math.sqrt(share * (1 - share) / detectable.sum()))


_FUNNEL_BASE = {
    "accrual": {"rate": 2000},
    "arms": {"control": {}, "treatment": {"hazard_ratio": 0.7}},
    "trial": {"enrollment": 100000, "analysis": {"months": 1}},
}


def test_theory_funnel_matches_the_simulator_lead_time_model():
    """One visit at entry, lead_time model, exponential recurrence from entry,
    other-cause death, imaging lead and turnaround: trialsim's simulator
    against lead_time_staging + screening_funnel (per survivor screened)."""
    from trialsim import Scenario, simulate
    from trialsim.curves import Weibull

    sc = Scenario.from_dict({**_FUNNEL_BASE, "name": "funnel, lead time",
        "population": {"strata": [{"name": "all", "share": 1, "recurrence": {"exponential": {"rate": 0.02}}}],
                       "other_cause_death": {"exponential": {"rate": 0.001}}},
        "mrd": {"model": "lead_time", "lead_time": {"weibull": {"median": 10.5, "shape": 1.5}}, "dormant_share": 0.02},
        "screening": {"test": {"sensitivity": 0.88, "specificity": 0.99, "failure": 0.05, "turnaround": 0.5},
                      "visits": {"every": 6, "count": 1}, "staging": {"imaging_lead": 3}, "consent": 0.8,
                      "max_screened": 20000}})
    r = simulate(sc, replicates=20, seed=5, workers=1)
    st = lead_time_staging(recurrence_rate=0.02, lead_time=Weibull.from_median(10.5, 1.5), imaging_lead=3,
                           turnaround=0.5, dormant_share=0.02, death_rate=0.001)
    f = screening_funnel(prevalence=st.prevalence, sensitivity=0.88, specificity=0.99, failure=0.05,
                         staging_ineligible=st.staging_ineligible, consent=0.8)
    screened = np.asarray(r.table["screened"], dtype=float)
    n = screened.sum()
    for col, truth in (("test_positive", f.test_positive), ("eligible", f.eligible), ("randomized", f.randomized)):
        within(np.asarray(r.table[col]).sum() / n, truth, math.sqrt(truth * (1 - truth) / n))
    rnd = np.asarray(r.table["randomized"]).sum()
    share = np.asarray(r.table["truly_mrd_positive"]).sum() / rnd
    within(share, f.true_positive_share, math.sqrt(f.true_positive_share * (1 - f.true_positive_share) / rnd))


def test_theory_funnel_matches_the_simulator_fixed_status_over_visits():
    """Prevalence model without onset or clearance, recurrence negligible,
    three visits: the 'fixed' multi-visit closed form is exact."""
    from trialsim import Scenario, simulate

    sc = Scenario.from_dict({**_FUNNEL_BASE, "name": "funnel, three visits",
        "population": {"strata": [{"name": "all", "share": 1, "time_since_diagnosis": 24,
                                   "recurrence": {"exponential": {"rate": 0.00001}}}]},
        "mrd": {"model": "prevalence", "prevalence": 0.1, "hazard_ratio": 2.0},
        "screening": {"test": {"sensitivity": 0.7, "specificity": 0.97, "failure": 0.1, "turnaround": 0.5},
                      "visits": {"every": 6, "count": 3}, "consent": 0.9, "max_screened": 10000}})
    r = simulate(sc, replicates=20, seed=6, workers=1)
    f = screening_funnel(prevalence=0.1, sensitivity=0.7, specificity=0.97, failure=0.1, consent=0.9, visits=3,
                         persistence="fixed")
    screened = np.asarray(r.table["screened"], dtype=float)
    n = screened.sum()
    for col, truth in (("tested", f.tested), ("test_positive", f.test_positive), ("randomized", f.randomized)):
        within(np.asarray(r.table[col]).sum() / n, truth, math.sqrt(truth * (1 - truth) / n))
    per = np.asarray(r.table["assays"]) / screened
    within(per.mean(), f.assays, per.std(ddof=1) / math.sqrt(per.size))


# --------------------------------------------------------------------------
# The diluted hazard ratio


def test_unit_diluted_hazard_ratio_without_dilution_is_the_hazard_ratio():
    a = diluted_hazard_ratio(true_positive_share=1.0, positive_rate=0.05, hazard_ratio=0.7, horizon=36)
    assert a.hazard_ratio == pytest.approx(0.7, rel=1e-10)
    # equal rates in positives and negatives: proportional hazards whatever the mix
    b = diluted_hazard_ratio(true_positive_share=0.4, positive_rate=0.02, negative_rate=0.02, hazard_ratio=0.6,
                             horizon=24, accrual_time=12, dropout_rate=0.01, allocation=2)
    assert b.hazard_ratio == pytest.approx(0.6, rel=1e-10)
    assert b.event_probability_control == pytest.approx(
        0.02 / 0.03 * (1 - (math.exp(-0.03 * 12) - math.exp(-0.03 * 24)) / (0.03 * 12)), rel=1e-9)
    assert b.power(500) == pytest.approx(schoenfeld_power(events=500, hazard_ratio=0.6, allocation=2), rel=1e-9)


def test_unit_diluted_hazard_ratio_moves_towards_one_with_false_positives():
    kw = dict(positive_rate=0.05, negative_rate=0.002, hazard_ratio=0.7, eradication=0.3, horizon=36)
    hrs = [diluted_hazard_ratio(true_positive_share=pi, **kw).hazard_ratio for pi in (1.0, 0.7, 0.4, 0.1)]
    assert all(a < b for a, b in zip(hrs, hrs[1:])) and hrs[-1] < 1


def test_unit_diluted_hazard_ratio_matches_an_independent_quadrature():
    """Hazards from numerical derivatives of the arms' survival on a fine
    grid, log-rank weights, trapezoid rule: the same number."""
    pi, e, hr, lp, ln, le, T, A, eta, r = 0.6, 0.35, 0.75, 0.04, 0.004, 0.004, 48.0, 18.0, 0.003, 1.5
    res = diluted_hazard_ratio(true_positive_share=pi, eradication=e, hazard_ratio=hr, positive_rate=lp,
                               negative_rate=ln, eradicated_rate=le, horizon=T, accrual_time=A, dropout_rate=eta,
                               allocation=r)
    t = np.linspace(0, T, 400_001)[:-1]      # G(T) = 0: nobody is at risk at the horizon
    s_c = pi * np.exp(-lp * t) + (1 - pi) * np.exp(-ln * t)
    s_t = pi * (e * np.exp(-le * t) + (1 - e) * np.exp(-hr * lp * t)) + (1 - pi) * np.exp(-hr * ln * t)
    h_c = -np.gradient(np.log(s_c), t)
    h_t = -np.gradient(np.log(s_t), t)
    g = np.exp(-eta * t) * np.clip((T - t) / A, 0, 1)
    yc, yt = s_c / (1 + r) * g, s_t * r / (1 + r) * g
    w = yc * yt / (yc + yt) ** 2 * (yc * h_c + yt * h_t)
    avg = np.trapezoid(w * np.log(h_t / h_c), t) / np.trapezoid(w, t)
    assert res.log_hazard_ratio == pytest.approx(avg, abs=1e-6)


def test_theory_diluted_hazard_ratio_is_what_the_logrank_estimates():
    """Simulated trials of the mixture; trialsim's vectorised log-rank gives
    the Pike estimate exp((O_t - E_t)/V) per trial. Its mean log equals the
    closed form up to Monte Carlo error (the Pike estimand differs from the
    weighted average log HR only at third order in log HR: about 0.002 here,
    a tenth of the 4-SE band)."""
    from trialsim.analysis import logrank

    rng = np.random.default_rng(13)
    reps, n = 300, 2000
    pi, e, hr, lp, ln, T, A, eta = 0.7, 0.3, 0.8, 0.05, 0.005, 36.0, 12.0, 0.003
    res = diluted_hazard_ratio(true_positive_share=pi, eradication=e, hazard_ratio=hr, positive_rate=lp,
                               negative_rate=ln, horizon=T, accrual_time=A, dropout_rate=eta)
    treated = np.zeros((reps, n), dtype=bool)
    treated[:, 1::2] = True
    positive = rng.random((reps, n)) < pi
    eradicated = treated & positive & (rng.random((reps, n)) < e)
    rate = np.where(positive, lp, ln) * np.where(treated, hr, 1.0)
    rate = np.where(eradicated, 0.0, rate)
    with np.errstate(divide="ignore"):
        t_event = rng.exponential(1.0, (reps, n)) / rate
    censor = np.minimum(T - rng.uniform(0, A, (reps, n)), rng.exponential(1 / eta, (reps, n)))
    lr = logrank(np.minimum(t_event, censor), t_event <= censor, treated)
    log_hr = np.log(lr.hazard_ratio)
    within(log_hr.mean(), res.log_hazard_ratio, log_hr.std(ddof=1) / math.sqrt(reps))
    events = lr.events.astype(float)
    within(events.mean(), n / 2 * (res.event_probability_control + res.event_probability_treatment),
           events.std(ddof=1) / math.sqrt(reps))


@pytest.mark.parametrize("kwargs, message", [
    (dict(true_positive_share=1.5), "true_positive_share"),
    (dict(positive_rate=-0.1), "positive_rate"),
    (dict(horizon=0), "horizon"),
    (dict(accrual_time=50), "accrual_time"),
    (dict(true_positive_share=1.0, eradication=1.0), "hazard ratio is 0"),
    (dict(positive_rate=0.0, negative_rate=0.0), "control arm has no events"),
])
def test_unit_diluted_hazard_ratio_argument_errors(kwargs, message):
    base = dict(true_positive_share=0.7, positive_rate=0.05, hazard_ratio=0.8, horizon=36)
    with pytest.raises(ValueError, match=message):
        diluted_hazard_ratio(**{**base, **kwargs})
