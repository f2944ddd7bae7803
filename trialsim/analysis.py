"""Tests over many simulated trials at once.

Every kernel here takes padded 2-D arrays of shape ``(R, n)`` -- ``R``
replicates (simulated trials) by up to ``n`` patients -- and returns one
statistic per replicate.  A boolean ``valid`` array of the same shape marks
the real patients; ``False`` marks padding, which is ignored whatever its
time, event and group values.  No Python loop runs over replicates or
patients: the work is done in numpy over blocks of rows.

``lifelines`` is the reference these kernels are tested against
(``tests/test_analysis.py``), not part of the hot path.

Log-rank test
-------------
For each replicate, with distinct event times ``t_j`` (events and censorings
at the same time are tied; the censored are still at risk at ``t_j``, the
usual convention and that of ``lifelines``):

* ``n_j`` patients at risk (observed time >= ``t_j``), ``n1_j`` of them in the
  treatment group (``group == True``), ``d_j`` events, ``d1_j`` in treatment;
* ``O1 = sum d1_j``, ``E1 = sum d_j * n1_j / n_j``;
* ``V = sum d_j * (n1_j/n_j) * (1 - n1_j/n_j) * (n_j - d_j) / (n_j - 1)``,
  the hypergeometric variance with the tie correction (the last factor is
  taken as 1 when ``n_j == 1``, where the term is 0 anyway);
* ``z = (E1 - O1) / sqrt(V)``: positive when treatment has fewer events than
  expected, i.e. favours treatment; ``z**2`` is the chi-square statistic of
  ``lifelines.statistics.logrank_test``.

Conventions for degenerate rows: a row with no events (or no valid patient)
has ``V = 0`` and ``z = 0`` (not nan), so that it never rejects.  A row with
events in which one group is empty at every event time also has ``V = 0``
(and ``O1 = E1``): ``z = 0`` too.  ``hazard_ratio`` is nan whenever ``V == 0``.

Implementation: rows are processed in blocks; each row is sorted once (an
in-place sort of int64 keys packing the time with the event and group flags,
padding last), tie groups are runs of equal times, and numbers at risk and
event counts come from positions and one cumulative sum (see
``_tie_group_sums``).  ``benchmarks/bench_logrank.py`` measures it against
lifelines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = ["LogrankResult", "logrank", "critical_value", "reject"]


@dataclass(frozen=True, eq=False)
class LogrankResult:
    """Log-rank statistics for ``R`` replicates (arrays indexed by replicate).

    ``eq=False``: results hold arrays, compare them field by field.
    """

    z: np.ndarray
    """(R,) standardised statistic ``(E1 - O1) / sqrt(V)``; > 0 favours
    treatment (group 1); 0 when ``V == 0`` (e.g. no events)."""
    observed: np.ndarray
    """(R, 2) observed events in control (column 0) and treatment (column 1),
    as float64 like ``expected``."""
    expected: np.ndarray
    """(R, 2) expected events under H0, control and treatment; rows sum to
    ``events``."""
    variance: np.ndarray
    """(R,) hypergeometric variance ``V`` of ``O1 - E1``, with the
    ``(n - d) / (n - 1)`` tie correction."""
    events: np.ndarray
    """(R,) total number of events (int64)."""
    hazard_ratio: np.ndarray
    """(R,) Pike/Peto log-rank hazard ratio ``exp((O1 - E1) / V)``, treatment
    vs control; nan when ``V == 0``."""

    def p_value(self, sided: int = 1) -> np.ndarray:
        """P-values per replicate.

        ``sided=1``: ``1 - Phi(z)``, small when treatment is better.
        ``sided=2``: ``2 * (1 - Phi(|z|))``.
        """
        _check_sided(sided)
        if sided == 1:
            return special.ndtr(-self.z)
        return 2.0 * special.ndtr(-np.abs(self.z))

    @property
    def chi2(self) -> np.ndarray:
        """(R,) chi-square statistic ``z**2`` (lifelines' ``test_statistic``)."""
        return self.z**2


def critical_value(alpha: float, sided: int) -> float:
    """Standard normal critical value: ``z_{1-alpha}`` (one-sided) or
    ``z_{1-alpha/2}`` (two-sided)."""
    _check_sided(sided)
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    return float(special.ndtri(1.0 - alpha / sided))


def reject(z, *, alpha: float, sided: int) -> np.ndarray:
    """Rejections of H0 per replicate: ``z >= crit`` (one-sided, treatment
    better) or ``|z| >= crit`` (two-sided).  nan never rejects."""
    crit = critical_value(alpha, sided)
    z = np.asarray(z, dtype=np.float64)
    if sided == 1:
        return z >= crit
    return np.abs(z) >= crit


def _check_sided(sided: int) -> None:
    if sided not in (1, 2):
        raise ValueError(f"sided must be 1 or 2, got {sided!r}")


def logrank(time, event, group, valid=None) -> LogrankResult:
    """Two-group log-rank test for each row of padded ``(R, n)`` arrays.

    Parameters
    ----------
    time : array (R, n) of float >= 0
        Observed time (event or censoring).  Must be finite where valid.
    event : array (R, n) of bool
        True for an event, False for a censoring.
    group : array (R, n) of bool
        True for treatment (group 1), False for control (group 0).
    valid : array (R, n) of bool, optional
        False marks padding: never at risk, never an event, whatever its
        time/event/group values.  None means every entry is a patient.

    The arrays are broadcast against each other; 1-D inputs are one
    replicate (``R = 1``).  See the module docstring for the statistic and the
    conventions for rows without events (``z = 0``, ``variance = 0``).

    Raises
    ------
    ValueError
        On shapes that are not 1-D/2-D or do not broadcast, and on valid
        times that are negative, infinite or nan.
    """
    time, event, group, valid = _prepare(time, event, group, valid)
    R, n = time.shape

    # Whole-batch pre-pass (no temporaries): validation and patients per row.
    if valid is None:
        n_valid = np.full(R, n, dtype=np.int64)
        t_lo = time.min(initial=np.inf)
        t_hi = time.max(initial=-np.inf)
    else:
        n_valid = np.count_nonzero(valid, axis=1).astype(np.int64)
        t_lo = time.min(initial=np.inf, where=valid)
        t_hi = time.max(initial=-np.inf, where=valid)
    if t_hi == -np.inf:  # no valid patient at all
        t_lo = t_hi = 0.0
    if not (t_lo >= 0.0 and np.isfinite(t_hi)):  # nan fails both tests
        raise ValueError("valid times must be finite and >= 0 (found nan, inf or a negative time)")
    t_pos = t_lo  # smallest positive valid time (inf if none)
    if t_lo == 0.0:
        positive = time > 0.0 if valid is None else (time > 0.0) & valid
        t_pos = time.min(initial=np.inf, where=positive)

    events = np.zeros(R, dtype=np.int64)
    o1 = np.zeros(R)
    e1 = np.zeros(R)
    variance = np.zeros(R)
    if n > 0:
        scale = _packing_scale(float(t_pos), float(t_hi))
        rows = max(1, _BLOCK_ELEMENTS // n)
        for lo in range(0, R, rows):
            blk = slice(lo, min(R, lo + rows))
            events[blk], o1[blk], e1[blk], variance[blk] = _logrank_block(
                time[blk],
                event[blk],
                group[blk],
                None if valid is None else valid[blk],
                n_valid[blk],
                scale,
            )

    has_var = variance > 0.0
    safe_v = np.where(has_var, variance, 1.0)
    z = np.where(has_var, (e1 - o1) / np.sqrt(safe_v), 0.0)
    with np.errstate(over="ignore"):  # a tiny V can give an infinite HR
        hazard_ratio = np.where(has_var, np.exp((o1 - e1) / safe_v), np.nan)
    tot = events.astype(np.float64)
    return LogrankResult(
        z=z,
        observed=np.stack([tot - o1, o1], axis=1),
        expected=np.stack([tot - e1, e1], axis=1),
        variance=variance,
        events=events,
        hazard_ratio=hazard_ratio,
    )


def _prepare(time, event, group, valid):
    """Convert to arrays of the right dtypes, broadcast, make 2-D."""
    arrays = [
        np.asarray(time, dtype=np.float64),
        np.asarray(event, dtype=bool),
        np.asarray(group, dtype=bool),
    ]
    if valid is not None:
        arrays.append(np.asarray(valid, dtype=bool))
    try:
        arrays = list(np.broadcast_arrays(*arrays))
    except ValueError as exc:
        shapes = ", ".join(str(a.shape) for a in arrays)
        raise ValueError(f"time, event, group, valid shapes do not broadcast: {shapes}") from exc
    ndim = arrays[0].ndim
    if ndim not in (1, 2):
        raise ValueError(f"inputs must be 1-D or 2-D (replicates x patients), got {ndim}-D")
    if ndim == 1:
        arrays = [a[np.newaxis, :] for a in arrays]
    if valid is None:
        arrays.append(None)
    return arrays


# Rows are processed in blocks of about this many entries (rows x patients).
# Measured (R=10,000, n=500): larger blocks make the temporaries big enough
# for malloc to hand them back to the OS after each block, and the page
# faults cost more than the per-block Python overhead saved; smaller blocks
# pay that overhead (some 50 microseconds a block) too often.
_BLOCK_ELEMENTS = 1 << 13

# Packed sort keys.  A valid time t >= 0 is multiplied by an exact power of
# two (``scale``) into [0, 2**-512); the float64 bit patterns of such numbers,
# read as int64, are < 2**61 and ordered like the numbers, so shifted left by
# two they leave room for two flag bits: bit 1 = censored, bit 0 = treatment.
# Sorting the keys sorts by time and, within tied times, puts events (bit 1
# clear) before censorings.  Padding gets a key above every valid key, with
# the flags of a censored control (and it is never counted).
_PAD_KEY = np.int64(0x7FFF_FFFF_FFFF_FFFE)
_TINY = np.finfo(np.float64).smallest_normal


def _packing_scale(t_pos: float, t_max: float) -> float | None:
    """Power of two taking [0, t_max] into [0, 2**-512) exactly, or None.

    ``t_pos`` is the smallest positive time (inf if none).  The product
    ``t * scale`` is exact as long as it is a normal float, i.e. for all times
    if ``t_pos * scale`` is; otherwise (times spanning more than ~2**500, or
    above ~2**510) there is no such scale and the caller uses the lexsort path.
    """
    k = int(np.frexp(t_max)[1]) + 512  # t_max < 2**(k - 512)
    if k > 1022:
        return None
    scale = float(np.ldexp(1.0, -k))
    if t_pos * scale < _TINY:
        return None
    return scale


def _logrank_block(time, event, group, valid, n_valid, scale):
    """Events, O1, E1 and V for a block of rows (arrays over the rows)."""
    if scale is not None:
        sorted_ = _sort_packed(time, event, group, valid, scale)
    else:
        sorted_ = _sort_lexsort(time, event, group, valid)
    return _tie_group_sums(*sorted_, n_valid)


def _sort_packed(time, event, group, valid, scale):
    """Sort rows by time with one in-place ``sort`` of packed int64 keys.

    Returns ``(is_start, is_event, is_treated, treated_events)``: the first
    three (B, n) in sorted order (see ``_tie_group_sums``), the last the
    number of treated events per row.  ``scale`` comes from
    ``_packing_scale``, which guarantees ``time * scale`` exact.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # garbage in padding
        key = np.multiply(time, scale).view(np.int64)
    key <<= 2  # also drops the sign bit of -0.0
    flags = event.view(np.uint8) << 1
    flags ^= 2  # censored bit
    flags |= group.view(np.uint8)
    key |= flags
    if valid is not None:
        key = np.where(valid, key, _PAD_KEY)
    key.sort(axis=1)

    flags = key.astype(np.uint8)  # low byte
    flags &= 3  # 0: event, control; 1: event, treated; 2, 3: censored
    treated_events = (flags == 1).sum(axis=1)
    is_event = flags < 2
    flags &= 1
    key |= 3  # now equal keys <=> equal times
    is_start = np.empty(key.shape, dtype=bool)
    is_start[:, 0] = True
    np.not_equal(key[:, 1:], key[:, :-1], out=is_start[:, 1:])
    return is_start, is_event, flags, treated_events


def _sort_lexsort(time, event, group, valid):
    """Exact (slower) equivalent of ``_sort_packed`` for any finite times."""
    if valid is None:
        key = time
    else:
        key = np.where(valid, time, np.inf)
        event = event & valid
        group = group & valid
    order = np.lexsort((~event, key), axis=1)  # by time, events first
    t_sorted = np.take_along_axis(key, order, axis=1)
    is_event = np.take_along_axis(event, order, axis=1)
    is_treated = np.take_along_axis(group, order, axis=1).view(np.uint8)
    is_start = np.empty(key.shape, dtype=bool)
    is_start[:, 0] = True
    np.not_equal(t_sorted[:, 1:], t_sorted[:, :-1], out=is_start[:, 1:])
    treated_events = np.count_nonzero(event & group, axis=1)
    return is_start, is_event, is_treated, treated_events


def _tie_group_sums(is_start, is_event, is_treated, treated_events, n_valid):
    """Events, O1, E1 and V per row, summing over the tie groups.

    Inputs are (B, n) in sorted order: ``is_start`` marks the first entry of
    each run of equal times (tie group), ``is_event`` the events (False on
    padding), ``is_treated`` (uint8) the treated (0 on padding); padding sorts
    after the valid entries and events sort before censorings within a tie
    group.  So a tie group holds events iff its first entry is an event, and
    its events are all the events up to the next such group start.

    Working on flat positions in the block: the number at risk at a group
    start ``s`` in row ``r`` is ``r*n + n_valid[r] - s``; the treated at risk
    are the treated in row ``r`` from ``s`` on, read from one cumulative sum.
    Per-row totals come from ``add.reduceat`` over each row's contiguous run
    of groups, so a row's result does not depend on the other rows.
    """
    B, n = is_start.shape
    row_start = np.arange(0, B * n + 1, n, dtype=np.int64)  # B + 1 entries
    pos_ev = is_event.reshape(-1).nonzero()[0]  # all events
    ev_bounds = pos_ev.searchsorted(row_start)
    events = ev_bounds[1:] - ev_bounds[:-1]
    gi = is_start.reshape(-1)[pos_ev].nonzero()[0]  # index of each group's 1st event
    start = pos_ev[gi]
    n_groups = start.size
    o1 = treated_events.astype(np.float64)
    e1 = np.zeros(B)
    v = np.zeros(B)
    if n_groups == 0:
        return events, o1, e1, v
    d = np.empty(n_groups, dtype=np.float64)  # events per group
    np.subtract(gi[1:], gi[:-1], out=d[:-1])
    d[-1] = pos_ev.size - gi[-1]

    cum_1 = np.empty(B * n + 1, dtype=np.int64)  # cum_1[k]: treated at flat < k
    cum_1[0] = 0
    np.cumsum(is_treated.reshape(-1), out=cum_1[1:])

    bounds = start.searchsorted(row_start)  # groups of row r: bounds[r]:bounds[r+1]
    counts = bounds[1:] - bounds[:-1]
    at_risk = (row_start[:-1] + n_valid).repeat(counts) - start
    at_risk_1 = cum_1[row_start[1:]].repeat(counts) - cum_1[start]
    at_risk = at_risk.astype(np.float64)
    p1 = at_risk_1 / at_risk
    e1_terms = d * p1
    v_terms = e1_terms * (1.0 - p1)
    v_terms *= at_risk - d
    v_terms /= np.maximum(at_risk - 1.0, 1.0)

    has = counts > 0
    first = bounds[:-1][has]
    e1[has] = np.add.reduceat(e1_terms, first)
    v[has] = np.add.reduceat(v_terms, first)
    return events, o1, e1, v
