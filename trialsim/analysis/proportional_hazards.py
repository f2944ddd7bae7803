"""The Cox proportional-hazards model of the treatment indicator, fitted by
Newton-Raphson for many replicates at once on the log-rank's per-event-time
sums (Breslow or Efron ties, optionally stratified)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from trialsim.analysis.inputs import _prepare
from trialsim.analysis.results import CoxResult
from trialsim.analysis.risksets import _row_sums, _scan


_COX_TOL = 1e-10  # |Newton step| in log HR at convergence
_COX_MAX_ITER = 60
_COX_MAX_STEP = 5.0  # a Newton step never moves log HR by more than this


class _CoxGroups(NamedTuple):
    bounds: np.ndarray  # (B + 1,) groups of each row
    d: np.ndarray
    d1: np.ndarray
    n0: np.ndarray
    n1: np.ndarray
    # Efron only (else None): one entry per event, its group, l / d_j for the
    # l-th of the d_j tied events, and each row's run of events
    e_group: np.ndarray | None = None
    e_frac: np.ndarray | None = None
    bounds_e: np.ndarray | None = None


def _cox_eval(cg: _CoxGroups, beta_rows, o1):
    """Log partial likelihood, score and information at ``beta`` per row."""
    counts = cg.bounds[1:] - cg.bounds[:-1]
    b = beta_rows.repeat(counts)
    r = np.exp(b)
    if cg.e_group is None:  # Breslow
        s0 = cg.n0 + cg.n1 * r
        p = cg.n1 * r / s0
        ll_terms = cg.d * np.log(s0)
        u_terms = cg.d * p
        i_terms = u_terms * (1.0 - p)
        bounds = cg.bounds
    else:  # Efron: the tied events leave the risk set gradually
        gi = cg.e_group
        re = r[gi]
        f = cg.e_frac
        s1 = (cg.n1[gi] - f * cg.d1[gi]) * re
        s0 = cg.n0[gi] - f * (cg.d[gi] - cg.d1[gi]) + s1
        p = s1 / s0
        ll_terms = np.log(s0)
        u_terms = p
        i_terms = p * (1.0 - p)
        bounds = cg.bounds_e
    sums = _row_sums(bounds, np.stack([ll_terms, u_terms, i_terms], axis=1))
    ll = o1 * beta_rows - sums[:, 0]
    score = o1 - sums[:, 1]
    info = sums[:, 2]
    return ll, score, info


def cox(time, event, group, valid=None, *, strata=None, ties="breslow", level=0.95) -> CoxResult:
    """Cox proportional-hazards fit of the treatment indicator, per row.

    Newton-Raphson on the partial likelihood from ``log_hr = 0``, vectorised
    over rows (each row iterates until its step is below 1e-10, with step
    halving when the likelihood falls and steps capped at 5), on the
    per-event-time sums of the log-rank (risk sets within strata when
    ``strata`` is given: the stratified Cox model).  ``ties``: "breslow"
    (R's ``coxph(ties = "breslow")``; without ties its score test at 0 is
    the log-rank) or
    "efron" (lifelines' ``CoxPHFitter``, R's default).

    ``se = 1 / sqrt(I(log_hr))``, ``z = -log_hr / se`` (> 0 favours
    treatment), Wald interval ``exp(log_hr -+ z_{(1+level)/2} se)``.  When the
    likelihood is monotone (every event at a time with both arms at risk is in
    one arm) the estimate is infinite: ``log_hr = +-inf``, ``se = inf``, and
    ``z`` is the score statistic at 0, ``-U(0) / sqrt(I(0))`` (the Wald
    statistic is useless there).  Rows without information (no event with
    both arms at risk) get nan estimates and ``z = 0``.
    """
    if ties not in ("breslow", "efron"):
        raise ValueError(f"ties must be 'breslow' or 'efron', got {ties!r}")
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    inp = _prepare(time, event, group, valid, strata)
    R = inp.time.shape[0]
    beta = np.zeros(R)
    info_hat = np.zeros(R)
    z = np.zeros(R)
    iterations = np.zeros(R, dtype=np.int64)
    converged = np.zeros(R, dtype=bool)
    events = np.zeros(R, dtype=np.int64)
    for blk, g in _scan(inp, need_d1=True):
        B = blk.stop - blk.start
        events[blk] = g.events
        n0 = g.n - g.n1
        d0 = g.d - g.d1
        if ties == "efron":
            d_int = g.d.astype(np.int64)
            e_group = np.repeat(np.arange(g.d.size), d_int)
            first = np.cumsum(d_int) - d_int
            e_frac = (np.arange(e_group.size) - first[e_group]) / g.d[e_group]
            bounds_e = np.concatenate([[0], np.cumsum(g.events)])
            cg = _CoxGroups(g.bounds, g.d, g.d1, n0, g.n1, e_group, e_frac, bounds_e)
        else:
            cg = _CoxGroups(g.bounds, g.d, g.d1, n0, g.n1)
        o1 = g.treated_events.astype(np.float64)
        # Monotone likelihood: U(b) > 0 for all b iff no control event at a
        # time with treated at risk (log HR -> +inf), U(b) < 0 for all b iff
        # no treated event at a time with controls at risk (-> -inf).
        mixed = (n0 > 0.0) & (g.n1 > 0.0)
        informative = _row_sums(g.bounds, (mixed & (g.d > 0.0)).astype(np.float64)) > 0
        ctrl_ev = _row_sums(g.bounds, np.where(g.n1 > 0.0, d0, 0.0))
        trt_ev = _row_sums(g.bounds, np.where(n0 > 0.0, g.d1, 0.0))
        to_pos_inf = informative & (ctrl_ev == 0)
        to_neg_inf = informative & (trt_ev == 0)
        finite = informative & ~to_pos_inf & ~to_neg_inf

        b = np.zeros(B)
        ll, score, info = _cox_eval(cg, b, o1)
        score0, info0 = score, info
        active = finite.copy()
        b_prev, ll_prev = b.copy(), ll.copy()
        it = np.zeros(B, dtype=np.int64)
        done = ~finite
        for _ in range(_COX_MAX_ITER):
            if not active.any():
                break
            # (a relative slack, so rounding noise at the optimum is no fall)
            worse = active & (it > 0) & (ll < ll_prev - 1e-12 * (1.0 + np.abs(ll_prev)))
            step = np.where(info > 0.0, score / np.where(info > 0.0, info, 1.0), 0.0)
            step = np.clip(step, -_COX_MAX_STEP, _COX_MAX_STEP)
            small = active & ~worse & (np.abs(step) < _COX_TOL)
            # converged rows take their last (tiny) step and stop
            new_b = np.where(worse, 0.5 * (b + b_prev), b + step)
            b_prev = np.where(active & ~worse, b, b_prev)
            ll_prev = np.where(active & ~worse, ll, ll_prev)
            info_hat[blk] = np.where(small, info, info_hat[blk])
            b = np.where(active, new_b, b)
            it = np.where(active, it + 1, it)
            done |= small
            active &= ~small
            if active.any():
                ll, score, info = _cox_eval(cg, b, o1)
        conv = finite & done
        # rows that ran out of iterations: information at their last estimate
        left = finite & ~done
        if left.any():
            _, _, info_left = _cox_eval(cg, b, o1)
            info_hat[blk] = np.where(left, info_left, info_hat[blk])
        b = np.where(to_pos_inf, np.inf, np.where(to_neg_inf, -np.inf, np.where(finite, b, np.nan)))
        beta[blk] = b
        iterations[blk] = it
        converged[blk] = conv
        sd0 = np.sqrt(np.where(info0 > 0.0, info0, 1.0))
        score_z = np.where(info0 > 0.0, -score0 / sd0, 0.0)
        ih = info_hat[blk]
        wald = np.where(finite & (ih > 0.0), -b * np.sqrt(np.where(ih > 0.0, ih, 1.0)), 0.0)
        z[blk] = np.where(finite, wald, np.where(informative, score_z, 0.0))
    with np.errstate(divide="ignore"):
        se = np.where(np.isnan(beta), np.nan,
                      np.where(np.isfinite(beta), 1.0 / np.sqrt(np.where(info_hat > 0, info_hat, 1.0)), np.inf))
    # deferred: scipy.special costs 0.2-0.3 s of start-up, which a run without the Cox model does without
    from scipy import special

    q = float(special.ndtri(0.5 + level / 2.0))
    with np.errstate(invalid="ignore", over="ignore"):
        lo = np.where(np.isfinite(beta), beta - q * se, np.where(np.isnan(beta), np.nan, -np.inf))
        hi = np.where(np.isfinite(beta), beta + q * se, np.where(np.isnan(beta), np.nan, np.inf))
    return CoxResult(z=z, log_hr=beta, se=se, ci_low=np.exp(lo), ci_high=np.exp(hi), level=level,
                     ties=ties, iterations=iterations, converged=converged, events=events)
