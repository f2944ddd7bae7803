"""The tail of the maximum of correlated standard normals,
``P(max_k Z_k >= m)``, for many replicates at once: MaxCombo's p-value.

Genz's separation of variables with a deterministic integration rule (no
global random state), so that a replicate's p-value depends on nothing but
its own statistics.  docs/analysis.md gives the measured accuracy.
"""

from __future__ import annotations

import numpy as np


# Integration rules for the multivariate normal probabilities (``_mvn_box``):
# up to two dimensions (the default MaxCombo's terms need one or two) a
# product Gauss-Legendre rule with 24 nodes a dimension; beyond, a scrambled
# Sobol' sequence of 4096 points with a fixed seed (deterministic, no global
# state).  Measured accuracy in docs/analysis.md.
_GAUSS_NODES = 24
_GAUSS_MAX_DIM = 2
_SOBOL_POINTS = 1 << 12
_SOBOL_SEED = 20240611
_RULES: dict = {}
_MVN_ROWS = 512  # replicates per block (rows x points temporaries)
_RANK_TOL = 1e-10  # residual variance below which a statistic is a combination of the others
_COEF_TOL = 1e-9


def _integration_rule(dim: int):
    """``(points (P, dim) in (0, 1), weights (P,) summing to 1)``."""
    if dim not in _RULES:
        if dim <= _GAUSS_MAX_DIM:
            x, wt = np.polynomial.legendre.leggauss(_GAUSS_NODES)
            x = (x + 1.0) / 2.0
            wt = wt / 2.0
            pts = np.stack([g.reshape(-1) for g in np.meshgrid(*([x] * dim), indexing="ij")], axis=1)
            wts = np.ones(pts.shape[0])
            for g in np.meshgrid(*([wt] * dim), indexing="ij"):
                wts *= g.reshape(-1)
        else:
            from scipy import stats  # deferred: scipy.stats costs a quarter of a second at start-up
            sob = stats.qmc.Sobol(dim, scramble=True, seed=np.random.default_rng(_SOBOL_SEED))
            pts = sob.random(_SOBOL_POINTS)
            wts = np.full(_SOBOL_POINTS, 1.0 / _SOBOL_POINTS)
        _RULES[dim] = (pts, wts)
    return _RULES[dim]


def max_normal_tail(m, corr, has, *, two_sided: bool = False) -> np.ndarray:
    """``P(max_k Z_k >= m)`` (two-sided: ``P(max_k |Z_k| >= m)``) per row,
    ``Z ~ N(0, corr)`` over the components where ``has`` (R, K); ``corr`` is
    (R, K, K). MaxCombo's p-value and Dunnett's adjusted p-values."""
    return _mvn_max_tail(m, corr, has, two_sided=two_sided)


def _mvn_max_tail(m, corr, has, *, two_sided: bool) -> np.ndarray:
    """``P(max_k Z_k >= m)`` (or ``P(max_k |Z_k| >= m)``) per row for
    ``Z ~ N(0, corr)`` over the components where ``has``; 1 where none or
    where ``m`` is -inf.

    Summed over the first component to cross: ``sum_k P(Z_k >= m, Z_j < m for
    j < k)`` (two-sided: twice ``P(Z_k >= m, |Z_j| < m for j < k)``, by
    symmetry).  Every term is a positive box probability computed with the
    crossing component first (``_mvn_box``), so its tail is sampled directly
    and small p-values keep their relative accuracy.  One-sided maxima below
    0 (p > 1/2) use the complement, ``1 - P(every Z_k < m)``, which is then
    the small, accurately sampled probability.
    """
    m = np.asarray(m, dtype=np.float64)
    R, K, _ = corr.shape
    out = np.ones(R)
    ok = np.isfinite(m) & has.any(axis=1)
    if K == 0 or not ok.any():
        return out
    inside = ok & (m < 0.0) & (not two_sided)
    if inside.any():  # p > 1/2: 1 - P(every Z_k < m), that box sampled directly
        rows = np.flatnonzero(inside)
        mm = m[rows, None].repeat(K, axis=1)
        out[rows] = 1.0 - _mvn_box(corr[rows], np.full_like(mm, -np.inf), mm, has[rows])
    ok &= ~inside
    if not ok.any():
        return np.clip(out, 0.0, 1.0)
    rows = np.flatnonzero(ok)
    mm = m[rows]
    total = np.zeros(rows.size)
    for k in range(K):
        crossing = has[rows, k]
        if not crossing.any():
            continue
        order = [k] + list(range(k))
        sub = corr[rows][:, order][:, :, order]
        h = has[rows][:, order]
        lower = np.where(two_sided, -mm, -np.inf)[:, None].repeat(len(order), axis=1)
        upper = mm[:, None].repeat(len(order), axis=1)
        lower[:, 0] = mm
        upper[:, 0] = np.inf
        h[:, 0] = crossing
        term = _mvn_box(sub, lower, upper, h)
        total += np.where(crossing, term, 0.0)
    if two_sided:
        total *= 2.0
    out[rows] = total
    return np.clip(out, 0.0, 1.0)


def _mvn_box(corr, lower, upper, use) -> np.ndarray:
    """``P(lower_k < Z_k < upper_k for every k with use)`` per row, ``Z ~
    N(0, corr)``; rows where no component is used get 1.

    Genz's separation of variables, vectorised over rows.  ``Z = L y`` with
    ``L`` a (semi-definite, pivot-skipping) Cholesky factor and ``y``
    independent standard normals, one per linearly independent statistic.  A
    statistic that is a linear combination of earlier ones (FH(0,0) is
    FH(0,1) + FH(1,0) before standardisation, so the default four have rank
    3) adds no variable: its constraint is a bound on the last ``y`` it
    depends on, merged into that variable's interval, which keeps the
    integrand smooth.  For each point ``w`` of the rule, ``y_j`` is drawn
    within its interval ``(lo_j, hi_j)`` given the earlier ones (by inversion,
    from the upper tail when the interval lies above 0, so tails keep their
    precision) and the integrand is ``prod_j P(lo_j < y_j < hi_j)``.  Rows are
    grouped by their dependency pattern (almost always one).
    """
    # deferred: scipy.special costs 0.2-0.3 s of start-up, which a run without MaxCombo or Dunnett does without
    from scipy import special

    r, K, _ = corr.shape
    out = np.ones(r)
    L = np.zeros_like(corr)
    indep = np.zeros((r, K), dtype=bool)
    for k in range(K):
        for j in range(k):
            s = corr[:, k, j] - (L[:, k, :j] * L[:, j, :j]).sum(axis=1)
            L[:, k, j] = np.where(indep[:, j], s / np.where(indep[:, j], L[:, j, j], 1.0), 0.0)
        s = corr[:, k, k] - (L[:, k, :k] * L[:, k, :k]).sum(axis=1)
        indep[:, k] = use[:, k] & (s > _RANK_TOL)
        L[:, k, k] = np.where(indep[:, k], np.sqrt(np.maximum(s, 0.0)), 0.0)
    # pattern per component: -1 unused, -2 a variable of its own, j >= 0 a
    # combination of earlier ones, the last being variable j
    nonzero = (np.abs(L) > _COEF_TOL) & indep[:, None, :]
    last = np.where(nonzero.any(axis=2), K - 1 - np.argmax(nonzero[:, :, ::-1], axis=2), -1)
    pattern = np.where(indep, -2, np.where(use, last, -1))
    patterns, which = np.unique(pattern, axis=0, return_inverse=True)
    which = which.reshape(-1)
    for pi, pat in enumerate(patterns):
        sel = np.flatnonzero(which == pi)
        slots = [k for k in range(K) if pat[k] == -2]
        if not slots:
            continue
        bound_by = {j: [j] + [k for k in range(K) if pat[k] == j] for j in slots}
        n_draws = len(slots) - 1
        w, wts = _integration_rule(n_draws) if n_draws else (np.full((1, 0), 0.5), np.ones(1))
        for lo_r in range(0, sel.size, _MVN_ROWS):
            rr = sel[lo_r:lo_r + _MVN_ROWS]
            Lb, lw, up = L[rr], lower[rr], upper[rr]
            ys: dict = {}
            prob = np.ones((rr.size, w.shape[0]))
            for si, j in enumerate(slots):
                lo = np.full(prob.shape, -np.inf)
                hi = np.full(prob.shape, np.inf)
                for k in bound_by[j]:
                    s = 0.0
                    for i, yi in ys.items():  # earlier variables
                        s = s + Lb[:, k, i, None] * yi
                    a = Lb[:, k, j, None]
                    with np.errstate(invalid="ignore"):
                        ub = (up[:, k, None] - s) / a
                        lb = (lw[:, k, None] - s) / a
                    pos = a > 0.0
                    hi = np.minimum(hi, np.where(pos, ub, lb))
                    lo = np.maximum(lo, np.where(pos, lb, ub))
                upper_half = lo > 0.0  # sample by the upper tail
                f_a = special.ndtr(np.where(upper_half, -hi, lo))
                f_b = special.ndtr(np.where(upper_half, -lo, hi))
                p_j = np.maximum(f_b - f_a, 0.0)
                prob *= p_j
                if si < n_draws:
                    q = np.clip(f_a + w[None, :, si] * p_j, 1e-300, 1.0 - 2.0**-53)
                    y = special.ndtri(q)
                    ys[j] = np.where(upper_half, -y, y)
            out[rr] = (prob * wts).sum(axis=1)  # not BLAS: a row's sum must not depend on the others
    return out
