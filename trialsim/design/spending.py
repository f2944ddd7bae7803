"""Alpha- and beta-spending functions of group-sequential designs
(Lan-DeMets O'Brien-Fleming and Pocock types, Hwang-Shih-DeCani, and the
classical Wang-Tsiatis shapes by name), as rpact defines them."""

from __future__ import annotations

import math
import re

import numpy as np

from trialsim.design.common import _special


_SPENDINGS = ("obrien_fleming", "pocock", "hsd", "classical_obrien_fleming", "classical_pocock")
_HSD = re.compile(r"^hsd\(\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*\)$")


def _parse_spending(spending: str, gamma: float | None, *, what: str = "spending",
                    classical: bool = True) -> tuple[str, float | None]:
    """Canonical (kind, gamma). kind in obrien_fleming, pocock, hsd, classical_*."""
    if not isinstance(spending, str):
        raise ValueError(f"{what} must be a string such as 'obrien_fleming', got {spending!r}")
    s = spending.strip().replace(" ", "")
    m = _HSD.match(s)
    allowed = _SPENDINGS if classical else _SPENDINGS[:3]
    if m:
        g = float(m.group(1))
        if gamma is not None and float(gamma) != g:
            raise ValueError(f"{what} '{spending}' and gamma={gamma} disagree; give gamma once")
        s, gamma = "hsd", g
    if s not in allowed:
        names = ", ".join(x if x != "hsd" else "hsd(gamma)" for x in allowed)
        raise ValueError(f"unknown {what} '{spending}'; one of {names}")
    if s == "hsd":
        if gamma is None:
            raise ValueError(f"{what} 'hsd' needs its gamma: write 'hsd(-4)' or pass gamma=-4")
        if not math.isfinite(float(gamma)):
            raise ValueError(f"hsd gamma must be finite, got {gamma}")
        return s, float(gamma)
    if gamma is not None:
        raise ValueError(f"gamma applies to hsd spending only, not to '{spending}'")
    return s, None


def _spending_name(kind: str, gamma: float | None) -> str:
    return f"hsd({gamma:g})" if kind == "hsd" else kind


def _alpha_spending(kind: str, gamma: float | None, alpha: float, t: np.ndarray, sided: int) -> np.ndarray:
    """Cumulative alpha (total over both sides when sided = 2) spent by
    information fraction t, as rpact defines it (``getSpendingValueCpp``)."""
    t = np.asarray(t, dtype=float)
    if kind == "obrien_fleming":
        # Lan-DeMets O'Brien-Fleming type: 2 s (1 - Phi(z_{1 - alpha/(2 s)} / sqrt(t))), s = sided
        z = -_special().ndtri(alpha / (2 * sided))
        return 2 * sided * _special().ndtr(-z / np.sqrt(t))
    if kind == "pocock":
        return alpha * np.log1p((math.e - 1) * t)
    if kind == "hsd":
        if gamma == 0:
            return alpha * t
        return alpha * -np.expm1(-gamma * t) / -math.expm1(-gamma)
    raise AssertionError(kind)


def _beta_spending(kind: str, gamma: float | None, beta: float, t: np.ndarray) -> np.ndarray:
    """Cumulative beta spent (rpact's bsOF, bsP, bsHSD; bsOF has no sided factor)."""
    if kind == "obrien_fleming":
        z = -_special().ndtri(beta / 2)
        return 2 * _special().ndtr(-z / np.sqrt(np.asarray(t, dtype=float)))
    return _alpha_spending(kind, gamma, beta, t, 1)
