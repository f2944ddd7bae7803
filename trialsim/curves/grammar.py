"""The curve grammar: a curve or distribution written as plain data -> a Curve.

One place says which kinds exist, which parameter shapes each takes and which
values they allow (:data:`KINDS`); the library (:func:`from_spec`) and the
scenario loader (``trialsim.scenario.CurveSpec`` / ``DistributionSpec``) both
read curves through :func:`read`, and the scenario format's JSON schema is
written from the same table (:func:`json_schema`).

A kind is a survival curve (a scenario's ``recurrence`` or
``other_cause_death``) or only a distribution of a time that is not a survival
curve (``uniform``, ``fixed`` and a plain number: lead time, turnaround, time
since diagnosis). Every survival curve is also a distribution. A curve read
inside another (``cure``, ``proportional``) takes the role of the outer one.

Problems are reported with the place in the spec (the path of kinds, and the
key at fault), which the library renders as ``cure.curve.weibull: missing
'shape'`` and the scenario loader as a field path with its YAML line.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from trialsim.curves._numeric import _is_array, _is_bool, _is_real
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
from trialsim.curves.references import REFERENCES, UnknownReferenceError, reference
from trialsim.curves.tables import CurveDataError, read_table_csv

__all__ = ["CURVE", "DISTRIBUTION", "KINDS", "CurveSpecError", "SpecProblem", "accepts", "from_spec", "read",
           "json_schema"]

#: roles: a survival curve, or any distribution of a time (survival curves included)
CURVE = "curve"
DISTRIBUTION = "distribution"


class CurveSpecError(ValueError):
    """A curve specification (plain mapping / number) is malformed."""


class SpecProblem(ValueError):
    """What is wrong with a spec, and where: ``path`` (keys from the top of the
    spec to the kind at fault), ``key`` (the key inside it, if one is at fault),
    ``detail`` (the message). ``cause`` is the table-file or reference-name
    error behind it, if any; :func:`from_spec` raises that one as it is."""

    def __init__(self, path: tuple, detail: str, *, key: str | None = None, cause: Exception | None = None):
        self.path = tuple(path)
        self.key = key
        self.detail = detail
        self.cause = cause
        super().__init__(f"{self.where}: {detail}")

    @property
    def where(self) -> str:
        return ".".join(map(str, self.path)) if self.path else "curve"

    @property
    def field_path(self) -> tuple:
        """The path of the value at fault (the key included)."""
        return self.path + ((self.key,) if self.key is not None else ())


# --------------------------------------------------------------------------
# The table of kinds
# --------------------------------------------------------------------------

NUMBER, NUMBERS, SUBCURVE, PATH = "number", "numbers", "curve", "path"


# The rows of the table are named tuples, not frozen dataclasses: as immutable, and made at import
# without the code generation of a dataclass (a millisecond each at every start-up).


class Param(NamedTuple):
    """One key of a kind's mapping: its shape and the values it allows (bounds inclusive unless open)."""

    name: str
    shape: str = NUMBER
    low: float | None = None
    low_open: bool = False
    high: float | None = None
    high_open: bool = False

    def bounds_text(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {self.high:g}")
        return " and ".join(parts)

    def allows(self, v: float) -> bool:
        if self.low is not None and (v <= self.low if self.low_open else v < self.low):
            return False
        if self.high is not None and (v >= self.high if self.high_open else v > self.high):
            return False
        return True


def _positive(name: str) -> Param:
    return Param(name, low=0.0, low_open=True)


def _non_negative(name: str) -> Param:
    return Param(name, low=0.0)


class Kind(NamedTuple):
    """A curve kind as written: ``{name: {params...}}`` (or a name, a pair, a number: see ``body``).

    ``one_of``: keys of which exactly one is given (``choice`` is the message
    when not); every other param is required, except those in ``optional``.
    ``build`` makes the curve from the checked values.
    """

    name: str
    role: str
    doc: str
    params: tuple[Param, ...] = ()
    one_of: tuple[str, ...] = ()
    choice: str = ""
    optional: tuple[str, ...] = ()
    body: str = "mapping"             # "mapping" | "name" | "pair" | "number"
    build: Callable[[dict], Curve] | None = None

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)


def _exponential(v: dict) -> Curve:
    if "rate" in v:
        return Exponential(rate=v["rate"])
    if "median" in v:
        return Exponential.from_median(v["median"])
    return Exponential.from_cumulative(v["cumulative"], v["at"])


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("exponential", CURVE, "constant hazard: rate, median, or cumulative incidence at a time",
         (_non_negative("rate"), _positive("median"), Param("cumulative", low=0.0, high=1.0, high_open=True),
          _positive("at")),
         one_of=("rate", "median", "cumulative"), optional=("at",),
         choice="give exactly one of rate, median, or cumulative with at", build=_exponential),
    Kind("weibull", CURVE, "cumulative hazard (t/scale)^shape; scale or median",
         (_positive("scale"), _positive("median"), _positive("shape")),
         one_of=("scale", "median"), choice="give exactly one of scale or median (with shape)",
         build=lambda v: (Weibull(scale=v["scale"], shape=v["shape"]) if "scale" in v
                          else Weibull.from_median(v["median"], v["shape"]))),
    Kind("lognormal", CURVE, "log T ~ Normal(mu, sigma); mu or the median (exp(mu))",
         (Param("mu"), _positive("median"), _positive("sigma")),
         one_of=("mu", "median"), choice="give exactly one of mu or median (with sigma)",
         build=lambda v: (LogNormal(mu=v["mu"], sigma=v["sigma"]) if "mu" in v
                          else LogNormal.from_median(v["median"], v["sigma"]))),
    Kind("loglogistic", CURVE, "S = 1/(1 + (t/alpha)^beta); alpha is the median (median is a synonym)",
         (_positive("alpha"), _positive("median"), _positive("beta")),
         one_of=("alpha", "median"),
         choice="give exactly one of alpha or median (they are the same: the median), with beta",
         build=lambda v: LogLogistic(alpha=v.get("alpha", v.get("median")), beta=v["beta"])),
    Kind("piecewise_exponential", CURVE, "hazard rates[i] between breaks; one rate more than breaks",
         (Param("breaks", NUMBERS, low=0.0, low_open=True), Param("rates", NUMBERS, low=0.0)),
         build=lambda v: PiecewiseExponential(breaks=v["breaks"], rates=v["rates"])),
    Kind("cure", CURVE, "a share fraction never has the event; the others follow curve",
         (Param("fraction", low=0.0, high=1.0), Param("curve", SUBCURVE)),
         build=lambda v: CureMixture(fraction=v["fraction"], curve=v["curve"])),
    Kind("proportional", CURVE, "hazard_ratio times the hazard of curve",
         (_non_negative("hazard_ratio"), Param("curve", SUBCURVE)),
         build=lambda v: Proportional(hazard_ratio=v["hazard_ratio"], curve=v["curve"])),
    Kind("table", CURVE, "a survival table: a CSV file (time, survival) or inline times and survival",
         (Param("file", PATH), Param("times", NUMBERS, low=0.0), Param("survival", NUMBERS, low=0.0, high=1.0)),
         build=lambda v: TableCurve(times=v["times"], survival=v["survival"])),
    Kind("reference", CURVE, "a reference curve shipped with trialsim (`trialsim curves list`)", body="name"),
    Kind("uniform", DISTRIBUTION, "uniform on [low, high]: [low, high] or {low, high}",
         (_non_negative("low"), Param("high", low=0.0)), body="pair",
         build=lambda v: Uniform(low=v["low"], high=v["high"])),
    Kind("fixed", DISTRIBUTION, "a fixed time (a plain number means the same)", (_non_negative("value"),),
         body="number", build=lambda v: Fixed(value=v["value"])),
)}


def _kinds(role: str) -> list[str]:
    return [k.name for k in KINDS.values() if role == DISTRIBUTION or k.role == CURVE]


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def _is_number(v: Any) -> bool:
    return _is_real(v)


def _not_number_text(name: str, v: Any) -> str:
    """Why ``v`` is not a number, for a value that is not one."""
    if _is_bool(v):
        return f"{name} must be a number, not true or false"
    if isinstance(v, (str, bytes)):
        text = repr(v) if len(repr(v)) <= 60 else repr(v)[:55] + "...'"
        return f"{name} must be a number written without quotes, got {text}"
    return f"{name} must be a number, got {v!r}"


def _unusable(x: float) -> str | None:
    """Why a float cannot be computed with, or None."""
    if not math.isfinite(x):
        return "a finite number"
    if x != 0.0 and abs(x) < sys.float_info.min:
        return f"0 or further from zero than {sys.float_info.min:.3g} (arithmetic underflows below it)"
    return None


def _as_float(v: Any) -> float:
    try:
        return float(v)
    except OverflowError:       # an integer beyond the largest float
        return math.inf


def _number(v: Any, p: Param, path: tuple) -> float:
    if not _is_number(v):
        raise SpecProblem(path, _not_number_text(p.name, v), key=p.name)
    x = _as_float(v)
    if _unusable(x):
        raise SpecProblem(path, f"{p.name} must be {_unusable(x)}, got {x!r}", key=p.name)
    if not p.allows(x):
        raise SpecProblem(path, f"{p.name} must be {p.bounds_text()}, got {x:g}", key=p.name)
    return x


def _numbers(v: Any, p: Param, path: tuple) -> list[float]:
    if isinstance(v, (str, bytes, Mapping)) or not (isinstance(v, Sequence) or _is_array(v)):
        raise SpecProblem(path, f"{p.name} must be a list of numbers, got {v!r}", key=p.name)
    out = []
    for i, x in enumerate(v):
        if not _is_number(x):
            raise SpecProblem(path, _not_number_text(f"{p.name}[{i}]", x), key=p.name)
        f = _as_float(x)
        if _unusable(f):
            raise SpecProblem(path, f"{p.name}[{i}] must be {_unusable(f)}, got {f!r}", key=p.name)
        if not p.allows(f):
            raise SpecProblem(path, f"{p.name}[{i}] must be {p.bounds_text()}, got {f:g}", key=p.name)
        out.append(f)
    return out


def _mapping(kind: Kind, body: Any, path: tuple) -> Mapping:
    allowed = [p.name for p in kind.params]
    if not isinstance(body, Mapping):
        raise SpecProblem(path, f"expected a mapping with keys {', '.join(allowed)}, got {body!r}")
    for k in body:
        if k not in allowed:
            # deferred: difflib is needed only for a mistake's suggestion, not at every start-up
            import difflib

            close = difflib.get_close_matches(str(k), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SpecProblem(path, f"unknown key {k!r}{hint}; allowed: {', '.join(allowed)}", key=str(k))
    return body


def _construct(kind: Kind, values: dict, path: tuple) -> Curve:
    try:
        return kind.build(values)
    except ValueError as exc:  # a rule between parameters (breaks increasing, low < high, a table's shape)
        raise SpecProblem(path, str(exc)) from None
    except ArithmeticError:    # parameters so extreme that the curve's own arithmetic fails (weibull shape 1e-12)
        raise SpecProblem(path, "these parameters are too extreme to compute with (the arithmetic overflows "
                                "or divides by zero)") from None


def _given(kind: Kind, b: Mapping, path: tuple) -> list[str]:
    """The keys to read, in the table's order, after the checks of which keys go together."""
    for p in kind.params:  # required keys first: `weibull: missing 'shape'` whatever else is wrong
        if p.name not in kind.one_of and p.name not in kind.optional and p.name not in b:
            raise SpecProblem(path, f"missing {p.name!r}")
    if kind.one_of:
        given = [k for k in kind.one_of if k in b]
        if len(given) != 1:
            raise SpecProblem(path, kind.choice + (f" (got {', '.join(given)})" if given else ""))
    if kind.name == "exponential":
        if "at" in b and "cumulative" not in b:
            raise SpecProblem(path, "'at' only goes with 'cumulative'", key="at")
        if "cumulative" in b and "at" not in b:
            raise SpecProblem(path, "'cumulative' needs 'at' (the time at which it is reached)")
    return [p.name for p in kind.params if p.name in b]


def _table(kind: Kind, b: Mapping, path: tuple, base_dir: Path | None, record: bool) -> tuple[dict, Curve]:
    inline = "times" in b or "survival" in b
    if "file" in b and inline and not record:
        raise SpecProblem(path, "give either 'file' or inline 'times' and 'survival', not both")
    if inline:  # (with a file: the table as read when the scenario was loaded, kept with its file name)
        if "times" not in b or "survival" not in b:
            raise SpecProblem(path, "give 'file', or both 'times' and 'survival'")
        values = {k: _numbers(b[k], kind.param(k), path) for k in ("times", "survival")}
        curve = _construct(kind, values, path)
        out = {"file": str(b["file"])} if "file" in b else {}
        return {**out, **values}, curve
    if "file" not in b:
        raise SpecProblem(path, "give 'file', or both 'times' and 'survival'")
    f = b["file"]
    if not isinstance(f, (str, Path)) or not str(f):
        raise SpecProblem(path, f"file must be a path, got {f!r}", key="file")
    file = Path(f)
    if not file.is_absolute() and base_dir is not None:
        file = Path(base_dir) / file
    try:
        curve = read_table_csv(file)
    except CurveDataError as exc:
        raise SpecProblem(path, str(exc), key="file", cause=exc) from None
    if not record:
        return {"file": str(f)}, curve
    return {"file": str(f), "times": list(map(float, curve.table_times)),
            "survival": list(map(float, curve.table_survival))}, curve


def _read(spec: Any, role: str, base_dir: Path | None, record: bool, path: tuple) -> tuple[Any, Curve]:
    kinds = _kinds(role)
    if _is_number(spec) and role == DISTRIBUTION:
        return _read({"fixed": spec}, role, base_dir, record, path)
    if not isinstance(spec, Mapping):
        expected = "a curve mapping or a number" if role == DISTRIBUTION else "a curve mapping"
        raise SpecProblem(path, f"expected {expected} with one key ({', '.join(kinds)}), got {spec!r}")
    if len(spec) != 1:
        raise SpecProblem(path, f"a curve is a mapping with exactly one key ({', '.join(kinds)}), "
                                f"got {len(spec)} keys: {', '.join(map(str, spec)) or 'none'}")
    name, body = next(iter(spec.items()))
    if name not in kinds:
        # deferred: difflib is needed only for a mistake's suggestion, not at every start-up
        import difflib

        close = difflib.get_close_matches(str(name), kinds, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        what = " (a distribution of a time, not a survival curve)" if name in KINDS else ""
        tail = ", or a number" if role == DISTRIBUTION else ""
        raise SpecProblem(path, f"unknown curve kind {name!r}{what}{hint} (known: {', '.join(kinds)}{tail})",
                          key=str(name))
    kind = KINDS[name]
    here = path + (name,)

    if kind.body == "name":
        if not isinstance(body, str):
            raise SpecProblem(here, f"expected a reference name such as 'pan2017/T2N1-3', got {body!r}")
        try:
            return {name: body}, reference(body)
        except UnknownReferenceError as exc:
            raise SpecProblem(here, str(exc), cause=exc) from None
    if kind.body == "number":
        value = _number(body, kind.param("value"), here)
        return {name: value}, _construct(kind, {"value": value}, here)
    if kind.body == "pair":
        if not isinstance(body, Mapping):
            if isinstance(body, (str, bytes)) or not (isinstance(body, Sequence) or _is_array(body)) or len(body) != 2:
                raise SpecProblem(here, f"expected [low, high] or {{low, high}}, got {body!r}")
            body = {"low": body[0], "high": body[1]}
        b = _mapping(kind, body, here)
        values = {k: _number(b[k], kind.param(k), here) for k in _given(kind, b, here)}
        return {name: [values["low"], values["high"]]}, _construct(kind, values, here)
    if kind.name == "table":
        b = _mapping(kind, body, here)
        written, curve = _table(kind, b, here, base_dir, record)
        return {name: written}, curve

    b = _mapping(kind, body, here)
    written: dict = {}
    values: dict = {}
    for key in _given(kind, b, here):
        p = kind.param(key)
        if p.shape == SUBCURVE:
            written[key], values[key] = _read(b[key], role, base_dir, record, here + (key,))
        elif p.shape == NUMBERS:
            written[key] = values[key] = _numbers(b[key], p, here)
        else:
            written[key] = values[key] = _number(b[key], p, here)
    return {name: written}, _construct(kind, values, here)


def read(spec: Any, *, role: str = DISTRIBUTION, base_dir: str | Path | None = None,
         record: bool = False) -> tuple[Any, Curve]:
    """(the spec written out in full, its Curve); raises :class:`SpecProblem`.

    The written form is the one a scenario keeps: every number a float, keys
    in the table's order, a plain number as ``{fixed: n}``, a uniform as
    ``[low, high]``. With ``record`` (the scenario loader), a table file is
    read once and its points are written next to its name, and a table with
    both a file name and points is that record (the file is not read again).
    """
    return _read(spec, role, Path(base_dir) if base_dir is not None else None, record, ())


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
    if isinstance(spec, Curve):
        return spec
    try:
        return read(spec, base_dir=base_dir)[1]
    except SpecProblem as problem:
        if problem.cause is not None:
            raise problem.cause from None
        raise CurveSpecError(str(problem)) from None


def accepts(spec: Any, *, role: str = DISTRIBUTION, base_dir: str | Path | None = None) -> bool:
    """Does the grammar read ``spec`` as a ``role`` (a survival curve, or any distribution of a time)?"""
    try:
        read(spec, role=role, base_dir=base_dir)
    except SpecProblem:
        return False
    return True


# --------------------------------------------------------------------------
# JSON schema
# --------------------------------------------------------------------------


def _param_schema(p: Param, inner: dict) -> dict:
    if p.shape == SUBCURVE:
        return dict(inner)
    if p.shape == PATH:
        return {"type": "string", "description": "a CSV file (columns time, survival), relative to the scenario"}
    number: dict = {"type": "number"}
    if p.low is not None:
        number["exclusiveMinimum" if p.low_open else "minimum"] = p.low
    if p.high is not None:
        number["exclusiveMaximum" if p.high_open else "maximum"] = p.high
    return {"type": "array", "items": number} if p.shape == NUMBERS else number


def json_schema(role: str, inner: dict) -> dict:
    """JSON schema of a curve (``role`` CURVE) or distribution, from the table of kinds.

    ``inner`` is the schema of the curves inside ``cure`` and ``proportional``
    (usually a ``$ref`` to this schema itself).
    """
    options = []
    for name in _kinds(role):
        kind = KINDS[name]
        if kind.body == "name":
            body: dict = {"type": "string", "enum": sorted(REFERENCES)}
        elif kind.body == "number":
            body = _param_schema(kind.param("value"), inner)
        else:
            props = {p.name: _param_schema(p, inner) for p in kind.params}
            body = {"type": "object", "properties": props, "additionalProperties": False}
            if kind.body == "pair":
                body = {"anyOf": [{"type": "array", "items": props["low"], "minItems": 2, "maxItems": 2}, body]}
        options.append({"type": "object", "title": name, "description": kind.doc,
                        "properties": {name: body}, "required": [name], "additionalProperties": False})
    if role == DISTRIBUTION:
        options.append({"type": "number", "minimum": 0, "description": "a fixed time, in months"})
    what = "a survival curve" if role == CURVE else "a distribution of a time: a number (fixed), a uniform, or a curve"
    return {"description": f"{what}; one key, the kind", "anyOf": options}
