"""From a scenario's test string (``trial.analysis.test``) to the kernel
that runs it: the one place that knows the test names."""

from __future__ import annotations

import math
import re

from trialsim.analysis.fleming_harrington import maxcombo, weighted_logrank
from trialsim.analysis.kaplan_meier import milestone_difference, rmst_difference
from trialsim.analysis.logrank_test import logrank
from trialsim.analysis.proportional_hazards import cox


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
    if not all(math.isfinite(p) for p in params):
        raise ValueError(f"test {spec!r}: its numbers must be finite")
    if name in ("rmst", "milestone") and not params[0] > 0:
        raise ValueError(f"test {spec!r}: {name} needs a time above 0 months")
    if name == "fh" and min(params) < 0:
        raise ValueError(f"test {spec!r}: fh(rho, gamma) needs rho >= 0 and gamma >= 0")
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
