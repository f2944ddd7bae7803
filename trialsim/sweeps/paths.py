"""Dotted paths into a scenario, and the values a ``--vary`` gives them.

A sweep names what it varies by a path into the scenario's YAML
(``arms.treatment.eradication``, ``population.strata.0.mrd.prevalence``, or a
stratum by name: ``population.strata.T1N0.share``) and gives its values as a
list (``0.2,0.3``) or a range (``0.2:0.6:5``). This module is the one reader
and writer of such paths (``parse_path``, ``get_path``, ``set_path``) and the
parser of ``--vary PATH=VALUES`` into a :class:`Vary`. Paths are checked
against the base scenario as they are parsed, so that a typo is refused
with a suggestion before anything is simulated; values take the type of the
field they replace (an integer field stays integer).
"""

from __future__ import annotations

import copy
import difflib
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialsim.limits import MAX_VARY_VALUES
from trialsim.loading import ScenarioError, parse_yaml
from trialsim.scenario import Scenario
from trialsim.sweeps.errors import SweepError


@dataclass(frozen=True)
class Vary:
    """One varied path of a grid: ``path`` as the user wrote it, its parsed
    ``keys`` (strings, and integers for list indices), and its ``values``."""

    path: str
    keys: tuple
    values: tuple
    text: str          # as given, for messages: "arms.treatment.eradication=0.2:0.6:5"


_INT = re.compile(r"^[+-]?\d+$")


def parse_path(path: str) -> tuple:
    """``population.strata.0.mrd.prevalence`` -> ('population', 'strata', 0, 'mrd', 'prevalence')."""
    if not isinstance(path, str) or not path.strip():
        raise SweepError("an empty path: give a dotted path into the scenario, e.g. arms.treatment.eradication")
    parts = path.strip().split(".")
    if any(p == "" for p in parts):
        raise SweepError(f"'{path}' is not a dotted path (an empty part between dots)")
    return tuple(int(p) if _INT.match(p) else p for p in parts)


def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets, so `logrank,fh(0,1)` gives two values."""
    out, depth, cur = [], 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _atom(token: str):
    t = token.strip()
    if t == "":
        raise SweepError("an empty value (two commas in a row, or a trailing comma?)")
    if _INT.match(t):
        return int(t)
    try:
        v = float(t)
    except ValueError:
        pass
    else:
        if not math.isfinite(v):
            raise SweepError(f"'{t}' is not a finite number")
        return v
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    if t[0] in "[{":
        try:   # the scenario reader's limits: nesting, aliases, number length
            return parse_yaml(t, "value")[0]
        except ScenarioError as exc:
            raise SweepError(f"'{t}' is not valid YAML: {exc.problems[0][2]}") from None
    return t


def _clean(v: float) -> float:
    """0.30000000000000004 -> 0.3: twelve significant digits are plenty for a design value."""
    return float(f"{v:.12g}")


def parse_values(text: str, current: Any = None) -> tuple:
    """Values of a --vary: a list ``0.2,0.3,0.4`` or a range ``0.2:0.6:5`` (5
    evenly spaced values, both ends included). ``current`` is the base
    scenario's value at the path: an integer field keeps integer values (a
    range is rounded to whole numbers), a float field gets floats."""
    if not isinstance(text, str):
        raise SweepError(f"values must be text like 0.2,0.3 or 0.2:0.6:5, got {text!r}")
    tokens = _split_top(text)
    is_range = len(tokens) == 1 and ":" in text and text.strip()[0] not in "[{"
    if is_range:
        parts = text.split(":")
        if len(parts) != 3:
            raise SweepError(f"'{text}': a range is START:STOP:COUNT, e.g. 0.2:0.6:5 (5 values, both ends included)")
        try:
            start, stop = (float(p) for p in parts[:2])
        except ValueError:
            raise SweepError(f"'{text}': START and STOP of a range must be numbers") from None
        if not _INT.match(parts[2].strip()) or int(parts[2]) < 1:
            raise SweepError(f"'{text}': COUNT, the number of values, must be a whole number >= 1")
        count = int(parts[2])
        if count > MAX_VARY_VALUES:
            raise SweepError(f"'{text}': {count:,} values, over the limit of {MAX_VARY_VALUES:,} per --vary; "
                             "use a smaller COUNT")
        if count == 1 and start != stop:
            raise SweepError(f"'{text}': one value cannot span {parts[0]} to {parts[1]}; use COUNT >= 2")
        raw = [_clean(v) for v in np.linspace(start, stop, count)]
        ints_given = all(_INT.match(p.strip()) for p in parts[:2])
        values = [int(round(v)) if ints_given and float(v).is_integer() else v for v in raw]
    else:
        if len(tokens) > MAX_VARY_VALUES:
            raise SweepError(f"{len(tokens):,} values, over the limit of {MAX_VARY_VALUES:,} per --vary")
        values = [_atom(t) for t in tokens]
    values = _coerce(values, current, is_range, text)
    seen = []
    for v in values:
        if v in seen and not isinstance(v, (dict, list)):
            raise SweepError(f"'{text}': the value {v!r} appears twice"
                             + (" after rounding to whole numbers" if is_range else ""))
        seen.append(v)
    return tuple(values)


def _coerce(values: list, current: Any, is_range: bool, text: str) -> list:
    if isinstance(current, bool):
        if not all(isinstance(v, bool) for v in values):
            raise SweepError(f"'{text}': this field is true or false")
        return values
    if isinstance(current, int):
        out = []
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise SweepError(f"'{text}': this field takes whole numbers, got {v!r}")
            if isinstance(v, float):
                if is_range:
                    v = int(math.floor(v + 0.5))
                elif v.is_integer():
                    v = int(v)
                else:
                    raise SweepError(f"'{text}': this field takes whole numbers, got {v!r}")
            out.append(v)
        return out
    if isinstance(current, float):
        return [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in values]
    return values


_MISSING = object()


def _child(node: Any, key, keys: tuple, depth: int):
    """One step of a path; raises SweepError with a suggestion where it can."""
    here = ".".join(map(str, keys[:depth])) or "the scenario"
    if isinstance(node, list):
        if isinstance(key, int):
            if not 0 <= key < len(node):
                raise SweepError(f"{here} has {len(node)} entr{'y' if len(node) == 1 else 'ies'} "
                                 f"(indices 0 to {len(node) - 1}), so there is no {here}.{key}")
            return node[key]
        names = [x.get("name") for x in node if isinstance(x, dict)]
        if key in names:
            return node[names.index(key)]
        hint = difflib.get_close_matches(str(key), [str(n) for n in names if n], n=1, cutoff=0.6)
        raise SweepError(f"{here} is a list: give an index (0 to {len(node) - 1}) or a name"
                         + (f" (did you mean '{hint[0]}'?)" if hint else
                            f" ({', '.join(map(str, names))})" if any(names) else ""))
    if isinstance(node, dict):
        if str(key) in node:
            return node[str(key)]
        if keys[:depth] == ("arms",):
            hint = difflib.get_close_matches(str(key), list(node), n=1, cutoff=0.5)
            raise SweepError(f"no arm '{key}' in arms" + (f" (did you mean '{hint[0]}'?)" if hint else
                                                           f"; the arms are {', '.join(node)}"))
        return _MISSING
    raise SweepError(f"{here} is a value ({node!r}), not a block, so {'.'.join(map(str, keys))} does not exist")


def _resolve(data: dict, keys: tuple) -> Any:
    """The base scenario's value at ``keys`` (or _MISSING for a key not set: the
    validation of each grid point then judges it, with a suggestion for typos)."""
    node = data
    for depth, key in enumerate(keys):
        node = _child(node, key, keys, depth)
        if node is _MISSING:
            return _MISSING
    return node


def get_path(data: dict, path: str | tuple) -> Any:
    """The value at ``path`` (dotted text, or keys as :func:`parse_path` gives
    them) in a scenario's dict; list entries by index or by ``name``. A path
    that is not there raises SweepError (a ValueError) saying why, with a
    suggestion for a misspelt arm or stratum."""
    keys = parse_path(path) if isinstance(path, str) else tuple(path)
    value = _resolve(data, keys)
    if value is _MISSING:
        raise SweepError(f"{'.'.join(map(str, keys))} is not set in the scenario")
    return value


def set_path(data: dict, keys: str | tuple, value: Any) -> dict:
    """A deep copy of ``data`` with ``value`` at ``keys`` (dotted text, or keys
    as :func:`parse_path` gives them); blocks are created as needed."""
    if isinstance(keys, str):
        keys = parse_path(keys)
    out = copy.deepcopy(data)
    node = out
    for depth, key in enumerate(keys[:-1]):
        nxt = _child(node, key, keys, depth)
        if nxt is _MISSING or nxt is None:
            nxt = {}
            node[str(key)] = nxt
        node = nxt
    last = keys[-1]
    if isinstance(node, list):
        _child(node, last, keys, len(keys) - 1)  # raises for a bad index
        idx = last if isinstance(last, int) else [x.get("name") for x in node].index(last)
        node[idx] = value
    elif isinstance(node, dict):
        node[str(last)] = value
    else:
        raise SweepError(f"{'.'.join(map(str, keys[:-1]))} is a value, not a block")
    return out


_RESERVED = {("simulation", "seed"): "--seed", ("simulation", "replicates"): "--replicates",
             ("simulation",): "--seed and --replicates"}


def make_vary(path: str, values: Any, base: Scenario | dict) -> Vary:
    """A :class:`Vary` from a path and values: a list/tuple of values, or the
    text of a --vary (``0.2,0.3`` or ``0.2:0.6:5``)."""
    data = base.to_dict() if isinstance(base, Scenario) else base
    text_values = values if isinstance(values, str) else ",".join(map(str, values)) if _listlike(values) else str(values)
    text = f"{path}={text_values}"
    try:
        keys = parse_path(path)
        if keys[:2] in _RESERVED or keys[:1] in _RESERVED:
            raise SweepError(f"vary the seed and replicates with {_RESERVED.get(keys[:2], _RESERVED[('simulation',)])}, "
                             "not in the grid")
        current = _resolve(data, keys)
        current = None if current is _MISSING else current
        if isinstance(values, str):
            parsed = parse_values(values, current)
        elif _listlike(values):
            if len(values) == 0:
                raise SweepError("no values")
            if len(values) > MAX_VARY_VALUES:
                raise SweepError(f"{len(values):,} values, over the limit of {MAX_VARY_VALUES:,} per --vary")
            parsed = tuple(_coerce([v.item() if isinstance(v, np.generic) else v for v in values],
                                   current, False, text_values))
        else:
            parsed = tuple(_coerce([values], current, False, text_values))
    except SweepError as exc:
        raise SweepError(f"--vary {text}: {exc}") from None
    return Vary(path=path.strip(), keys=keys, values=parsed, text=text)


def _listlike(v) -> bool:
    return isinstance(v, (list, tuple, np.ndarray, range))


def parse_vary(spec: str, base: Scenario | dict) -> Vary:
    """Parse one ``--vary PATH=VALUES``."""
    if "=" not in spec:
        raise SweepError(f"--vary {spec}: give PATH=VALUES, e.g. arms.treatment.eradication=0.2:0.6:5 "
                         "or screening.test.sensitivity=0.8,0.9")
    path, values = spec.split("=", 1)
    return make_vary(path, values, base)


def parse_varies(vary, base: Scenario) -> list[Vary]:
    """The varied paths of a ``vary`` argument (``{path: values}``, a list of
    ``--vary`` texts, or Vary objects), each path at most once."""
    if vary is None:
        return []
    if isinstance(vary, (Vary, str)):
        vary = [vary]
    if isinstance(vary, dict):
        bad = [k for k in vary if not isinstance(k, str)]
        if bad:
            raise TypeError(f"vary: each key must be a dotted path into the scenario (text), e.g. "
                            f"'arms.treatment.eradication'; got {bad[0]!r:.60}")
        out = [v if isinstance(v, Vary) else make_vary(k, v, base) for k, v in vary.items()]
    elif not _listlike(vary) or not all(isinstance(v, (str, Vary)) for v in vary):
        raise TypeError(f"vary must be {{path: values}}, a list of 'PATH=VALUES' texts, or Vary objects; "
                        f"got {vary!r}")
    else:
        out = [v if isinstance(v, Vary) else parse_vary(v, base) for v in vary]
    seen = set()
    for v in out:
        if v.keys in seen:
            raise SweepError(f"--vary {v.path} is given twice; give all its values in one --vary")
        seen.add(v.keys)
    return out

