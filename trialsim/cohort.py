"""Latent histories for arrays of survivors: stratum, time since diagnosis,
recurrence, other-cause death and the MRD process.

Every time is measured from the survivor's entry into screening (or into the
trial when there is no screening block), in months.

Recurrence is represented by one Exp(1) draw ``e_rec`` per survivor and the
survivor's cumulative hazard H from entry: ``T_R = H^{-1}(e_rec)``. The hazard
is a baseline ``b(t)`` times piecewise-constant multipliers (the MRD hazard
ratio while MRD-positive in the prevalence model, an arm's hazard ratio after
its effect starts), so H is piecewise linear in the baseline cumulative hazard
B and inverts exactly. Changing a multiplier (treatment) keeps ``e_rec``: arms
and sweeps share their random numbers, and the effect acts on the same woman.

* lead_time model: b is the stratum's recurrence hazard conditional on being
  recurrence-free at entry, ``B(t) = Λ(tsd + t) - Λ(tsd)``: the marginal curve
  is exactly the input curve. MRD is detectable on ``[T_R - L, T_R)``; a share
  ``dormant_share`` of survivors who never recur in their lifetime (recurrence
  after other-cause death, or cured) carry detectable MRD throughout.
* prevalence model: MRD-positive at entry with probability p; hazard ratio h
  while positive. The MRD-negative baseline is calibrated so that the mixture
  at entry reproduces the conditional stratum curve m(t) = S(tsd+t)/S(tsd):
  ``p u(t)^h + (1-p) u(t) = m(t)`` with ``u = exp(-B)``. Onset (negative ->
  positive) and clearance (positive -> negative) are exponential; a survivor
  has at most one positive interval ``[s0, s1)`` (cleared MRD does not return).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from trialsim import curves
from trialsim.curves.mrd import negative_survival

# Uniform columns drawn per new survivor, in this order (part of the
# reproducibility contract: changing it changes every seeded result).
U_STRATUM, U_TSD, U_REC, U_DEATH, U_MRD, U_LEAD, U_CLEAR, U_CONSENT = range(8)
N_UNIFORMS = 8


@dataclass(frozen=True)
class MrdModel:
    kind: str                       # "lead_time" | "prevalence"
    lead_time: curves.Curve | None = None
    dormant_share: float = 0.0
    prevalence: float = 0.0
    hazard_ratio: float = 1.0
    onset_rate: float = 0.0
    clearance_rate: float = 0.0


@dataclass(frozen=True)
class StratumModel:
    name: str
    share: float
    tsd: curves.Curve               # time since diagnosis at entry (a distribution)
    recurrence: curves.Curve        # from diagnosis
    mrd: MrdModel | None


@dataclass(frozen=True)
class PopulationModel:
    strata: tuple[StratumModel, ...]
    death: curves.Curve | None      # other-cause death, time from entry
    cum_shares: np.ndarray = field(repr=False, default=None)

    @classmethod
    def from_scenario(cls, scenario) -> "PopulationModel":
        strata = []
        for i, s in enumerate(scenario.population.strata):
            mrd = scenario.stratum_mrd(i)
            mrd_model = None
            if mrd is not None:
                mrd_model = MrdModel(
                    kind=mrd["model"],
                    lead_time=mrd["lead_time"].build() if mrd.get("lead_time") is not None else None,
                    dormant_share=mrd.get("dormant_share") or 0.0,
                    prevalence=mrd.get("prevalence") or 0.0,
                    hazard_ratio=mrd.get("hazard_ratio") or 1.0,
                    onset_rate=mrd.get("onset_rate") or 0.0,
                    clearance_rate=mrd.get("clearance_rate") or 0.0,
                )
            strata.append(StratumModel(s.name, s.share, s.time_since_diagnosis.build(),
                                       s.recurrence.build(), mrd_model))
        death = scenario.population.other_cause_death
        shares = np.array([s.share for s in strata], dtype=float)
        cum = np.cumsum(shares / shares.sum())
        cum[-1] = 1.0
        return cls(tuple(strata), death.build() if death is not None else None, cum)


@dataclass
class Survivors:
    """Struct of arrays, one element per survivor. Times from entry."""

    stratum: np.ndarray     # int16
    tsd: np.ndarray         # months since diagnosis at entry
    e_rec: np.ndarray       # Exp(1) draw behind the recurrence time
    t_rec: np.ndarray       # time to overt distant recurrence (inf: never)
    t_death: np.ndarray     # time to other-cause death (inf: never)
    mrd_start: np.ndarray   # MRD detectable on [mrd_start, mrd_end); inf/inf: never
    mrd_end: np.ndarray
    u_consent: np.ndarray

    def __len__(self) -> int:
        return len(self.stratum)

    def take(self, idx) -> "Survivors":
        return Survivors(**{k: v[idx] for k, v in self.__dict__.items()})

    def take_lazily(self, idx) -> "Survivors":
        """:meth:`take` whose fields are gathered when first read: for code
        that reads a few fields of a subset (an arm's patients)."""
        return _Gathered(self, np.flatnonzero(idx) if np.asarray(idx).dtype == bool else np.asarray(idx))

    @staticmethod
    def concat(parts: list["Survivors"]) -> "Survivors":
        keys = Survivors.__dataclass_fields__
        return Survivors(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in keys})

    def detectable(self, t) -> np.ndarray:
        """Is MRD detectable at time t (from entry)?"""
        return (self.mrd_start <= t) & (t < self.mrd_end)


class _Gathered(Survivors):
    """``source.take(index)`` (Survivors.take_lazily), each field gathered
    from ``source`` when first read and kept."""

    def __init__(self, source: Survivors, index: np.ndarray):   # the fields come on demand, not as arguments
        self._source = source
        self._index = index

    def __getattr__(self, name):
        if name in Survivors.__dataclass_fields__:
            value = getattr(self._source, name)[self._index]
            setattr(self, name, value)
            return value
        raise AttributeError(name)

    def __len__(self) -> int:
        return len(self._index)

    def take(self, idx) -> Survivors:
        return Survivors(**{k: getattr(self, k)[idx] for k in Survivors.__dataclass_fields__})


# --------------------------------------------------------------------------
# Baseline cumulative hazards from entry, per survivor


def _base_B(stratum: StratumModel, tsd, t):
    """Marginal conditional cumulative hazard from entry: Λ(tsd + t) - Λ(tsd)."""
    with np.errstate(invalid="ignore"):
        out = stratum.recurrence.cumhaz(tsd + t) - stratum.recurrence.cumhaz(tsd)
    return np.where(t == 0, 0.0, out)


def _base_Binv(stratum: StratumModel, tsd, x):
    """B^{-1}(x) with B(t) = Λ(tsd + t) - Λ(tsd): Λ^{-1}(Λ(tsd) + x) - tsd.
    Where every tsd >= 0 and every Λ(tsd) + x > 0 (as for drawn survivors) the
    curve's own Λ and Λ^{-1} are called without the public methods' checks,
    which give the same values there."""
    rec = stratum.recurrence
    tsd = np.asarray(tsd, dtype=float)
    with np.errstate(all="ignore"):
        lam0 = rec._cumhaz(tsd)
        y = lam0 + x
        if np.size(y) and y.min() > 0.0 and tsd.min() >= 0.0:
            t = rec._inv_cumhaz(y) - tsd
        else:
            t = rec.inv_cumhaz(x + rec.cumhaz(tsd)) - tsd
    if not (isinstance(t, np.ndarray) and t.ndim):
        return np.where(np.isfinite(t), np.maximum(t, 0.0), np.inf)
    # np.where(np.isfinite(t), np.maximum(t, 0.0), np.inf) in two passes over
    # the fresh t: the maximum leaves +inf as it is; -inf and nan become inf.
    odd = ~(t > -np.inf)
    np.maximum(t, 0.0, out=t)
    if odd.any():
        t[odd] = np.inf
    return t


class Baseline:
    """B and B^{-1} for survivors of one stratum (vectorised over survivors)."""

    def __init__(self, stratum: StratumModel):
        self.stratum = stratum
        mrd = stratum.mrd
        self.calibrated = mrd is not None and mrd.kind == "prevalence"

    def B(self, tsd, t):
        t = np.asarray(t, dtype=float)
        if not self.calibrated:
            return _base_B(self.stratum, tsd, t)
        mrd = self.stratum.mrd
        m = np.exp(-_base_B(self.stratum, tsd, t))
        u = negative_survival(m, mrd.prevalence, mrd.hazard_ratio)
        with np.errstate(divide="ignore"):
            return np.where(t == 0, 0.0, -np.log(u))

    def Binv(self, tsd, x):
        x = np.asarray(x, dtype=float)
        if not self.calibrated:
            return _base_Binv(self.stratum, tsd, x)
        mrd = self.stratum.mrd
        p, h = mrd.prevalence, mrd.hazard_ratio
        # u = exp(-x) is the MRD-negative survival; the marginal survival there
        # is m = p u^h + (1-p) u, and t is where the marginal curve reaches m.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            m = p * np.exp(-h * x) + (1 - p) * np.exp(-x)
            out = _base_Binv(self.stratum, tsd, -np.log(m))
        return np.where(x == 0, 0.0, out)


def invert_segments(base: Baseline, tsd, e, points, mult):
    """Time t with H(t) = e where H = Σ mult_k (B(min(t, p_{k+1})) - B(p_k)).

    points: (n, m) nondecreasing breakpoints from 0 to inf; mult: (n, m-1) > 0.
    Returns inf where e exceeds H(inf) (never recurs).
    """
    n, m = points.shape
    Bp = np.empty_like(points)
    for k in range(m):
        Bp[:, k] = base.B(tsd, points[:, k])
    with np.errstate(invalid="ignore"):
        dB = np.diff(Bp, axis=1)
    dB = np.where(np.isnan(dB), 0.0, dB)  # inf - inf when both points are beyond a cure plateau
    seg = mult * dB
    H = np.concatenate([np.zeros((n, 1)), np.cumsum(seg, axis=1)], axis=1)
    # segment index k with H_k <= e < H_{k+1}
    k = (H[:, 1:] <= e[:, None]).sum(axis=1)
    never = k >= m - 1
    k = np.minimum(k, m - 2)
    rows = np.arange(n)
    x = Bp[rows, k] + (e - H[rows, k]) / mult[rows, k]
    t = base.Binv(tsd, x)
    return np.where(never, np.inf, t)


def recurrence_times(pop: PopulationModel, s: Survivors, *, effect_start=None, arm_hr=None,
                     mrd_start=None, mrd_end=None):
    """T_R from entry for survivors (all strata), with optional arm effect:
    hazard multiplied by ``arm_hr`` from ``effect_start`` on. The MRD interval
    (prevalence model) multiplies the hazard by the stratum's MRD hazard ratio."""
    n = len(s)
    tau = np.full(n, np.inf) if effect_start is None else np.asarray(effect_start, dtype=float)
    ahr = np.ones(n) if arm_hr is None else np.broadcast_to(np.asarray(arm_hr, dtype=float), (n,))
    out = np.empty(n)
    one = len(pop.strata) == 1
    for j, stratum in enumerate(pop.strata):
        idx = slice(None) if one else np.flatnonzero(s.stratum == j)
        if not one and idx.size == 0:
            continue
        base = Baseline(stratum)
        prevalence = stratum.mrd is not None and stratum.mrd.kind == "prevalence"
        if not prevalence:
            # One breakpoint at most (the arm effect's start): invert directly.
            tsd, e = s.tsd[idx], s.e_rec[idx]
            t_eff, h = tau[idx], ahr[idx]
            eff = np.isfinite(t_eff) & (h != 1.0)
            if not eff.any():
                out[idx] = base.Binv(tsd, e)
                continue
            # B(tsd, 0) = 0: an effect from entry on needs no B
            at = np.flatnonzero(eff & (t_eff != 0.0))
            b_tau = np.zeros(e.size)
            if at.size:
                b_tau[at] = base.B(tsd[at], t_eff[at])
            late = eff & (e > b_tau)
            if at.size:
                x = np.where(late, b_tau + (e - b_tau) / h, e)
            else:     # b_tau is 0 throughout: 0 + (e - 0) / h is e / h where e > 0 (the same numbers)
                x = np.where(late, e / h, e)
            out[idx] = base.Binv(tsd, x)
            continue
        m = n if one else idx.size
        if prevalence:
            s0 = np.clip((s.mrd_start if mrd_start is None else mrd_start)[idx], 0.0, np.inf)
            s1 = np.clip((s.mrd_end if mrd_end is None else mrd_end)[idx], 0.0, np.inf)
            s1 = np.maximum(s1, s0)
            mrd_hr = stratum.mrd.hazard_ratio
        else:
            s0 = np.full(m, np.inf)
            s1 = np.full(m, np.inf)
            mrd_hr = 1.0
        t_eff = tau[idx]
        pts = np.sort(np.stack([np.zeros(m), s0, s1, t_eff, np.full(m, np.inf)], axis=1), axis=1)
        mid_lo, mid_hi = pts[:, :-1], pts[:, 1:]
        # A segment's multiplier: evaluated at its start (segments are half-open [lo, hi)).
        in_mrd = (mid_lo >= s0[:, None]) & (mid_lo < s1[:, None])
        after = mid_lo >= t_eff[:, None]
        mult = np.where(in_mrd, mrd_hr, 1.0) * np.where(after, ahr[idx][:, None], 1.0)
        del mid_hi
        out[idx] = invert_segments(base, s.tsd[idx], s.e_rec[idx], pts, mult)
    return out


# --------------------------------------------------------------------------
# Drawing new survivors


def uniforms_read(pop: PopulationModel, consent: bool = True) -> tuple[bool, ...]:
    """Which of a new survivor's N_UNIFORMS uniform columns matter for this
    population: :func:`draw_survivors` reads no other, and the consent column
    only matters with ``consent`` (staging after screening reads it). The
    stratum needs one with several strata, the time since diagnosis one
    unless it is fixed, death one with other-cause death, the MRD columns
    one with an MRD model; the recurrence always."""
    read = [False] * N_UNIFORMS
    read[U_STRATUM] = len(pop.strata) > 1
    read[U_TSD] = any(not isinstance(st.tsd, curves.Fixed) for st in pop.strata)
    read[U_REC] = True
    read[U_DEATH] = pop.death is not None
    mrd = any(st.mrd is not None for st in pop.strata)
    read[U_MRD] = read[U_LEAD] = read[U_CLEAR] = mrd
    read[U_CONSENT] = consent
    return tuple(read)


def draw_survivors(pop: PopulationModel, u: np.ndarray) -> Survivors:
    """Latent histories from uniforms ``u`` of shape (n, N_UNIFORMS); the
    columns that :func:`uniforms_read` says are not read may hold anything
    (the consent column is copied as it is)."""
    n = u.shape[0]
    K = len(pop.strata)
    if K == 1:
        stratum = np.zeros(n, dtype=np.int16)
    else:
        stratum = np.searchsorted(pop.cum_shares, u[:, U_STRATUM], side="right").astype(np.int16)
        np.minimum(stratum, K - 1, out=stratum)
    tsd = np.empty(n)
    t_rec = np.empty(n)
    mrd_start = np.full(n, np.inf)
    mrd_end = np.full(n, np.inf)
    e_rec = np.log1p(-u[:, U_REC])
    np.negative(e_rec, out=e_rec)
    t_death = pop.death.quantile_of_draws(u[:, U_DEATH]) if pop.death is not None else np.full(n, np.inf)
    prevalence_strata = []
    for j, st in enumerate(pop.strata):
        idx = slice(None) if K == 1 else np.flatnonzero(stratum == j)
        m = n if K == 1 else idx.size
        if m == 0:
            continue
        if isinstance(st.tsd, curves.Fixed):     # the one value quantile() gives: no draw read
            tsd_j = np.full(m, float(st.tsd.value))
        else:
            tsd_j = st.tsd.quantile_of_draws(u[idx, U_TSD])
        tsd[idx] = tsd_j
        mrd = st.mrd
        if mrd is not None and mrd.kind == "prevalence":
            pos = u[idx, U_MRD] < mrd.prevalence
            # Onset for the negative (U_LEAD), clearance for the positive (U_CLEAR);
            # a negative who turns positive may clear later (one more draw from U_CLEAR
            # reused: the positive interval lasts an Exp(clearance) time either way).
            with np.errstate(divide="ignore"):
                onset = (-np.log1p(-u[idx, U_LEAD]) / mrd.onset_rate) if mrd.onset_rate > 0 else np.full(m, np.inf)
                dur = (-np.log1p(-u[idx, U_CLEAR]) / mrd.clearance_rate) if mrd.clearance_rate > 0 else np.full(m, np.inf)
            start = np.where(pos, 0.0, onset)
            mrd_start[idx] = start
            mrd_end[idx] = start + dur
            prevalence_strata.append(j)
            continue
        t_r = _base_Binv(st, tsd_j, e_rec[idx])
        t_rec[idx] = t_r
        if mrd is None:
            continue
        # lead_time model: MRD detectable for the lead time before recurrence, or
        # throughout for the dormant share of those who never recur in their life.
        td = t_death[idx]
        recurs = t_r < td
        r_at = np.flatnonzero(recurs)
        rows = r_at if K == 1 else idx[r_at]
        if rows.size:
            lead = mrd.lead_time.quantile_of_draws(u[rows, U_LEAD])
            mrd_start[rows] = t_r[r_at] - lead
            mrd_end[rows] = t_r[r_at]
        if mrd.dormant_share > 0:
            dormant = ~recurs & (u[idx, U_MRD] < mrd.dormant_share)
            d_at = np.flatnonzero(dormant)
            mrd_start[d_at if K == 1 else idx[d_at]] = 0.0
    s = Survivors(stratum, tsd, e_rec, t_rec, t_death, mrd_start, mrd_end, u[:, U_CONSENT].copy())
    if prevalence_strata:
        sel = np.flatnonzero(np.isin(stratum, prevalence_strata))
        s.t_rec[sel] = recurrence_times(pop, s.take(sel))
    return s
