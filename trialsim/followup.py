"""The trial after randomisation, for a chunk of replicates at once: arms and
their effects, endpoints, the analysis cuts (final and interim), the test at
each cut, stopping at group-sequential boundaries, and the MRD-clearance
endpoint.

Grain of what it returns: one value per replicate (arrays of length R), and
for trials with interim looks one row per replicate per look performed.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

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
    imaging_lead: float = 0.0             # months a metastasis shows on imaging before it recurs
    more_treatments: tuple[ArmModel, ...] = ()   # treatment arms after the first, in the file's order
    multiplicity: str = "holm"            # with several treatment arms: holm | bonferroni | dunnett | none
    staged_after: bool = False            # staged after randomisation: the metastatic are in the arms
    eligible_only: bool = False           # ... and the analysis leaves them out (trial.population: eligible)

    @property
    def arms(self) -> tuple[ArmModel, ...]:
        """Control first, then every treatment arm (arm index = position)."""
        return (self.control, self.treatment, *self.more_treatments)


@dataclass
class Padded:
    """Flat per-patient arrays laid out as (replicate x patient) rows.

    ``per_row``, when given, says the layout is the randomised patients' own:
    patients sorted by replicate, each row's patients in its first
    ``per_row[r]`` columns in their order (``col`` may then be None: it is
    made when asked for). Laying out and gathering back are then a reshape
    (every row full) or one boolean mask, not a scatter. A layout that is a
    reshape returns a read-only view of the values, not a copy."""

    R: int
    rep: np.ndarray
    col: np.ndarray | None
    width: int
    per_row: np.ndarray | None = None
    _mask: np.ndarray | None = dataclasses.field(default=None, init=False, repr=False)

    def __post_init__(self):
        if self.col is None and self.per_row is None:
            raise ValueError("Padded needs col or per_row")

    @property
    def cols(self) -> np.ndarray:
        """Column of each patient."""
        if self.col is None:
            first = np.cumsum(self.per_row) - self.per_row
            self.col = np.arange(self.rep.size) - first[self.rep]
        return self.col

    @property
    def full(self) -> bool:
        """Every row holds ``width`` patients: the layout is a reshape."""
        return self.per_row is not None and self.rep.size == self.R * self.width

    @property
    def mask(self) -> np.ndarray:
        """(R, width) bool: the cells holding a patient (patient order = row-major order)."""
        if self._mask is None:
            self._mask = np.arange(self.width) < self.per_row[:, None]
        return self._mask

    def __call__(self, values, fill):
        values = np.asarray(values)
        if self.full:
            a = values.reshape(self.R, self.width)
            if np.may_share_memory(a, values):
                a = a.view()
                a.flags.writeable = False
            return a
        a = np.full((self.R, self.width), fill, dtype=values.dtype)
        if self.per_row is not None:
            a[self.mask] = values
        else:
            a[self.rep, self.col] = values
        return a

    def gather(self, a: np.ndarray) -> np.ndarray:
        """Per-patient values of a padded (R, width) array: ``a[rep, col]``."""
        if self.full:
            return a.reshape(-1).copy()
        if self.per_row is not None:
            return a[self.mask]
        return a[self.rep, self.cols]


# --------------------------------------------------------------------------
# The pipeline: each step takes what the step before returned.
#
#   draw_trial_uniforms -> randomise -> apply_effects -> outcome_times
#   -> lay_out -> final_analysis_cut -> analyse (or the group-sequential
#   looks) -> summarise, then the MRD-clearance endpoint and the patient table.


@dataclass
class TrialUniforms:
    """The uniforms of the trial stage, per randomised patient in
    randomisation order, and the patients' (replicate, column) layout."""

    u: np.ndarray              # (n, N_TRIAL_UNIFORMS): arm key, eradication, dropout
    uc: np.ndarray | None      # (n, N_CLEARANCE_UNIFORMS) when clearance is measured
    pad: Padded
    n_per_replicate: np.ndarray


@dataclass
class Histories:
    """Latent histories after the arms' effects (times since entry); the MRD
    windows and the effects' start only with a clearance endpoint."""

    t_rec: np.ndarray
    mrd_start: np.ndarray | None
    mrd_end: np.ndarray | None
    effect_start: np.ndarray | None


@dataclass
class OutcomeTimes:
    """Times from randomisation of each randomised patient."""

    x_rec: np.ndarray
    x_death: np.ndarray
    x_drop: np.ndarray
    x_event: np.ndarray
    x_cens: np.ndarray
    has_event: np.ndarray
    cal_event: np.ndarray      # calendar month of the event; inf without one


@dataclass
class TrialData:
    """The randomised patients as padded (replicate x patient) arrays, ready
    for the analysis kernels."""

    P_cal: np.ndarray          # calendar month of each event (inf: none)
    P_rand: np.ndarray         # calendar month of randomisation (inf: padding)
    P_obs: np.ndarray          # observed time from randomisation without a cut
    P_has: np.ndarray          # the event is observed without a cut
    valid: np.ndarray          # a real patient, not padding
    group: np.ndarray          # treatment arm
    strata: np.ndarray | None  # stratum index, for stratified tests
    last_rand: np.ndarray      # per replicate; nan when nobody was randomised


@dataclass
class Analysis:
    """One analysis per replicate at calendar cut ``cut``."""

    cut: np.ndarray
    result: object             # the test's result object (analysis.*Result)
    in_analysis: np.ndarray
    obs_time: np.ndarray
    obs_event: np.ndarray


def draw_trial_uniforms(m: FollowUpModel, enrol, trial_rngs) -> TrialUniforms:
    """Per-patient uniforms from each replicate's trial stream, in
    randomisation order: the trial's uniforms for all of a replicate's
    patients first, then the clearance uniforms. (``enrol.rep`` is sorted:
    a replicate's patients are consecutive.)"""
    R = len(trial_rngs)
    rep = enrol.rep
    n_r = _per_replicate(rep, R)
    n = rep.size
    u = np.empty((n, N_TRIAL_UNIFORMS))
    uc = np.empty((n, N_CLEARANCE_UNIFORMS)) if m.clearance is not None else None
    ends = np.cumsum(n_r)
    first = ends - n_r
    # Filled in place (``out=``): the same numbers, in the same order, as random((c, k)).
    for r, a, b in zip(np.flatnonzero(n_r).tolist(), first[n_r > 0].tolist(), ends[n_r > 0].tolist()):
        trial_rngs[r].random(out=u[a:b])
        if uc is not None:
            trial_rngs[r].random(out=uc[a:b])
    width = max(int(n_r.max()) if R else 0, 1)
    return TrialUniforms(u, uc, Padded(R, rep, None, width, per_row=n_r), n_r)


def randomise(m: FollowUpModel, tu: TrialUniforms) -> np.ndarray:
    """Arm index per patient (0 = control, 1, 2, ... the treatment arms;
    permuted blocks in each replicate)."""
    pad = tu.pad
    return pad.gather(assign_arms_padded(pad(tu.u[:, 0], 2.0), *(a.allocation for a in m.arms)))


def apply_effects(m: FollowUpModel, enrol, arm_of: np.ndarray, tu: TrialUniforms,
                  since_entry: np.ndarray | None = None) -> Histories:
    """Each arm's effect (eradication, hazard ratio, delay) on its patients'
    histories (``arm_of``: arm index per patient). The MRD windows and the
    effects' start only matter to the clearance endpoint: without one they
    are left None."""
    p = enrol.patients
    if since_entry is None:
        since_entry = enrol.randomized_at - enrol.entered_at
    t_rec = p.t_rec.copy()
    windows = m.clearance is not None
    mrd_start = mrd_end = effect_start = None
    if windows:
        mrd_start, mrd_end = p.mrd_start.copy(), p.mrd_end.copy()
        effect_start = np.full(enrol.rep.size, np.inf)
    for k, arm in enumerate(m.arms):
        if not arm.has_effect:
            continue
        idx = np.flatnonzero(arm_of == k)
        if idx.size:
            out = apply_arm(m.population, p.take_lazily(idx), since_entry[idx], arm, tu.u[idx, 1],
                            _imaging(m, enrol, idx), windows=windows)
            t_rec[idx] = out.t_rec
            if windows:
                effect_start[idx] = out.effect_start
                mrd_start[idx], mrd_end[idx] = out.mrd_start, out.mrd_end
    return Histories(t_rec, mrd_start, mrd_end, effect_start)


def _imaging(m: FollowUpModel, enrol, idx: np.ndarray):
    """The imaging lead of the patients ``idx``: their own with an imaging curve, else the scenario's."""
    own = getattr(enrol, "imaging_lead", None)
    return m.imaging_lead if own is None else own[idx]


def outcome_times(m: FollowUpModel, enrol, h: Histories, tu: TrialUniforms,
                  since_entry: np.ndarray | None = None) -> OutcomeTimes:
    """Recurrence, death, dropout and the endpoint's event and censoring times
    from randomisation (``since_entry``: randomisation time from entry, if
    already computed)."""
    if since_entry is None:
        since_entry = enrol.randomized_at - enrol.entered_at
    n = enrol.rep.size
    x_rec = h.t_rec - since_entry
    x_death = enrol.patients.t_death - since_entry
    with np.errstate(divide="ignore", over="ignore"):  # a denormal rate gives inf, i.e. no dropout
        x_drop = -np.log1p(-tu.u[:, 2]) / m.dropout_rate if m.dropout_rate > 0 else np.full(n, np.inf)
    if m.death_is_event:
        x_event, x_cens = np.minimum(x_rec, x_death), x_drop
    else:
        # without dropout, min(inf, death) is the death time itself
        x_event, x_cens = x_rec, (np.minimum(x_drop, x_death) if m.dropout_rate > 0 else x_death)
    has_event = x_event <= x_cens
    cal_event = np.add(enrol.randomized_at, x_event)
    np.copyto(cal_event, np.inf, where=~has_event)
    return OutcomeTimes(x_rec, x_death, x_drop, x_event, x_cens, has_event, cal_event)


def lay_out(m: FollowUpModel, enrol, treat: np.ndarray, x: OutcomeTimes, pad: Padded) -> TrialData:
    """The patients as padded (replicate x patient) arrays; with
    ``eligible_only``, those found metastatic at staging after randomisation
    are left out of the analysis (not of the randomised)."""
    n_r = pad.per_row if pad.per_row is not None else _per_replicate(enrol.rep, pad.R)
    keep = None
    if m.eligible_only and m.staged_after and enrol.metastatic is not None:
        keep = ~enrol.metastatic
    P_cal = pad(x.cal_event if keep is None else np.where(keep, x.cal_event, np.inf), np.inf)
    P_rand = pad(enrol.randomized_at, np.inf)
    if keep is not None:
        valid = pad(keep, False)
    elif pad.full:
        valid = np.ones((pad.R, pad.width), dtype=bool)
    elif pad.per_row is not None:
        valid = pad.mask.copy()
    else:
        valid = pad(np.ones(enrol.rep.size, dtype=bool), False)
    last_rand = np.where(n_r > 0, np.max(P_rand, axis=1, initial=-np.inf, where=np.isfinite(P_rand)), np.nan)
    return TrialData(
        P_cal=P_cal, P_rand=P_rand, P_obs=pad(np.minimum(x.x_event, x.x_cens), np.inf),
        P_has=pad(x.has_event, False), valid=valid, group=pad(treat, False),
        strata=pad(enrol.patients.stratum.astype(np.int64), -1) if m.plan.stratified else None,
        last_rand=last_rand)


def final_analysis_cut(plan: AnalysisPlan, d: TrialData) -> np.ndarray:
    """Calendar month of the final analysis: at the target number of events,
    at a time after the last randomisation, or whichever comes first; a target
    never reached without a calendar cut: once every event has happened."""
    final_cut = _event_cut(d.P_cal, plan.events_target)
    if plan.months_after_last is not None:
        final_cut = np.minimum(final_cut, d.last_rand + plan.months_after_last)
    late = np.flatnonzero(~np.isfinite(final_cut))   # only these rows need the fallback
    if late.size:
        P_cal = d.P_cal[late]
        finite = np.max(P_cal, axis=1, initial=-np.inf, where=np.isfinite(P_cal))
        final_cut = final_cut.copy()
        final_cut[late] = np.where(np.isfinite(finite), finite, np.nan_to_num(d.last_rand[late], nan=0.0))
    return final_cut


def analyse(plan: AnalysisPlan, d: TrialData, cut: np.ndarray) -> Analysis:
    """The data cut at calendar month ``cut`` (per replicate), and the test on it."""
    follow = np.subtract(cut[:, None], d.P_rand)
    in_analysis = follow >= 0
    in_analysis &= d.valid
    obs_time = np.minimum(d.P_obs, follow, out=follow)
    np.copyto(obs_time, np.inf, where=~in_analysis)
    # Compare on the calendar: (r + x) - r can round below x and lose the cut's own event.
    obs_event = d.P_cal <= cut[:, None]
    obs_event &= d.P_has
    obs_event &= in_analysis
    res = _statistic(plan.test, obs_time, obs_event, d.group, in_analysis, d.strata)
    return Analysis(cut, res, in_analysis, obs_time, obs_event)


def summarise(plan: AnalysisPlan, d: TrialData, a: Analysis, rejected, stopped_at_look) -> dict:
    """Per-replicate results of the deciding analysis."""
    R = d.P_cal.shape[0]
    res = a.result
    lr = res if isinstance(res, analysis.LogrankResult) else analysis.logrank(a.obs_time, a.obs_event, d.group,
                                                                               a.in_analysis)
    events = np.count_nonzero(a.obs_event, axis=1).astype(np.int64)
    events_treatment = np.count_nonzero(a.obs_event & d.group, axis=1).astype(np.int64)
    out = {
        "analysis_month": a.cut,
        "events": events,
        "events_control": events - events_treatment,
        "events_treatment": events_treatment,
        "events_reached": _events_reached(plan, events, stopped_at_look, R),
        "z": np.asarray(res.z, dtype=float),
        "hazard_ratio_estimate": _hazard_ratio(res, lr),
        "rejected": np.asarray(rejected, dtype=bool),
    }
    est_name = getattr(res, "estimate_name", "hazard_ratio")
    if est_name != "hazard_ratio" and getattr(res, "estimate", None) is not None:
        out[f"{est_name}_estimate"] = np.asarray(res.estimate, dtype=float)
    return out


def follow_up_and_analyse(m: FollowUpModel, enrol, trial_rngs, patients: dict | None = None,
                          effect_rows: np.ndarray | None = None, event_months: bool = True) -> dict:
    """The trial after randomisation for a chunk of replicates: the pipeline
    above, step by step. Returns per-replicate arrays (and, for designs with
    looks, ``_looks``: one row per replicate per look performed); fills
    ``patients`` with one row per randomised patient when given.
    ``event_months``: also return ``_event_months``, (replicate row, calendar
    month) of each event in the deciding analysis (for a timeline)."""
    R = len(trial_rngs)
    plan = m.plan
    tu = draw_trial_uniforms(m, enrol, trial_rngs)
    arm_of = randomise(m, tu)
    treat = arm_of != 0            # any treatment arm (the only one in a two-arm trial)
    since_entry = enrol.randomized_at - enrol.entered_at
    h = apply_effects(m, enrol, arm_of, tu, since_entry)
    x = outcome_times(m, enrol, h, tu, since_entry)
    d = lay_out(m, enrol, treat, x, tu.pad)
    final_cut = final_analysis_cut(plan, d)

    # DRFS is always analysed (descriptive when it is not the primary endpoint).
    out: dict[str, np.ndarray] = {}
    looks_rows = None
    if plan.looks:
        rejected, analysis_cut, looks_rows, extra = group_sequential(plan, d, final_cut)
        out.update(extra)
    else:
        analysis_cut = final_cut
    a = analyse(plan, d, analysis_cut)
    if not plan.looks:
        # The test's own p-value decides: MaxCombo's two-sided p is not a function of its z.
        rejected = analysis.p_at_most(a.result, plan.sided, plan.alpha)
    out.update(summarise(plan, d, a, rejected, out.get("stopped_at_look")))
    if len(m.arms) > 2:
        # Several treatment arms: each against control at the same cut; the
        # pooled comparison above stays descriptive and `rejected` is "any".
        out.update(compare_arms(m, d, a.cut, arm_of, tu.pad))

    # Truly MRD-positive: detectable at the positive test's sample (screening),
    # or at randomisation without screening.
    rep = tu.pad.rep
    p = enrol.patients
    if any(st.mrd is not None for st in m.population.strata):
        at = np.where(np.isnan(enrol.tested_at), since_entry, enrol.tested_at)
        truly = p.detectable(at)
    else:      # no MRD model: no window [mrd_start, mrd_end) is ever open (both inf)
        truly = np.zeros(rep.size, dtype=bool)
    out["truly_mrd_positive"] = np.bincount(rep[truly], minlength=R)
    if m.staged_after:
        meta = enrol.metastatic
        out["metastatic_randomized"] = np.bincount(rep[meta], minlength=R)
        for k, arm in enumerate(m.arms):
            mine = meta & (arm_of == k)
            name = "control" if k == 0 else ("treatment" if len(m.arms) == 2 else arm.name)
            out[f"metastatic_randomized_{name}"] = np.bincount(rep[mine], minlength=R)
    K = len(m.population.strata)
    out["_truly_by_stratum"] = np.bincount(rep[truly].astype(np.int64) * K + p.stratum[truly],
                                           minlength=R * K).reshape(R, K)
    # the treated of each row, counted in the padded layout (padding is never treated)
    out["treatment_randomized"] = np.count_nonzero(d.group, axis=1).astype(np.int64)
    out["last_randomized_month"] = d.last_rand

    out.update(model_effect(m, enrol, arm_of, tu, x, a, truly, effect_rows))

    if m.clearance is not None:
        out.update(_clearance(m, enrol, since_entry, x.x_rec, x.x_death, x.x_drop, h.effect_start,
                              h.mrd_start, h.mrd_end, p, treat, tu.uc, tu.pad, R))
        out["clearance_month"] = d.last_rand + m.clearance.at
        if m.primary == "mrd_clearance":
            out["drfs_rejected"] = out["rejected"]
            out["rejected"] = out["clearance_rejected"]

    if patients is not None:
        patients.update(patient_records(m, enrol, arm_of, truly, a, x, out["analysis_month"], tu.pad))
    if looks_rows is not None:
        out["_looks"] = looks_rows
    if event_months:
        ev = tu.pad.gather(a.obs_event)
        out["_event_months"] = (rep[ev], enrol.randomized_at[ev] + tu.pad.gather(a.obs_time)[ev])
    return out


def compare_arms(m: FollowUpModel, d: TrialData, cut: np.ndarray, arm_of: np.ndarray, pad: Padded) -> dict:
    """Each treatment arm against control at the calendar ``cut``, and the
    decisions after the multiplicity adjustment (``m.multiplicity``):

    * ``bonferroni``: adjusted p = min(1, K p);
    * ``holm``: step-down, adjusted p_(i) = max over j <= i of min(1, (K - j + 1) p_(j));
    * ``dunnett``: single-step, adjusted p_k = P(max_j Z_j >= z_k) (two-sided:
      |Z_j| >= |z_k|) for Z jointly normal under the null with the shared
      control's correlation sqrt(w_j w_k), w_k = n_k / (n_k + n_0) from the
      patients in each comparison (quasi-Monte Carlo, ``analysis.mvn``);
    * ``none``: each comparison at the full alpha.

    A comparison is rejected when its adjusted p-value is at most alpha;
    ``rejected`` is then "at least one"."""
    plan = m.plan
    R = cut.size
    P_arm = pad(arm_of.astype(np.int16), -1)
    names = [a.name for a in m.arms]
    K = len(names) - 1
    z = np.empty((R, K))
    p = np.empty((R, K))
    n_in = np.empty((R, K + 1))
    n_in[:, 0] = (d.valid & (P_arm == 0) & (cut[:, None] >= d.P_rand)).sum(axis=1)
    out: dict[str, np.ndarray] = {}
    for k in range(1, K + 1):
        dk = dataclasses.replace(d, valid=d.valid & ((P_arm == 0) | (P_arm == k)), group=P_arm == k)
        ak = analyse(plan, dk, cut)
        sk = summarise(plan, dk, ak, np.zeros(R, dtype=bool), None)
        z[:, k - 1] = sk["z"]
        p[:, k - 1] = np.asarray(ak.result.p_value(plan.sided), dtype=float)
        n_in[:, k] = (ak.in_analysis & (P_arm == k)).sum(axis=1)
        name = names[k]
        out[f"randomized_{name}"] = (d.valid & (P_arm == k)).sum(axis=1).astype(np.int64)
        out[f"events_{name}"] = sk["events"]
        out[f"z_{name}"] = sk["z"]
        out[f"hazard_ratio_estimate_{name}"] = sk["hazard_ratio_estimate"]
        out[f"p_value_{name}"] = p[:, k - 1]
    adjusted = adjust_p_values(p, z, n_in, m.multiplicity, plan.sided)
    reject = adjusted <= plan.alpha
    for k in range(1, K + 1):
        out[f"p_value_adjusted_{names[k]}"] = adjusted[:, k - 1]
        out[f"rejected_{names[k]}"] = reject[:, k - 1]
    out["rejected"] = reject.any(axis=1)
    return out


def adjust_p_values(p: np.ndarray, z: np.ndarray, n_in: np.ndarray, method: str, sided: int) -> np.ndarray:
    """Adjusted p-values (R, K) of K comparisons with one control (see
    :func:`compare_arms`); NaN p-values (a comparison without data) stay NaN
    and count as not rejected."""
    R, K = p.shape
    if method == "none":
        return p.copy()
    if method == "bonferroni":
        return np.minimum(1.0, K * p)
    if method == "holm":
        filled = np.where(np.isnan(p), np.inf, p)
        order = np.argsort(filled, axis=1, kind="stable")
        ranked = np.take_along_axis(filled, order, axis=1)
        step = np.minimum(1.0, ranked * (K - np.arange(K))[None, :])
        step = np.maximum.accumulate(step, axis=1)
        out = np.empty_like(step)
        np.put_along_axis(out, order, step, axis=1)
        return np.where(np.isnan(p), np.nan, out)
    if method == "dunnett":
        w = n_in[:, 1:] / np.maximum(n_in[:, 1:] + n_in[:, :1], 1.0)
        corr = np.sqrt(w[:, :, None] * w[:, None, :])
        idx = np.arange(K)
        corr[:, idx, idx] = 1.0
        has = np.isfinite(z) & (n_in[:, 1:] > 0) & (n_in[:, :1] > 0)
        stat = np.abs(z) if sided == 2 else z
        out = np.full((R, K), np.nan)
        for k in range(K):
            m = np.where(has[:, k], stat[:, k], np.inf)
            out[:, k] = np.where(has[:, k], analysis.max_normal_tail(m, corr, has, two_sided=sided == 2), np.nan)
        return out
    raise ValueError(f"unknown multiplicity adjustment {method!r}")


def _x_event_under(m: FollowUpModel, enrol, arm_of: np.ndarray, tu: TrialUniforms, x: OutcomeTimes,
                   j: int) -> np.ndarray:
    """Each patient's event time from randomisation under arm ``j``: her own
    where she was given arm j, else drawn from her latent history and uniforms."""
    arm = m.arms[j]
    out = x.x_event.copy()
    idx = np.flatnonzero(arm_of != j)
    if idx.size == 0:
        return out
    p = enrol.patients
    since_entry = enrol.randomized_at - enrol.entered_at
    if arm.has_effect:
        t_rec = apply_arm(m.population, p.take_lazily(idx), since_entry[idx], arm, tu.u[idx, 1],
                          _imaging(m, enrol, idx), windows=False).t_rec
    else:
        t_rec = p.t_rec[idx]
    x_rec = t_rec - since_entry[idx]
    out[idx] = np.minimum(x_rec, x.x_death[idx]) if m.death_is_event else x_rec
    return out


#: the model's effect (model_effect) is computed on the simulated trials with index below this: the
#: geometric mean over 200 trials is precise (it has no randomisation noise), and it costs no more for long runs
MODEL_EFFECT_REPLICATES = 200


def model_effect(m: FollowUpModel, enrol, arm_of: np.ndarray, tu: TrialUniforms, x: OutcomeTimes, a: Analysis,
                 truly: np.ndarray, rows: np.ndarray | None = None) -> dict:
    """The effect the simulated trial sees, from the model rather than from
    one randomisation: every randomised patient observed in both arms.

    Each patient's recurrence under the arm she was not given is drawn with
    her own uniforms (the same latent history, the same eradication draw);
    her death, dropout and follow-up to the deciding analysis are the same in
    both. The log-rank hazard-ratio estimator on these 2n potential outcomes
    is ``average_hazard_ratio``: the trial's own estimator without the chance
    imbalance of randomisation. ``average_hazard_ratio_mrd`` is the same among
    the truly MRD-positive (NaN without any). With several treatment arms, one
    pair per arm (``average_hazard_ratio_<arm>``, ...), each over the patients
    of that arm and control. Only the replicates where ``rows`` is true (the
    run's first :data:`MODEL_EFFECT_REPLICATES`) get a value; NaN elsewhere."""
    R = a.cut.size
    rows = np.ones(R, dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    several = len(m.arms) > 2
    if not rows.any():   # the keys below, all NaN
        return {f"average_hazard_ratio{mrd}{f'_{m.arms[k].name}' if several else ''}": np.full(R, np.nan)
                for k in range(1, len(m.arms)) for mrd in ("", "_mrd")}
    if not rows.all():
        keep_rows = rows[enrol.rep]
        sub = _subset_rows(enrol, keep_rows, rows)
        full = model_effect(m, sub, arm_of[keep_rows], _subset_uniforms(tu, keep_rows, rows),
                            _subset_outcomes(x, keep_rows), _subset_analysis(a, rows), truly[keep_rows])
        out = {}
        for key, values in full.items():
            out[key] = np.full(R, np.nan)
            out[key][rows] = values
        return out
    rep, col = tu.pad.rep, tu.pad.cols
    if not any(arm.has_effect for arm in m.arms):
        out = {}
        for k in range(1, len(m.arms)):
            suffix = f"_{m.arms[k].name}" if several else ""
            mine = (arm_of == 0) | (arm_of == k)
            out[f"average_hazard_ratio{suffix}"] = np.where(np.bincount(rep[mine], minlength=R) > 0, 1.0, np.nan)
            out[f"average_hazard_ratio_mrd{suffix}"] = np.where(
                np.bincount(rep[mine & truly], minlength=R) > 0, 1.0, np.nan)
        if not several:
            out["average_hazard_ratio"] = np.ones(R)
        return out
    follow = np.maximum(a.cut[rep] - enrol.randomized_at, 0.0)
    inside = tu.pad.gather(a.in_analysis)

    def observed(x_event):
        end = np.minimum(x.x_cens, follow)
        return np.minimum(x_event, end), (x_event <= end) & inside

    t_ctrl, e_ctrl = observed(_x_event_under(m, enrol, arm_of, tu, x, 0))
    out = {}
    for k in range(1, len(m.arms)):
        # The twins: each patient twice, in arm k with her outcome under it
        # and in control with her outcome there.
        t_treat, e_treat = observed(_x_event_under(m, enrol, arm_of, tu, x, k))
        mine = inside & ((arm_of == 0) | (arm_of == k))
        suffix = f"_{m.arms[k].name}" if several else ""
        for key, keep in ((f"average_hazard_ratio{suffix}", mine), (f"average_hazard_ratio_mrd{suffix}", mine & truly)):
            if not keep.any():
                out[key] = np.full(R, np.nan)
                continue
            nk = int(keep.sum())
            twins = Padded(R, np.concatenate([rep[keep], rep[keep]]),
                           np.concatenate([col[keep], col[keep] + tu.pad.width]), 2 * tu.pad.width)
            time = twins(np.concatenate([t_treat[keep], t_ctrl[keep]]), np.inf)
            event = twins(np.concatenate([e_treat[keep], e_ctrl[keep]]), False)
            group = twins(np.concatenate([np.ones(nk, bool), np.zeros(nk, bool)]), False)
            valid = twins(np.ones(2 * nk, bool), False)
            out[key] = np.asarray(analysis.logrank(time, event, group, valid).hazard_ratio, dtype=float)
    return out


def _subset_rows(enrol, keep: np.ndarray, rows: np.ndarray):
    """The randomised patients ``keep`` of an enrolment, in the replicates ``rows`` renumbered from 0
    (the fields model_effect reads)."""
    new_row = np.cumsum(rows) - 1
    sub = dataclasses.replace(enrol, rep=new_row[enrol.rep[keep]], randomized_at=enrol.randomized_at[keep],
                              entered_at=enrol.entered_at[keep], tested_at=enrol.tested_at[keep],
                              patients=enrol.patients.take(np.flatnonzero(keep)))
    for name in ("metastatic", "imaging_lead"):
        value = getattr(enrol, name, None)
        setattr(sub, name, None if value is None else value[keep])
    return sub


def _subset_uniforms(tu: TrialUniforms, keep: np.ndarray, rows: np.ndarray) -> TrialUniforms:
    """The uniforms and (replicate, column) layout of the patients ``keep``, in the replicates ``rows``."""
    new_row = np.cumsum(rows) - 1
    rep = new_row[tu.pad.rep[keep]]
    per_row = None if tu.pad.per_row is None else tu.pad.per_row[rows]   # whole replicates: still each row's first columns
    pad = Padded(int(rows.sum()), rep, None if per_row is not None else tu.pad.cols[keep], tu.pad.width,
                 per_row=per_row)
    return TrialUniforms(tu.u[keep], None if tu.uc is None else tu.uc[keep], pad, tu.n_per_replicate[rows])


def _subset_outcomes(x: OutcomeTimes, keep: np.ndarray) -> OutcomeTimes:
    return OutcomeTimes(*(getattr(x, f.name)[keep] for f in dataclasses.fields(OutcomeTimes)))


def _subset_analysis(a: Analysis, rows: np.ndarray) -> Analysis:
    return Analysis(a.cut[rows], None, a.in_analysis[rows], a.obs_time[rows], a.obs_event[rows])


def patient_records(m: FollowUpModel, enrol, arm_of, truly, a: Analysis, x: OutcomeTimes, analysis_month,
                    pad: Padded) -> dict:
    """One row per randomised patient (columns as in docs/results.md)."""
    rep = pad.rep
    p = enrol.patients
    in_an = pad.gather(a.in_analysis)
    return {
        "_row": rep,
        "entered_month": enrol.entered_at,
        "randomized_month": enrol.randomized_at,
        "arm": np.array([arm.name for arm in m.arms])[arm_of],
        "stratum": np.array([st.name for st in m.population.strata])[p.stratum],
        "truly_mrd_positive": truly,
        "in_analysis": in_an,
        "time": np.where(in_an, pad.gather(a.obs_time), np.nan),
        "event": pad.gather(a.obs_event),
        "recurrence_month": enrol.randomized_at + x.x_rec,
        "death_month": enrol.randomized_at + x.x_death,
        "dropout_month": enrol.randomized_at + x.x_drop,
        "analysis_month": analysis_month[rep],
    }


def _events_reached(plan: AnalysisPlan, events: np.ndarray, stopped_at_look, R: int) -> np.ndarray:
    """Did the analysis that decided the trial have its planned events (the
    look's share of the target for a trial that stopped at an interim look)?"""
    if plan.events_target is None:
        return np.ones(R, dtype=bool)
    if stopped_at_look is None:
        return events >= plan.events_target
    planned = np.array([math.ceil(f * plan.events_target) for f in plan.looks] + [plan.events_target])
    return events >= planned[stopped_at_look - 1]


def _per_replicate(rep: np.ndarray, R: int) -> np.ndarray:
    """``np.bincount(rep, minlength=R)`` for sorted ``rep`` (a replicate's
    patients are consecutive), from R + 1 binary searches."""
    return np.diff(np.searchsorted(rep, np.arange(R + 1, dtype=rep.dtype)))


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


def group_sequential(plan: AnalysisPlan, d: TrialData, final_cut: np.ndarray):
    """Interim looks at information fractions of the target events, then the
    final analysis; stop at the first look whose statistic crosses a boundary.
    A look whose time comes at or after the final analysis (the calendar cut
    came first) is not performed: the final analysis is."""
    P_cal, P_rand, valid = d.P_cal, d.P_rand, d.valid
    R = P_cal.shape[0]
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
        look = analyse(plan, d, np.where(active, cut, final_cut))
        obs_event = look.obs_event
        z = np.asarray(look.result.z, dtype=float)
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
