"""Argument checks and numpy conventions shared by the curve modules.

Every curve method follows numpy's conventions (an array in, an array of the
same shape out; a scalar in, a numpy float64 out), and every constructor
refuses a bad parameter with a message naming the class and the parameter.
These helpers hold those conventions in one place, so that the kinds, the MRD
components, the tables and the reference curves say the same thing the same
way.

numpy itself is imported on first use (:class:`LazyNumpy`): reading and
checking a scenario (``trialsim validate``) builds and evaluates its curves
without it. The checks of a value's type recognise numpy's numbers and arrays
only once numpy is imported (before that no value can be one), and
:data:`SCALAR` computes a kernel's formula on one Python float the way numpy
would (inf and nan, never an exception), for :meth:`Curve.survival_at
<trialsim.curves.kinds.Curve.survival_at>` and the other ``*_at`` methods.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any


class LazyNumpy:
    """Stands for numpy under the name ``np`` in a module's namespace until
    first used, then imports numpy and puts it there in its place (so a
    module's functions find numpy itself from then on, at no cost)::

        np = LazyNumpy(globals())
    """

    def __init__(self, namespace: dict):
        self._namespace = namespace

    def __getattr__(self, name: str) -> Any:
        # deferred: numpy costs about 0.1 s of start-up, which reading and checking a scenario does not need
        import numpy

        self._namespace["np"] = numpy
        return getattr(numpy, name)


np = LazyNumpy(globals())


def _loaded_numpy():
    """numpy if it is imported, else None: without it no value is a numpy number or array."""
    return sys.modules.get("numpy")


def _is_bool(v: Any) -> bool:
    """A boolean (Python's or numpy's)."""
    if isinstance(v, bool):
        return True
    numpy = _loaded_numpy()
    return numpy is not None and isinstance(v, numpy.bool_)


def _is_real(v: Any) -> bool:
    """A number that is not a boolean: int, float, or numpy's integer or floating types."""
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return True
    numpy = _loaded_numpy()
    return numpy is not None and isinstance(v, (numpy.integer, numpy.floating))


def _is_array(v: Any) -> bool:
    """A numpy array."""
    numpy = _loaded_numpy()
    return numpy is not None and isinstance(v, numpy.ndarray)


class _Scalar:
    """The numpy functions of the curve kernels, on one Python float, without
    numpy: numpy's IEEE results (inf, -inf, nan) where Python's math would
    raise. ``xp`` in a kernel is numpy for arrays and this for a float
    (:func:`_xp`), so that each kind's formula is written once."""

    inf = math.inf
    nan = math.nan

    @staticmethod
    def exp(x: float) -> float:
        try:
            return math.exp(x)
        except OverflowError:
            return math.inf

    @staticmethod
    def expm1(x: float) -> float:
        try:
            return math.expm1(x)
        except OverflowError:
            return math.inf

    @staticmethod
    def log(x: float) -> float:
        if x > 0:
            return math.log(x)
        return -math.inf if x == 0 else math.nan

    @staticmethod
    def log1p(x: float) -> float:
        if x > -1:
            return math.log1p(x)
        return -math.inf if x == -1 else math.nan

    @staticmethod
    def power(a: float, b: float) -> float:
        b = float(b)
        if b == 0 or a == 1:
            return 1.0
        if math.isnan(a) or math.isnan(b):
            return math.nan
        if a < 0 and math.isfinite(a) and math.isfinite(b) and not b.is_integer():
            return math.nan
        # numpy's own ways with these exponents (square, square root, reciprocal), to the last bit
        if b == 2.0:
            return a * a
        if b == 0.5:
            return math.sqrt(a) if a >= 0 else math.nan
        if b == -1.0:
            return _Scalar.divide(1.0, a)
        odd = b.is_integer() and b % 2 == 1
        try:
            return a ** b
        except ZeroDivisionError:           # 0 ** negative
            return math.copysign(math.inf, a) if odd else math.inf
        except OverflowError:
            return -math.inf if a < 0 and odd else math.inf

    @staticmethod
    def divide(a: float, b: float) -> float:
        if b == 0:
            if a == 0 or math.isnan(a):
                return math.nan
            return math.copysign(math.inf, a) * math.copysign(1.0, b)
        return a / b

    @staticmethod
    def where(condition: bool, a: float, b: float) -> float:
        return a if condition else b

    @staticmethod
    def maximum(a: float, b: float) -> float:
        return math.nan if math.isnan(a) or math.isnan(b) else (a if a >= b else b)

    @staticmethod
    def minimum(a: float, b: float) -> float:
        return math.nan if math.isnan(a) or math.isnan(b) else (a if a <= b else b)

    @staticmethod
    def clip(x: float, low: float, high: float) -> float:
        return _Scalar.minimum(_Scalar.maximum(x, low), high)

    @staticmethod
    def isposinf(x: float) -> bool:
        return x == math.inf

    @staticmethod
    def isfinite(x: float) -> bool:
        return math.isfinite(x)

    @staticmethod
    def isnan(x: float) -> bool:
        return math.isnan(x)

    @staticmethod
    def zeros_like(x: float) -> float:
        return 0.0

    @staticmethod
    def full_like(x: float, value: float) -> float:
        return float(value)

    @staticmethod
    def errstate(**_: str) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()


SCALAR = _Scalar()


def _xp(t: Any):
    """What a kernel computes with at ``t``: :data:`SCALAR` for a Python float, numpy otherwise."""
    return SCALAR if type(t) is float else np


def _as_float(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _ret(a: Any) -> Any:
    """numpy convention: 0-d results come back as numpy scalars."""
    a = np.asarray(a, dtype=float)
    return a[()] if a.ndim == 0 else a


def _number(owner: str, name: str, value: Any, *, allow_inf: bool = False) -> float:
    if not _is_real(value):
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


def _floats(owner: str, name: str, values: Any) -> list[float]:
    """A list of finite numbers as Python floats (numpy is not needed for a list; an array is checked by
    :func:`_vector`); the messages of :func:`_vector`."""
    if _is_array(values):
        return _vector(owner, name, values).tolist()
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Sequence):
        raise ValueError(f"{owner}: {name} must be a list of numbers, got {values!r}")
    # a finite float as it is; anything else through _number (its name and message)
    return [v if type(v) is float and math.isfinite(v) else _number(owner, f"{name}[{i}]", v)
            for i, v in enumerate(values)]


def _vector(owner: str, name: str, values: Any) -> np.ndarray:
    if isinstance(values, (str, bytes, Mapping)) or not (isinstance(values, Sequence) or _is_array(values)):
        raise ValueError(f"{owner}: {name} must be a list of numbers, got {values!r}")
    if _is_array(values) and values.dtype.kind in "iuf" and values.ndim == 1:
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

