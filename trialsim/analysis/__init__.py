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
and R's ``survival`` are the references (``tests/test_analysis_*.py``), not
part of the hot path.

The modules, from the shared machinery to the tests:

* ``results``: the result classes, ``critical_value`` and ``reject``;
* ``inputs``: the padded inputs, checked and broadcast once;
* ``risksets``: sorting each replicate once and the per-event-time sums
  (numbers at risk, events) every time-to-event kernel adds up;
* ``logrank_test``: the log-rank test, plain and stratified (the statistic
  and the conventions for degenerate rows are in its docstring);
* ``fleming_harrington``: FH(rho, gamma) weighted log-rank and MaxCombo;
* ``mvn``: the multivariate-normal tail of MaxCombo's maximum;
* ``kaplan_meier``: RMST and milestone-survival differences;
* ``proportional_hazards``: the Cox model;
* ``binary``: Fisher's exact test and Cochran-Mantel-Haenszel;
* ``dispatch``: ``parse_test`` and ``run_test``.
"""

import importlib
from typing import TYPE_CHECKING

from trialsim.analysis.logrank_test import logrank
from trialsim.analysis.results import (
    CMHResult,
    CoxResult,
    FisherResult,
    LogrankResult,
    MaxComboResult,
    MilestoneResult,
    RMSTResult,
    WeightedLogrankResult,
    critical_value,
    p_at_most,
    reject,
)

# Loaded on first use (PEP 562), as the package's own names are: a log-rank
# run needs none of these modules (1,000 lines that every start-up would load).
_LAZY = {
    "cmh": "trialsim.analysis.binary",
    "fisher_exact": "trialsim.analysis.binary",
    "parse_test": "trialsim.analysis.dispatch",
    "run_test": "trialsim.analysis.dispatch",
    "MAXCOMBO_TESTS": "trialsim.analysis.fleming_harrington",
    "maxcombo": "trialsim.analysis.fleming_harrington",
    "weighted_logrank": "trialsim.analysis.fleming_harrington",
    "milestone_difference": "trialsim.analysis.kaplan_meier",
    "rmst_difference": "trialsim.analysis.kaplan_meier",
    "max_normal_tail": "trialsim.analysis.mvn",
    "cox": "trialsim.analysis.proportional_hazards",
}

if TYPE_CHECKING:   # what type checkers and editors see; at run time, __getattr__ below
    from trialsim.analysis.binary import cmh, fisher_exact
    from trialsim.analysis.dispatch import parse_test, run_test
    from trialsim.analysis.fleming_harrington import MAXCOMBO_TESTS, maxcombo, weighted_logrank
    from trialsim.analysis.kaplan_meier import milestone_difference, rmst_difference
    from trialsim.analysis.mvn import max_normal_tail
    from trialsim.analysis.proportional_hazards import cox

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
    "MAXCOMBO_TESTS",
    "rmst_difference",
    "milestone_difference",
    "cox",
    "fisher_exact",
    "cmh",
    "run_test",
    "parse_test",
    "critical_value",
    "p_at_most",
    "reject",
    "max_normal_tail",
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trialsim.analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value      # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
