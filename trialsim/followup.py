"""The trial after randomisation, for a chunk of replicates at once: arms and
their effects, endpoints, the analysis cuts (final and interim), the test at
each cut, stopping at group-sequential boundaries, and the MRD-clearance
endpoint.

Grain of what it returns: one value per replicate (arrays of length R), and
for trials with interim looks one row per replicate per look performed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from trialsim import analysis
from trialsim.cohort import PopulationModel
from trialsim.intervention import ArmModel, apply_arm, assign_arms_padded
from trialsim.screening import TestModel, run_tests

N_TRIAL_UNIFORMS = 3        # per randomised patient: arm key, eradication, dropout
N_CLEARANCE_UNIFORMS = 2    # per randomised patient, drawn after those: test failure, result


@dataclass(frozen=True)
class AnalysisPlan:
    """What is tested, when, and against which boundaries."""

    test: str = "logrank"
    stratified: bool = False
    alpha: float = 0.025
    sided: int = 1
    events_target: int | None = None
    months_after_last: float | None = None
    looks: tuple[float, ...] = ()               # interim information fractions (of events_target)
    efficacy: tuple[float, ...] | None = None   # z boundaries at the interim looks and the final analysis
    futility: tuple[float, ...] | None = None


@dataclass(frozen=True)
class ClearancePlan:
    at: float                 # months after randomisation
    test: str = "fisher"      # fisher | cmh
    alpha: float = 0.025
    sided: int = 1


@dataclass(frozen=True)
class FollowUpModel:
    population: PopulationModel
    control: ArmModel
    treatment: ArmModel
    dropout_rate: float
    death_is_event: bool
    plan: AnalysisPlan
    primary: str = "drfs"                 # drfs | mrd_clearance: decides `rejected`
    clearance: ClearancePlan | None = None
    test_model: TestModel | None = None


@dataclass
class Padded:
    """Flat per-patient arrays laid out as (replicate x patient) rows."""

    R: int
    rep: np.ndarray
    col: np.ndarray
    width: int

    def __call__(self, values, fill):
        a = np.full((self.R, self.width), fill, dtype=np.asarray(values).dtype)
        a[self.rep, self.col] = values
        return a


def follow_up_and_analyse(m: FollowUpModel, enrol, trial_rngs, patients: dict | None = None) -> dict:
    R = len(trial_rngs)
    rep = enrol.rep
    n_r = np.bincount(rep, minlength=R)
    n = rep.size
    # Per-patient uniforms from each replicate's trial stream, in randomisation order.
    u = np.empty((n, N_TRIAL_UNIFORMS))
    uc = np.empty((n, N_CLEARANCE_UNIFORMS)) if m.clearance is not None else None
    start = 0
    for r in np.flatnonzero(n_r):
        c = n_r[r]
        u[start:start + c] = trial_rngs[r].random((c, N_TRIAL_UNIFORMS))
        if uc is not None:
            uc[start:start + c] = trial_rngs[r].random((c, N_CLEARANCE_UNIFORMS))
        start += c
    width = max(int(n_r.max()) if R else 0, 1)
    first = np.concatenate([[0], np.cumsum(n_r)[:-1]])
    col = np.arange(n) - first[rep]
    pad = Padded(R, rep, col, width)
    treat = assign_arms_padded(pad(u[:, 0], 2.0), m.control.allocation, m.treatment.allocation)[rep, col]

    p = enrol.patients
    since_entry = enrol.randomized_at - enrol.entered_at
    t_rec = p.t_rec.copy()
    mrd_start, mrd_end = p.mrd_start.copy(), p.mrd_end.copy()
    effect_start = np.full(n, np.inf)
    for arm, mask in ((m.control, ~treat), (m.treatment, treat)):
        if not arm.has_effect:
            continue
        idx = np.flatnonzero(mask)
        if idx.size:
            out = apply_arm(m.population, p.take(idx), since_entry[idx], arm, u[idx, 1])
            t_rec[idx], effect_start[idx] = out.t_rec, out.effect_start
            mrd_start[idx], mrd_end[idx] = out.mrd_start, out.mrd_end

    # Times from randomisation.
    x_rec = t_rec - since_entry
    x_death = p.t_death - since_entry
    with np.errstate(divide="ignore", over="ignore"):  # a denormal rate gives inf, i.e. no dropout
        x_drop = -np.log1p(-u[:, 2]) / m.dropout_rate if m.dropout_rate > 0 else np.full(n, np.inf)
    if m.death_is_event:
        x_event, x_cens = np.minimum(x_rec, x_death), x_drop
    else:
        x_event, x_cens = x_rec, np.minimum(x_drop, x_death)
    has_event = x_event <= x_cens
    cal_event = np.where(has_event, enrol.randomized_at + x_event, np.inf)

    P_cal = pad(cal_event, np.inf)
    P_rand = pad(enrol.randomized_at, np.inf)
    valid = pad(np.ones(n, dtype=bool), False)
    last_rand = np.where(n_r > 0, np.max(np.where(valid, P_rand, -np.inf), axis=1), np.nan)
    group = pad(treat, False)
    strata = pad(p.stratum.astype(np.int64), -1) if m.plan.stratified else None
    P_obs = pad(np.minimum(x_event, x_cens), np.inf)
    P_has = pad(has_event, False)

    plan = m.plan
    # The final analysis: at the target number of events, at a time after the
    # last randomisation, or whichever comes first.
    final_cut = _event_cut(P_cal, plan.events_target)
    if plan.months_after_last is not None:
        final_cut = np.minimum(final_cut, last_rand + plan.months_after_last)
    # Target never reached and no calendar cut: analyse once every event has happened.
    finite = np.where(np.isfinite(P_cal), P_cal, -np.inf).max(axis=1)
    fallback = np.where(np.isfinite(finite), finite, np.nan_to_num(last_rand, nan=0.0))
    final_cut = np.where(np.isfinite(final_cut), final_cut, fallback)

    def analyse(cut):
        follow = cut[:, None] - P_rand
        in_analysis = valid & (follow >= 0)
        obs_time = np.where(in_analysis, np.minimum(P_obs, follow), np.inf)
        # Compare on the calendar: (r + x) - r can round below x and lose the cut's own event.
        obs_event = P_has & (P_cal <= cut[:, None]) & in_analysis
        res = _statistic(plan.test, obs_time, obs_event, group, in_analysis, strata)
        return res, in_analysis, obs_time, obs_event

    # DRFS is always analysed (descriptive when it is not the primary endpoint).
    out: dict[str, np.ndarray] = {}
    looks_rows = None
    if plan.looks:
        rejected, analysis_cut, looks_rows, extra = _group_sequential(plan, P_cal, final_cut, analyse, R, P_rand, valid)
        out.update(extra)
    else:
        analysis_cut = final_cut
    res, in_analysis, obs_time, obs_event = analyse(analysis_cut)
    if not plan.looks:
        # The test's own p-value decides: MaxCombo's two-sided p is not a function of its z.
        rejected = np.asarray(res.p_value(plan.sided), dtype=float) <= plan.alpha
    lr = res if isinstance(res, analysis.LogrankResult) else analysis.logrank(obs_time, obs_event, group, in_analysis)
    events = obs_event.sum(axis=1)
    out.update({
        "analysis_month": analysis_cut,
        "events": events.astype(np.int64),
        "events_control": (obs_event & ~group).sum(axis=1).astype(np.int64),
        "events_treatment": (obs_event & group).sum(axis=1).astype(np.int64),
        "events_reached": _events_reached(plan, events, out.get("stopped_at_look"), R),
        "z": np.asarray(res.z, dtype=float),
        "hazard_ratio_estimate": _hazard_ratio(res, lr),
        "rejected": np.asarray(rejected, dtype=bool),
    })
    est_name = getattr(res, "estimate_name", "hazard_ratio")
    if est_name != "hazard_ratio" and getattr(res, "estimate", None) is not None:
        out[f"{est_name}_estimate"] = np.asarray(res.estimate, dtype=float)

    # Truly MRD-positive: detectable at the positive test's sample (screening),
    # or at randomisation without screening.
    at = np.where(np.isnan(enrol.tested_at), since_entry, enrol.tested_at)
    truly = p.detectable(at)
    out["truly_mrd_positive"] = np.bincount(rep[truly], minlength=R)
    out["treatment_randomized"] = np.bincount(rep[treat], minlength=R)
    out["last_randomized_month"] = last_rand

    if m.clearance is not None:
        out.update(_clearance(m, enrol, since_entry, x_rec, x_death, x_drop, effect_start,
                              mrd_start, mrd_end, p, treat, uc, pad, R))
        out["clearance_month"] = last_rand + m.clearance.at
        if m.primary == "mrd_clearance":
            out["drfs_rejected"] = out["rejected"]
            out["rejected"] = out["clearance_rejected"]

    if patients is not None:
        patients.update({
            "_row": rep,
            "entered_month": enrol.entered_at,
            "randomized_month": enrol.randomized_at,
            "arm": np.where(treat, m.treatment.name, m.control.name),
            "stratum": np.array([st.name for st in m.population.strata])[p.stratum],
            "truly_mrd_positive": truly,
            "in_analysis": in_analysis[rep, col],
            "time": np.where(in_analysis[rep, col], obs_time[rep, col], np.nan),
            "event": obs_event[rep, col],
            "recurrence_month": enrol.randomized_at + x_rec,
            "death_month": enrol.randomized_at + x_death,
            "dropout_month": enrol.randomized_at + x_drop,
            "analysis_month": out["analysis_month"][rep],
        })
    if looks_rows is not None:
        out["_looks"] = looks_rows
    out["_event_months"] = (rep[obs_event[rep, col]], enrol.randomized_at[obs_event[rep, col]]
                            + obs_time[rep, col][obs_event[rep, col]])
    return out


def _events_reached(plan: AnalysisPlan, events: np.ndarray, stopped_at_look, R: int) -> np.ndarray:
    """Did the analysis that decided the trial have its planned events (the
    look's share of the target for a trial that stopped at an interim look)?"""
    if plan.events_target is None:
        return np.ones(R, dtype=bool)
    if stopped_at_look is None:
        return events >= plan.events_target
    planned = np.array([math.ceil(f * plan.events_target) for f in plan.looks] + [plan.events_target])
    return events >= planned[stopped_at_look - 1]


def _event_cut(P_cal: np.ndarray, k: int | None) -> np.ndarray:
    """Calendar time of the k-th event per replicate (inf when never reached)."""
    R, width = P_cal.shape
    if k is None or k > width:
        return np.full(R, np.inf)
    return np.partition(P_cal, k - 1, axis=1)[:, k - 1]


def _statistic(test: str, time, event, group, valid, strata):
    if test == "logrank" and strata is None:
        return analysis.logrank(time, event, group, valid)
    return analysis.run_test(test, time, event, group, valid, strata=strata)


def _hazard_ratio(res, lr) -> np.ndarray:
    if getattr(res, "estimate_name", None) == "hazard_ratio" and getattr(res, "estimate", None) is not None:
        return np.asarray(res.estimate, dtype=float)
    return np.asarray(lr.hazard_ratio, dtype=float)


def _group_sequential(plan: AnalysisPlan, P_cal, final_cut, analyse, R, P_rand, valid):
    """Interim looks at information fractions of the target events, then the
    final analysis; stop at the first look whose statistic crosses a boundary.
    A look whose time comes at or after the final analysis (the calendar cut
    came first) is not performed: the final analysis is."""
    k_target = plan.events_target
    cuts = [_event_cut(P_cal, max(1, math.ceil(f * k_target))) for f in plan.looks]   # same rule as the boundaries
    n_looks = len(cuts) + 1
    stopped = np.zeros(R, dtype=bool)
    rejected = np.zeros(R, dtype=bool)
    futile = np.zeros(R, dtype=bool)
    stop_cut = final_cut.copy()
    stop_look = np.full(R, n_looks, dtype=np.int64)
    rows = {k: [] for k in ("replicate_row", "look", "month", "events", "randomized", "z",
                            "efficacy_bound", "futility_bound", "decision")}
    for j in range(n_looks):
        final = j == n_looks - 1
        cut = final_cut if final else np.where(cuts[j] < final_cut, cuts[j], np.inf)
        active = ~stopped & np.isfinite(cut)
        if not active.any():
            continue
        res, in_an, _, obs_event = analyse(np.where(active, cut, final_cut))
        z = np.asarray(res.z, dtype=float)
        b = plan.efficacy[j]
        cross = (z >= b) if plan.sided == 1 else (np.abs(z) >= b)
        fut = np.zeros(R, dtype=bool)
        if plan.futility is not None and not final and np.isfinite(plan.futility[j]):
            fut = z <= plan.futility[j]
        eff_now = active & cross
        fut_now = active & ~cross & fut
        rejected |= eff_now
        futile |= fut_now
        decide = eff_now | fut_now | (active & final)
        stop_cut = np.where(decide, cut, stop_cut)
        stop_look = np.where(eff_now | fut_now, j + 1, stop_look)
        stopped |= eff_now | fut_now
        idx = np.flatnonzero(active)
        rows["replicate_row"].append(idx)
        rows["look"].append(np.full(idx.size, j + 1))
        rows["month"].append(cut[idx])
        rows["events"].append(obs_event[idx].sum(axis=1))
        rows["randomized"].append((valid[idx] & (P_rand[idx] <= cut[idx, None])).sum(axis=1))
        rows["z"].append(z[idx])
        rows["efficacy_bound"].append(np.full(idx.size, b))
        fb = plan.futility[j] if plan.futility is not None and not final else np.nan
        rows["futility_bound"].append(np.full(idx.size, fb))
        rows["decision"].append(np.where(eff_now[idx], "efficacy", np.where(fut_now[idx], "futility",
                                                                            np.where(final, "final", "continue"))))
    looks = {k: np.concatenate(v) if v else np.array([]) for k, v in rows.items()}
    randomized_at_stop = (valid & (P_rand <= stop_cut[:, None])).sum(axis=1)
    extra = {"stopped_at_look": stop_look, "stopped_for_futility": futile,
             "randomized_at_analysis": randomized_at_stop.astype(np.int64)}
    return rejected, stop_cut, looks, extra


def _clearance(m: FollowUpModel, enrol, since_entry, x_rec, x_death, x_drop, effect_start,
               mrd_start, mrd_end, p, treat, uc, pad, R) -> dict:
    """MRD clearance ``at`` months after randomisation, measured with the
    screening test: a negative result is 'cleared'. Recurrence or death before
    then counts as not cleared; dropout before then, or a failed test, is
    missing. Compared between arms by Fisher's exact test (or CMH over strata)."""
    c = m.clearance
    t_meas = since_entry + c.at       # time from entry
    after = t_meas >= effect_start
    det_after = (mrd_start <= t_meas) & (t_meas < mrd_end)
    det = np.where(after, det_after, p.detectable(t_meas))
    res = run_tests(m.test_model, det, np.column_stack([uc[:, 0], uc[:, 1], np.zeros(len(det))]))
    failed_event = (x_rec <= c.at) | (x_death <= c.at)
    missing = ~failed_event & ((x_drop <= c.at) | res.failed)
    cleared = ~failed_event & ~missing & ~res.positive
    measured = ~missing
    rep = enrol.rep
    if c.test == "cmh":
        K = len(m.population.strata)
        key = rep * K + p.stratum

        def counts(mask):
            return np.bincount(key[mask], minlength=R * K).reshape(R, K)

        st = counts(cleared & treat), counts(measured & treat), counts(cleared & ~treat), counts(measured & ~treat)
        result = analysis.cmh(*st)
    else:
        def counts(mask):
            return np.bincount(rep[mask], minlength=R)

        result = analysis.fisher_exact(counts(cleared & treat), counts(measured & treat),
                                       counts(cleared & ~treat), counts(measured & ~treat),
                                       alternative="greater" if c.sided == 1 else "two-sided")
    pval = np.asarray(result.p_value if not callable(getattr(result, "p_value", None))
                      else result.p_value(c.sided), dtype=float)
    n_t = np.bincount(rep[measured & treat], minlength=R)
    n_c = np.bincount(rep[measured & ~treat], minlength=R)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_t = np.bincount(rep[cleared & treat], minlength=R) / n_t
        share_c = np.bincount(rep[cleared & ~treat], minlength=R) / n_c
    return {
        "clearance_measured": (n_t + n_c).astype(np.int64),
        "clearance_share_treatment": share_t,
        "clearance_share_control": share_c,
        "clearance_p_value": pval,
        "clearance_rejected": pval <= c.alpha,
    }
