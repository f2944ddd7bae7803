"""Arm effects on the latent histories of randomised patients.

An arm's intervention starts ``delay`` months after randomisation. With
probability ``eradication`` it eradicates MRD that is detectable at
randomisation: in the lead_time model the recurrence that MRD would have
caused is removed; in the prevalence model the MRD-positive interval ends and
the hazard reverts to the MRD-negative curve. Otherwise (not eradicated, or no
detectable MRD to eradicate) ``hazard_ratio`` multiplies, from the effect's
start, the hazard of the patient's own progression from MRD to a visible
metastasis when she is in the lead_time model with MRD present (and no
metastasis visible yet), and her recurrence hazard otherwise (docs/model.md
gives the formulas). Recurrences before the effect starts are untouched.
Both arms go through the same code: the control arm usually has no effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trialsim.cohort import PopulationModel, Survivors, recurrence_times


@dataclass(frozen=True)
class ArmModel:
    name: str
    allocation: float
    eradication: float
    hazard_ratio: float
    delay: float

    @classmethod
    def from_spec(cls, name, spec) -> "ArmModel":
        return cls(name, spec.allocation, spec.eradication, spec.hazard_ratio, spec.delay)

    @property
    def has_effect(self) -> bool:
        return self.eradication > 0 or self.hazard_ratio != 1.0


def allocation_pattern(*allocations: float) -> np.ndarray | None:
    """One permuted block (arm index per slot: 0 = control, 1, 2, ... the
    treatment arms) when every allocation is a whole number; None means simple
    randomisation."""
    if all(float(a).is_integer() for a in allocations) and sum(allocations) <= 64:
        return np.repeat(np.arange(len(allocations)), [int(a) for a in allocations])
    return None


def _simple(u: np.ndarray, allocations) -> np.ndarray:
    """Simple randomisation: the treatment arms take the low end of [0, 1) in
    their order (arm 1 when u < a_1 / total, ...), control the rest."""
    a = np.asarray(allocations, dtype=float)
    cum = np.cumsum(a[1:]) / a.sum()
    k = np.searchsorted(cum, u, side="right")
    return np.where(k < cum.size, k + 1, 0)


def assign_arms(u: np.ndarray, *allocations: float) -> np.ndarray:
    """Arms (0 = control, 1, 2, ... treatment arms) for patients in
    randomisation order from uniforms ``u`` (one per patient).

    Permuted blocks of size sum(allocations) when all are whole numbers (each
    block holds the exact ratio, in random order; see
    :func:`assign_arms_padded` for the last, incomplete block), else simple
    randomisation with P(arm k) = allocation_k / sum(allocations). With two
    arms, ``arms == 1`` is the treatment indicator."""
    return assign_arms_padded(np.asarray(u, dtype=float)[None, :], *allocations)[0]


def apply_arm(pop: PopulationModel, s: Survivors, since_entry: np.ndarray, arm: ArmModel,
              u_erad: np.ndarray, imaging_lead=0.0, windows: bool = True) -> "ArmOutcome":
    """Latent histories under ``arm`` for patients randomised ``since_entry``
    months after entering (times from entry). ``imaging_lead``: months before
    its clinical recurrence that a metastasis shows on imaging (staging).
    ``windows=False``: the caller reads no MRD window; without eradication or
    a lead-time stratum they are then left None (and not read from ``s``)."""
    n = len(s)
    tau = since_entry + arm.delay
    if not arm.has_effect:
        return ArmOutcome(s.t_rec.copy(), np.zeros(n, dtype=bool), tau, s.mrd_start.copy(), s.mrd_end.copy())
    if not any(st.mrd is not None and st.mrd.kind == "lead_time" for st in pop.strata):
        return _apply_arm_no_lead_time(pop, s, since_entry, tau, arm, u_erad, windows)
    detectable = s.detectable(since_entry)
    lead_kind = np.array([st.mrd is not None and st.mrd.kind == "lead_time" for st in pop.strata])[s.stratum]
    # lead_time model: a metastasis already visible when the effect starts is neither eradicated nor delayed
    with np.errstate(invalid="ignore"):
        visible = lead_kind & (s.mrd_start <= tau) & (tau < s.t_rec) & (s.t_rec - imaging_lead <= tau)
    eradicated = detectable & (u_erad < arm.eradication) & (s.t_rec > tau) & ~visible
    mrd_end = np.where(eradicated & ~lead_kind, np.minimum(s.mrd_end, tau), s.mrd_end)
    # lead_time model, MRD present when the effect starts, not eradicated and
    # no metastasis visible yet: the effect multiplies the hazard of the
    # patient's own progression from MRD to (visible) metastasis.
    with np.errstate(invalid="ignore"):
        present = (lead_kind & ~eradicated & (s.mrd_start <= tau) & (tau < s.t_rec - imaging_lead)
                   & np.isfinite(s.t_rec))
    # The stratum's hazard takes the effect only where neither applies (an
    # eradicated, visible or present patient's recurrence is decided below).
    hr = np.where(eradicated | visible | present, 1.0, arm.hazard_ratio)
    t_rec = recurrence_times(pop, s, effect_start=tau, arm_hr=hr, mrd_end=mrd_end)
    # lead_time model: eradication removes the recurrence the MRD would have caused.
    t_rec = np.where(eradicated & lead_kind, np.inf, t_rec)
    if arm.hazard_ratio != 1.0 and present.any():
        t_rec[present] = _lead_time_effect(pop, s, present, tau, arm.hazard_ratio, imaging_lead)
    # The MRD window after the effect starts. lead_time: MRD not yet present
    # keeps its lead time before the (possibly delayed) recurrence; MRD present
    # keeps its start and ends at the new recurrence; eradicated MRD is gone.
    recurs = lead_kind & np.isfinite(s.t_rec) & np.isfinite(s.mrd_start)
    with np.errstate(invalid="ignore"):   # inf - inf where the window is empty; masked by `recurs`
        lead = s.t_rec - s.mrd_start
        mrd_start = np.where(recurs & ~present, t_rec - lead, s.mrd_start)
    mrd_end = np.where(recurs, t_rec, mrd_end)
    gone = eradicated & lead_kind
    mrd_start = np.where(gone, np.inf, mrd_start)
    mrd_end = np.where(gone, np.inf, mrd_end)
    return ArmOutcome(t_rec, eradicated, tau, mrd_start, mrd_end)


def _apply_arm_no_lead_time(pop: PopulationModel, s: Survivors, since_entry: np.ndarray, tau: np.ndarray,
                            arm: ArmModel, u_erad: np.ndarray, windows: bool = True) -> "ArmOutcome":
    """:func:`apply_arm` when no stratum follows the lead_time model: nothing
    is visible or present, and only eradication ends an MRD window (the same
    numbers as the general path, with less work: without eradication the
    hazard ratio is one number and no window changes)."""
    if arm.eradication > 0:
        eradicated = s.detectable(since_entry) & (u_erad < arm.eradication) & (s.t_rec > tau)
        mrd_end = np.where(eradicated, np.minimum(s.mrd_end, tau), s.mrd_end)
        hr = np.where(eradicated, 1.0, arm.hazard_ratio)
    elif not windows:      # recurrence_times reads s.mrd_end itself where it needs it: the same numbers
        t_rec = recurrence_times(pop, s, effect_start=tau, arm_hr=arm.hazard_ratio)
        return ArmOutcome(t_rec, np.zeros(len(s), dtype=bool), tau, None, None)
    else:
        eradicated = np.zeros(len(s), dtype=bool)
        mrd_end = s.mrd_end.copy()
        hr = arm.hazard_ratio
    t_rec = recurrence_times(pop, s, effect_start=tau, arm_hr=hr, mrd_end=mrd_end)
    return ArmOutcome(t_rec, eradicated, tau, s.mrd_start.copy(), mrd_end)


def _lead_time_effect(pop: PopulationModel, s: Survivors, present: np.ndarray, tau: np.ndarray,
                      hazard_ratio: float, imaging_lead) -> np.ndarray:
    """New recurrence times (from entry) of the ``present`` patients.

    MRD that started at ``mrd_start`` would recur clinically after lead time
    L, its metastasis visible on imaging from L - c on (c = ``imaging_lead``).
    The effect starts at MRD age a = tau - mrd_start, before the metastasis
    shows (L > a + c), and multiplies the hazard of progression to a visible
    metastasis from then on. With Λ_L the lead-time curve's cumulative hazard
    (progression M = L - c has Λ_M(m) = Λ_L(m + c)), the same uniform draw gives
    Λ_L(L') = Λ_L(a + c) + (Λ_L(L) - Λ_L(a + c)) / hazard_ratio."""
    idx = np.flatnonzero(present)
    out = np.empty(idx.size)
    start = s.mrd_start[idx]
    shown = tau[idx] - start + np.broadcast_to(np.asarray(imaging_lead, dtype=float), tau.shape)[idx]
    lead = s.t_rec[idx] - start
    strata = s.stratum[idx]
    for j in np.unique(strata):
        k = strata == j
        curve = pop.strata[j].mrd.lead_time
        lam_a = curve.cumhaz(shown[k])
        x = lam_a + (curve.cumhaz(lead[k]) - lam_a) / hazard_ratio
        out[k] = start[k] + np.maximum(curve.inv_cumhaz(x), shown[k])
    return out


@dataclass
class ArmOutcome:
    """Patients' histories under an arm (times from entry). Before the
    effect starts (``effect_start``) MRD follows the untreated window; after
    it, ``[mrd_start, mrd_end)``."""

    t_rec: np.ndarray
    eradicated: np.ndarray
    effect_start: np.ndarray
    mrd_start: np.ndarray | None      # None: not asked for (apply_arm's windows=False)
    mrd_end: np.ndarray | None


def assign_arms_padded(u: np.ndarray, *allocations: float) -> np.ndarray:
    """:func:`assign_arms` for every row of ``u`` (replicates x patients in
    randomisation order, padding >= 1) at once; blocks restart in each row.

    A complete block gives its patients the block's arms in the order of
    their uniforms' ranks (a uniformly random permutation). The last block of
    a row, when the row's patients end inside it, draws its patients' arms one
    after the other without replacement from the block's arms, each patient's
    uniform choosing among the arms left in proportion to their counts: so
    every patient of it has each arm with its allocation's probability, as in
    a complete block."""
    R, n = u.shape
    block = allocation_pattern(*allocations)
    if block is None:
        return _simple(u, allocations)
    b = block.size
    nb = -(-n // b)
    if nb * b == n:
        keys = u.reshape(R, nb, b)
    else:
        keys = np.full((R, nb * b), 2.0)
        keys[:, :n] = u
        keys = keys.reshape(R, nb, b)
    arms = _block_arms(keys, block).reshape(R, nb * b)[:, :n]
    real = (u < 1.0).sum(axis=1)
    start = (real // b) * b
    partial = np.flatnonzero(real > start)
    if partial.size:
        counts = np.tile(np.bincount(block, minlength=len(allocations)).astype(float), (partial.size, 1))
        left = real[partial] - start[partial]
        for j in range(b - 1):
            on = j < left
            if not on.any():
                break
            rows, pos = partial[on], start[partial[on]] + j
            c = counts[on]
            cum = np.cumsum(c, axis=1) / c.sum(axis=1, keepdims=True)
            k = np.minimum((u[rows, pos][:, None] >= cum).sum(axis=1), c.shape[1] - 1)
            arms[rows, pos] = k
            counts[np.flatnonzero(on), k] -= 1
    return arms


#: blocks up to this size are ranked by pairwise comparisons; larger ones by argsort
_RANK_BY_COMPARISON = 16


def _block_arms(keys: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Arms of every slot of (R, blocks, b) ``keys``: the slot whose key
    ranks p-th in its block (a stable sort: ties in slot order) gets
    ``block[p]``. Small blocks count the rank directly, slot by slot:
    rank_i = #{j < i: key_j <= key_i} + #{j > i: key_j < key_i}, what a stable
    argsort gives for keys without nan."""
    R, nb, b = keys.shape
    arms = np.empty((R, nb, b), dtype=block.dtype)
    if b > _RANK_BY_COMPARISON:
        order = np.argsort(keys, axis=2, kind="stable")
        np.put_along_axis(arms, order, np.broadcast_to(block, (R, nb, b)), axis=2)
        return arms
    if b == 2:   # the usual 1:1 block: the lower key gets block[0]
        second_first = keys[:, :, 1] < keys[:, :, 0]
        if block[0] == 0 and block[1] == 1:
            arms[:, :, 0] = second_first
            arms[:, :, 1] = ~second_first
        else:
            arms[:, :, 0] = block[second_first.view(np.uint8)]
            arms[:, :, 1] = block[(~second_first).view(np.uint8)]
        return arms
    slots = [np.ascontiguousarray(keys[:, :, i]) for i in range(b)]
    less = np.empty((R, nb), dtype=bool)
    for i in range(b):
        rank = np.zeros((R, nb), dtype=np.uint8)
        for j in range(b):
            if j == i:
                continue
            (np.less_equal if j < i else np.less)(slots[j], slots[i], out=less)
            rank += less
        arms[:, :, i] = block[rank]
    return arms
