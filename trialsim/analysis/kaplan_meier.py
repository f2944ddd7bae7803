"""Kaplan-Meier contrasts between the arms: the difference in restricted
mean survival time (RMST) up to a horizon and the difference in survival at
a milestone time, with Greenwood-type variances (survRM2, lifelines)."""

from __future__ import annotations

import math

import numpy as np

from trialsim.analysis.inputs import _Inputs, _prepare
from trialsim.analysis.results import MilestoneResult, RMSTResult
from trialsim.analysis.risksets import _Groups, _row_sums, _scan, _segment_scan, _segments


def _safe_ratio(num, den):
    """``num / den`` where ``den > 0`` (and finite), else 0."""
    ok = (den > 0.0) & np.isfinite(den)
    return np.where(ok, num / np.where(ok, den, 1.0), 0.0)


def _check_time_point(value, name: str) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be a finite time > 0, got {value!r}")
    return value


def _no_strata(strata, what: str) -> None:
    if strata is not None:
        raise ValueError(f"{what} is not stratified: call it without strata")


def _arm_counts(g: _Groups, arm: int):
    """Events and number at risk of one arm at each (pooled) event group."""
    if arm == 1:
        return g.d1, g.n1
    return g.d - g.d1, g.n - g.n1


def _arm_km_terms(g: _Groups, arm: int):
    """Kaplan-Meier factor ``1 - d/n`` and Greenwood term ``d / (n (n - d))``
    (0 where ``n == d``, as survRM2 and lifelines) of one arm at each group."""
    d, n = _arm_counts(g, arm)
    safe_n = np.where(n > 0.0, n, 1.0)
    factor = (safe_n - d) / safe_n  # 1 where the arm has no event
    left = n - d
    greenwood = np.where((d > 0.0) & (left > 0.0), d / (safe_n * np.where(left > 0.0, left, 1.0)), 0.0)
    return factor, greenwood


def _arm_sizes(inp: _Inputs) -> np.ndarray:
    """(R, 2) valid patients in control and treatment."""
    valid = inp.valid
    treated = inp.group if valid is None else inp.group & valid
    n1 = np.count_nonzero(treated, axis=1)
    total = inp.time.shape[1] if valid is None else np.count_nonzero(valid, axis=1)
    return np.stack([total - n1, n1], axis=1)


def rmst_difference(time, event, group, valid=None, *, horizon, strata=None) -> RMSTResult:
    """Difference in restricted mean survival time up to ``horizon``.

    Per arm, ``RMST = int_0^tau S(t) dt`` with ``S`` the arm's Kaplan-Meier
    estimate (a step function, carried forward after the arm's last time, as
    lifelines does; survRM2 refuses a horizon beyond it).  Its variance is the
    Greenwood-type ``sum_{t_j <= tau} A_j**2 d_j / (n_j (n_j - d_j))``, ``A_j``
    the area under ``S`` from ``t_j`` to ``tau`` (survRM2's ``rmst1``; terms with
    ``n_j == d_j`` are 0).  ``difference`` = treatment - control, ``se`` the
    square root of the summed variances, ``z = difference / se`` (0 where
    ``se`` is 0).  An arm without patients has nan RMST and gives ``z = 0``.
    """
    horizon = _check_time_point(horizon, "horizon")
    _no_strata(strata, "rmst_difference")
    inp = _prepare(time, event, group, valid)
    R = inp.time.shape[0]
    rmst = np.full((R, 2), horizon)
    var = np.zeros((R, 2))
    for blk, g in _scan(inp, need_d1=True, need_time=True):
        seg = _segments(g.seg_first)
        tc = np.minimum(g.time, horizon)
        # interval from each group's time to the next group's (or the horizon)
        nxt = np.empty_like(tc)
        if tc.size:
            nxt[:-1] = tc[1:]
            last = np.append(g.seg_first[1:], True)
            nxt[last] = horizon
        width = nxt - tc
        first_t = np.full(blk.stop - blk.start, horizon)
        has = g.bounds[1:] > g.bounds[:-1]
        first_t[has] = tc[g.bounds[:-1][has]]
        for arm in (0, 1):
            factor, greenwood = _arm_km_terms(g, arm)
            surv = _segment_scan(seg, factor, np.multiply, 1.0)  # S just after t_j
            area = width * surv
            rmst[blk, arm] = first_t + _row_sums(g.bounds, area)
            after = _segment_scan(seg, area, np.add, 0.0, reverse=True)  # A_j
            var[blk, arm] = _row_sums(g.bounds, after * after * greenwood)
    empty = _arm_sizes(inp) == 0
    rmst[empty] = np.nan
    var[empty] = np.nan
    diff = rmst[:, 1] - rmst[:, 0]
    se = np.sqrt(var.sum(axis=1))
    z = np.where(np.isfinite(diff), _safe_ratio(np.nan_to_num(diff), se), 0.0)
    return RMSTResult(z=z, rmst=rmst, variance=var, difference=diff, se=se, horizon=horizon)


def milestone_difference(time, event, group, valid=None, *, at, strata=None) -> MilestoneResult:
    """Difference in Kaplan-Meier survival at time ``at`` (treatment -
    control), with Greenwood variances ``S**2 * sum_{t_j <= at} d_j / (n_j
    (n_j - d_j))`` (terms with ``n_j == d_j`` are 0, as lifelines), ``z =
    difference / se`` (0 where ``se`` is 0).  Survival is carried forward
    after an arm's last time (lifelines' convention).  An arm without patients
    has nan survival and gives ``z = 0``.
    """
    at = _check_time_point(at, "at")
    _no_strata(strata, "milestone_difference")
    inp = _prepare(time, event, group, valid)
    R = inp.time.shape[0]
    surv = np.ones((R, 2))
    gw = np.zeros((R, 2))
    for blk, g in _scan(inp, need_d1=True, need_time=True):
        before = g.time <= at
        counts = g.bounds[1:] - g.bounds[:-1]
        has = counts > 0
        for arm in (0, 1):
            factor, greenwood = _arm_km_terms(g, arm)
            factor = np.where(before, factor, 1.0)
            s = np.ones(counts.size)
            if factor.size:
                s[has] = np.multiply.reduceat(factor, g.bounds[:-1][has])
            surv[blk, arm] = s
            gw[blk, arm] = _row_sums(g.bounds, np.where(before, greenwood, 0.0))
    var = surv * surv * gw
    empty = _arm_sizes(inp) == 0
    surv[empty] = np.nan
    var[empty] = np.nan
    diff = surv[:, 1] - surv[:, 0]
    se = np.sqrt(var.sum(axis=1))
    z = np.where(np.isfinite(diff), _safe_ratio(np.nan_to_num(diff), se), 0.0)
    return MilestoneResult(z=z, survival=surv, variance=var, difference=diff, se=se, at=at)
