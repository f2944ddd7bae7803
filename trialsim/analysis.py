"""Tests over many simulated trials at once.

Every time-to-event kernel here takes padded 2-D arrays of shape ``(R, n)``
-- ``R`` replicates (simulated trials) by up to ``n`` patients -- and returns
one statistic per replicate.  A boolean ``valid`` array of the same shape
marks the real patients; ``False`` marks padding, which is ignored whatever
its time, event, group and stratum values.  No Python loop runs over
replicates or patients: the work is done in numpy over blocks of rows.  The
binary-endpoint kernels (``fisher_exact``, ``cmh``) take arrays of counts,
one per replicate (and stratum).

Every result has ``z`` (> 0 when treatment, ``group == True``, does better),
``p_value(sided)``, ``estimate`` and ``estimate_name``; ``run_test`` turns a
scenario's test string into a call.  docs/analysis.md gives each statistic's
formula, its conventions and the peers it is checked against; ``lifelines``
and R's ``survival`` are the references (``tests/test_analysis*.py``), not
part of the hot path.

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

With ``strata``, the risk sets are within a stratum and ``O1``, ``E1``, ``V``
are summed over the strata (``survival::survdiff(... + strata(s))``).

Conventions for degenerate rows: a row with no events (or no valid patient)
has ``V = 0`` and ``z = 0`` (not nan), so that it never rejects.  A row with
events in which one group is empty at every event time also has ``V = 0``
(and ``O1 = E1``): ``z = 0`` too.  ``hazard_ratio`` is nan whenever ``V == 0``.

Implementation: rows are processed in blocks; each row is sorted once (an
in-place sort of int64 keys packing the stratum, the time and the event and
group flags, padding last), tie groups are runs of equal keys, and numbers at
risk and event counts come from positions and one cumulative sum (see
``_event_groups``).  Every time-to-event kernel works on those per-event-time
sums.  ``benchmarks/bench_logrank.py`` measures the kernels against lifelines.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import special


def _scipy_stats():
    """scipy.stats, imported on first use: it costs a quarter of a second at
    start-up, and only MaxCombo and Fisher's test need it."""
    from scipy import stats

    return stats

__all__ = [
    "LogrankResult",
    "WeightedLogrankResult",
    "MaxComboResult",
    "RMSTResult",
    "MilestoneResult",
    "CoxResult",
    "FisherResult",
    "CMHResult",
    "logrank",
    "weighted_logrank",
    "maxcombo",
    "rmst_difference",
    "milestone_difference",
    "cox",
    "fisher_exact",
    "cmh",
    "run_test",
    "parse_test",
    "critical_value",
    "reject",
]


def _one_sided_p(z) -> np.ndarray:
    return special.ndtr(-np.asarray(z, dtype=np.float64))


def _two_sided_p(z) -> np.ndarray:
    return 2.0 * special.ndtr(-np.abs(np.asarray(z, dtype=np.float64)))


def _normal_p(z, sided: int) -> np.ndarray:
    _check_sided(sided)
    return _one_sided_p(z) if sided == 1 else _two_sided_p(z)


def _z_from_p(p) -> np.ndarray:
    """Normal deviate of a one-sided p-value, ``-Phi^{-1}(p)``, finite: p is
    clipped to [1e-300, 1 - 2**-53] (|z| <= 37.0 and 8.2)."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-300, 1.0 - 2.0**-53)
    return -special.ndtri(p)


def _safe_ratio(num, den):
    """``num / den`` where ``den > 0`` (and finite), else 0."""
    ok = (den > 0.0) & np.isfinite(den)
    return np.where(ok, num / np.where(ok, den, 1.0), 0.0)


class _NormalTest:
    """A result whose statistic ``z`` (> 0 favours treatment) is standard
    normal under the null hypothesis."""

    def p_value(self, sided: int = 1) -> np.ndarray:
        """P-values per replicate: ``sided=1``, ``1 - Phi(z)`` (small when
        treatment is better); ``sided=2``, ``2 * (1 - Phi(|z|))`` (for CMH,
        the chi-square p-value)."""
        return _normal_p(self.z, sided)


class _DifferenceTest(_NormalTest):
    """A normal test of an arm difference (treatment minus control)."""

    @property
    def estimate(self) -> np.ndarray:
        return self.difference


@dataclass(frozen=True, eq=False)
class LogrankResult(_NormalTest):
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

    estimate_name = "hazard_ratio"

    @property
    def estimate(self) -> np.ndarray:
        """The Peto hazard ratio (``hazard_ratio``)."""
        return self.hazard_ratio

    @property
    def chi2(self) -> np.ndarray:
        """(R,) chi-square statistic ``z**2`` (lifelines' ``test_statistic``)."""
        return self.z**2


@dataclass(frozen=True, eq=False)
class WeightedLogrankResult(_NormalTest):
    """Fleming-Harrington FH(rho, gamma) weighted log-rank statistics.

    Weights ``w_j = S(t_j-)**rho * (1 - S(t_j-))**gamma``, ``S`` the pooled
    (within-stratum) Kaplan-Meier estimate just before ``t_j``.
    """

    z: np.ndarray
    """(R,) ``-U / sqrt(V)``; > 0 favours treatment; 0 when ``V == 0``."""
    observed_minus_expected: np.ndarray
    """(R,) ``U = sum w_j (d1_j - d_j n1_j / n_j)`` (treatment)."""
    variance: np.ndarray
    """(R,) ``V = sum w_j**2 v_j``, ``v_j`` the log-rank variance term."""
    events: np.ndarray
    """(R,) total number of events (int64)."""
    rho: float
    gamma: float

    estimate_name = None
    estimate = None


@dataclass(frozen=True, eq=False)
class MaxComboResult:
    """MaxCombo: the maximum of several standardised FH statistics.

    ``p_value(1)`` is ``P(max_k Z_k >= z_max)`` and ``p_value(2)`` is
    ``P(max_k |Z_k| >= max_k |z_k|)`` for ``Z ~ N(0, correlation)``, the
    correlation estimated from the data.  ``z`` is the normal deviate of the
    one-sided p-value, ``-Phi^{-1}(p_value(1))``, so that ``reject(z, ...)``
    with ``sided=1`` is the MaxCombo test; it is NOT ``z_max``.
    """

    z: np.ndarray
    """(R,) ``-Phi^{-1}(p_value(1))`` (finite; 0 is p = 1/2)."""
    z_max: np.ndarray
    """(R,) largest standardised statistic over the tests with information."""
    z_tests: np.ndarray
    """(R, K) standardised FH statistics, one column per test (0 when that
    test's variance is 0)."""
    correlation: np.ndarray
    """(R, K, K) estimated correlation of the tests' statistics."""
    events: np.ndarray
    tests: tuple
    """The (rho, gamma) pairs, in column order."""
    p_one_sided: np.ndarray
    """(R,) ``P(max_k Z_k >= z_max)``; 1 where no test has information."""
    _two_sided: dict = field(default_factory=dict, repr=False)

    estimate_name = None
    estimate = None

    def p_value(self, sided: int = 1) -> np.ndarray:
        """Multivariate-normal p-value of the maximum (see class docstring).

        Computed by vectorised quasi-Monte Carlo (``_mvn_max_tail``); the
        absolute error is below 2e-5 (documented in docs/analysis.md and
        tested against scipy's ``multivariate_normal.cdf``)."""
        _check_sided(sided)
        if sided == 1:
            return self.p_one_sided
        if "p" not in self._two_sided:
            has = np.diagonal(self.correlation, axis1=1, axis2=2) > 0.0
            absmax = np.max(np.where(has, np.abs(self.z_tests), -np.inf), axis=1, initial=-np.inf)
            self._two_sided["p"] = _mvn_max_tail(absmax, self.correlation, has, two_sided=True)
        return self._two_sided["p"]


@dataclass(frozen=True, eq=False)
class RMSTResult(_DifferenceTest):
    """Restricted mean survival time (Kaplan-Meier area up to ``horizon``)."""

    z: np.ndarray
    """(R,) ``difference / se``; > 0 when treatment lives longer; 0 when
    ``se`` is 0 or not finite."""
    rmst: np.ndarray
    """(R, 2) RMST of control (column 0) and treatment (column 1); nan for an
    arm without patients."""
    variance: np.ndarray
    """(R, 2) Greenwood-type variance of each arm's RMST estimate
    (survRM2's ``rmst1``)."""
    difference: np.ndarray
    """(R,) treatment minus control."""
    se: np.ndarray
    """(R,) ``sqrt(variance.sum(axis=1))``."""
    horizon: float

    estimate_name = "rmst_difference"


@dataclass(frozen=True, eq=False)
class MilestoneResult(_DifferenceTest):
    """Kaplan-Meier survival at a milestone time, per arm, and its difference."""

    z: np.ndarray
    """(R,) ``difference / se``; > 0 when treatment survives more."""
    survival: np.ndarray
    """(R, 2) Kaplan-Meier survival at ``at``, control and treatment."""
    variance: np.ndarray
    """(R, 2) Greenwood variance ``S**2 * sum d / (n (n - d))``."""
    difference: np.ndarray
    se: np.ndarray
    at: float

    estimate_name = "milestone_difference"


@dataclass(frozen=True, eq=False)
class CoxResult(_NormalTest):
    """Cox proportional-hazards model with the treatment indicator alone."""

    z: np.ndarray
    """(R,) Wald ``-log_hr / se`` (> 0 favours treatment); where the
    estimate is infinite (``log_hr = +-inf``) the score statistic at 0,
    ``-U(0) / sqrt(I(0))``; 0 where the model has no information."""
    log_hr: np.ndarray
    """(R,) maximum partial-likelihood log hazard ratio, treatment vs control;
    +-inf when the likelihood is monotone, nan without information."""
    se: np.ndarray
    """(R,) ``1 / sqrt(I(log_hr))`` (inf where ``log_hr`` is infinite)."""
    ci_low: np.ndarray
    ci_high: np.ndarray
    """(R,) Wald confidence interval of the hazard ratio at ``level``."""
    level: float
    ties: str
    iterations: np.ndarray
    """(R,) Newton-Raphson iterations used (0 where not iterated)."""
    converged: np.ndarray
    """(R,) False where the iterations stopped without converging or the
    estimate is infinite or undefined."""
    events: np.ndarray

    estimate_name = "hazard_ratio"

    @property
    def hr(self) -> np.ndarray:
        return np.exp(self.log_hr)

    @property
    def estimate(self) -> np.ndarray:
        return self.hr


@dataclass(frozen=True, eq=False)
class FisherResult:
    """Fisher's exact test for the 2x2 tables of MRD clearance, one per
    replicate: rows treatment / control, columns cleared / not cleared."""

    z: np.ndarray
    """(R,) ``-Phi^{-1}(p_greater)`` (finite), so that ``reject(z, sided=1)``
    is the exact one-sided test."""
    p_greater: np.ndarray
    """(R,) exact one-sided p-value, treatment clears more
    (``scipy.stats.fisher_exact(..., alternative='greater')``)."""
    p_two_sided: np.ndarray
    """(R,) exact two-sided p-value, scipy's definition (tables no more
    probable than the observed one, relative tolerance 1e-14)."""
    odds_ratio: np.ndarray
    """(R,) sample odds ratio (scipy's ``statistic``): inf when a
    denominator cell is 0, nan when a margin is 0."""
    share_treatment: np.ndarray
    share_control: np.ndarray
    alternative: str

    estimate_name = "odds_ratio"

    @property
    def estimate(self) -> np.ndarray:
        return self.odds_ratio

    @property
    def pvalue(self) -> np.ndarray:
        """The p-value of ``alternative``."""
        return self.p_greater if self.alternative == "greater" else self.p_two_sided

    def p_value(self, sided: int = 1) -> np.ndarray:
        _check_sided(sided)
        return self.p_greater if sided == 1 else self.p_two_sided


@dataclass(frozen=True, eq=False)
class CMHResult(_NormalTest):
    """Cochran-Mantel-Haenszel test over strata (R's ``mantelhaen.test``)."""

    z: np.ndarray
    """(R,) ``sign(D) * sqrt(chi2)``, ``D = sum_k (a_k - E a_k)``: > 0 when
    treatment clears more; 0 when the variance is 0."""
    chi2: np.ndarray
    """(R,) ``(|D| - c)**2 / V``, ``c = 0.5`` with the continuity correction
    (when ``|D| >= 0.5``), else 0."""
    variance: np.ndarray
    odds_ratio: np.ndarray
    """(R,) Mantel-Haenszel common odds ratio, treatment vs control."""
    ci_low: np.ndarray
    ci_high: np.ndarray
    """(R,) its two-sided 95% confidence interval (Robins-Breslow-Greenland
    variance of the log odds ratio)."""
    correct: bool

    estimate_name = "odds_ratio"

    @property
    def estimate(self) -> np.ndarray:
        return self.odds_ratio


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


# ---------------------------------------------------------------------------
# Inputs


class _Inputs(NamedTuple):
    time: np.ndarray
    event: np.ndarray
    group: np.ndarray
    valid: np.ndarray | None
    strata: np.ndarray | None


def _prepare(time, event, group, valid, strata=None) -> _Inputs:
    """Convert to arrays of the right dtypes, broadcast, make 2-D."""
    arrays = [
        np.asarray(time, dtype=np.float64),
        np.asarray(event, dtype=bool),
        np.asarray(group, dtype=bool),
    ]
    if valid is not None:
        arrays.append(np.asarray(valid, dtype=bool))
    if strata is not None:
        s = np.asarray(strata)
        if s.dtype.kind not in "iub":
            raise ValueError(f"strata must be an integer array (stratum codes), got dtype {s.dtype}")
        arrays.append(s.astype(np.int64, copy=False))
    try:
        arrays = list(np.broadcast_arrays(*arrays))
    except ValueError as exc:
        shapes = ", ".join(str(a.shape) for a in arrays)
        raise ValueError(f"time, event, group, valid, strata shapes do not broadcast: {shapes}") from exc
    ndim = arrays[0].ndim
    if ndim not in (1, 2):
        raise ValueError(f"inputs must be 1-D or 2-D (replicates x patients), got {ndim}-D")
    if ndim == 1:
        arrays = [a[np.newaxis, :] for a in arrays]
    out_valid = arrays[3] if valid is not None else None
    out_strata = arrays[-1] if strata is not None else None
    return _Inputs(arrays[0], arrays[1], arrays[2], out_valid, out_strata)


# Rows are processed in blocks of about this many entries (rows x patients).
# Measured (R=10,000, n=500): larger blocks make the temporaries big enough
# for malloc to hand them back to the OS after each block, and the page
# faults cost more than the per-block Python overhead saved; smaller blocks
# pay that overhead (some 50 microseconds a block) too often.
_BLOCK_ELEMENTS = 1 << 13

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
    exp_bits)) where valid) are the strata."""
    with np.errstate(over="ignore", invalid="ignore"):  # garbage in padding
        key = np.multiply(time, scale).view(np.int64)
    key <<= 2  # also drops the sign bit of -0.0
    flags = event.view(np.uint8) << 1
    flags ^= 2  # censored bit
    flags |= group.view(np.uint8)
    key |= flags
    shift = 54 + exp_bits
    if codes is not None:
        key |= codes << shift
    if valid is not None:
        key = np.where(valid, key, _PAD_KEY)
    key.sort(axis=1)

    flags = key.astype(np.uint8)  # low byte
    flags &= 3  # 0: event, control; 1: event, treated; 2, 3: censored
    treated_events = (flags == 1).sum(axis=1)
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
    end = (row_start[:-1] + n_valid).repeat(counts)
    seg_first = np.zeros(n_groups, dtype=bool)
    seg_first[bounds[:-1][counts > 0]] = True
    if s.seg_start is not None and n_groups:
        seg_pos = np.append(s.seg_start.reshape(-1).nonzero()[0], B * n)
        nxt = seg_pos.searchsorted(start, side="right")  # next stratum's start
        np.minimum(end, seg_pos[nxt], out=end)
        seg_first[1:] |= nxt[1:] != nxt[:-1]
    at_risk = (end - start).astype(np.float64)
    at_risk_1 = (cum_1[end] - cum_1[start]).astype(np.float64)

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


# ---------------------------------------------------------------------------
# Log-rank family


def _logrank_terms(g: _Groups):
    """Per-group ``d * n1/n`` and the hypergeometric variance term."""
    p1 = g.n1 / g.n
    e1_terms = g.d * p1
    v_terms = e1_terms * (1.0 - p1)
    v_terms *= g.n - g.d
    v_terms /= np.maximum(g.n - 1.0, 1.0)
    return e1_terms, v_terms


def logrank(time, event, group, valid=None, *, strata=None) -> LogrankResult:
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
    strata : array (R, n) of int, optional
        Stratum codes (any integers; values in padding are ignored).  The
        stratified log-rank: risk sets within strata, ``O1``, ``E1`` and ``V``
        summed over strata.  A single stratum gives the unstratified test.

    The arrays are broadcast against each other; 1-D inputs are one
    replicate (``R = 1``).  See the module docstring for the statistic and the
    conventions for rows without events (``z = 0``, ``variance = 0``).

    Raises
    ------
    ValueError
        On shapes that are not 1-D/2-D or do not broadcast, on valid times
        that are negative, infinite or nan, and on non-integer strata.
    """
    inp = _prepare(time, event, group, valid, strata)
    R = inp.time.shape[0]
    events = np.zeros(R, dtype=np.int64)
    o1 = np.zeros(R)
    e1 = np.zeros(R)
    variance = np.zeros(R)
    for blk, g in _scan(inp):
        e1_terms, v_terms = _logrank_terms(g)
        events[blk] = g.events
        o1[blk] = g.treated_events
        e1[blk] = _row_sums(g.bounds, e1_terms)
        variance[blk] = _row_sums(g.bounds, v_terms)

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
            sob = _scipy_stats().qmc.Sobol(dim, scramble=True, seed=np.random.default_rng(_SOBOL_SEED))
            pts = sob.random(_SOBOL_POINTS)
            wts = np.full(_SOBOL_POINTS, 1.0 / _SOBOL_POINTS)
        _RULES[dim] = (pts, wts)
    return _RULES[dim]


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


# ---------------------------------------------------------------------------
# Kaplan-Meier contrasts: RMST and milestone survival


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


# ---------------------------------------------------------------------------
# Cox model


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
    q = float(special.ndtri(0.5 + level / 2.0))
    with np.errstate(invalid="ignore", over="ignore"):
        lo = np.where(np.isfinite(beta), beta - q * se, np.where(np.isnan(beta), np.nan, -np.inf))
        hi = np.where(np.isfinite(beta), beta + q * se, np.where(np.isnan(beta), np.nan, np.inf))
    return CoxResult(z=z, log_hr=beta, se=se, ci_low=np.exp(lo), ci_high=np.exp(hi), level=level,
                     ties=ties, iterations=iterations, converged=converged, events=events)


# ---------------------------------------------------------------------------
# Binary endpoint: MRD clearance


def _counts(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise ValueError(f"{name} must hold whole counts")
    elif a.dtype.kind not in "iub":
        raise ValueError(f"{name} must be an array of counts, got dtype {a.dtype}")
    a = a.astype(np.int64)
    if np.any(a < 0):
        raise ValueError(f"{name} must be >= 0")
    return a


def _binary_tables(successes_t, n_t, successes_c, n_c):
    a, nt, c, nc = (_counts(x, name) for x, name in (
        (successes_t, "successes_treatment"), (n_t, "n_treatment"),
        (successes_c, "successes_control"), (n_c, "n_control")))
    try:
        a, nt, c, nc = np.broadcast_arrays(a, nt, c, nc)
    except ValueError as exc:
        raise ValueError("count arrays do not broadcast") from exc
    if np.any(a > nt) or np.any(c > nc):
        raise ValueError("successes cannot exceed the number of patients")
    return a, nt, c, nc


def _vector_binary_search(fn, target, lo, hi):
    """scipy's ``_binary_search_for_binom_tst`` for arrays: per element, the
    ``i`` in [lo, hi] with ``fn(i) <= target < fn(i + 1)`` (``fn`` ascending on
    the range), by the same steps so ties resolve identically."""
    lo = lo.copy()
    hi = hi.copy()
    result = np.zeros_like(lo)
    found = np.zeros(lo.shape, dtype=bool)
    while True:
        active = ~found & (lo < hi)
        if not active.any():
            break
        mid = lo + (hi - lo) // 2
        val = fn(np.where(active, mid, lo))
        less = active & (val < target)
        more = active & (val > target)
        hit = active & ~less & ~more
        lo = np.where(less, mid + 1, lo)
        hi = np.where(more, mid - 1, hi)
        result = np.where(hit, mid, result)
        found |= hit
    rest = ~found
    if rest.any():
        val = fn(lo)
        result = np.where(rest, np.where(val <= target, lo, lo - 1), result)
    return result


def fisher_exact(successes_treatment, n_treatment, successes_control, n_control, *,
                 alternative="greater") -> FisherResult:
    """Fisher's exact test per replicate (arrays of length R, or scalars).

    The table of replicate r is ``[[s_t, n_t - s_t], [s_c, n_c - s_c]]``
    (rows treatment, control; columns cleared, not cleared), and the p-values
    are those of ``scipy.stats.fisher_exact(table, alternative)``, computed
    with the same hypergeometric functions for all replicates at once:
    ``p_greater`` (treatment clears more) and ``p_two_sided`` (scipy's
    definition: the tables no more probable than the observed one, with a
    relative tolerance of 1e-14).  A table with an empty row or column has p =
    1.  ``alternative`` ("greater" or "two-sided") chooses ``pvalue``; both are
    always available through ``p_value(sided)``.
    """
    if alternative not in ("greater", "two-sided"):
        raise ValueError(f"alternative must be 'greater' or 'two-sided', got {alternative!r}")
    a, nt, c, nc = _binary_tables(successes_treatment, n_treatment, successes_control, n_control)
    shape = a.shape
    a, nt, c, nc = (np.atleast_1d(x).ravel() for x in (a, nt, c, nc))
    b = nt - a
    d = nc - c
    big_m = nt + nc
    col = a + c  # cleared, both arms
    degenerate = (nt == 0) | (nc == 0) | (col == 0) | (col == big_m)
    hyper = _scipy_stats().hypergeom

    with np.errstate(divide="ignore", invalid="ignore"):
        odds = np.where((c > 0) & (b > 0), (a * d) / np.where((c > 0) & (b > 0), c * b, 1), np.inf)
    odds = np.where(degenerate, np.nan, odds)

    p_greater = np.asarray(hyper.cdf(b, big_m, nt, b + d), dtype=np.float64)

    # two-sided, as scipy: find the other tail's boundary by binary search
    mode = ((col + 1) * (nt + 1) / (big_m + 2)).astype(np.int64)
    pexact = hyper.pmf(a, big_m, nt, col)
    pmode = hyper.pmf(mode, big_m, nt, col)
    eps = 1e-14
    gamma = 1.0 + eps
    with np.errstate(invalid="ignore"):
        at_mode = np.abs(pexact - pmode) / np.maximum(pexact, pmode) <= eps
    below = a < mode
    p_two = np.ones(a.shape)

    low = ~degenerate & ~at_mode & below
    if low.any():
        plower = hyper.cdf(a, big_m, nt, col)
        stop = hyper.pmf(col, big_m, nt, col) > pexact * gamma

        def neg_pmf(x):
            return -hyper.pmf(x, big_m, nt, col)

        guess = _vector_binary_search(neg_pmf, -pexact * gamma, mode, col)
        val = np.where(stop, plower, plower + hyper.sf(guess, big_m, nt, col))
        p_two = np.where(low, val, p_two)
    high = ~degenerate & ~at_mode & ~below
    if high.any():
        pupper = hyper.sf(a - 1, big_m, nt, col)
        stop = hyper.pmf(0, big_m, nt, col) > pexact * gamma

        def pmf(x):
            return hyper.pmf(x, big_m, nt, col)

        guess = _vector_binary_search(pmf, pexact * gamma, np.zeros_like(mode), mode)
        val = np.where(stop, pupper, pupper + hyper.cdf(guess, big_m, nt, col))
        p_two = np.where(high, val, p_two)
    p_two = np.minimum(p_two, 1.0)
    p_greater = np.where(degenerate, 1.0, p_greater)

    with np.errstate(invalid="ignore", divide="ignore"):
        share_t = a / np.where(nt > 0, nt, 1) + np.where(nt > 0, 0.0, np.nan)
        share_c = c / np.where(nc > 0, nc, 1) + np.where(nc > 0, 0.0, np.nan)
    res = [x.reshape(shape) if shape else x for x in (p_greater, p_two, odds, share_t, share_c)]
    return FisherResult(z=_z_from_p(res[0]), p_greater=res[0], p_two_sided=res[1], odds_ratio=res[2],
                        share_treatment=res[3], share_control=res[4], alternative=alternative)


def cmh(successes_treatment, n_treatment, successes_control, n_control, *, correct=True) -> CMHResult:
    """Cochran-Mantel-Haenszel test of clearance across strata.

    Arrays ``(R, K)`` (K strata; ``(K,)`` is one replicate) of the cleared and
    measured patients per arm.  Per stratum ``k`` with ``N_k`` patients,
    ``m_k`` cleared: ``E a_k = n_tk m_k / N_k``, ``V_k = n_tk n_ck m_k (N_k -
    m_k) / (N_k**2 (N_k - 1))``; ``D = sum_k (a_k - E a_k)``, ``V = sum_k
    V_k``; ``chi2 = (|D| - 0.5)**2 / V`` with the continuity correction (R's
    ``mantelhaen.test`` default; the 0.5 is not subtracted when ``|D| <
    0.5``), ``z = sign(D) sqrt(chi2)``.  Strata with fewer than two patients
    contribute nothing (R refuses them).  The Mantel-Haenszel odds ratio
    ``sum a_k d_k / N_k / sum b_k c_k / N_k`` with its Robins-Breslow-Greenland
    95% interval, as R.
    """
    a, nt, c, nc = _binary_tables(successes_treatment, n_treatment, successes_control, n_control)
    if a.ndim == 1:
        a, nt, c, nc = (x[np.newaxis, :] for x in (a, nt, c, nc))
    if a.ndim != 2:
        raise ValueError(f"cmh takes (R, K) arrays of counts (replicates x strata), got {a.ndim}-D")
    a, nt, c, nc = (x.astype(np.float64) for x in (a, nt, c, nc))
    b = nt - a
    d = nc - c
    big_n = nt + nc
    m = a + c
    use = big_n >= 2.0
    safe_n = np.where(use, big_n, 2.0)
    expected = nt * m / safe_n
    var_k = nt * nc * m * (safe_n - m) / (safe_n * safe_n * (safe_n - 1.0))
    delta = np.where(use, a - expected, 0.0).sum(axis=1)
    var = np.where(use, var_k, 0.0).sum(axis=1)
    yates = np.where(correct & (np.abs(delta) >= 0.5), 0.5, 0.0)
    has = var > 0.0
    chi2 = np.where(has, (np.abs(delta) - yates) ** 2 / np.where(has, var, 1.0), 0.0)
    z = np.sign(delta) * np.sqrt(chi2)

    # Mantel-Haenszel odds ratio and Robins-Breslow-Greenland interval (R's code)
    def tot(x):
        return np.where(use, x, 0.0).sum(axis=1)

    with np.errstate(divide="ignore", invalid="ignore"):
        s_diag = tot(a * d / safe_n)
        s_offd = tot(b * c / safe_n)
        odds = s_diag / s_offd
        n2 = safe_n * safe_n
        sd = np.sqrt(tot((a + d) * a * d / n2) / (2.0 * s_diag**2)
                     + tot(((a + d) * b * c + (b + c) * a * d) / n2) / (2.0 * s_diag * s_offd)
                     + tot((b + c) * b * c / n2) / (2.0 * s_offd**2))
        q = float(special.ndtri(0.975))
        ci_low = odds * np.exp(-q * sd)
        ci_high = odds * np.exp(q * sd)
    return CMHResult(z=z, chi2=chi2, variance=var, odds_ratio=odds, ci_low=ci_low, ci_high=ci_high,
                     correct=bool(correct))


# ---------------------------------------------------------------------------
# Dispatcher


_NUM = r"\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*"
_SPEC = re.compile(
    rf"^\s*(?:(?P<plain>logrank|cox|maxcombo)"
    rf"|fh\({_NUM},{_NUM}\)|rmst\({_NUM}\)|milestone\({_NUM}\))\s*$"
)


def parse_test(spec: str) -> tuple[str, tuple[float, ...]]:
    """``"fh(0, 1)"`` -> ``("fh", (0.0, 1.0))``; ``"logrank"`` -> ``("logrank", ())``.

    Test names (docs/scenario-format.md): logrank | fh(rho,gamma) | maxcombo |
    rmst(horizon) | milestone(time) | cox."""
    m = _SPEC.match(str(spec))
    if not m:
        raise ValueError(f"unknown test {spec!r}; one of logrank, fh(rho,gamma), maxcombo, "
                         "rmst(horizon), milestone(time), cox")
    if m.group("plain"):
        return m.group("plain"), ()
    name = re.match(r"\s*(\w+)", spec).group(1)
    params = tuple(float(x) for x in m.groups()[1:] if x is not None)
    return name, params


def run_test(spec: str, time, event, group, valid=None, *, strata=None):
    """Run the test named by a scenario's test string on padded arrays.

    ``spec``: "logrank", "fh(rho,gamma)", "maxcombo", "rmst(horizon)",
    "milestone(time)" or "cox" (Breslow ties, matching the log-rank's tie
    handling).  ``strata`` (R, n) int, optional: stratified log-rank, FH,
    MaxCombo and Cox; rmst and milestone refuse strata (ValueError).  Returns
    the test's result object: ``.z`` (> 0 favours treatment),
    ``.p_value(sided)``, ``.estimate`` and ``.estimate_name``.
    """
    name, params = parse_test(spec)
    if name == "logrank":
        return logrank(time, event, group, valid, strata=strata)
    if name == "fh":
        return weighted_logrank(time, event, group, valid, rho=params[0], gamma=params[1], strata=strata)
    if name == "maxcombo":
        return maxcombo(time, event, group, valid, strata=strata)
    if name == "cox":
        return cox(time, event, group, valid, strata=strata)
    if name == "rmst":
        return rmst_difference(time, event, group, valid, horizon=params[0], strata=strata)
    return milestone_difference(time, event, group, valid, at=params[0], strata=strata)
