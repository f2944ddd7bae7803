"""Risk sets of many replicates at once: the per-event-time sums every
time-to-event kernel works on.

Rows are processed in blocks; each row is sorted once (an in-place sort of
int64 keys packing the stratum, the time and the event and group flags,
padding last), tie groups are runs of equal keys, and numbers at risk and
event counts come from positions and one cumulative sum (see
``_event_groups``).  ``_scan`` yields those sums block by block; the kernels
(log-rank, Fleming-Harrington, Kaplan-Meier contrasts, Cox) only add them
up.  ``benchmarks/bench_logrank.py`` measures the kernels against lifelines.
"""

from __future__ import annotations

import math
import sys
from typing import NamedTuple

import numpy as np

from trialsim.analysis.inputs import _Inputs


# Rows are processed in blocks of about this many entries (rows x patients).
# Measured (R=800, n=500, the log-rank at the final analysis of
# scenarios/conventional_logrank.yaml): 2**14 and 2**15 entries take about
# three quarters of the time of 2**13 (the per-block Python overhead, some
# 50 microseconds a block); 2**16 is slower again, its temporaries being big
# enough for malloc to hand them back to the OS after each block (page faults).
_BLOCK_ELEMENTS = 1 << 14

# Packed sort keys.  A valid time t >= 0 is multiplied by an exact power of
# two (``scale``) so that the biased exponent of ``t * scale`` is at most
# ``2**b - 2`` (and at least 1 for the smallest positive time, so the product
# is a normal float and exact).  The float64 bit patterns of such numbers, read
# as int64, are < 2**(52 + b) and ordered like the numbers; shifted left by two
# they leave room for two flag bits (bit 1 = censored, bit 0 = treatment), and
# the stratum code goes above them, at bit 54 + b, in s = 9 - b bits.  Without
# strata b = 9 (the time in [0, 2**-512)).  Sorting the keys sorts by stratum,
# time and, within tied times, puts events (bit 1 clear) before censorings.
# Padding gets a key above every valid key, with the flags of a censored
# control (and it is never counted).
_PAD_KEY = np.int64(0x7FFF_FFFF_FFFF_FFFE)
# Without strata, padding is given a time instead: once scaled, this number
# has biased exponent 2**9 - 1, one above any valid time's, so its key sorts
# after every valid key (and its flags are set to a censored control).
_PAD_TIME = 1.5 * 2.0**-512
# The keys' low byte, where the flags go, through a byte view of the keys.
_LOW_BYTE = 0 if sys.byteorder == "little" else 7
_TINY = np.finfo(np.float64).smallest_normal
_KEY_BITS = 9  # exponent bits + stratum bits


def _packing_scale(t_pos: float, t_max: float, exp_bits: int = _KEY_BITS) -> float | None:
    """Power of two taking [0, t_max] to biased exponents <= 2**exp_bits - 2
    exactly, or None.

    ``t_pos`` is the smallest positive time (inf if none).  The product
    ``t * scale`` is exact as long as it is a normal float, i.e. for all times
    if ``t_pos * scale`` is; otherwise (times spanning more than about
    2**(2**exp_bits - 12) -- 2**500 without strata -- or above ~2**510) there is
    no such scale and the caller uses the lexsort path.
    """
    k = int(np.frexp(t_max)[1]) + 1024 - 2**exp_bits  # t_max * 2**-k < 2**(2**b - 1024)
    if k > 1022:
        return None
    scale = float(np.ldexp(1.0, -k))
    if not np.isfinite(scale) or t_pos * scale < _TINY:
        return None
    return scale


class _Sorted(NamedTuple):
    """One block of rows in sorted order (see ``_event_groups``)."""

    is_start: np.ndarray  # (B, n) bool: first entry of a run of equal (stratum, time)
    is_event: np.ndarray  # (B, n) bool, False on padding
    is_treated: np.ndarray  # (B, n) uint8, 0 on padding
    treated_events: np.ndarray  # (B,) int64
    seg_start: np.ndarray | None  # (B, n) bool: first entry of a stratum; None unstratified
    times: object  # callable: flat positions -> times there


def _sort_packed(time, event, group, valid, scale, codes=None, exp_bits=_KEY_BITS) -> _Sorted:
    """Sort rows by (stratum, time) with one in-place ``sort`` of packed int64
    keys.  ``scale`` comes from ``_packing_scale(..., exp_bits)``, which
    guarantees ``time * scale`` exact; ``codes`` (int64, in [0, 2**(9 -
    exp_bits)) where valid) are the strata.

    The flags are written into the keys' low byte (a byte view, so no int64
    temporary); without strata, padding gets the time ``_PAD_TIME / scale``
    before the keys are made, whose key is above every valid key."""
    if valid is not None:  # padding: a censored control, as in _PAD_KEY
        event = event & valid
        group = group & valid
    flags = event.view(np.uint8) << 1
    flags ^= 2  # censored bit
    flags |= group.view(np.uint8)
    if valid is not None and codes is None:
        key = np.where(valid, time, _PAD_TIME / scale)
        key *= scale
    else:
        with np.errstate(over="ignore", invalid="ignore"):  # garbage in padding
            key = np.multiply(time, scale)
    key = np.ascontiguousarray(key).view(np.int64)
    key <<= 2  # also drops the sign bit of -0.0
    key.view(np.uint8)[:, _LOW_BYTE::8] |= flags
    shift = 54 + exp_bits
    if codes is not None:
        key |= codes << shift
        if valid is not None:
            key = np.where(valid, key, _PAD_KEY)
    key.sort(axis=1)

    flags = key.view(np.uint8)[:, _LOW_BYTE::8] & 3  # 0: event, control; 1: event, treated; 2, 3: censored
    treated_events = np.count_nonzero(flags == 1, axis=1)
    is_event = flags < 2
    flags &= 1
    key |= 3  # now equal keys <=> equal (stratum, time)
    is_start = np.empty(key.shape, dtype=bool)
    is_start[:, 0] = True
    np.not_equal(key[:, 1:], key[:, :-1], out=is_start[:, 1:])
    seg_start = None
    if codes is not None:
        stratum = key >> shift
        seg_start = np.empty(key.shape, dtype=bool)
        seg_start[:, 0] = True
        np.not_equal(stratum[:, 1:], stratum[:, :-1], out=seg_start[:, 1:])
    time_mask = np.int64((1 << (52 + exp_bits)) - 1)
    flat_key = key.reshape(-1)

    def times(pos):
        bits = (flat_key[pos] >> 2) & time_mask
        return bits.view(np.float64) / scale

    return _Sorted(is_start, is_event, flags, treated_events, seg_start, times)


def _sort_lexsort(time, event, group, valid, codes=None) -> _Sorted:
    """Exact (slower) equivalent of ``_sort_packed`` for any finite times and
    any number of strata."""
    if valid is None:
        key = time
    else:
        key = np.where(valid, time, np.inf)
        event = event & valid
        group = group & valid
    if codes is None:
        order = np.lexsort((~event, key), axis=1)  # by time, events first
    else:
        if valid is not None:
            codes = np.where(valid, codes, np.iinfo(np.int64).max)
        order = np.lexsort((~event, key, codes), axis=1)
    t_sorted = np.take_along_axis(key, order, axis=1)
    is_event = np.take_along_axis(event, order, axis=1)
    is_treated = np.take_along_axis(group, order, axis=1).view(np.uint8)
    is_start = np.empty(key.shape, dtype=bool)
    is_start[:, 0] = True
    np.not_equal(t_sorted[:, 1:], t_sorted[:, :-1], out=is_start[:, 1:])
    seg_start = None
    if codes is not None:
        c_sorted = np.take_along_axis(codes, order, axis=1)
        seg_start = np.empty(key.shape, dtype=bool)
        seg_start[:, 0] = True
        np.not_equal(c_sorted[:, 1:], c_sorted[:, :-1], out=seg_start[:, 1:])
        is_start |= seg_start
    treated_events = np.count_nonzero(event & group, axis=1)
    flat_t = t_sorted.reshape(-1)
    return _Sorted(is_start, is_event, is_treated, treated_events, seg_start, lambda pos: flat_t[pos])


class _Groups(NamedTuple):
    """Per-event-time sums for a block of ``B`` rows.

    Arrays over the ``G`` event groups (runs of equal (stratum, time) holding
    at least one event), ordered by row, then stratum, then time.
    """

    bounds: np.ndarray  # (B + 1,) row r's groups are bounds[r]:bounds[r + 1]
    seg_first: np.ndarray  # (G,) bool: first group of its (row, stratum) risk set
    d: np.ndarray  # (G,) float64 events
    n: np.ndarray  # (G,) float64 at risk
    n1: np.ndarray  # (G,) float64 treated at risk
    d1: np.ndarray | None  # (G,) float64 treated events (if asked for)
    time: np.ndarray | None  # (G,) float64 the event time (if asked for)
    events: np.ndarray  # (B,) int64
    treated_events: np.ndarray  # (B,) int64


def _event_groups(s: _Sorted, n_valid, *, need_d1=False, need_time=False) -> _Groups:
    """Per-event-time counts from one sorted block.

    Padding sorts after the valid entries and events sort before censorings
    within a tie group, so a tie group holds events iff its first entry is an
    event, and its events are all the events up to the next such group start.

    Working on flat positions in the block: the number at risk at a group
    start ``s`` is ``end - s``, ``end`` the end of its risk set: the end of the
    row's valid entries (``r*n + n_valid[r]``), or with strata the start of the
    next stratum, whichever comes first; the treated at risk are the treated
    from ``s`` to ``end``, read from one cumulative sum.
    """
    B, n = s.is_start.shape
    row_start = np.arange(0, B * n + 1, n, dtype=np.int64)  # B + 1 entries
    pos_ev = s.is_event.reshape(-1).nonzero()[0]  # all events
    ev_bounds = pos_ev.searchsorted(row_start)
    events = ev_bounds[1:] - ev_bounds[:-1]
    gi = s.is_start.reshape(-1)[pos_ev].nonzero()[0]  # index of each group's 1st event
    start = pos_ev[gi]
    n_groups = start.size
    d = np.empty(n_groups, dtype=np.float64)  # events per group
    if n_groups:
        np.subtract(gi[1:], gi[:-1], out=d[:-1])
        d[-1] = pos_ev.size - gi[-1]

    cum_1 = np.empty(B * n + 1, dtype=np.int64)  # cum_1[k]: treated at flat < k
    cum_1[0] = 0
    np.cumsum(s.is_treated.reshape(-1), out=cum_1[1:])

    bounds = start.searchsorted(row_start)  # groups of row r: bounds[r]:bounds[r+1]
    counts = bounds[1:] - bounds[:-1]
    row_end = row_start[:-1] + n_valid
    end = row_end.repeat(counts)
    seg_first = np.zeros(n_groups, dtype=bool)
    seg_first[bounds[:-1][counts > 0]] = True
    if s.seg_start is not None and n_groups:
        seg_pos = np.append(s.seg_start.reshape(-1).nonzero()[0], B * n)
        nxt = seg_pos.searchsorted(start, side="right")  # next stratum's start
        np.minimum(end, seg_pos[nxt], out=end)
        seg_first[1:] |= nxt[1:] != nxt[:-1]
        cum_end = cum_1[end]
    else:  # the end is the row's: one cumulative count per row
        cum_end = cum_1[row_end].repeat(counts)
    end -= start
    at_risk = end.astype(np.float64)
    cum_end -= cum_1[start]
    at_risk_1 = cum_end.astype(np.float64)

    d1 = None
    if need_d1:
        tr_ev = s.is_treated.reshape(-1)[pos_ev]
        d1 = np.add.reduceat(tr_ev, gi, dtype=np.float64) if n_groups else np.zeros(0)
    time = s.times(start) if need_time else None
    return _Groups(bounds, seg_first, d, at_risk, at_risk_1, d1, time, events,
                   np.asarray(s.treated_events, dtype=np.int64))


def _scan(inp: _Inputs, *, need_d1=False, need_time=False):
    """Validate the inputs and yield ``(rows, groups)`` per block of rows:
    ``rows`` a slice of replicates, ``groups`` their ``_Groups``."""
    time, event, group, valid, strata = inp
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

    codes = None
    exp_bits = _KEY_BITS
    if strata is not None:
        big = np.iinfo(np.int64)
        where = True if valid is None else valid
        s_lo = int(strata.min(initial=big.max, where=where))
        s_hi = int(strata.max(initial=big.min, where=where))
        if s_hi > s_lo:  # one stratum is no stratification
            span = s_hi - s_lo + 1
            codes = strata - np.int64(s_lo) if s_lo != 0 else strata
            strata_bits = max(1, int(math.ceil(math.log2(span))))
            exp_bits = _KEY_BITS - strata_bits

    if n == 0:
        return
    scale = None
    if exp_bits >= 1:
        scale = _packing_scale(float(t_pos), float(t_hi), exp_bits)
    rows = max(1, _BLOCK_ELEMENTS // n)
    for lo in range(0, R, rows):
        blk = slice(lo, min(R, lo + rows))
        v = None if valid is None else valid[blk]
        if v is not None and codes is None and v.all():
            v = None     # no padding in these rows: the keys of valid=None, the same numbers, one pass fewer
        c = None if codes is None else codes[blk]
        if scale is not None:
            srt = _sort_packed(time[blk], event[blk], group[blk], v, scale, c, exp_bits)
        else:
            srt = _sort_lexsort(time[blk], event[blk], group[blk], v, c)
        yield blk, _event_groups(srt, n_valid[blk], need_d1=need_d1, need_time=need_time)


def _row_sums(bounds, terms) -> np.ndarray:
    """Sum ``terms`` (G,) or (G, k) over each row's groups; 0 for rows without.

    ``add.reduceat`` over each row's contiguous run of groups, so a row's
    result does not depend on the other rows."""
    B = bounds.size - 1
    out = np.zeros((B,) + terms.shape[1:])
    counts = bounds[1:] - bounds[:-1]
    has = counts > 0
    if terms.shape[0]:
        out[has] = np.add.reduceat(terms, bounds[:-1][has], axis=0)
    return out


class _Segments(NamedTuple):
    index: np.ndarray  # (G,) segment of each group
    position: np.ndarray  # (G,) position of the group within its segment
    count: int
    width: int


def _segments(seg_first) -> _Segments:
    g = seg_first.size
    index = np.cumsum(seg_first) - 1
    firsts = seg_first.nonzero()[0]
    position = np.arange(g) - firsts[index] if g else np.zeros(0, dtype=np.int64)
    width = int(position.max()) + 1 if g else 0
    return _Segments(index, position, firsts.size, width)


def _segment_scan(seg: _Segments, values, ufunc, identity, *, exclusive=False, reverse=False):
    """Sequential cumulative ``ufunc`` (np.multiply, np.add) of ``values``
    within each segment (a row's or a stratum's run of groups), in order, or
    from the segment's end with ``reverse``.  ``exclusive``: the value before
    each group (``identity`` for the first).  Laid out as a padded (segments x
    width) array, mirrored for ``reverse``, so the accumulation is exactly the
    loop's, term by term, and a segment's result does not depend on others."""
    m = np.full((seg.count, seg.width + 1), identity, dtype=np.float64)
    pos = (seg.width - 1 - seg.position) if reverse else seg.position
    m[seg.index, pos + 1] = values
    ufunc.accumulate(m, axis=1, out=m)
    return m[seg.index, pos] if exclusive else m[seg.index, pos + 1]


def _km_before(g: _Groups, seg: _Segments) -> np.ndarray:
    """Pooled (within-stratum) Kaplan-Meier survival just before each group's
    time, ``prod_{k < j} (1 - d_k / n_k)``."""
    return _segment_scan(seg, (g.n - g.d) / g.n, np.multiply, 1.0, exclusive=True)
