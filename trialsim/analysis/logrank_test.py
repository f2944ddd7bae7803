"""The two-group log-rank test, plain and stratified, over many replicates.

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
"""

from __future__ import annotations

import numpy as np

from trialsim.analysis.inputs import _prepare
from trialsim.analysis.results import LogrankResult
from trialsim.analysis.risksets import _Groups, _row_sums, _scan


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
