"""The curve grammar: a curve or distribution written as plain data -> a Curve.

One place says which kinds exist and which parameter shapes each takes; the
library (:func:`from_spec`) and the scenario loader both read curves through
it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from trialsim.curves.kinds import (
    CureMixture,
    Curve,
    Exponential,
    Fixed,
    LogLogistic,
    LogNormal,
    PiecewiseExponential,
    Proportional,
    TableCurve,
    Uniform,
    Weibull,
)
from trialsim.curves.references import UnknownReferenceError, reference
from trialsim.curves.tables import CurveDataError, read_table_csv


class CurveSpecError(ValueError):
    """A curve specification (plain mapping / number) is malformed."""



_KINDS = ("exponential", "weibull", "lognormal", "loglogistic", "piecewise_exponential", "cure",
          "proportional", "table", "reference", "uniform")


def _spec_fail(where: str, message: str) -> CurveSpecError:
    return CurveSpecError(f"{where}: {message}")


def _spec_mapping(body: Any, where: str, allowed: Sequence[str]) -> Mapping:
    if not isinstance(body, Mapping):
        raise _spec_fail(where, f"expected a mapping with keys {', '.join(allowed)}, got {body!r}")
    unknown = [k for k in body if k not in allowed]
    if unknown:
        hint = ""
        close = difflib.get_close_matches(str(unknown[0]), list(allowed), n=1)
        if close:
            hint = f" (did you mean {close[0]!r}?)"
        raise _spec_fail(where, f"unknown key {unknown[0]!r}{hint}; allowed: {', '.join(allowed)}")
    return body


def _spec_num(body: Mapping, key: str, where: str) -> float:
    if key not in body:
        raise _spec_fail(where, f"missing {key!r}")
    v = body[key]
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise _spec_fail(where, f"{key} must be a number, got {v!r}")
    return float(v)


def _spec_list(body: Mapping, key: str, where: str) -> list:
    if key not in body:
        raise _spec_fail(where, f"missing {key!r}")
    v = body[key]
    if isinstance(v, (str, bytes, Mapping)) or not isinstance(v, (Sequence, np.ndarray)):
        raise _spec_fail(where, f"{key} must be a list of numbers, got {v!r}")
    return list(v)


def _construct(where: str, factory, *args, **kwargs) -> Curve:
    try:
        return factory(*args, **kwargs)
    except (CurveSpecError, CurveDataError, UnknownReferenceError):
        raise
    except ValueError as exc:
        raise _spec_fail(where, str(exc)) from None


def _build(spec: Any, base_dir: Path | None, where: str) -> Curve:
    if isinstance(spec, Curve):
        return spec
    if isinstance(spec, (bool, np.bool_)):
        raise _spec_fail(where, f"expected a curve mapping or a number, got {spec!r}")
    if isinstance(spec, (int, float, np.integer, np.floating)):
        return _construct(where, Fixed, value=float(spec))
    if not isinstance(spec, Mapping):
        raise _spec_fail(where, f"expected a curve mapping with one key ({', '.join(_KINDS)}) "
                                f"or a number, got {spec!r}")
    if len(spec) != 1:
        raise _spec_fail(where, f"a curve is a mapping with exactly one key ({', '.join(_KINDS)}), "
                                f"got {len(spec)} keys: {', '.join(map(str, spec))}")
    kind, body = next(iter(spec.items()))
    w = f"{where}.{kind}" if where != "curve" else str(kind)

    if kind == "exponential":
        b = _spec_mapping(body, w, ("rate", "median", "cumulative", "at"))
        given = [k for k in ("rate", "median", "cumulative") if k in b]
        if len(given) != 1:
            raise _spec_fail(w, "give exactly one of rate, median, or cumulative with at"
                             + (f" (got {', '.join(given)})" if given else ""))
        if "at" in b and given != ["cumulative"]:
            raise _spec_fail(w, "'at' only goes with 'cumulative'")
        if given == ["rate"]:
            return _construct(w, Exponential, rate=_spec_num(b, "rate", w))
        if given == ["median"]:
            return _construct(w, Exponential.from_median, _spec_num(b, "median", w))
        if "at" not in b:
            raise _spec_fail(w, "'cumulative' needs 'at' (the time at which it is reached)")
        return _construct(w, Exponential.from_cumulative, _spec_num(b, "cumulative", w), _spec_num(b, "at", w))

    if kind == "weibull":
        b = _spec_mapping(body, w, ("scale", "median", "shape"))
        shape = _spec_num(b, "shape", w)
        given = [k for k in ("scale", "median") if k in b]
        if len(given) != 1:
            raise _spec_fail(w, "give exactly one of scale or median (with shape)"
                             + (f" (got {', '.join(given)})" if given else ""))
        if given == ["scale"]:
            return _construct(w, Weibull, scale=_spec_num(b, "scale", w), shape=shape)
        return _construct(w, Weibull.from_median, _spec_num(b, "median", w), shape)

    if kind == "lognormal":
        b = _spec_mapping(body, w, ("mu", "median", "sigma"))
        sigma = _spec_num(b, "sigma", w)
        given = [k for k in ("mu", "median") if k in b]
        if len(given) != 1:
            raise _spec_fail(w, "give exactly one of mu or median (with sigma)"
                             + (f" (got {', '.join(given)})" if given else ""))
        if given == ["mu"]:
            return _construct(w, LogNormal, mu=_spec_num(b, "mu", w), sigma=sigma)
        return _construct(w, LogNormal.from_median, _spec_num(b, "median", w), sigma)

    if kind == "loglogistic":
        b = _spec_mapping(body, w, ("alpha", "median", "beta"))
        beta = _spec_num(b, "beta", w)
        given = [k for k in ("alpha", "median") if k in b]
        if len(given) != 1:
            raise _spec_fail(w, "give exactly one of alpha or median (they are the same: the median), with beta"
                             + (f" (got {', '.join(given)})" if given else ""))
        return _construct(w, LogLogistic, alpha=_spec_num(b, given[0], w), beta=beta)

    if kind == "piecewise_exponential":
        b = _spec_mapping(body, w, ("breaks", "rates"))
        return _construct(w, PiecewiseExponential, breaks=_spec_list(b, "breaks", w),
                          rates=_spec_list(b, "rates", w))

    if kind == "cure":
        b = _spec_mapping(body, w, ("fraction", "curve"))
        if "curve" not in b:
            raise _spec_fail(w, "missing 'curve'")
        inner = _build(b["curve"], base_dir, f"{w}.curve")
        return _construct(w, CureMixture, fraction=_spec_num(b, "fraction", w), curve=inner)

    if kind == "proportional":
        b = _spec_mapping(body, w, ("hazard_ratio", "curve"))
        if "curve" not in b:
            raise _spec_fail(w, "missing 'curve'")
        inner = _build(b["curve"], base_dir, f"{w}.curve")
        return _construct(w, Proportional, hazard_ratio=_spec_num(b, "hazard_ratio", w), curve=inner)

    if kind == "table":
        b = _spec_mapping(body, w, ("file", "times", "survival"))
        if "file" in b:
            if "times" in b or "survival" in b:
                raise _spec_fail(w, "give either 'file' or inline 'times' and 'survival', not both")
            f = b["file"]
            if not isinstance(f, (str, Path)) or not str(f):
                raise _spec_fail(w, f"file must be a path, got {f!r}")
            path = Path(f)
            if not path.is_absolute() and base_dir is not None:
                path = Path(base_dir) / path
            return read_table_csv(path)
        if "times" not in b or "survival" not in b:
            raise _spec_fail(w, "give 'file', or both 'times' and 'survival'")
        return _construct(w, TableCurve, times=_spec_list(b, "times", w), survival=_spec_list(b, "survival", w))

    if kind == "reference":
        if not isinstance(body, str):
            raise _spec_fail(w, f"expected a reference name such as 'pan2017/T2N1-3', got {body!r}")
        return reference(body)

    if kind == "uniform":
        if isinstance(body, Mapping):
            b = _spec_mapping(body, w, ("low", "high"))
            low, high = _spec_num(b, "low", w), _spec_num(b, "high", w)
        else:
            if isinstance(body, (str, bytes)) or not isinstance(body, (Sequence, np.ndarray)) or len(body) != 2:
                raise _spec_fail(w, f"expected [low, high], got {body!r}")
            b = {"low": body[0], "high": body[1]}
            low, high = _spec_num(b, "low", w), _spec_num(b, "high", w)
        return _construct(w, Uniform, low=low, high=high)

    close = difflib.get_close_matches(str(kind), _KINDS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise _spec_fail(where, f"unknown curve kind {kind!r}{hint} (known: {', '.join(_KINDS)}, or a number)")


def from_spec(spec: Any, *, base_dir: str | Path | None = None) -> Curve:
    """Build a curve (or distribution) from its SCENARIO_FORMAT.md form.

    ``spec`` is a one-key mapping such as ``{"exponential": {"median": 24}}``,
    a plain number (a :class:`Fixed` value) or a Curve (returned as is).
    Table files are read relative to ``base_dir`` (the current directory when
    None). Malformed specs raise :class:`CurveSpecError` (a ValueError) whose
    message names the place in the spec, e.g. ``cure.curve.weibull: missing
    'shape'``; table files raise :class:`CurveDataError`, unknown reference
    names :class:`UnknownReferenceError`.
    """
    return _build(spec, Path(base_dir) if base_dir is not None else None, "curve")


CURVE = "curve"
DISTRIBUTION = "distribution"


def accepts(spec: Any, *, role: str = DISTRIBUTION, base_dir: str | Path | None = None) -> bool:
    """Does the grammar read ``spec`` as a ``role`` (a survival curve, or any distribution of a time)?"""
    try:
        curve = from_spec(spec, base_dir=base_dir)
    except (CurveSpecError, CurveDataError, UnknownReferenceError):
        return False
    return role == DISTRIBUTION or not isinstance(curve, (Fixed, Uniform))
