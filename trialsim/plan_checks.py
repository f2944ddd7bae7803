"""Plans that cannot work, or work badly: checked before and after simulating.

A scenario can be valid field by field and still describe a trial that can
never randomise anyone, never fill an arm, or never see an event. Such a
plan is *impossible* and refused before anything is simulated
(:func:`check_plan` raises :class:`PlanError`, a ScenarioError naming the
field: the CLI exits 2). A plan that can run but is weak gets *warnings*:
those decidable from the scenario (:func:`scenario_warnings`, printed by
``trialsim validate`` and ``trialsim run``) and those only visible after
simulating (:func:`result_warnings`); both are listed under ``warnings`` in
the JSON summary of a run, printed on stderr by ``trialsim run`` and shown by
the report. docs/results.md lists every check.

The checks use expectations from the scenario alone (the accrual until
screening must stop, the closed-form screening funnel, the recurrence
curves over the months the trial can observe); "impossible" means an
expected count below one (of patients in an arm, of randomisations), or
practically no event at all (fewer than 0.001 expected).

The checks before simulating evaluate the curves at single times
(``Curve.survival_at``, ``Curve.hazard_at``) and add up a few hundred
numbers in plain Python (``math.fsum``), without numpy, so that ``trialsim
validate`` starts without it.
"""

from __future__ import annotations

import math
import sys

from trialsim.curves._numeric import SCALAR, LazyNumpy
from trialsim.limits import SAFETY_HORIZON, accrued, estimate_size
from trialsim.scenario import Scenario, ScenarioError

__all__ = ["PlanError", "check_plan", "plan_errors", "scenario_warnings", "result_warnings",
           "FEW_EVENTS", "FEW_PATIENTS", "FOLLOW_UP_MONTHS"]

np = LazyNumpy(globals())      # numpy, imported by the checks after a run (its table of replicates)

#: the times since entry at which a stratum's recurrence hazard is checked for zero (np.linspace's)
HAZARD_GRID_POINTS = 480

NO_EVENTS = 1e-3            # fewer expected events than this: the plan cannot work
FEW_EVENTS = 10             # fewer expected (or simulated, or targeted) events than this: a warning
FEW_PATIENTS = 5            # an arm expecting fewer patients than this (under a lopsided allocation): a warning
FOLLOW_UP_MONTHS = 120.0    # months of follow-up assumed when the analysis is at a number of events
LONG_ACCRUAL_MONTHS = 1200  # accrual longer than a century: a warning
ZERO_HAZARD_SHARE = 0.25    # a stratum without hazard over this share of the observed months: a warning


class PlanError(ScenarioError):
    """A plan that cannot work (nobody randomised, an empty arm, no events),
    refused before simulating. ``problems`` as ScenarioError's."""


def _arm_expectations(sc: Scenario) -> dict[str, float]:
    total = sum(a.allocation for a in sc.arms.values())
    return {name: sc.trial.enrollment * a.allocation / total for name, a in sc.arms.items()}


def _time_to_accrue(sc: Scenario, n: float) -> float:
    """Months until the accrual's expected cumulative count reaches ``n`` (the
    last piece of a schedule has a positive rate, so it always does)."""
    starts, rates = sc.accrual.schedule()
    total = 0.0
    for i, (start, rate) in enumerate(zip(starts, rates)):
        end = starts[i + 1] if i + 1 < len(starts) else math.inf
        if rate > 0 and total + rate * (end - start) >= n:
            return start + (n - total) / rate
        total += rate * (end - start)
    return math.inf


def _horizon(sc: Scenario) -> float:
    scr = sc.screening
    return scr.max_months if scr.max_months is not None else SAFETY_HORIZON


def _expected_screened(sc: Scenario) -> float:
    """Survivors expected to enter screening before it must stop (at most max_screened)."""
    n = accrued(sc, _horizon(sc))
    if sc.screening.max_screened is not None:
        n = min(n, float(sc.screening.max_screened))
    return n


def _randomisable_share(sc: Scenario) -> tuple[float, float]:
    """(visits per survivor, an upper bound of the share of screened survivors
    randomised). At most one randomisation per survivor, after a positive
    result at one of its visits: P(randomised) <= visits x (1 - failure) x
    max(Se, 1 - Sp) x consent."""
    scr = sc.screening
    test = scr.test
    visits = estimate_size(sc, 1).visits_per_survivor
    per = min(1.0, visits * (1 - test.failure) * max(test.sensitivity, 1 - test.specificity)) * scr.consent
    return visits, per


def _nan_to_num(x: float) -> float:
    """``np.nan_to_num`` of one float: nan is 0, an infinity the largest float of its sign."""
    if math.isnan(x):
        return 0.0
    return math.copysign(sys.float_info.max, x) if math.isinf(x) else x


def _clip(x: float, low: float, high: float) -> float:
    """``np.clip`` of one float (nan stays nan)."""
    if math.isnan(x):
        return x
    x = x if x > low else low
    return x if x < high else high


def _events_by_last_randomisation(sc: Scenario) -> tuple[float, float] | None:
    """For a trial without screening analysed at a number of events (no interim
    looks): (expected month of the last randomisation, events expected by then,
    a lower bound). None where it does not apply.

    The lower bound: each arm's events as its proportional hazard ratio on the
    stratum's recurrence curve from its time since diagnosis (the smaller of it
    and 1 when the effect is delayed), times the share not eradicated, times
    the chance of not having dropped out (or died of another cause, when death
    censors) by then; deaths counted as events are left out."""
    an = sc.trial.analysis
    if sc.screening is not None or an.events is None or an.looks or sc.trial.endpoints[0] != "drfs":
        return None
    n = sc.trial.enrollment
    t_last = _time_to_accrue(sc, n)
    if not math.isfinite(t_last) or t_last <= 0:
        return None
    m = 200      # entry times at the accrual's quantiles, each for n / m patients
    x = [max(t_last - _time_to_accrue(sc, n * (j + 0.5) / m), 0.0) for j in range(m)]   # months to the last one
    rate = sc.trial.dropout.monthly_rate if sc.trial.dropout is not None else 0.0
    stay = [math.exp(-rate * xj) for xj in x]
    if sc.population.other_cause_death is not None and sc.trial.death != "event":
        death = sc.population.other_cause_death.build()
        stay = [s * _nan_to_num(death.survival_at(xj)) for s, xj in zip(stay, x)]
    total_alloc = sum(a.allocation for a in sc.arms.values())
    share_event = [0.0] * m
    for st in sc.population.strata:
        curve = st.recurrence.build()
        t0 = _entry_time(st)
        s0 = curve.survival_at(t0)
        if not s0 > 0:
            continue
        ratio = [_clip(curve.survival_at(t0 + xj) / s0, 0.0, 1.0) for xj in x]
        for arm in sc.arms.values():
            hr = min(arm.hazard_ratio, 1.0) if arm.delay > 0 else arm.hazard_ratio
            weight = st.share * arm.allocation / total_alloc
            for j, r in enumerate(ratio):
                share_event[j] += weight * _nan_to_num((1.0 - arm.eradication) * (1.0 - SCALAR.power(r, hr)))
    events = n / m * math.fsum(e * s for e, s in zip(share_event, stay))
    return t_last, events


def _months(t: float) -> str:
    return f"{t:,.0f}" if t >= 100 else f"{t:.1f}"


def _mrd_possible(sc: Scenario) -> bool:
    """Can any survivor have detectable MRD?"""
    for i in range(len(sc.population.strata)):
        m = sc.stratum_mrd(i)
        if m is None:
            continue
        if m["model"] == "lead_time" or (m.get("prevalence") or 0) > 0 or (m.get("onset_rate") or 0) > 0:
            return True
    return False


def _observed_months(sc: Scenario) -> float:
    """Months from the first entry to the analysis the trial can observe, at most."""
    if sc.screening is not None:
        span = _horizon(sc) if sc.screening.max_months is not None else FOLLOW_UP_MONTHS
    else:
        span = _time_to_accrue(sc, sc.trial.enrollment)
    an = sc.trial.analysis
    return span + (an.months if an.months is not None else FOLLOW_UP_MONTHS)


def _entry_time(stratum) -> float:
    """A representative time since diagnosis at entry for a stratum."""
    d = stratum.time_since_diagnosis
    if d.fixed is not None:
        return float(d.fixed)
    if d.uniform is not None:
        return float(sum(d.uniform)) / 2
    try:
        m = float(d.build().mean())
    except (OverflowError, ValueError, ZeroDivisionError):     # e.g. a log-normal with a huge sigma
        m = math.inf
    return m if math.isfinite(m) else d.lower_bound()


def _grid(window: float, n: int) -> list[float]:
    """``np.linspace(0.0, window, n + 1)[:-1]``, as numpy computes it: k times the step window / n
    (k / n times window when that step underflows to 0)."""
    step = window / n
    if step == 0:
        return [k / n * window for k in range(n)]
    return [k * step for k in range(n)]


def _stratum_risks(sc: Scenario) -> list[tuple[str, float, float, float, float]]:
    """Per stratum: (name, share, entry time, probability of an event within the
    observed months from entry, share of those months without recurrence hazard,
    at :data:`HAZARD_GRID_POINTS` equally spaced times)."""
    window = _observed_months(sc)
    death = sc.population.other_cause_death.build() if sc.population.other_cause_death is not None else None
    offsets = _grid(window, HAZARD_GRID_POINTS)
    out = []
    for st in sc.population.strata:
        curve = st.recurrence.build()
        t0 = _entry_time(st)
        s0 = curve.survival_at(t0)
        p = 1.0 - curve.survival_at(t0 + window) / s0 if s0 > 0 else 0.0
        if sc.trial.death == "event" and death is not None:
            p = 1.0 - (1.0 - p) * death.survival_at(window)
        zero = sum(1 for h in curve.hazards_at([t0 + x for x in offsets]) if h <= 0.0) / len(offsets)
        out.append((st.name, st.share, t0, p if math.isfinite(p) else 0.0, zero))
    return out


def plan_errors(sc: Scenario, *, risks: list | None = None) -> list[tuple[str, str]]:
    """The reasons the plan cannot work, as (field path, message); empty when it can
    (``risks``: the strata's risks, :func:`_stratum_risks`, when already computed)."""
    errors: list[tuple[str, str]] = []
    n = sc.trial.enrollment
    for name, expected in _arm_expectations(sc).items():
        if expected < 1:
            errors.append((f"arms.{name}.allocation",
                           f"the {name} arm expects {expected:.3g} of the {n:,} patients randomised (allocation "
                           f"{sc.arms[name].allocation:g} against {sum(a.allocation for a in sc.arms.values()):g} "
                           "in all): it would get nobody; give it a larger allocation"))
    scr = sc.screening
    if scr is not None:
        screened = _expected_screened(sc)
        test = scr.test
        pre = scr.prescreen
        if pre is not None:
            screened *= pre.consent * pre.assay_setup    # only the registered with an assay set up are screened
        if scr.consent == 0:
            errors.append(("screening.consent", "consent 0: nobody eligible would agree to be randomised"))
        elif pre is not None and pre.consent * pre.assay_setup == 0:
            key = "consent" if pre.consent == 0 else "assay_setup"
            errors.append((f"screening.prescreen.{key}", f"prescreen {key} 0: nobody would enter screening, "
                                                         "so nobody can be randomised"))
        elif test.specificity == 1 and (test.sensitivity == 0 or not _mrd_possible(sc)):
            why = "sensitivity 0" if test.sensitivity == 0 else "no survivor can have MRD (no mrd model, or none)"
            errors.append(("screening.test.sensitivity" if test.sensitivity == 0 else "screening.test.specificity",
                           f"{why} and specificity 1: no test can be positive, so nobody can be randomised"))
        elif screened < 1:
            errors.append(("accrual", f"only {screened:.3g} survivors are expected to enter screening before "
                                      f"{'max_months ' + format(scr.max_months, 'g') if scr.max_months is not None else 'the safety horizon'}"
                                      ": nobody can be randomised; raise the accrual rate or screen longer"))
        else:
            visits, per = _randomisable_share(sc)
            if screened * per < 1:
                errors.append(("screening", f"at most {screened * per:.3g} randomisations can be expected from the "
                                            f"{screened:,.0f} survivors who can enter screening ({visits:g} visits "
                                            f"each, failure {test.failure:g}, sensitivity {test.sensitivity:g}, "
                                            f"specificity {test.specificity:g}, consent {scr.consent:g}): nobody "
                                            "would be randomised in most trials"))
    if sc.trial.endpoints[0] == "drfs":
        p_event = sum(share * p for _, share, _, p, _ in (risks if risks is not None else _stratum_risks(sc)))
        if n * p_event < NO_EVENTS:
            errors.append(("population.strata", f"no events can be expected among {n:,} patients over the "
                                                f"{_observed_months(sc):.0f} months the trial can observe (expected "
                                                f"{n * p_event:.3g}): the recurrence curves have no hazard there; "
                                                "check the curves and time_since_diagnosis"))
    return errors


def check_plan(sc: Scenario, source: str | None = None) -> list[str]:
    """Raise :class:`PlanError` if the plan cannot work; else return the
    warnings decidable from the scenario (:func:`scenario_warnings`)."""
    # the strata's risks, computed once for both when plan_errors needs them too
    risks = _stratum_risks(sc) if sc.trial.endpoints[0] == "drfs" else None
    errors = plan_errors(sc, risks=risks)
    if errors:
        raise PlanError([(path, None, msg) for path, msg in errors], source)
    return scenario_warnings(sc, risks=risks)


def scenario_warnings(sc: Scenario, *, risks: list | None = None) -> list[str]:
    """Weaknesses of the plan decidable from the scenario alone (``risks``: see :func:`plan_errors`)."""
    out = []
    for name, expected in _arm_expectations(sc).items():
        if 1 <= expected < FEW_PATIENTS and expected < 0.25 * sc.trial.enrollment:     # a lopsided allocation
            out.append(f"the {name} arm expects only {expected:.1f} of the {sc.trial.enrollment:,} patients "
                       f"randomised (arms.{name}.allocation)")
    n = sc.trial.enrollment
    an = sc.trial.analysis
    if sc.screening is None:
        months = _time_to_accrue(sc, n)
        if months > LONG_ACCRUAL_MONTHS:
            out.append(f"accruing {n:,} patients takes about {months:,.0f} months (accrual)")
        early = _events_by_last_randomisation(sc)
        if early is not None and early[1] >= an.events:
            out.append(f"the analysis at {an.events:,} events is expected before the last randomisation: at least "
                       f"about {early[1]:,.0f} events are expected by month {_months(early[0])}, when the last of the "
                       f"{n:,} patients is randomised: the last patients would hardly count (trial.analysis.events, "
                       "accrual)")
    else:
        screened = _expected_screened(sc)
        visits, per = _randomisable_share(sc)
        if 1 <= screened * per < n:
            out.append(f"at most about {screened * per:,.0f} randomisations can be expected from the "
                       f"{screened:,.0f} survivors who can enter screening, fewer than trial.enrollment "
                       f"{n:,}: the enrolment target will be missed in most trials")
    if sc.trial.endpoints[0] == "drfs" and an.events is not None and an.events < FEW_EVENTS:
        out.append(f"trial.analysis.events {an.events}: an analysis at fewer than {FEW_EVENTS} events can hardly "
                   "reject the null hypothesis")
    risks = risks if risks is not None else _stratum_risks(sc)
    window = _observed_months(sc)
    p_event = sum(share * p for _, share, _, p, _ in risks)
    # (screened trials randomise survivors enriched for recurrence: the population's
    # curves understate their events, so only the simulation can tell it is few)
    if sc.screening is None and sc.trial.endpoints[0] == "drfs" and NO_EVENTS <= n * p_event < FEW_EVENTS:
        out.append(f"only about {n * p_event:.2g} events are expected among {n:,} patients over the "
                   f"{window:.0f} months the trial can observe")
    for i, (name, share, t0, p, zero) in enumerate(risks):
        if share > 0 and zero >= ZERO_HAZARD_SHARE:
            out.append(f"stratum {name}: its recurrence curve has no hazard over {zero:.0%} of the {window:.0f} "
                       f"months the trial can observe from time since diagnosis {t0:g} "
                       f"(population.strata.{i}): does time_since_diagnosis match the curve's time origin?")
    return out


def result_warnings(sc: Scenario, table: dict) -> list[str]:
    """The scenario's warnings and those visible only after simulating ``table``
    (the per-replicate table of a run)."""
    out = scenario_warnings(sc)
    rand = np.asarray(table["randomized"], dtype=float)
    R = rand.size
    if R == 0:
        return out
    nobody = float(np.mean(rand == 0))
    if nobody > 0.5:
        out.append(f"nobody was randomised in {nobody:.0%} of the simulated trials")
    reached = float(np.mean(table["enrollment_reached"]))
    if reached < 0.5:
        out.append(f"the enrolment target ({sc.trial.enrollment:,}) was reached in only {reached:.0%} of the "
                   "simulated trials")
    events = float(np.mean(table["events"]))
    if events < FEW_EVENTS:
        out.append(f"only {events:.1f} events on average at the analysis: the test can hardly reject")
    if "stopped_at_look" not in table:
        am = np.asarray(table["analysis_month"], dtype=float)
        lr = np.asarray(table["last_randomized_month"], dtype=float)
        ok = np.isfinite(am) & np.isfinite(lr)
        early = float(np.mean(am[ok] < lr[ok])) if ok.any() else 0.0
        if early > 0.5:
            out.append(f"the analysis came before the last randomisation in {early:.0%} of the simulated trials")
    if sc.mrd is not None and "truly_mrd_positive" in table:
        some = rand > 0
        if some.any():
            share = float(np.mean(np.asarray(table["truly_mrd_positive"], dtype=float)[some] / rand[some]))
            if share < 0.5:
                out.append(f"only {share:.0%} of the randomised were truly MRD-positive on average: the effect "
                           "is diluted by false positives")
    rejected = np.asarray(table["rejected"])
    if R >= 200 and not rejected.any():
        out.append(f"none of the {R:,} simulated trials rejected the null hypothesis")
    return out
