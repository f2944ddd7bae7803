"""The fuzz tier's machinery: mutated scenario files, bad command-line options
and bad library calls, and the one property every one of them must keep.

Used by tests/test_scenario_fuzz.py, tests/test_cli_fuzz.py,
tests/test_api_fuzz.py and tools/fuzz/run_fuzz.py (which counts outcomes
instead of stopping at the first failure).

A *mutant* is one of the four reference scenarios (scenarios/*.yaml) parsed to
a YAML node graph, changed by a few operations (a key deleted, renamed or
added, a value replaced by one of another type or an extreme number, a key
written twice, an alias, a recursive alias, a complex key, a tag), written
back to YAML text and then, perhaps, changed as bytes (a NUL byte, bytes that
are not UTF-8, the file cut short); or a whole file of an odd shape (empty, a
bare scalar, a list, 5,000 nested brackets, a billion laughs). Operations are
plain tuples, so a failing example prints as the list of what was done and
can be written down as an ``@example``.

The property (:func:`judge_cli`): the command ends with exit status 0 or 2;
status 2 comes with exactly one line on stderr starting with ``error: ``
(warnings may precede it) that names the file (or, for a bad option, the
option); no traceback; no exception escapes; nothing from the YAML runs; no
raw control characters reach the terminal; and all of it within a time and
memory bound (:func:`bounded`). For library calls (:func:`judge_call`): the
call returns (when every argument is acceptable) or raises ScenarioError,
ValueError or TypeError whose message names the bad argument, in bounded time.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import re
import resource
import signal
import tempfile
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from hypothesis import HealthCheck, Phase, example
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_DIR = ROOT / "scenarios"
REFERENCES = tuple(sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml")))

#: a file the YAML would create if it could run code (``!!python/object/apply:os.system``)
CODE_RAN = "trialsim-fuzz-code-ran"

# Bounds of one example. A legitimate two-replicate run of a reference scenario
# takes under a second on one core; the bounds leave room for a busy machine.
# TRIALSIM_FUZZ_TIMEOUT scales every time limit (e.g. 3 on a slow machine).
TIME_SCALE = float(os.environ.get("TRIALSIM_FUZZ_TIMEOUT", "1"))
VALIDATE_SECONDS = 10.0 * TIME_SCALE
RUN_SECONDS = 20.0 * TIME_SCALE
SEARCH_SECONDS = 60.0 * TIME_SCALE
MEMORY_BYTES = 2 << 30        # address space an example may add to the process


# --------------------------------------------------------------------------
# Bounds: time and memory of one example


class Timeout(BaseException):
    """The example ran past its time limit (a BaseException, so that no
    ``except Exception`` in the code under test swallows it)."""


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


@contextlib.contextmanager
def bounded(seconds: float, memory: int = MEMORY_BYTES):
    """Raise :class:`Timeout` after ``seconds`` (wall clock) and make an
    allocation of more than ``memory`` further bytes fail with MemoryError."""

    def expire(signum, frame):
        raise Timeout(f"no answer within {seconds:g} s")

    old_handler = signal.signal(signal.SIGALRM, expire)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _vm_size() + memory
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    # Repeating every half second: an exception raised where Python ignores it
    # (a garbage-collector callback, a __del__) must not end the bound.
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.5)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def limit_child_memory(memory: int = 3 << 30) -> Callable[[], None]:
    """A ``preexec_fn`` bounding a subprocess's address space."""

    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return apply


# --------------------------------------------------------------------------
# Outcomes


@dataclass
class Outcome:
    """What one example did: ``kind`` is ``exit 0``, ``exit 2`` or ``failure``."""

    kind: str
    detail: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.kind != "failure"


def failure(detail: str, seconds: float = 0.0) -> Outcome:
    return Outcome("failure", detail, seconds)


# Raw control characters that must never reach a terminal: C0 but tab and
# newline, DEL and C1 (ESC starts the sequences that move the cursor, retitle
# the window or hide text).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def control_characters(text: str) -> list[str]:
    return sorted({repr(c) for c in _CONTROL.findall(text)})


def _short(text: str, n: int = 600) -> str:
    return text if len(text) <= n else text[:n] + f"... ({len(text)} characters)"


# --------------------------------------------------------------------------
# YAML node graphs: the reference scenarios, mutated


_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


@cache
def reference_text(name: str) -> str:
    return (SCENARIO_DIR / f"{name}.yaml").read_text(encoding="utf-8")


@cache
def reference_data(name: str) -> dict:
    return yaml.safe_load(reference_text(name))


@cache
def reference_paths(name: str) -> tuple[tuple, ...]:
    """Every path in a reference scenario (keys and list indices), containers included."""
    out: list[tuple] = []

    def walk(node, path):
        if path:
            out.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, path + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + (i,))

    walk(reference_data(name), ())
    return tuple(out)


def mapping_paths(name: str) -> tuple[tuple, ...]:
    data = reference_data(name)
    return ((),) + tuple(p for p in reference_paths(name) if isinstance(_get(data, p), dict))


def _get(data, path):
    for k in path:
        data = data[k]
    return data


@dataclass(frozen=True)
class Raw:
    """A scalar written exactly as ``text`` in the YAML (resolved as YAML would:
    ``0x10`` is 16, ``yes`` is true, ``1:20`` is 80, ``.nan`` is a float); with
    ``tag``, written with that explicit tag (``!!binary``, ``!!python/...``)."""

    text: str
    tag: str | None = None


@dataclass(frozen=True)
class Digits:
    """An integer of ``count`` digits (``1000...0``), kept as its length so that
    printing an example never converts a huge int to text (Python refuses
    more than 4,300 digits)."""

    count: int


@dataclass(frozen=True)
class Laughs:
    """``depth`` levels of lists, each holding ``width`` aliases of the level
    below: width ** depth strings once expanded (a billion laughs)."""

    depth: int
    width: int


@dataclass(frozen=True)
class Nested:
    """A list nested ``depth`` deep (written as a node graph, so its depth is
    bounded by the YAML writer; the text shapes nest deeper)."""

    depth: int


@dataclass(frozen=True)
class Tagged:
    """A collection with an explicit tag: ``!!python/object/apply:os.system``
    (would run a command), ``!!set``, ``!!omap``, ``!custom``."""

    tag: str
    items: tuple = ()
    mapping: bool = False


_resolver = yaml.resolver.Resolver()


def to_node(value: Any) -> yaml.Node:
    """A YAML node for a value of the pool (plain data or one of the markers above)."""
    if isinstance(value, yaml.Node):
        return value
    if isinstance(value, Raw):
        tag = value.tag or _resolver.resolve(yaml.ScalarNode, value.text, (True, False))
        return yaml.ScalarNode(tag, value.text)
    if isinstance(value, Digits):
        return yaml.ScalarNode(_INT, "1" + "0" * (value.count - 1))
    if isinstance(value, Laughs):
        node = yaml.ScalarNode(_STR, "lol")
        for _ in range(value.depth):
            node = yaml.SequenceNode(_SEQ, [node] * value.width, flow_style=True)
        return node
    if isinstance(value, Nested):
        node = yaml.SequenceNode(_SEQ, [], flow_style=True)
        for _ in range(value.depth):
            node = yaml.SequenceNode(_SEQ, [node], flow_style=True)
        return node
    if isinstance(value, Tagged):
        if value.mapping:
            return yaml.MappingNode(value.tag, [(to_node(k), to_node(v)) for k, v in value.items])
        return yaml.SequenceNode(value.tag, [to_node(v) for v in value.items], flow_style=True)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        text = ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
        return yaml.ScalarNode(_FLOAT, text)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10 ** 4000:
        return yaml.ScalarNode(_INT, str(value) if value.bit_length() < 13000 else "1" + "0" * 5000)
    if isinstance(value, dict):
        return yaml.MappingNode(_MAP, [(to_node(k), to_node(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return yaml.SequenceNode(_SEQ, [to_node(v) for v in value])
    return yaml.SafeDumper(None).represent_data(value)


def _node_child(node: yaml.Node, key):
    """The value node at ``key`` of a mapping or sequence node; None if absent."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == str(key):
                return v
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key]
    return None


def _node_at(root: yaml.Node, path: tuple):
    node = root
    for k in path:
        node = _node_child(node, k) if node is not None else None
    return node


def _replace(root: yaml.Node, path: tuple, new: yaml.Node | None) -> bool:
    """Set (or, with ``new`` None, delete) the value at ``path``; False if the path is gone."""
    parent = _node_at(root, path[:-1])
    key = path[-1]
    if isinstance(parent, yaml.MappingNode):
        for i, (k, _v) in enumerate(parent.value):
            if isinstance(k, yaml.ScalarNode) and k.value == str(key):
                if new is None:
                    del parent.value[i]
                else:
                    parent.value[i] = (k, new)
                return True
    elif isinstance(parent, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(parent.value):
        if new is None:
            del parent.value[key]
        else:
            parent.value[key] = new
        return True
    return False


def apply_node_op(root: yaml.Node, op: tuple) -> bool:
    """Apply one operation to the node graph; False where its path no longer exists."""
    kind = op[0]
    if kind == "delete":
        return _replace(root, op[1], None)
    if kind == "set":
        return _replace(root, op[1], to_node(op[2]))
    if kind == "insert":                     # ("insert", mapping path, key, value)
        parent = _node_at(root, op[1])
        if not isinstance(parent, yaml.MappingNode):
            return False
        parent.value.append((to_node(op[2]), to_node(op[3])))
        return True
    if kind == "rename":                     # ("rename", path, new key)
        parent = _node_at(root, op[1][:-1])
        if not isinstance(parent, yaml.MappingNode):
            return False
        for i, (k, v) in enumerate(parent.value):
            if isinstance(k, yaml.ScalarNode) and k.value == str(op[1][-1]):
                parent.value[i] = (to_node(op[2]), v)
                return True
        return False
    if kind == "duplicate":                  # ("duplicate", path): the key written twice
        parent = _node_at(root, op[1][:-1])
        if not isinstance(parent, yaml.MappingNode):
            return False
        for k, v in parent.value:
            if isinstance(k, yaml.ScalarNode) and k.value == str(op[1][-1]):
                parent.value.append((k, v))
                return True
        return False
    if kind == "alias":                      # ("alias", from path, to path): the same node twice
        src = _node_at(root, op[1])
        return src is not None and _replace(root, op[2], src)
    if kind == "recursive":                  # ("recursive", path): a list holding itself
        node = yaml.SequenceNode(_SEQ, [], flow_style=True)
        node.value.append(node)
        return _replace(root, op[1], node)
    if kind == "complex_key":                # ("complex_key", mapping path, key items)
        parent = _node_at(root, op[1])
        if not isinstance(parent, yaml.MappingNode):
            return False
        parent.value.insert(0, (to_node(list(op[2])), to_node(1)))
        return True
    raise ValueError(f"unknown operation {op!r}")


def apply_byte_op(data: bytes, op: tuple) -> bytes:
    kind = op[0]
    at = int(len(data) * op[1]) if len(op) > 1 and isinstance(op[1], float) else 0
    if kind == "nul":
        return data[:at] + b"\x00" + data[at:]
    if kind == "bytes":                      # ("bytes", where, raw bytes): e.g. not UTF-8
        return data[:at] + op[2] + data[at:]
    if kind == "truncate":
        return data[:at]
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "crlf":
        return data.replace(b"\n", b"\r\n")
    if kind == "tabs":
        return data.replace(b"  ", b"\t")
    if kind == "append":
        return data + op[1]
    raise ValueError(f"unknown byte operation {op!r}")


def _billion_laughs(depth: int = 9, width: int = 10) -> bytes:
    lines = ['l0: &l0 "lol"']
    for i in range(1, depth + 1):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return ("\n".join(lines) + "\n").encode()


#: whole files of odd shapes, by name
SHAPES: dict[str, bytes] = {
    "empty": b"",
    "blank": b"   \n\n",
    "comment only": b"# nothing here\n",
    "document end only": b"---\n...\n",
    "two documents": b"name: a\n---\nname: b\n",
    "bare scalar": b"42\n",
    "bare string": b"hello\n",
    "a list": b"- 1\n- 2\n",
    "null": b"~\n",
    "nested brackets": b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "nested braces": b"a: " + b"{a: " * 5000 + b"1" + b"}" * 5000 + b"\n",
    "unclosed brackets": b"a: " + b"[" * 5000 + b"\n",
    "recursive alias": b"loop: &l [*l]\n",
    "recursive mapping": b"loop: &l {a: *l}\n",
    "undefined alias": b"a: *nowhere\n",
    "complex key": b"? [a, b]\n: 1\n",
    "mapping key": b"? {a: 1}\n: 1\n",
    "billion laughs": _billion_laughs(),
    "big integer": b"name: x\nsimulation: {replicates: 1" + b"0" * 5000 + b"}\n",
    "long line": b"name: " + b"x" * 200_000 + b"\n",
    "many keys": b"".join(b"k%d: %d\n" % (i, i) for i in range(5_000)),
    "NUL only": b"\x00",
    "not UTF-8": b"name: \xff\xfe\xfa\n",
    "UTF-16": "name: x\n".encode("utf-16"),
    "python object": b"!!python/object/apply:os.system ['touch " + CODE_RAN.encode() + b"']\n",
    "python name": b"a: !!python/name:os.system\n",
    "merge key": b"base: &b {rate: 1}\naccrual:\n  <<: *b\n",
    "tab indentation": b"a:\n\tb: 1\n",
    "directive": b"%YAML 9.9\n---\na: 1\n",
    "binary": b"a: !!binary aGVsbG8=\n",
}


def _unusable_number(value) -> str | None:
    """Why ``value`` cannot stand where a number is expected (None: it may)."""
    if isinstance(value, bool) or (isinstance(value, Raw) and value.text in ("yes", "off")):
        return "a boolean is not a number"
    if isinstance(value, (list, tuple, dict, Laughs, Nested, Tagged)):
        return f"a {type(value).__name__} is not a number"
    if isinstance(value, Raw) and value.text in (".NaN", "-.Inf", "1e400"):
        return f"{value.text} is not a usable number"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return f"{value} is not a usable number"
        if value != 0 and abs(value) < 2.2250738585072014e-308:
            return f"{value!r} is subnormal"
    return None


def _unusable_float(value) -> str | None:
    """Why ``value`` (or a number inside it) is a float no model can use."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return f"{value} is not a usable number"
        if value != 0 and abs(value) < 2.2250738585072014e-308:
            return f"{value!r} is subnormal"
        return None
    if isinstance(value, dict):
        return next((w for w in map(_unusable_float, value.values()) if w), None)
    if isinstance(value, (list, tuple)):
        return next((w for w in map(_unusable_float, value) if w), None)
    return None


@dataclass(frozen=True)
class Mutant:
    """A scenario file: ``base`` (a reference scenario, or ``shape:NAME`` for a
    whole odd file) changed by ``ops`` (node operations) then ``byte_ops``."""

    base: str
    ops: tuple = ()
    byte_ops: tuple = ()

    def _render(self) -> tuple[bytes, tuple[bool, ...]]:
        """The file's bytes, and whether each node operation found its place."""
        applied: tuple[bool, ...] = ()
        if self.base.startswith("shape:"):
            data = SHAPES[self.base[len("shape:"):]]
        else:
            root = yaml.compose(reference_text(self.base))
            applied = tuple(apply_node_op(root, op) for op in self.ops)
            data = yaml.serialize(root, Dumper=yaml.SafeDumper, allow_unicode=True, width=120).encode("utf-8")
        for op in self.byte_ops:
            data = apply_byte_op(data, op)
        return data, applied

    def content(self) -> bytes:
        return self._render()[0]

    def must_refuse(self) -> str | None:
        """Why validation must refuse this file (None: it may or may not).

        A value set where a reference scenario has a number must be refused
        when it is a boolean, a collection or null; and a value holding a
        float the model cannot use (nan, infinite, subnormal) must be refused
        wherever it is set: unless the operation found no place (an earlier
        one removed it), a later operation touched the same place, or the
        bytes were changed afterwards.
        """
        if self.base.startswith("shape:") or self.byte_ops:
            return None
        data = reference_data(self.base)
        applied = self._render()[1]
        for i, op in enumerate(self.ops):
            if op[0] != "set" or not applied[i]:
                continue
            path, value = op[1], op[2]
            later = [o[2] if o[0] == "alias" else o[1] for o in self.ops[i + 1:] if len(o) > 1]
            if any(isinstance(t, tuple) and (path[:len(t)] == t or t[:len(path)] == path) for t in later):
                continue
            why = _unusable_float(value)
            if why is None:
                try:
                    current = _get(data, path)
                except (KeyError, IndexError, TypeError):
                    continue
                if isinstance(current, bool) or not isinstance(current, (int, float)) or path[-1] in _CURVE_KEYS:
                    continue
                why = _unusable_number(value)
            if why:
                return f"{'.'.join(map(str, path))}: {why}"
        return None

    def label(self) -> str:
        """The kind of mutation, for the counts of tools/fuzz/run_fuzz.py."""
        if self.base.startswith("shape:"):
            return "shape"
        kinds = sorted({op[0] for op in self.ops} | {op[0] for op in self.byte_ops})
        return "+".join(kinds) or "none"


# --------------------------------------------------------------------------
# Value pools


INF, NAN = math.inf, math.nan

#: values of another type, or numbers at the extremes
ODD_VALUES: tuple = (
    True, False, None, "", "abc", "1e9", "0.5", "-1", [], [1, 2], [[]], {}, {"a": 1}, {"fixed": 1},
    0, -1, 1, 2, 0.0, -0.0, 1.5, -1.5, 0.999999, 1e-9, 1e-300, 5e-324, -5e-324, 1e300, 1e308, -1e308,
    INF, -INF, NAN, 2 ** 31, 2 ** 53 + 1, 2 ** 63, -(2 ** 63), 2 ** 64, 10 ** 30, 10 ** 300, Digits(5001),
    Raw("0x10"), Raw("0o17"), Raw("1_000"), Raw("1:20"), Raw("yes"), Raw("off"), Raw("~"), Raw(".NaN"),
    Raw("-.Inf"), Raw("2001-12-14"), Raw("2001-12-14 21:59:43.10 -5"), Raw("1e400"), Raw("0b101"),
    Raw("aGVsbG8=", "tag:yaml.org,2002:binary"), Raw("12", _STR), Raw("1", _FLOAT), Raw("x", "!custom"),
    Tagged("tag:yaml.org,2002:set", ((1, None), (2, None)), mapping=True),
    Tagged("tag:yaml.org,2002:omap", ({"a": 1}, {"b": 2})),
    Tagged("tag:yaml.org,2002:python/object/apply:os.system", (f"touch {CODE_RAN}",)),
    Tagged("tag:yaml.org,2002:python/object/apply:builtins.exit", (3,)),
    "\x1b[2J\x1b[31mred\x1b]0;title\x07", "tab\there", "nul\x00byte", "\u202eright-to-left", "é" * 3,
    "x" * 10_000, Nested(60), Laughs(3, 3),
)

#: curves and distributions at the edges of what the model can use
CURVES: tuple = (
    {"exponential": {"median": INF}}, {"exponential": {"median": 5e-324}}, {"exponential": {"median": 1e308}},
    {"exponential": {"rate": 0}}, {"exponential": {"rate": 1e308}}, {"exponential": {"rate": 5e-324}},
    {"exponential": {"cumulative": 0.999999999, "at": 1e-300}}, {"exponential": {"cumulative": 0, "at": 12}},
    {"weibull": {"median": 1, "shape": 5e-324}}, {"weibull": {"median": 1e308, "shape": 1e308}},
    {"weibull": {"scale": 1e-300, "shape": 300}}, {"lognormal": {"mu": 1e308, "sigma": 1}},
    {"lognormal": {"mu": -1e308, "sigma": 1e-300}}, {"lognormal": {"median": 12, "sigma": 1e300}},
    {"loglogistic": {"median": 1e-300, "beta": 1e-300}}, {"loglogistic": {"alpha": 12, "beta": 1e300}},
    {"piecewise_exponential": {"breaks": [], "rates": [0]}},
    {"piecewise_exponential": {"breaks": [1e-300, 1e300], "rates": [1e300, 0, 1e-300]}},
    {"piecewise_exponential": {"breaks": [12, 6], "rates": [0.1, 0.1, 0.1]}},
    {"table": {"times": [0], "survival": [1]}}, {"table": {"times": [0, 12], "survival": [1, 0]}},
    {"table": {"times": [0, 1e-300], "survival": [1, 1]}}, {"table": {"file": "/dev/zero"}},
    {"table": {"file": "."}}, {"table": {"file": "missing.csv"}},
    {"cure": {"fraction": 1, "curve": {"exponential": {"median": 12}}}},
    {"cure": {"fraction": 0, "curve": {"cure": {"fraction": 1, "curve": {"exponential": {"rate": 0}}}}}},
    {"proportional": {"hazard_ratio": 0, "curve": {"exponential": {"median": 12}}}},
    {"proportional": {"hazard_ratio": 1e308, "curve": {"reference": "pan2017/T1N0"}}},
    {"reference": "nope"}, {"reference": ""}, {"reference": "pan2017/T1N0"},
    {"uniform": [5, 1]}, {"uniform": [0, 1e308]}, {"uniform": [0, 0]}, {"uniform": [INF, INF]},
    {"fixed": 1e308}, {"fixed": 5e-324}, {"fixed": -0.0}, 1e308, 0, {"exponential": {}}, {"nope": {}},
    {"exponential": {"median": 12}, "weibull": {"median": 1, "shape": 1}},
)

#: strings for the fields read by a small grammar
FIELD_STRINGS: dict[str, tuple] = {
    "test": ("fh(-1, 0)", "fh(0,1)", "fh(1e3,1)", "fh(99999999999999999999,0)", "rmst(0)", "rmst(0.0000001)",
             "rmst(99999999999999999999999)", "milestone(-5)", "milestone(0)", "milestone(1000000)",
             "maxcombo", "cox", "logrank ", "LOGRANK", "fh(0 1)", "rmst()", "rmst(12"),
    "spending": ("hsd(-100)", "hsd(100000)", "hsd(0)", "pocock", "hsd(-0)", "hsd()", "obrien_fleming "),
    "model": ("lead_time", "prevalence", "other", ""),
    "endpoint": (["drfs", "mrd_clearance"], "mrd_clearance", [], ["drfs", "drfs"], "os"),
    "death": ("event", "censor", "ignore"),
    "name": ("\x1b[2J\x1b[31mred", "a\nb", "", "x" * 10_000, "\u202eevil"),
    "looks": ([0.5], [0.0000001, 0.9999999], [0.5, 0.5], [0.9, 0.1], [0.1] * 1000, []),
}

#: byte operations on the YAML text
BYTE_OPS = st.one_of(
    st.tuples(st.just("nul"), st.floats(0, 1)),
    st.tuples(st.just("bytes"), st.floats(0, 1),
              st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80"])),
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("bom")),
    st.tuples(st.just("crlf")),
    st.tuples(st.just("tabs")),
    st.tuples(st.just("append"), st.sampled_from([b"\n: 1\n", b"\n- 1\n", b"\n  x\n", b"\n...\n", b"\n---\n"])),
)


def _numbers_at_extremes(value) -> st.SearchStrategy:
    """For a number of a reference scenario, the same number scaled or turned around."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return st.sampled_from(ODD_VALUES)
    # two factors, so that 10 ** 320 overflows to inf (as a YAML number would) rather than raising
    scaled = st.integers(-330, 330).map(lambda k: float(value or 1) * 10.0 ** (k // 2) * 10.0 ** (k - k // 2))
    simple = st.sampled_from([-value, value + 1e-12, value * (1 + 1e-15), value / 3, float(value)])
    if isinstance(value, int):
        simple = st.one_of(simple, st.sampled_from([value * 10 ** 6, value * 10 ** 12, -value, 0, 2 ** 63 - 1]))
    return st.one_of(scaled, simple)


_CURVE_KEYS = {"recurrence", "other_cause_death", "lead_time", "time_since_diagnosis", "turnaround"}


@st.composite
def node_ops(draw, base: str) -> tuple:
    """One operation on a reference scenario's node graph."""
    data = reference_data(base)
    paths = reference_paths(base)
    kind = draw(st.sampled_from(["delete", "set", "set", "set", "number", "curve", "field", "insert", "rename",
                                 "duplicate", "alias", "recursive", "complex_key", "laughs"]))
    path = draw(st.sampled_from(paths))
    if kind == "delete":
        return ("delete", path)
    if kind == "set":
        return ("set", path, draw(st.sampled_from(ODD_VALUES)))
    if kind == "number":
        numeric = [p for p in paths if isinstance(_get(data, p), (int, float)) and not isinstance(_get(data, p), bool)]
        path = draw(st.sampled_from(numeric))
        return ("set", path, draw(_numbers_at_extremes(_get(data, path))))
    if kind == "curve":
        curve_paths = [p for p in paths if p[-1] in _CURVE_KEYS] or [path]
        return ("set", draw(st.sampled_from(curve_paths)), draw(st.sampled_from(CURVES)))
    if kind == "field":
        key = draw(st.sampled_from(sorted(FIELD_STRINGS)))
        where = [p for p in paths if p[-1] == key] or [p + (key,) for p in mapping_paths(base) if p]
        return ("set", draw(st.sampled_from(where)), draw(st.sampled_from(FIELD_STRINGS[key])))
    if kind == "insert":
        parent = draw(st.sampled_from(mapping_paths(base)))
        key = draw(st.sampled_from(["replicate", "extra", "", "nul\x00", "seed ", "name", "1", "\x1b[31m"]))
        return ("insert", parent, key, draw(st.sampled_from(ODD_VALUES[:20])))
    if kind == "rename":
        named = [p for p in paths if isinstance(p[-1], str)]
        path = draw(st.sampled_from(named))
        new = draw(st.sampled_from([path[-1].upper(), path[-1] + "s", path[-1][:-1], " " + path[-1], "x" * 300]))
        return ("rename", path, new)
    if kind == "duplicate":
        named = [p for p in paths if isinstance(p[-1], str)]
        return ("duplicate", draw(st.sampled_from(named)))
    if kind == "alias":
        return ("alias", path, draw(st.sampled_from(paths)))
    if kind == "recursive":
        return ("recursive", path)
    if kind == "complex_key":
        return ("complex_key", draw(st.sampled_from(mapping_paths(base))), ("a", "b"))
    depth = draw(st.sampled_from([2, 4, 6, 9]))
    return ("set", path, Laughs(depth, 10 if depth == 9 else draw(st.integers(2, 10))))


@st.composite
def mutants(draw) -> Mutant:
    """A mutated reference scenario, or (one time in eight) a file of an odd shape."""
    if draw(st.integers(0, 7)) == 0:
        return Mutant("shape:" + draw(st.sampled_from(sorted(SHAPES))))
    base = draw(st.sampled_from(REFERENCES))
    ops = tuple(draw(node_ops(base)) for _ in range(draw(st.integers(1, 3))))
    byte_ops = ()
    if draw(st.integers(0, 4)) == 0:
        byte_ops = (draw(BYTE_OPS),)
    return Mutant(base, ops, byte_ops)


# --------------------------------------------------------------------------
# The property of a command


@dataclass
class Invocation:
    """A ``trialsim`` command line; ``file`` is the scenario it reads (named
    by an error about it), ``option`` the option at fault (named by an error
    about it); ``must_refuse``: exit 0 would be wrong."""

    args: list[str]
    file: str | None = None
    option: str | None = None
    must_refuse: bool = False
    must_run: bool = False
    why: str = ""
    seconds: float = RUN_SECONDS
    names: tuple = field(default_factory=tuple)


_COUNT_LINES = {"randomised": "nobody randomised", "events at analysis": "no event at the analysis"}


def _silent_nonsense(stdout: str, stderr: str) -> str | None:
    """A run's table that shows an impossible trial (nobody randomised, no
    event, a nan) with no warning anywhere."""
    if "warning" in (stdout + stderr).lower():
        return None
    for label, what in _COUNT_LINES.items():
        m = re.search(rf"^\s*{label}\s+([0-9][0-9.,]*)", stdout, re.M)
        if m and float(m.group(1).replace(",", "")) == 0:
            return f"{what} in every simulated trial, without a warning: {_short(stdout, 1500)}"
    events = re.search(r"^\s*events at analysis\s+([0-9][0-9.,]*)", stdout, re.M)
    if ("; logrank," in stdout and events and float(events.group(1).replace(",", "")) > 0
            and "hazard ratio estimate" not in stdout):
        return f"no hazard ratio estimate (an arm without patients?), without a warning: {_short(stdout, 1500)}"
    if re.search(r"\bnan\b", stdout, re.I):
        return f"nan in the results, without a warning: {_short(stdout, 1500)}"
    return None


def judge_output(inv: Invocation, code: int | None, stdout: str, stderr: str, seconds: float,
                 cwd: Path | None = None) -> Outcome:
    """The property, on what a finished command left."""
    both = stdout + stderr
    if "Traceback" in both:
        return failure(f"traceback (exit {code}):\n{_short(stderr or stdout, 3000)}", seconds)
    if code not in (0, 2):
        return failure(f"exit status {code}; stderr: {_short(stderr)}", seconds)
    bad = control_characters(both)
    if bad:
        return failure(f"raw control characters {', '.join(bad)} printed (exit {code}); "
                       f"stderr: {_short(stderr)!r}", seconds)
    if cwd is not None and (cwd / CODE_RAN).exists():
        return failure("the YAML ran a command", seconds)
    if code == 0:
        if inv.must_refuse:
            return failure(f"accepted (exit 0), should be refused{': ' + inv.why if inv.why else ''}; "
                           f"stdout: {_short(stdout, 300)!r}", seconds)
        if not stdout.strip():
            return failure("exit 0 with nothing on stdout", seconds)
        silent = _silent_nonsense(stdout, stderr)
        if silent:
            return failure(silent, seconds)
        return Outcome("exit 0", "", seconds)
    if inv.must_run:
        return failure(f"refused (exit 2), should run: {_short(stderr)!r}", seconds)
    lines = stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    if inv.option is not None and not errors:
        # a malformed option value is refused by the option parser (click) in its own format
        names = inv.names or (inv.option,)
        if any(n in stderr for n in names) or "No such option" in stderr or "Missing" in stderr:
            return Outcome("exit 2", lines[-1] if lines else "", seconds)
        return failure(f"exit 2 without naming {inv.option}: {_short(stderr)!r}", seconds)
    if len(errors) != 1:
        return failure(f"exit 2 with {len(errors)} lines starting 'error: ' on stderr: {_short(stderr)!r}", seconds)
    message = errors[0]
    named = [n for n in ((inv.file,) if inv.file else ()) + (inv.names or ((inv.option,) if inv.option else ()))
             if n]
    if named and not any(n in message for n in named):
        return failure(f"the error names none of {named}: {_short(message)!r}", seconds)
    return Outcome("exit 2", _short(message, 200), seconds)


def invoke(inv: Invocation, cwd: Path) -> Outcome:
    """Run the command in this process (typer's CliRunner) in ``cwd``, bounded."""
    from typer.testing import CliRunner

    from trialsim.cli import app

    runner = CliRunner()
    old = os.getcwd()
    start = time.perf_counter()
    os.chdir(cwd)
    try:
        with bounded(inv.seconds):
            res = runner.invoke(app, inv.args)
    except Timeout as exc:
        return failure(f"{exc}", time.perf_counter() - start)
    finally:
        os.chdir(old)
    seconds = time.perf_counter() - start
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        exc = res.exception
        import traceback

        where = "".join(traceback.format_tb(exc.__traceback__)[-3:])
        return failure(f"{type(exc).__name__}: {_short(str(exc), 300)} escaped\n{where}", seconds)
    return judge_output(inv, res.exit_code, res.stdout, res.stderr, seconds, cwd)


def check_mutant(mutant: Mutant, commands=("validate", "run")) -> dict[str, Outcome]:
    """Write the mutant to a fresh folder and run each command on it."""
    out: dict[str, Outcome] = {}
    with tempfile.TemporaryDirectory(prefix="trialsim-fuzz-") as tmp:
        tmp = Path(tmp)
        path = tmp / "scenario.yaml"
        path.write_bytes(mutant.content())
        why = mutant.must_refuse() or ""
        for command in commands:
            if command == "validate":
                inv = Invocation(["validate", str(path)], file=str(path), must_refuse=bool(why), why=why,
                                 seconds=VALIDATE_SECONDS)
            else:
                inv = Invocation(["run", str(path), "-n", "2", "--seed", "1", "-w", "1"], file=str(path),
                                 seconds=RUN_SECONDS)
            out[command] = invoke(inv, tmp)
        if "validate" in out and "run" in out and out["validate"].kind == "exit 2" and out["run"].kind == "exit 0":
            out["run"] = failure("validate refused the file but run accepted it")
    return out


# --------------------------------------------------------------------------
# Bad command-line options


REFERENCE_FOR_OPTIONS = str(SCENARIO_DIR / "conventional_logrank.yaml")
#: a path longer than PATH_MAX (4,096 bytes) made of names the file system allows
LONG_PATH = "/tmp/" + "/".join(["d" * 200] * 25)
GOOD_VARY = "arms.treatment.hazard_ratio=0.7,0.8"

# (option, value, verdict): "bad" must be refused, "good" must run, "either" may do both
_OPTION_VALUES: dict[str, tuple] = {
    "-n": (("2", "good"), ("3", "good"), ("0", "bad"), ("-1", "bad"), ("abc", "bad"), ("1.5", "bad"), ("", "bad"),
           ("1e3", "bad"), ("99999999999999999999999", "bad"), ("1000000000000", "bad"), (" 2", "either"),
           ("0x10", "bad"), ("nan", "bad")),
    "--seed": (("1", "good"), ("0", "good"), ("4294967295", "good"), ("18446744073709551615", "either"),
               ("1" + "0" * 40, "either"), ("-1", "bad"), ("abc", "bad"), ("1.5", "bad"), ("", "bad"),
               ("1e3", "bad")),
    "-w": (("1", "good"), ("0", "bad"), ("-1", "bad"), ("abc", "bad"), ("1.5", "bad"), ("", "bad"),
           ("99999999999999999999999", "bad")),
    "--format": (("table", "good"), ("json", "good"), ("xml", "bad"), ("", "bad"), ("JSON", "either"),
                 ("table ", "bad")),
    "--out": (("@fresh", "good"), ("", "bad"), ("@file", "bad"), ("/dev/null", "bad"), ("/proc/version", "bad"),
              ("/proc/no/such/folder", "bad"), ("a\x00b", "bad"), ("x" * 300, "bad"), ("@nested", "good"),
              ("x" * 240, "bad"), (LONG_PATH, "bad"), ("é" * 130, "bad")),
    "--vary": ((GOOD_VARY, "good"), ("", "bad"), ("=", "bad"), ("nopath=1", "bad"),
               ("arms.treatment.hazard_ratio=", "bad"), ("arms.treatment.hazard_ratio=abc", "bad"),
               ("arms.treatment.hazard_ratio=nan", "bad"), ("arms.treatment.hazard_ratio=inf", "bad"),
               ("arms.treatment.hazard_ratio=-1", "bad"), ("arms.treatment.hazard_ratio=0:1:0", "bad"),
               ("arms.treatment.hazard_ratio=0.5:0.9:100000000", "bad"), ("arms.treatment.hazard_ratio=1:2:1.5", "bad"),
               ("trial.enrollment=1.5", "bad"), ("trial.enrollment=0", "bad"), ("arms=1", "bad"),
               ("arms.treatment=1", "bad"), ("population.strata.99.share=1", "bad"),
               ("trial.enrollment=1e308", "bad"), ("arms.treatment.hazard_ratio=0.7,0.7", "bad"),
               ("arms.treatment.hazard_ratio=" + ",".join(["0.7"] * 3000), "bad"),
               ("x" * 5000 + "=1", "bad"), ("\x1b[31mred=1", "bad"), ("arms.treatment.hazard_ratio=[0.7", "bad")),
    "--target-power": (("0.8", "good"), ("0", "bad"), ("1", "bad"), ("nan", "bad"), ("inf", "bad"),
                       ("-0.5", "bad"), ("abc", "bad"), ("", "bad"), ("1e-300", "either")),
    "--solve": (("trial.enrollment", "good"), ("trial.analysis.events", "good"), ("x", "bad"), ("", "bad"),
                ("arms.treatment.hazard_ratio", "bad"), ("trial.enrollment ", "either")),
}

_COMMAND_OPTIONS = {
    "run": ("-n", "--seed", "-w", "--format", "--out"),
    "sweep": ("-n", "--seed", "-w", "--format", "--out", "--vary"),
    "size": ("-n", "--seed", "-w", "--format", "--out", "--vary", "--target-power", "--solve"),
}

#: how each option is named in messages (its long and short forms)
OPTION_NAMES = {"-n": ("--replicates", "-n"), "--seed": ("--seed",), "-w": ("--workers", "-w"),
                "--format": ("--format", "-f"), "--out": ("--out", "-o"), "--vary": ("--vary", "-v"),
                "--target-power": ("--target-power", "-p", "target"), "--solve": ("--solve",)}

# defaults that keep a legitimate run short: two replicates (size: 20 at the answer), one worker
_DEFAULTS = {"run": {"-n": "2", "--seed": "1", "-w": "1"},
             "sweep": {"-n": "2", "--seed": "1", "-w": "1", "--vary": GOOD_VARY},
             "size": {"-n": "20", "--seed": "1", "-w": "1"}}


@dataclass(frozen=True)
class OptionCase:
    """A command with some options set to drawn values: ``(option, value, verdict)``
    (an option given twice is repeated, as ``--vary`` may be); ``ops``
    change the scenario first (as a :class:`Mutant` of the conventional design)."""

    command: str
    options: tuple
    ops: tuple = ()

    def invocation(self, tmp: Path) -> Invocation:
        values = {k: [v] for k, v in _DEFAULTS[self.command].items()}
        given: set = set()
        for option, value, _verdict in self.options:
            values[option] = values[option] + [value] if option in given else [value]
            given.add(option)
        scenario = REFERENCE_FOR_OPTIONS
        if self.ops:
            scenario = str(tmp / "scenario.yaml")
            Path(scenario).write_bytes(Mutant("conventional_logrank", self.ops).content())
        args = [self.command, scenario]
        for option, vs in values.items():
            for value in vs:
                if value == "@fresh":
                    value = str(tmp / "out")
                elif value == "@nested":
                    value = str(tmp / "a" / "b" / "c")
                elif value == "@file":
                    (tmp / "taken").write_text("x")
                    value = str(tmp / "taken")
                args += [option, value]
        bad = [o for o, _v, verdict in self.options if verdict == "bad"]
        either = [o for o, _v, verdict in self.options if verdict == "either"]
        names: tuple = ()
        for o in bad + either:
            names += OPTION_NAMES[o]
        seconds = SEARCH_SECONDS if self.command == "size" else RUN_SECONDS
        return Invocation(args, file=None, option=(bad + either)[0] if bad or either else None,
                          must_refuse=bool(bad) and not either, must_run=not bad and not either,
                          seconds=seconds, names=names)


@st.composite
def option_cases(draw) -> OptionCase:
    command = draw(st.sampled_from(sorted(_COMMAND_OPTIONS)))
    chosen = draw(st.lists(st.sampled_from(_COMMAND_OPTIONS[command]), min_size=1, max_size=3, unique=True))
    options = []
    for option in chosen:
        value, verdict = draw(st.sampled_from(_OPTION_VALUES[option]))
        options.append((option, value, verdict))
    return OptionCase(command, tuple(options))


def check_options(case: OptionCase) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="trialsim-fuzz-") as tmp:
        return invoke(case.invocation(Path(tmp)), Path(tmp))


# --------------------------------------------------------------------------
# Bad library calls


@cache
def small_scenario():
    """The conventional reference scenario, 2 replicates, seed 1 (a fast, valid base)."""
    import trialsim

    data = copy.deepcopy(reference_data("conventional_logrank"))
    data["simulation"] = {"replicates": 2, "seed": 1}
    return trialsim.load_scenario(data)


@cache
def small_provenance() -> dict:
    import trialsim

    return trialsim.simulate(small_scenario(), workers=1).provenance


class Callable_:
    """A callable that records it was called (a good ``progress``)."""

    def __call__(self, *args):
        return None

    def __repr__(self):
        return "<progress callback>"


def _np(kind: str, value):
    import numpy as np

    return getattr(np, kind)(value)


class NP:
    """A numpy scalar, built when the call is made (so examples print plainly)."""

    def __init__(self, kind: str, value):
        self.kind, self.value = kind, value

    def __repr__(self):
        return f"numpy.{self.kind}({self.value!r})"

    def build(self):
        return _np(self.kind, self.value)


class ProvenanceWith:
    """The provenance of a small run with one entry replaced (or deleted, with ``...``)."""

    def __init__(self, key: str, value):
        self.key, self.value = key, value

    def __repr__(self):
        return f"provenance with {self.key}={self.value!r}"

    def build(self):
        prov = copy.deepcopy(small_provenance())
        if self.value is Ellipsis:
            prov.pop(self.key, None)
        else:
            prov[self.key] = _build(self.value)
        return prov


class Text:
    """The text of a reference scenario (not a path to it)."""

    def __repr__(self):
        return "<YAML text of a scenario>"

    def build(self):
        return reference_text("conventional_logrank")


def _build(value):
    if isinstance(value, (NP, ProvenanceWith, Text)):
        return value.build()
    if value == "@scenario":
        return small_scenario()
    if value == "@provenance":
        return small_provenance()
    if value == "@progress":
        return Callable_()
    if value == "@dir":
        return str(SCENARIO_DIR)
    if value == "@file":
        return str(SCENARIO_DIR / "conventional_logrank.yaml")
    return value


_INTEGER_BAD = (0, -5, 1.5, "2", True, NAN, INF, 10 ** 23, [2], NP("float64", 1.5))
_INTEGER_GOOD = (2, NP("int64", 2), NP("int32", 2), NP("uint8", 2))

# (function, argument) -> values: (value, verdict)
ARGUMENTS: dict[str, dict[str, tuple]] = {
    "simulate": {
        "scenario": (("@scenario", "good"), ({"name": "x"}, "bad"), ("@file", "bad"), (None, "bad"), (5, "bad")),
        "replicates": tuple((v, "good") for v in _INTEGER_GOOD) + tuple((v, "bad") for v in _INTEGER_BAD)
        + ((2.0, "either"), (10 ** 12, "bad")),
        "seed": ((1, "good"), (NP("int64", 1), "good"), (NP("uint32", 7), "good"), (2 ** 64 - 1, "either"),
                 (-1, "bad"), (1.5, "bad"), ("1", "bad"), (NAN, "bad"), (True, "bad"), ([1], "bad")),
        "workers": ((1, "good"), (NP("int64", 1), "good"), (0, "bad"), (-1, "bad"), (1.5, "bad"), ("1", "bad"),
                    (NAN, "bad"), (True, "either")),
        "chunk_size": ((None, "good"), (1, "good"), (NP("int64", 2), "good"), (0, "bad"), (-1, "bad"),
                       (1.5, "bad"), ("2", "bad"), (NAN, "bad")),
        "replicate_index": ((None, "good"), (0, "good"), ([0, 1], "good"), (NP("int64", 1), "good"), (1.7, "bad"),
                            (-1, "bad"), (2, "bad"), ("0", "bad"), ([], "bad"), ([0.5], "bad"), (NAN, "bad"),
                            (True, "bad")),
        "timeline": ((False, "good"), (12, "good"), (-5, "bad"), (1.5, "bad"), ("x", "bad"), (NAN, "bad"),
                     (10 ** 12, "bad"), (0, "either")),
        "progress": ((None, "good"), ("@progress", "good"), (5, "bad"), ("x", "bad")),
    },
    "replay": {
        "provenance": (("@provenance", "good"), ({}, "bad"), (None, "bad"), ("x", "bad"), ([], "bad"),
                       (ProvenanceWith("replicates", 1.5), "bad"), (ProvenanceWith("replicates", "2"), "bad"),
                       (ProvenanceWith("replicates", 0), "bad"), (ProvenanceWith("seed", -1), "bad"),
                       (ProvenanceWith("seed", 1.5), "bad"), (ProvenanceWith("seed", ...), "bad"),
                       (ProvenanceWith("scenario", ...), "bad"), (ProvenanceWith("scenario", {}), "bad"),
                       (ProvenanceWith("scenario", "x"), "bad"), (ProvenanceWith("replicates", 10 ** 23), "bad")),
        "workers": ((1, "good"), (0, "bad"), ("1", "bad"), (1.5, "bad")),
        "chunk_size": ((None, "good"), (0, "bad"), (-1, "bad"), (1.5, "bad")),
    },
    "load_scenario": {
        "source": (("@file", "good"), (Text(), "bad"), (5, "bad"), (None, "bad"), (b"name: x\n", "bad"),
                   ("@dir", "bad"), ("/no/such/file.yaml", "bad"), ("", "bad"), (["a"], "bad"), ({}, "bad"),
                   ({"name": 5}, "bad"), ("a\x00b", "bad"), ("x" * 5000, "bad"), ("/dev/null", "bad"),
                   ("/tmp/" + "x" * 300 + ".yaml", "bad"), (LONG_PATH + ".yaml", "bad")),
        "base_dir": ((None, "good"), (5, "either"), ("/no/such/folder", "either")),
    },
    "sweep": {
        "vary": (({"arms.treatment.hazard_ratio": [0.7, 0.8]}, "good"), (None, "bad"), ({}, "bad"),
                 ({"nope.path": [1]}, "bad"), ({"arms.treatment.hazard_ratio": []}, "bad"),
                 ({"arms.treatment.hazard_ratio": "0.5:0.9:100000000"}, "bad"), ([1, 2], "bad"), (5, "bad"),
                 ({"trial.enrollment": [1.5]}, "bad"), ({"arms.treatment.hazard_ratio": [NAN]}, "bad"),
                 ({"arms.treatment.hazard_ratio": [-1]}, "bad"), ({"arms.treatment.hazard_ratio": 0.7}, "either"),
                 ({5: [1]}, "bad")),
        "replicates": ((2, "good"), (NP("int64", 2), "good"), (0, "bad"), (1.5, "bad"), ("2", "bad"),
                       (10 ** 23, "bad")),
        "seed": ((1, "good"), (NP("int64", 1), "good"), (-1, "bad"), (1.5, "bad")),
        "workers": ((1, "good"), (0, "bad"), (1.5, "bad")),
        "out": ((None, "good"), ("", "bad"), (5, "bad"), ("/dev/null", "bad"), ("  ", "bad"), ("x" * 300, "bad"),
                (LONG_PATH, "bad"), (b"out", "bad"), (["out"], "bad")),
    },
    "find_sample_size": {
        "target_power": ((0.8, "good"), (0, "bad"), (1, "bad"), (NAN, "bad"), (INF, "bad"), (-1, "bad"),
                         ("0.8", "bad"), (None, "bad"), (True, "bad"), (0.999999, "either")),
        "solve": (("trial.enrollment", "good"), ("trial.analysis.events", "good"), ("x", "bad"), (5, "bad"),
                  (None, "bad"), ("arms.treatment.hazard_ratio", "bad"), (["trial.enrollment"], "bad"),
                  (b"trial.enrollment", "bad")),
        "replicates": ((20, "good"), (0, "bad"), (1.5, "bad"), ("20", "bad")),
        "seed": ((1, "good"), (-1, "bad"), (1.5, "bad")),
    },
    "with_simulation": {
        "replicates": ((None, "good"), (2, "good"), (NP("int64", 2), "good"), (-5, "bad"), (0, "bad"),
                       (1.5, "bad"), ("2", "bad"), (True, "bad")),
        "seed": ((None, "good"), (1, "good"), (NP("int64", 1), "good"), (-1, "bad"), (1.5, "bad"), ("1", "bad")),
    },
}

#: the arguments each function is called with when not drawn (valid, fast)
_CALL_DEFAULTS = {
    "simulate": {"scenario": "@scenario", "workers": 1},
    "replay": {"provenance": "@provenance", "workers": 1},
    "load_scenario": {"source": "@file"},
    "sweep": {"scenario": "@scenario", "vary": {"arms.treatment.hazard_ratio": [0.7, 0.8]}, "replicates": 2,
              "seed": 1, "workers": 1},
    "find_sample_size": {"scenario": "@scenario", "replicates": 20, "seed": 1, "workers": 1},
    "with_simulation": {},
}

_POSITIONAL = {"simulate": "scenario", "replay": "provenance", "load_scenario": "source", "sweep": "scenario",
               "find_sample_size": "scenario"}


@dataclass(frozen=True)
class Call:
    """A library call: ``function`` with ``arguments`` ``(name, value, verdict)``."""

    function: str
    arguments: tuple

    def __repr__(self):
        args = ", ".join(f"{n}={v!r}" for n, v, _ in self.arguments)
        return f"Call({self.function}({args}))"

    @property
    def bad(self) -> list[str]:
        return [n for n, _v, verdict in self.arguments if verdict == "bad"]

    @property
    def must_refuse(self) -> bool:
        return bool(self.bad) and not any(verdict == "either" for _n, _v, verdict in self.arguments)


@st.composite
def calls(draw) -> Call:
    function = draw(st.sampled_from(sorted(ARGUMENTS)))
    names = draw(st.lists(st.sampled_from(sorted(ARGUMENTS[function])), min_size=1, max_size=2, unique=True))
    args = []
    for name in names:
        value, verdict = draw(st.sampled_from(ARGUMENTS[function][name]))
        args.append((name, value, verdict))
    return Call(function, tuple(args))


def _perform(call: Call):
    import trialsim

    kwargs = {k: _build(v) for k, v in _CALL_DEFAULTS[call.function].items()}
    for name, value, _verdict in call.arguments:
        kwargs[name] = _build(value)
    if call.function == "with_simulation":
        return small_scenario().with_simulation(**kwargs)
    first = kwargs.pop(_POSITIONAL[call.function])
    return getattr(trialsim, call.function)(first, **kwargs)


def _check_result(call: Call, value) -> str | None:
    """What is wrong with a returned value, given the arguments (None: nothing)."""
    import trialsim

    given = {n: _build(v) for n, v, _ in call.arguments}
    if call.function == "simulate":
        reps = given.get("replicates", 2)
        wanted = int(reps)
        if given.get("replicate_index") is not None:
            wanted = len(list(__import__("numpy").atleast_1d(given["replicate_index"])))
        if len(value.to_frame()) != wanted:
            return f"{len(value.to_frame())} replicates simulated, {wanted} asked for"
        if value.provenance["replicates"] != int(reps):
            return f"provenance records {value.provenance['replicates']} replicates, {int(reps)} asked for"
        import json

        json.dumps(value.provenance)             # the provenance must serialise
        again = trialsim.replay(value.provenance, workers=1)
        if given.get("replicate_index") is None and not again.to_frame().equals(value.to_frame()):
            return "replay of the provenance does not give the same replicates"
    if call.function == "with_simulation":
        for name in ("replicates", "seed"):
            if given.get(name) is not None and getattr(value.simulation, name) != given[name]:
                return f"{name} stored as {getattr(value.simulation, name)!r}"
            if given.get(name) is not None and type(getattr(value.simulation, name)) is not int:
                return f"{name} stored as a {type(getattr(value.simulation, name)).__name__}, not an int"
    return None


def judge_call(call: Call) -> Outcome:
    """Make the call in a fresh current folder, bounded; judge what it did."""
    old_cwd = os.getcwd()
    # an ``out=""`` that is not refused writes into the current folder: a fresh one, not the checkout
    with tempfile.TemporaryDirectory(prefix="trialsim-fuzz-") as tmp:
        os.chdir(tmp)
        try:
            return _judge_call(call)
        finally:
            os.chdir(old_cwd)


def _judge_call(call: Call) -> Outcome:
    import trialsim

    allowed = (trialsim.ScenarioError, ValueError, TypeError)
    seconds_allowed = SEARCH_SECONDS if call.function == "find_sample_size" else RUN_SECONDS
    start = time.perf_counter()
    try:
        with bounded(seconds_allowed):
            value = _perform(call)
            problem = None if call.bad else _check_result(call, value)
    except Timeout as exc:
        return failure(str(exc), time.perf_counter() - start)
    except allowed as exc:
        seconds = time.perf_counter() - start
        message = str(exc)
        if not call.bad:
            if call.function == "find_sample_size" and type(exc).__name__ == "TargetNotReached":
                return Outcome("exit 2", message, seconds)
            if any(verdict == "either" for _n, _v, verdict in call.arguments):
                return Outcome("exit 2", message, seconds)
            return failure(f"good arguments refused: {type(exc).__name__}: {_short(message)}", seconds)
        if not message.strip():
            return failure(f"{type(exc).__name__} with an empty message", seconds)
        if any(len(line) > 500 for line in message.splitlines()) or len(message) > 4000:
            return failure(f"{type(exc).__name__}: a message of {len(message)} characters", seconds)
        texts = [_build(v) for _n, v, _ in call.arguments if isinstance(v, Text)]
        if any(t.splitlines()[0] in message for t in texts):
            return failure(f"the YAML text is taken for a file name: {_short(message, 300)}", seconds)
        if isinstance(exc, trialsim.ScenarioError) and call.function in ("load_scenario", "replay"):
            return Outcome("exit 2", _short(message, 200), seconds)
        # a value that may be refused ("either") may be the one named, when it is checked first
        named = call.bad + [n for n, _v, verdict in call.arguments if verdict == "either"]
        if not any(name.lower() in message.lower() for name in named):
            return failure(f"{type(exc).__name__} does not name {' or '.join(named)}: {_short(message)}",
                           seconds)
        return Outcome("exit 2", _short(message, 200), seconds)
    except BaseException as exc:   # noqa: BLE001 - anything else is the failure being looked for
        if isinstance(exc, KeyboardInterrupt):
            raise
        import traceback

        where = "".join(traceback.format_tb(exc.__traceback__)[-2:])
        return failure(f"{type(exc).__name__}: {_short(str(exc), 300)}\n{where}", time.perf_counter() - start)
    seconds = time.perf_counter() - start
    if problem:
        return failure(problem, seconds)
    if call.must_refuse:
        return failure(f"accepted {', '.join(call.bad)}; should raise", seconds)
    return Outcome("exit 0", "", seconds)


# --------------------------------------------------------------------------
# The failures a fuzzing run found, one example of each kind, always checked


_STRATUM = ("population", "strata", 0)
_CONVENTIONAL = "conventional_logrank"
_CTDNA = "ctdna_er_positive"

KNOWN_MUTANTS: dict[str, Mutant] = {
    # the loader
    "recursive alias": Mutant("shape:recursive alias"),
    "5,000 nested brackets": Mutant("shape:nested brackets"),
    "complex key": Mutant("shape:complex key"),
    "NUL byte": Mutant(_CONVENTIONAL, (), (("nul", 0.5),)),
    "5,000-digit integer": Mutant("shape:big integer"),
    "billion laughs": Mutant("shape:billion laughs"),
    "python tag": Mutant("shape:python object"),
    "not UTF-8": Mutant(_CONVENTIONAL, (), (("bytes", 0.3, b"\xff"),)),
    # numbers the model cannot use, validated and then crashing at run time
    "median .inf": Mutant(_CONVENTIONAL, (("set", _STRATUM + ("recurrence",), {"exponential": {"median": INF}}),)),
    "median 5e-324": Mutant(_CONVENTIONAL, (("set", _STRATUM + ("recurrence",),
                                              {"exponential": {"median": 5e-324}}),)),
    "alpha 1e-300": Mutant(_CONVENTIONAL, (("set", ("trial", "analysis", "alpha"), 1e-300),)),
    "rmst(0)": Mutant(_CONVENTIONAL, (("set", ("trial", "analysis", "test"), "rmst(0)"),)),
    "fh(-1, 0)": Mutant(_CONVENTIONAL, (("set", ("trial", "analysis", "test"), "fh(-1, 0)"),)),
    "milestone(-5)": Mutant(_CONVENTIONAL, (("set", ("trial", "analysis", "test"), "milestone(-5)"),)),
    # sizes that validate and then exhaust memory or never end
    "enrollment 1e9": Mutant(_CONVENTIONAL, (("set", ("trial", "enrollment"), 10 ** 9),)),
    "sites.count 1e9": Mutant(_CTDNA, (("set", ("accrual", "sites", "count"), 10 ** 9),)),
    "replicates 1e12": Mutant(_CONVENTIONAL, (("set", ("simulation", "replicates"), 10 ** 12),)),
    "visits every 0.001 without a count": Mutant(_CTDNA, (("delete", ("screening", "visits", "count")),
                                                          ("set", ("screening", "visits", "every"), 0.001))),
    # booleans read as numbers
    "events: true": Mutant(_CONVENTIONAL, (("set", ("trial", "analysis", "events"), True),)),
    "sided: true": Mutant(_CONVENTIONAL, (("set", ("trial", "analysis", "sided"), True),)),
    "specificity: true": Mutant(_CTDNA, (("set", ("screening", "test", "specificity"), True),)),
    "allocation: true": Mutant(_CONVENTIONAL, (("set", ("arms", "treatment", "allocation"), True),)),
    "median: true": Mutant(_CONVENTIONAL, (("set", _STRATUM + ("recurrence", "exponential", "median"), True),)),
    "rate: true": Mutant(_CONVENTIONAL, (("set", ("accrual", "rate"), True),)),
    # plans that cannot work, run in silence
    "allocation 1e-9": Mutant(_CONVENTIONAL, (("set", ("arms", "control", "allocation"), 1e-9),)),
    "sensitivity 0": Mutant(_CTDNA, (("set", ("screening", "test", "sensitivity"), 0),)),
    "consent 0": Mutant(_CTDNA, (("set", ("screening", "consent"), 0),)),
    "accrual 1e-6": Mutant(_CONVENTIONAL, (("set", ("accrual", "rate"), 1e-6),)),
    "max_months 1e-6": Mutant(_CTDNA, (("set", ("screening", "max_months"), 1e-6),)),
    "failure 0.999999": Mutant(_CTDNA, (("set", ("screening", "test", "failure"), 0.999999),)),
    "time_since_diagnosis 0 with pan2017": Mutant(_CTDNA, tuple(
        ("set", ("population", "strata", i, "time_since_diagnosis"), 0) for i in range(6))),
    # a survival table that is no file, numbers that overflow in the plan checks or the engine
    "table file /dev/zero": Mutant(_CONVENTIONAL, (("set", _STRATUM + ("recurrence",),
                                                     {"table": {"file": "/dev/zero"}}),)),
    "time_since_diagnosis log-normal sigma 1e300": Mutant("zest_like_tnbc", (
        ("set", ("population", "strata", 1, "time_since_diagnosis"), {"lognormal": {"median": 12, "sigma": 1e300}}),)),
    "max_screened 2**64": Mutant("zest_like_tnbc", (("set", ("screening", "max_screened"), 2 ** 64),)),
    "hazard_ratio 2**63": Mutant(_CTDNA, (("set", ("arms", "treatment", "hazard_ratio"), 2 ** 63),)),
    "turnaround log-normal sigma 1e300": Mutant("dtc_bone_marrow", (
        ("set", ("screening", "test", "turnaround"), {"lognormal": {"median": 12, "sigma": 1e300}}),)),
    "accrual 1e-6 with screening": Mutant(_CTDNA, (("set", ("accrual", "rate"), 1e-6),)),
    # terminal escapes
    "name with escape sequences": Mutant(_CONVENTIONAL, (("set", ("name",), "\x1b[2J\x1b[31mred\x1b]0;t\x07"),)),
}

KNOWN_OPTION_CASES: dict[str, OptionCase] = {
    "-n 10**12": OptionCase("run", (("-n", "1000000000000", "bad"),)),
    "-n 10**23": OptionCase("run", (("-n", "99999999999999999999999", "bad"),)),
    "--vary with 100,000,000 values": OptionCase(
        "sweep", (("--vary", "arms.treatment.hazard_ratio=0.5:0.9:100000000", "bad"),)),
    "a 2,000 x 1,500 grid": OptionCase(
        "sweep", (("--vary", "arms.treatment.hazard_ratio=0.5:0.9:2000", "bad"),
                  ("--vary", "arms.treatment.eradication=0:0.5:1500", "bad"))),
    "--target-power 0.999 at HR 0.99": OptionCase(
        "size", (("--target-power", "0.999", "either"),), (("set", ("arms", "treatment", "hazard_ratio"), 0.99),)),
    "--out ''": OptionCase("run", (("--out", "", "bad"),)),
    "--out a file": OptionCase("run", (("--out", "@file", "bad"),)),
    "run --out a name of 300 bytes": OptionCase("run", (("--out", "x" * 300, "bad"),)),
    "sweep --out a name of 300 bytes": OptionCase("sweep", (("--out", "x" * 300, "bad"),)),
    "size --out a path longer than PATH_MAX": OptionCase("size", (("--out", LONG_PATH, "bad"),)),
    "run --out a name without room for its temporary": OptionCase("run", (("--out", "x" * 240, "bad"),)),
    "sweep --vary trial.enrollment=1e308": OptionCase("sweep", (("--vary", "trial.enrollment=1e308", "bad"),)),
}

KNOWN_CALLS: dict[str, Call] = {
    "simulate(replicates=1.5)": Call("simulate", (("replicates", 1.5, "bad"),)),
    "simulate(replicates=numpy int)": Call("simulate", (("replicates", NP("int64", 2), "good"),)),
    "simulate(seed=numpy int)": Call("simulate", (("seed", NP("int64", 1), "good"),)),
    "simulate(replicates=10**23)": Call("simulate", (("replicates", 10 ** 23, "bad"),)),
    "simulate(chunk_size=0)": Call("simulate", (("chunk_size", 0, "bad"),)),
    "simulate(timeline=-5)": Call("simulate", (("timeline", -5, "bad"),)),
    "simulate(replicate_index=1.7)": Call("simulate", (("replicate_index", 1.7, "bad"),)),
    "replay({})": Call("replay", (("provenance", {}, "bad"),)),
    "load_scenario(text)": Call("load_scenario", (("source", Text(), "bad"),)),
    "with_simulation(replicates=-5)": Call("with_simulation", (("replicates", -5, "bad"),)),
    "replay(chunk_size=-1)": Call("replay", (("chunk_size", -1, "bad"),)),
    "replay(None)": Call("replay", (("provenance", None, "bad"),)),
    "replay('x')": Call("replay", (("provenance", "x", "bad"),)),
    "replay(provenance with seed=1.5)": Call("replay", (("provenance", ProvenanceWith("seed", 1.5), "bad"),)),
    "replay(provenance with replicates=10**23)": Call(
        "replay", (("provenance", ProvenanceWith("replicates", 10 ** 23), "bad"),)),
    "find_sample_size(solve=5)": Call("find_sample_size", (("solve", 5, "bad"),)),
    "find_sample_size(solve=None)": Call("find_sample_size", (("solve", None, "bad"),)),
    "sweep(vary=5)": Call("sweep", (("vary", 5, "bad"),)),
    "sweep(vary={})": Call("sweep", (("vary", {}, "bad"),)),
    "sweep(vary={5: [1]})": Call("sweep", (("vary", {5: [1]}, "bad"),)),
    "sweep(out=5)": Call("sweep", (("out", 5, "bad"),)),
    "sweep(out='')": Call("sweep", (("out", "", "bad"),)),
    "sweep(out=a name of 300 bytes)": Call("sweep", (("out", "x" * 300, "bad"),)),
    "load_scenario(a name of 300 bytes)": Call("load_scenario", (("source", "/tmp/" + "x" * 300 + ".yaml", "bad"),)),
    "load_scenario(a path longer than PATH_MAX)": Call("load_scenario", (("source", LONG_PATH + ".yaml", "bad"),)),
}


# --------------------------------------------------------------------------
# What every fuzz test file shares

#: hypothesis settings of the fuzz tier: no deadline (a run may take seconds), no example database
#: (each run stands alone), the explicit examples first, every health check off
FUZZ = dict(deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck))


def with_examples(cases):
    """One hypothesis ``@example`` per known case."""

    def decorate(test):
        for case in reversed(list(cases)):
            test = example(case)(test)
        return test

    return decorate


@pytest.fixture(scope="module", autouse=True)
def warm_imports():
    """Import the simulator once, so that no example is charged its start-up
    (autouse: a test module that imports it gets it)."""
    import trialsim.engine  # noqa: F401 -- deferred: loaded once per module, outside the timed examples
    import trialsim.sweeps  # noqa: F401 -- deferred: as above
