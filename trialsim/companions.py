"""Analytic companions: the closed forms shown beside the simulation.

A simulated operating characteristic is easier to trust when a closed form
that should agree with it, under stated approximations, sits next to it.
``trialsim run`` (the "analytic" block of its JSON), the report's analytic
cross-check and the tests all read these figures from here, so that each
closed form is computed one way only:

* Schoenfeld's power and events (fixed design) and the group-sequential
  exit probabilities at Schoenfeld's drift (designs with looks):
  :func:`analytic_companions`;
* the screening funnel per survivor screened: :func:`screening_funnel_companion`;
* the diluted hazard ratio of a prevalence-model MRD design:
  :func:`dilution_companion`;
* Schoenfeld's power at given events (:func:`schoenfeld_at`) and the month the
  expected events reach the target (:func:`expected_analysis_month`) for
  conventional designs.

Each figure is shown only where its assumptions hold; otherwise the
companion says why it is withheld. The closed forms themselves live in
:mod:`trialsim.design`; this module decides which apply to a scenario and
with which inputs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trialsim import curves
from trialsim.des import AccrualSchedule
from trialsim.design import (diluted_hazard_ratio, exit_probabilities, expected_events, freedman_power,
                             lead_time_staging, plan_boundaries, schoenfeld_events, schoenfeld_power, screening_funnel)
from trialsim.scenario import Scenario


# --------------------------------------------------------------------------
# The run's companions (the "analytic" block of `trialsim run`)


def analytic_companions(sc: Scenario, t: dict) -> dict:
    """Closed-form figures to read beside the simulated ones, where their
    assumptions hold; each entry says what it assumes."""
    out: dict[str, Any] = {}
    an = sc.trial.analysis
    c, tr = sc.arms[sc.control_arm], sc.arms[sc.treatment_arm]
    several = len(sc.arms) > 2
    proportional = (c.eradication == 0 and tr.eradication == 0 and c.delay == 0 and tr.delay == 0
                    and sc.mrd is None and sc.screening is None and not several)
    if proportional and an.test in ("logrank", "cox") and an.looks:
        # Schoenfeld's drift in the canonical joint distribution of the statistics at the looks.
        hr = tr.hazard_ratio / c.hazard_ratio
        r = tr.allocation / c.allocation
        ex = exit_probabilities(plan_boundaries(sc), math.sqrt(an.events * r) / (1 + r) * -math.log(hr))
        out["schoenfeld_power"] = ex.power
        out["schoenfeld_events"] = float(an.events)
        out["schoenfeld_rejection_by_look"] = [float(x) for x in ex.efficacy + ex.efficacy_lower]
        if an.futility is not None:
            out["schoenfeld_futility_stop_by_look"] = [float(x) for x in ex.futility]
        out["schoenfeld_expected_events"] = ex.expected_information_fraction * an.events
        out["assumes"] = ("proportional hazards (hazard ratio treatment/control); the log-rank statistics at "
                          "the looks jointly normal with Schoenfeld's drift sqrt(D r)/(1 + r) |log HR| at the "
                          "target D events, as the boundaries assume")
    elif proportional and an.test in ("logrank", "cox"):
        hr = tr.hazard_ratio / c.hazard_ratio
        events = an.events if an.events is not None else float(np.mean(t["events"]))
        alloc = tr.allocation / c.allocation
        kw = dict(hazard_ratio=hr, alpha=an.alpha, sided=an.sided, allocation=alloc)
        out["schoenfeld_power"] = schoenfeld_power(events=events, **kw) if hr != 1 else an.alpha
        out["schoenfeld_events"] = float(events)
        if hr != 1:
            out["schoenfeld_events_for_80"] = schoenfeld_events(power=0.8, **kw)
            out["schoenfeld_events_for_90"] = schoenfeld_events(power=0.9, **kw)
        out["assumes"] = ("proportional hazards (hazard ratio treatment/control), Schoenfeld's normal "
                          "approximation of the log-rank statistic at a fixed number of events")
    else:
        why = []
        if several:
            why.append(f"{len(sc.arms) - 1} treatment arms (each comparison's simulated power is under comparisons)")
        elif not proportional:
            why.append("hazards are not proportional (MRD, screening, eradication or a delayed effect)")
        if an.test not in ("logrank", "cox"):
            why.append(f"the test is {an.test}, not the log-rank")
        out["schoenfeld_note"] = "Schoenfeld's formula not shown: " + "; ".join(why)
    if sc.screening is not None:
        models = {(sc.stratum_mrd(i) or {}).get("model") for i in range(len(sc.population.strata))}
        fixed_status = all(
            m is None or (m["model"] == "prevalence" and not m.get("onset_rate") and not m.get("clearance_rate"))
            for m in (sc.stratum_mrd(i) for i in range(len(sc.population.strata))))
        scr = sc.screening
        beyond = [words for words, used in (
            ("staging scans as a test (staging.imaging)", scr.staging.imaging is not None),
            ("staging after randomisation", scr.staging.order == "randomise_then_stage"),
            ("confirmation by repeated samples", scr.confirm is not None),
            ("surveillance of every visit", scr.mode == "surveillance"),
            ("correlated samples of one person (mrd.shedding)",
             any((sc.stratum_mrd(i) or {}).get("shedding") for i in range(len(sc.population.strata)))))
            if used]
        if beyond:
            out["funnel_note"] = "closed-form funnel not shown: it does not model " + ", ".join(beyond)
        elif sc.screening.visits.anchor == "diagnosis":
            out["funnel_note"] = (
                "closed-form funnel not shown: visits anchored at diagnosis fall at different times after entry "
                "for each survivor (by her time since diagnosis), which the closed-form funnel does not model")
        elif (sc.screening.visits.count or 0) == 1 or fixed_status:
            close = t.get("screening_closed_month")
            out["funnel"] = screening_funnel_companion(sc, float(np.mean(close)) if close is not None else None)
        else:
            out["funnel_note"] = (
                "closed-form funnel not shown: with repeated visits MRD status is correlated from visit to visit "
                f"(models: {', '.join(sorted(m for m in models if m))}), which the closed-form funnel's "
                "'fresh status' and 'fixed status' approximations do not capture")
    return out


def setup_months(sc: Scenario) -> float:
    """The mean months from registration to the first sample (0 without ``screening.prescreen``)."""
    pre = sc.screening.prescreen
    if pre is None:
        return 0.0
    d = pre.setup_time
    return d.fixed if d.fixed is not None else float(d.build().mean())


def visits_available(sc: Scenario, close: float | None) -> dict[int, float]:
    """P(a survivor screened has j visits available) when arrivals follow the
    accrual schedule up to the close of screening: visits at the times of the
    schedule (at entry, or at the first sample after the mean set-up time,
    then every ``every`` months or by the schedule's pieces) while screening
    is open, at most ``count``."""
    scr = sc.screening
    if close is None or not math.isfinite(close) or close <= 0:
        return {scr.visits.count or 1: 1.0}
    start = setup_months(sc)
    grid = scr.visits.grid(max(close - start, 0.0))
    k = len(grid) if scr.visits.count is None else min(scr.visits.count, len(grid))
    acc = AccrualSchedule(*sc.accrual.schedule())
    total = float(acc.cumulative(max(close - start, 0.0)))
    if total <= 0:
        return {1: 1.0}
    at_least = [float(acc.cumulative(max(close - start - grid[j - 1], 0.0))) / total for j in range(1, k + 1)]
    at_least.append(0.0)
    return {j: at_least[j - 1] - at_least[j] for j in range(1, k + 1) if at_least[j - 1] > at_least[j]}


def screening_funnel_companion(sc: Scenario, close: float | None = None) -> dict:
    """The screening funnel in closed form (design.screening_funnel), per
    survivor screened, mixed over strata by their shares. Approximations: a
    constant recurrence and death hazard from entry (taken at the mean time
    since diagnosis), the stratum's lead-time model for the detectable
    prevalence and staging, a fresh detectable status at each visit
    (lead_time) or one status for all visits (prevalence, without onset or
    clearance), and arrivals spread by the accrual schedule over the
    simulated screening period, each tested at the visits that fall in it."""
    scr = sc.screening
    test = scr.test
    turnaround = float(test.turnaround.build().mean()) if test.turnaround.fixed is None else test.turnaround.fixed
    death = sc.population.other_cause_death.build() if sc.population.other_cause_death is not None else None
    totals = {"tested": 0.0, "test_positive": 0.0, "eligible": 0.0, "randomized": 0.0, "assays": 0.0}
    true_pos = 0.0
    for i, st in enumerate(sc.population.strata):
        mrd = sc.stratum_mrd(i)
        tsd = st.time_since_diagnosis.build()
        tsd_mean = float(tsd.mean()) if math.isfinite(tsd.mean()) else 0.0
        if mrd is None:
            prev, inelig, persistence = 0.0, 0.0, "fixed"
        elif mrd["model"] == "lead_time":
            rate = float(st.recurrence.build().hazard(tsd_mean))
            d_rate = float(death.hazard(0.0)) if death is not None else 0.0
            stg = lead_time_staging(recurrence_rate=rate, lead_time=mrd["lead_time"].build(),
                                    imaging_lead=scr.staging.imaging_lead, turnaround=turnaround,
                                    dormant_share=mrd.get("dormant_share") or 0.0, death_rate=d_rate)
            prev, inelig, persistence = stg.prevalence, stg.staging_ineligible, "stationary"
        else:
            prev, inelig, persistence = mrd["prevalence"], 0.0, "fixed"
        for visits, w in visits_available(sc, close).items():
            f = screening_funnel(prevalence=prev, sensitivity=test.sensitivity, specificity=test.specificity,
                                 failure=test.failure, staging_ineligible=inelig, consent=scr.consent,
                                 visits=visits, persistence=persistence)
            for k in totals:
                totals[k] += st.share * w * getattr(f, k)
            true_pos += st.share * w * f.randomized * f.true_positive_share
    out = {f"{k}_per_screened": v for k, v in totals.items()}
    out["true_positive_share"] = true_pos / totals["randomized"] if totals["randomized"] > 0 else None
    out["screened_per_randomized"] = 1 / totals["randomized"] if totals["randomized"] > 0 else None
    out["assumes"] = screening_funnel_companion.__doc__.split("Approximations: ")[1].replace("\n", " ").strip()
    out["assumes"] = " ".join(out["assumes"].split())
    pre = scr.prescreen
    if pre is not None:
        out["assumes"] = out["assumes"].rstrip(".") + (
            ", after the mean set-up time; registration and assay set-up decided at approach with their "
            "probabilities.")
        # Registration and assay set-up are decided at approach, each with its probability.
        out["registered_per_approached"] = pre.consent
        out["assay_ready_per_registered"] = pre.assay_setup
        approached = float(AccrualSchedule(*sc.accrual.schedule()).cumulative(close)) if close else None
        start = setup_months(sc)
        if approached and close is not None and math.isfinite(close):
            ready = float(AccrualSchedule(*sc.accrual.schedule()).cumulative(max(close - start, 0.0)))
            out["screened_per_assay_ready"] = ready / approached
    return out


# --------------------------------------------------------------------------
# Conventional designs: Schoenfeld at given events, the expected analysis month


def is_conventional(sc: Scenario) -> bool:
    """A design Schoenfeld's formula speaks to: no screening, no MRD, a
    proportional effect from randomisation, the log-rank test."""
    t = sc.arms[sc.treatment_arm]
    c = sc.arms[sc.control_arm]
    return (sc.screening is None and sc.mrd is None and t.delay == 0 and c.delay == 0 and len(sc.arms) == 2
            and sc.trial.analysis.test == "logrank" and sc.trial.endpoints[0] == "drfs")


def design_hazard_ratio(sc: Scenario, hazard_ratio: float | None = None) -> float:
    """The hazard ratio treatment/control (the treatment arm's own, or ``hazard_ratio`` in its place)."""
    t = sc.arms[sc.treatment_arm]
    c = sc.arms[sc.control_arm]
    return (hazard_ratio if hazard_ratio is not None else t.hazard_ratio) / c.hazard_ratio


def allocation_ratio(sc: Scenario) -> float:
    """Patients randomised to treatment per patient randomised to control."""
    return sc.arms[sc.treatment_arm].allocation / sc.arms[sc.control_arm].allocation


def schoenfeld_at(sc: Scenario, events: float, hazard_ratio: float | None = None) -> float:
    """Schoenfeld's power of the scenario's test at ``events`` events (and the
    treatment arm's hazard ratio, or ``hazard_ratio`` in its place)."""
    a = sc.trial.analysis
    return schoenfeld_power(events=max(events, 1e-9), hazard_ratio=design_hazard_ratio(sc, hazard_ratio),
                            alpha=a.alpha, sided=a.sided, allocation=allocation_ratio(sc))


def freedman_at(sc: Scenario, events: float) -> float:
    """Freedman's power of the scenario's test at ``events`` events and the treatment arm's hazard ratio."""
    a = sc.trial.analysis
    return freedman_power(events=events, hazard_ratio=design_hazard_ratio(sc), alpha=a.alpha, sided=a.sided,
                          allocation=allocation_ratio(sc))


def schoenfeld_events_for(sc: Scenario, power: float) -> float:
    """Schoenfeld's events for ``power`` at the treatment arm's hazard ratio."""
    a = sc.trial.analysis
    return schoenfeld_events(hazard_ratio=design_hazard_ratio(sc), alpha=a.alpha, power=power, sided=a.sided,
                             allocation=allocation_ratio(sc))


def exponential_rate(spec) -> float | None:
    """The rate of a curve spec that is exponential (memoryless: the same from diagnosis or entry)."""
    c = spec.build()
    return float(c.rate) if isinstance(c, curves.Exponential) else None


def censoring_rate(sc: Scenario) -> float | None:
    """Dropout plus other-cause death (when it censors), per month; None when not exponential."""
    rate = sc.trial.dropout.monthly_rate if sc.trial.dropout is not None else 0.0
    if sc.population.other_cause_death is not None:
        d = exponential_rate(sc.population.other_cause_death)
        if d is None or sc.trial.death == "event":
            return None
        rate += d
    return rate


def expected_analysis_month(sc: Scenario) -> float | None:
    """The calendar month at which the expected events reach the target
    (``design.expected_events``; exponential arms, piecewise accrual,
    exponential censoring), capped at ``months`` after the expected last
    randomisation. None where those assumptions do not hold."""
    from scipy import optimize  # deferred: scipy.optimize adds start-up time to every importer of the run

    rates = {exponential_rate(st.recurrence) for st in sc.population.strata}
    cens = censoring_rate(sc)
    if len(rates) != 1 or None in rates or cens is None or not is_conventional(sc):
        return None
    lam = rates.pop() * sc.arms[sc.control_arm].hazard_ratio
    starts, arrivals = sc.accrual.schedule()
    pieces = [(b - a, r) for a, b, r in zip(starts, starts[1:], arrivals)] + [(None, arrivals[-1])]
    n = sc.trial.enrollment
    kw = dict(accrual=pieces, hazard_ratio=design_hazard_ratio(sc), control_rate=lam,
              allocation=allocation_ratio(sc), dropout_rate=cens, n=n)
    # The expected time of the last randomisation: when the expected count reaches n.
    lo, hi = 0.0, 1.0
    while expected_events(hi, **kw).randomized[0] < n - 1e-9 and hi < 1e5:
        hi *= 2
    t_last = optimize.brentq(lambda t: expected_events(t, **kw).randomized[0] - (n - 1e-9), lo, hi)
    cap = t_last + sc.trial.analysis.months if sc.trial.analysis.months is not None else math.inf
    target = sc.trial.analysis.events
    if target is None:
        return cap
    total = lambda t: expected_events(t, **kw).total[0] - target  # noqa: E731
    hi = max(1.0, t_last)
    while total(hi) < 0 and hi < 1e5:
        hi *= 2
    if total(hi) < 0:
        return cap if math.isfinite(cap) else None
    return min(optimize.brentq(total, 0.0, hi, xtol=1e-6), cap)


# --------------------------------------------------------------------------
# MRD designs: the diluted hazard ratio


def dilution_companion(sc: Scenario, s: dict, timeline: dict) -> dict | None:
    """``design.diluted_hazard_ratio`` beside a run of a prevalence-model MRD
    design with one stratum and an exponential recurrence, from the run's
    summary ``s`` and ``timeline``: the hazard ratio the log-rank test sees
    and its power at the simulated mean events.

    Returns None when there is nothing to show (no MRD model, several strata,
    a recurrence that is not exponential, nothing simulated to compare);
    ``{"withheld": "lead_time"}`` for a lead-time model (a true positive's
    recurrence comes within her residual lead time, not at a constant rate);
    ``{"withheld": "error", "error": message}`` when the closed form refuses
    its inputs; otherwise the figures and the inputs it used. None, too, with
    several treatment arms (the closed form compares two).
    """
    if sc.mrd is None or len(sc.arms) > 2:
        return None
    if any(sc.stratum_mrd(i)["model"] != "prevalence" for i in range(len(sc.population.strata))):
        return {"withheld": "lead_time"}
    if len(sc.population.strata) != 1 or exponential_rate(sc.population.strata[0].recurrence) is None \
            or not s.get("truly_mrd_positive_share") or s["events"]["mean"] <= 0:
        return None
    m = sc.stratum_mrd(0)
    lam = exponential_rate(sc.population.strata[0].recurrence)
    p, h = m["prevalence"], m["hazard_ratio"]
    lneg = lam / (p * h + 1 - p)            # hazards at entry: p h u + (1 - p) u = lambda
    cens = censoring_rate(sc)
    med = np.median(timeline["randomized"], axis=0)
    first = float(timeline["month"][int(np.argmax(med >= 1))]) - 1.0
    horizon = s["analysis_month"]["median"] - first
    accrual_time = min(max(0.0, s["last_randomized_month"]["median"] - first), horizon)
    arm = sc.arms[sc.treatment_arm]
    try:
        d = diluted_hazard_ratio(true_positive_share=s["truly_mrd_positive_share"]["mean"],
                                 positive_rate=h * lneg, negative_rate=lneg, eradicated_rate=lneg,
                                 hazard_ratio=arm.hazard_ratio / sc.arms[sc.control_arm].hazard_ratio,
                                 eradication=arm.eradication, horizon=horizon, accrual_time=accrual_time,
                                 allocation=allocation_ratio(sc), dropout_rate=cens or 0.0)
    except ValueError as exc:
        return {"withheld": "error", "error": str(exc)}
    return {
        "hazard_ratio": d.hazard_ratio,
        "power": d.power(s["events"]["mean"], alpha=sc.trial.analysis.alpha, sided=sc.trial.analysis.sided),
        "true_positive_share": s["truly_mrd_positive_share"]["mean"],
        "negative_rate": lneg,
        "horizon": horizon,
        "accrual_time": accrual_time,
        "censoring_rate": cens or 0,
        "ignored": [k for k in ("onset_rate", "clearance_rate") if m.get(k)],
    }
