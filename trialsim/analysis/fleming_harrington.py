"""Weighted log-rank tests for non-proportional hazards: Fleming-Harrington
FH(rho, gamma) and MaxCombo, the maximum of several FH statistics.

Both add up the log-rank's per-event-time terms with weights from the pooled
Kaplan-Meier estimate, so FH(0, 0) is the log-rank bit for bit; MaxCombo's
p-value is the multivariate-normal tail of ``trialsim.analysis.mvn``.
"""

from __future__ import annotations

import math

import numpy as np

from trialsim.analysis.inputs import _Inputs, _prepare
from trialsim.analysis.logrank_test import _logrank_terms
from trialsim.analysis.mvn import _mvn_max_tail
from trialsim.analysis.results import MaxComboResult, WeightedLogrankResult, _z_from_p
from trialsim.analysis.risksets import _Groups, _km_before, _row_sums, _scan, _segments


def _check_weights(tests) -> tuple:
    out = []
    for pair in tests:
        rho, gamma = (float(x) for x in pair)
        if not (rho >= 0.0 and gamma >= 0.0 and math.isfinite(rho) and math.isfinite(gamma)):
            raise ValueError(f"Fleming-Harrington rho and gamma must be finite and >= 0, got {pair!r}")
        out.append((rho, gamma))
    if not out:
        raise ValueError("give at least one (rho, gamma) test")
    return tuple(out)


def _fh_weights(g: _Groups, tests) -> list:
    """One weight array per (rho, gamma): ``S(t-)**rho * (1 - S(t-))**gamma``
    (None for (0, 0): weight 1, used as is so FH(0, 0) is the log-rank)."""
    s = None
    out = []
    for rho, gamma in tests:
        if rho == 0.0 and gamma == 0.0:
            out.append(None)
            continue
        if s is None:
            s = _km_before(g, _segments(g.seg_first))
        w = np.ones_like(s)
        if rho != 0.0:
            w *= s**rho
        if gamma != 0.0:
            w *= (1.0 - s) ** gamma
        out.append(w)
    return out


def _weighted_sums(inp: _Inputs, tests):
    """Per row: events, U_k (treatment O - E, weighted) and the covariance
    matrix ``C_kl = sum w_k w_l v_j`` of the tests' statistics."""
    R = inp.time.shape[0]
    K = len(tests)
    events = np.zeros(R, dtype=np.int64)
    u = np.zeros((R, K))
    cov = np.zeros((R, K, K))
    for blk, g in _scan(inp, need_d1=True):
        e1_terms, v_terms = _logrank_terms(g)
        weights = _fh_weights(g, tests)
        events[blk] = g.events
        # O1 and E1 summed separately, as in ``logrank`` (so FH(0,0) is exact)
        for k, w in enumerate(weights):
            if w is None:
                o1 = g.treated_events.astype(np.float64)
                e1 = _row_sums(g.bounds, e1_terms)
            else:
                o1 = _row_sums(g.bounds, w * g.d1)
                e1 = _row_sums(g.bounds, w * e1_terms)
            u[blk, k] = o1 - e1
        for k, wk in enumerate(weights):
            for m in range(k, K):
                wm = weights[m]
                terms = v_terms
                if wk is not None:
                    terms = wk * terms if wm is None else (wk * wm) * terms
                elif wm is not None:
                    terms = wm * terms
                c = _row_sums(g.bounds, terms)
                cov[blk, k, m] = c
                cov[blk, m, k] = c
    return events, u, cov


def weighted_logrank(time, event, group, valid=None, *, rho=0.0, gamma=0.0, strata=None) -> WeightedLogrankResult:
    """Fleming-Harrington FH(rho, gamma) weighted log-rank test per row.

    ``U = sum_j w_j (d1_j - d_j n1_j / n_j)``, ``V = sum_j w_j**2 v_j`` (``v_j``
    the log-rank variance term, with the tie correction), ``z = -U / sqrt(V)``;
    ``w_j = S(t_j-)**rho * (1 - S(t_j-))**gamma`` with ``S`` the pooled
    Kaplan-Meier estimate just before ``t_j`` (left-continuous; within the
    stratum with ``strata``).  FH(0, 0) is ``logrank`` exactly; FH(rho, 0) is
    ``survival::survdiff(..., rho = rho)``.  FH(0, 1) weighs late differences
    (a cure fraction), FH(1, 0) early ones.  Inputs as ``logrank``.
    """
    ((rho, gamma),) = _check_weights([(rho, gamma)])
    inp = _prepare(time, event, group, valid, strata)
    events, u, cov = _weighted_sums(inp, ((rho, gamma),))
    u = u[:, 0]
    v = cov[:, 0, 0]
    has = v > 0.0
    # -(O1 - E1) is exactly E1 - O1: FH(0, 0) gives the log-rank's z bit for bit
    z = np.where(has, -u / np.sqrt(np.where(has, v, 1.0)), 0.0)
    return WeightedLogrankResult(z=z, observed_minus_expected=u, variance=v, events=events,
                                 rho=rho, gamma=gamma)


MAXCOMBO_TESTS = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))


def maxcombo(time, event, group, valid=None, *, tests=MAXCOMBO_TESTS, strata=None) -> MaxComboResult:
    """MaxCombo test: the maximum of the standardised FH(rho, gamma)
    statistics over ``tests`` (default FH(0,0), FH(0,1), FH(1,0), FH(1,1)).

    The statistics' covariance is estimated from the data like each one's
    variance, ``C_kl = sum_j w_kj w_lj v_j``; their correlation is
    ``C_kl / sqrt(C_kk C_ll)``.  The one-sided p-value is
    ``P(max_k Z_k >= z_max)`` for ``Z ~ N(0, correlation)``, computed for all
    replicates at once by quasi-Monte Carlo (``_mvn_max_tail``, absolute
    error < 2e-5).  Tests with no information in a row (``C_kk = 0``) are left
    out of that row's maximum; a row where none has information gets
    ``z_max = 0`` and p-values 1.  See ``MaxComboResult`` for ``z``.
    """
    tests = _check_weights(tests)
    inp = _prepare(time, event, group, valid, strata)
    events, u, cov = _weighted_sums(inp, tests)
    var = np.diagonal(cov, axis1=1, axis2=2)
    has = var > 0.0
    sd = np.sqrt(np.where(has, var, 1.0))
    z_tests = np.where(has, -u / sd, 0.0)
    corr = cov / (sd[:, :, None] * sd[:, None, :])
    corr = np.where(has[:, :, None] & has[:, None, :], corr, 0.0)
    idx = np.arange(len(tests))
    corr[:, idx, idx] = np.where(has, 1.0, 0.0)
    z_max = np.max(np.where(has, z_tests, -np.inf), axis=1, initial=-np.inf)
    p1 = _mvn_max_tail(z_max, corr, has, two_sided=False)
    z_max = np.where(np.isfinite(z_max), z_max, 0.0)
    return MaxComboResult(z=np.where(has.any(axis=1), _z_from_p(p1), 0.0), z_max=z_max,
                          z_tests=z_tests, correlation=corr, events=events, tests=tests,
                          p_one_sided=p1)
