"""Argument checks and numpy conventions shared by the curve modules.

Every curve method follows numpy's conventions (an array in, an array of the
same shape out; a scalar in, a numpy float64 out), and every constructor
refuses a bad parameter with a message naming the class and the parameter.
These helpers hold those conventions in one place, so that the kinds, the MRD
components, the tables and the reference curves say the same thing the same
way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def _as_float(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _ret(a: Any) -> Any:
    """numpy convention: 0-d results come back as numpy scalars."""
    a = np.asarray(a, dtype=float)
    return a[()] if a.ndim == 0 else a


def _number(owner: str, name: str, value: Any, *, allow_inf: bool = False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{owner}: {name} must be a number, got {value!r}")
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{owner}: {name} must be a finite number, got {value!r}")
    return v


def _at_least(owner: str, name: str, value: Any, low: float, *, strict: bool) -> float:
    v = _number(owner, name, value)
    if (v <= low) if strict else (v < low):
        raise ValueError(f"{owner}: {name} must be {'>' if strict else '>='} {low:g}, got {v:g}")
    return v


def _vector(owner: str, name: str, values: Any) -> np.ndarray:
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, (Sequence, np.ndarray)):
        raise ValueError(f"{owner}: {name} must be a list of numbers, got {values!r}")
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf" and values.ndim == 1:
        arr = values.astype(float)  # fast path (a copy): validate without a Python loop
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{owner}: {name}[{i}] must be a finite number, got {arr[i]:g}")
    else:
        arr = np.asarray([_number(owner, f"{name}[{i}]", v) for i, v in enumerate(values)],
                         dtype=float).reshape(-1)
    arr.setflags(write=False)
    return arr


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "inf"
    return f"{x:.3g}"




def _check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            "rng must be a numpy.random.Generator (e.g. np.random.default_rng(seed)); "
            f"got {type(rng).__name__}. trialsim never uses the global numpy random state."
        )
    return rng

