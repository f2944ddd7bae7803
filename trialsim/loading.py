"""Reading a scenario file safely: bytes -> text -> YAML data, within limits.

Whatever the file holds, reading it ends in bounded time and memory with
either the data (and the line of every key path) or a :class:`ScenarioError`
naming the file and, where known, the line. The limits (docs/scenario-format.md):

* only regular files are read (not a folder, a named pipe or a device such as
  ``/dev/zero``; standard input is read by :func:`read_stream`, bounded the
  same way), and at most :data:`DEFAULT_MAX_BYTES` of them unless the
  caller or the ``TRIALSIM_MAX_SCENARIO_BYTES`` environment variable says otherwise;
* UTF-8 text without NUL bytes;
* YAML read with the safe loader, nested at most :data:`MAX_DEPTH` deep, keys
  that are plain scalars (no ``? [a, b]``), no recursive aliases, aliases that
  expand to at most :data:`MAX_ALIAS_NODES` nodes in all, numbers of at most
  :data:`MAX_NUMBER_CHARS` characters;
* numbers with an exponent but no decimal point (``1e-9``, ``2E6``) are
  numbers, as in YAML 1.2 and JSON, not strings.

Every parser error (recursion, memory, a value error in a constructor, a YAML
error) becomes a :class:`ScenarioError`; nothing else escapes.

libyaml (PyYAML's C parser), where installed, composes the text first: some
twenty times faster than the Python parser. Its result is kept only when it
composes the whole text without a complaint and the tree passes every limit
above, and the text holds nothing the two parsers read differently (tags,
tabs, ``[?x]``...); anything else is read by the Python parser, so every
message, line and limit is the Python parser's. The data are
built from either tree by the same constructor and resolver.
"""

from __future__ import annotations

import os
import re
import stat
from typing import Any

import yaml

#: the largest scenario file read, in bytes, unless overridden
DEFAULT_MAX_BYTES = 1024 * 1024
#: the environment variable that overrides :data:`DEFAULT_MAX_BYTES`
MAX_BYTES_ENV = "TRIALSIM_MAX_SCENARIO_BYTES"
#: the deepest nesting of mappings and lists (a scenario needs fewer than 10)
MAX_DEPTH = 64
#: nodes that aliases (``*name``) may add, counted over every use
MAX_ALIAS_NODES = 100_000
#: the longest number, in characters (a float needs at most about 25)
MAX_NUMBER_CHARS = 100
#: the longest name of one file or folder in a path, in bytes (NAME_MAX of Linux and macOS file systems)
MAX_NAME_BYTES = 255
#: the longest path, in bytes (PATH_MAX of Linux)
MAX_PATH_BYTES = 4096


# --------------------------------------------------------------------------
# Errors


def printable(text: Any, *, newlines: bool = False) -> str:
    """``text`` with control characters (and bidirectional overrides) escaped,
    so that text from a scenario file cannot move the cursor, recolour or
    clear a terminal: ``"a\\x1b[2Jb"`` -> ``"a\\\\x1b[2Jb"``. With ``newlines``,
    line breaks are kept."""
    text = str(text)
    if text.isascii() and text.isprintable():    # no control character, no override: as it is
        return text
    # deferred: only text beyond printable ASCII needs the Unicode database (a library loaded at start-up)
    import unicodedata

    out = []
    for ch in text:
        if ch == "\n" and newlines:
            out.append(ch)
        elif unicodedata.category(ch) == "Cc" or ch in _BIDI:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class ScenarioError(ValueError):
    """A user's scenario is wrong. ``problems`` holds (path, line, message)."""

    def __init__(self, problems: list[tuple[str, int | None, str]], source: str | None = None):
        self.problems = problems
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        lines = []
        for path, line, message in self.problems:
            where = printable(self.source or "scenario")
            if line is not None:
                where = f"{where}:{line}"
            message = printable(message)
            lines.append(f"{where}: {printable(path)}: {message}" if path else f"{where}: {message}")
        return "\n".join(lines)


def _fail(source: str, message: str, line: int | None = None, path: str = "") -> ScenarioError:
    return ScenarioError([(path, line, message)], source)


# --------------------------------------------------------------------------
# Paths


def _system_limit(name: str, default: int) -> int:
    try:
        value = os.pathconf("/", name)
    except (OSError, ValueError, AttributeError):
        return default
    return value if isinstance(value, int) and value > 0 else default


def path_length_problem(path: str | os.PathLike, *, room: int = 0) -> str | None:
    """Why ``path`` is too long for the file system (``None``: it is not): a
    name in it longer than :data:`MAX_NAME_BYTES` bytes, or the whole path
    longer than :data:`MAX_PATH_BYTES` bytes (the system's own limits where it
    says them). ``room``: bytes the last name must leave free (an output
    written through a temporary whose name is the output's name plus a
    suffix). Checked before the path is used, so that the operating system's
    "File name too long" never surfaces as a traceback."""
    try:
        raw = os.fsencode(path)
    except (TypeError, ValueError, UnicodeError):
        return None
    name_max = _system_limit("PC_NAME_MAX", MAX_NAME_BYTES)
    path_max = _system_limit("PC_PATH_MAX", MAX_PATH_BYTES)
    parts = [part for part in raw.split(b"/") if part]
    longest = max((len(part) for part in parts), default=0)
    if longest > name_max:
        return (f"a name in the path is {longest:,} bytes long; file and folder names may have at most "
                f"{name_max} bytes: use a shorter name")
    if room and parts and len(parts[-1]) > name_max - room:
        return (f"the name {printable(os.fsdecode(parts[-1])[:40])}... is {len(parts[-1]):,} bytes long; an output "
                f"name may have at most {name_max - room} bytes (the temporary written beside it needs "
                f"{room} more): use a shorter name")
    if len(raw) + room >= path_max:
        return (f"the path is {len(raw):,} bytes long; paths may have at most {path_max - 1 - room:,} bytes"
                f"{' here' if room else ''}: use a shorter path")
    return None


def _shown(path: str) -> str:
    """A path for a message: shortened when too long to read."""
    return path if len(path) <= 400 else f"{path[:200]}...{path[-100:]} ({len(path):,} characters)"


# --------------------------------------------------------------------------
# Bytes


def max_scenario_bytes(override: int | None = None) -> int:
    """The size limit in force: ``override``, else the environment variable, else the default."""
    if override is not None:
        if isinstance(override, bool) or not isinstance(override, int) or override < 1:
            raise ValueError(f"max_bytes must be a positive integer, got {override!r}")
        return override
    env = os.environ.get(MAX_BYTES_ENV)
    if env is None or not env.strip():
        return DEFAULT_MAX_BYTES
    try:
        value = int(env.strip())
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{MAX_BYTES_ENV} must be a positive whole number of bytes, got {env!r}")
    return value


def _size_text(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB" if n % (1024 * 1024) == 0 else f"{n:,} bytes"


def read_text(path: str | os.PathLike, *, max_bytes: int | None = None) -> str:
    """The text of the scenario file ``path``, read in bounded time and memory.

    Refused (a :class:`ScenarioError`) without reading: a missing file, a
    folder, anything that is not a regular file (a named pipe, a device); a
    file larger than ``max_bytes`` (see :func:`max_scenario_bytes`); text
    that is not UTF-8.
    """
    source = str(path)
    if "\x00" in source:
        raise _fail(printable(source), "cannot be read: a file name cannot contain a NUL byte")
    too_long = path_length_problem(path)
    if too_long:
        raise _fail(_shown(source), f"cannot be read: {too_long}")
    if max_bytes is not None:
        limit = max_scenario_bytes(max_bytes)      # a bad argument: the caller's ValueError
    else:
        try:
            limit = max_scenario_bytes()
        except ValueError as exc:                   # a bad environment variable: the user's
            raise _fail(source, f"cannot be read: {exc}") from None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _fail(source, "no such file") from None
    except OSError as exc:
        raise _fail(source, f"cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise _fail(source, "is a folder, not a scenario file")
    if not stat.S_ISREG(st.st_mode):
        raise _fail(source, "is not a regular file (a pipe, a device or a socket): give a scenario file")
    if st.st_size > limit:
        raise _fail(source, _too_big(st.st_size, limit))
    try:
        # O_NONBLOCK: should the path have become a pipe since the stat, opening it does not wait
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise _fail(source, f"cannot be read: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _fail(source, "is not a regular file (a pipe, a device or a socket): give a scenario file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        raise _fail(source, f"cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise _fail(source, _too_big(None, limit))
    return decode(raw, source)


#: the name messages give a scenario read from standard input
STDIN_SOURCE = "<stdin>"


def read_stream(stream, source: str = STDIN_SOURCE, *, max_bytes: int | None = None) -> str:
    """The text of a scenario piped into ``stream`` (standard input), read in
    bounded memory: at most the size limit of a file (:func:`max_scenario_bytes`)
    plus one byte is read, so a larger input is refused without being read
    whole. Refused (a :class:`ScenarioError` naming ``source``): no stream, a
    terminal (nothing was piped in; reading would wait for typing), an empty
    input, text that is not UTF-8."""
    if max_bytes is not None:
        limit = max_scenario_bytes(max_bytes)
    else:
        try:
            limit = max_scenario_bytes()
        except ValueError as exc:
            raise _fail(source, f"cannot be read: {exc}") from None
    pipe_hint = "pipe a scenario into it (cat scenario.yaml | trialsim run -) or give a file name instead of -"
    if stream is None or getattr(stream, "closed", False):
        raise _fail(source, f"there is no standard input to read; {pipe_hint}")
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError, OSError):
        interactive = False
    if interactive:
        raise _fail(source, f"standard input is a terminal, not a scenario; {pipe_hint}")
    binary = getattr(stream, "buffer", stream)
    try:
        raw = binary.read(limit + 1)
    except (OSError, ValueError) as exc:
        raise _fail(source, f"cannot be read: {exc}") from None
    if isinstance(raw, str):            # a text stream without a buffer (a StringIO)
        raw = raw.encode("utf-8")
    if len(raw) > limit:
        raise _fail(source, _too_big(None, limit))
    if not raw.strip():
        raise _fail(source, f"standard input is empty; {pipe_hint}")
    return decode(raw, source)


def _too_big(size: int | None, limit: int) -> str:
    what = f"is {_size_text(size)}, more than" if size is not None else "is larger than"
    return (f"{what} the limit of {_size_text(limit)} for a scenario file; a larger file can be allowed "
            f"with the environment variable {MAX_BYTES_ENV} (bytes)")


def decode(raw: bytes, source: str) -> str:
    """UTF-8 bytes -> text; a ScenarioError naming the line of the first bad byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise _fail(source, f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} at byte {exc.start}); "
                            "save the scenario as UTF-8", line) from None


# --------------------------------------------------------------------------
# YAML


class _Limit(Exception):
    """A limit of the reader was exceeded at ``mark`` (a yaml Mark or None)."""

    def __init__(self, message: str, mark=None, path: tuple = ()):
        super().__init__(message)
        self.message = message
        self.mark = mark
        self.path = path


# YAML 1.1 (PyYAML) reads 1e-9 and 2E6 as strings; YAML 1.2 and JSON read numbers.
_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


class _Loader(yaml.SafeLoader):
    """The safe loader, with a bound on nesting while composing (the composer recurses)."""

    yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Limit(f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


for _first in "-+0123456789":
    _Loader.yaml_implicit_resolvers.setdefault(_first, []).insert(
        0, ("tag:yaml.org,2002:float", _EXPONENT_FLOAT))

#: libyaml's parser with the resolver of _Loader (the same tags); None without libyaml
_CParser = None
if getattr(yaml, "__with_libyaml__", False):
    class _CParser(yaml.cyaml.CParser, yaml.resolver.Resolver):
        """libyaml's parser and composer, resolving tags as :class:`_Loader` does."""

        yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers

        def __init__(self, stream):
            yaml.cyaml.CParser.__init__(self, stream)
            yaml.resolver.Resolver.__init__(self)

_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def _path_text(path: tuple) -> str:
    return ".".join(map(str, path))


class _Mark:
    """A place given by its line (1-based) alone, like a yaml Mark's ``line`` (0-based)."""

    def __init__(self, line: int):
        self.line = line - 1


def _walk(node, lines: dict, source: str) -> None:
    """Record the line of every key path; refuse duplicate and complex keys, recursive
    aliases, alias bombs, nesting beyond the limit and over-long numbers.

    A node reached a second time is an alias; the nodes it adds count against
    :data:`MAX_ALIAS_NODES`."""
    seen: set[int] = set()
    budget = [MAX_ALIAS_NODES]

    ancestors: set[int] = set()    # the containers on the path to the node visited

    def visit(node, path: tuple, alias_mark) -> None:
        # alias_mark: where the alias this node is reached through was used (None: not through an alias)
        mark = alias_mark or node.start_mark
        if len(path) > MAX_DEPTH:
            raise _Limit(f"nested more than {MAX_DEPTH} levels deep (through aliases)", mark, path)
        if id(node) in ancestors:
            raise _Limit("a recursive alias (an anchor used inside itself) is not allowed", mark, path)
        if alias_mark is None and id(node) in seen:
            alias_mark = mark = _Mark(lines.get(path, lines.get(path[:-1], 1)))
        seen.add(id(node))
        if alias_mark is not None:
            budget[0] -= 1
            if budget[0] < 0:
                raise _Limit(f"aliases expand to more than {MAX_ALIAS_NODES:,} values; use fewer aliases",
                             mark, path)
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            if node.tag in _NUMBER_TAGS and len(node.value) > MAX_NUMBER_CHARS:
                raise _Limit(f"a number of {len(node.value):,} characters; at most {MAX_NUMBER_CHARS} are read",
                             mark, path)
            return
        ancestors.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys = set()
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise _Limit("a key must be a plain name, not a list or a mapping (complex keys, "
                                 "'? ...', are not allowed)", key_node.start_mark, path)
                if key_node.tag in _NUMBER_TAGS and len(key_node.value) > MAX_NUMBER_CHARS:
                    raise _Limit(f"a key of {len(key_node.value):,} digits", key_node.start_mark, path)
                key = key_node.value
                if key in keys:
                    raise _Limit(f"key '{key}' appears twice", key_node.start_mark, path + (key,))
                keys.add(key)
                lines[path + (key,)] = key_node.start_mark.line + 1
                visit(value_node, path + (key,), alias_mark)
                lines[path + (key,)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                visit(item, path + (i,), alias_mark)
        ancestors.discard(id(node))

    visit(node, (), None)


def _line_of_position(text: str, position: int | None) -> int | None:
    if position is None or position < 0:
        return None
    return text.count("\n", 0, position) + 1


# Texts that libyaml and the Python parser read differently (found by comparing the two on
# edited scenarios; tests/test_loading_unit.py keeps comparing them), read by the Python parser
# alone: those holding a character of _SLOW_CHARACTERS (tags, tabs, line breaks other than \n,
# byte order marks) or matching _SLOW_PATTERN (a ? before anything but a blank, as in [?x];
# a block scalar's header followed by #).
_SLOW_CHARACTERS = frozenset("!\t\r\x85\u2028\u2029\ufeff")
_SLOW_PATTERN = re.compile(r"\?[^ \n]|[|>][-+0-9]*#")


def _compose_fast(text: str, source: str) -> tuple[Any, dict]:
    """(the node tree, the line of every key path) as libyaml composes ``text``;
    (None, {}) when libyaml is not installed, for a text the two parsers may
    read differently, and for any text or tree that :func:`parse_yaml` would
    not read without a problem: the Python parser then reads the text and
    says what is wrong."""
    if _CParser is None or not _SLOW_CHARACTERS.isdisjoint(text) or _SLOW_PATTERN.search(text):
        return None, {}
    parser = None
    try:
        parser = _CParser(text)
        node = parser.get_single_node()
        if not isinstance(node, yaml.MappingNode):     # (a scenario is a mapping; anything else is refused)
            return None, {}
        lines: dict = {}
        _walk(node, lines, source)
        return node, lines
    except Exception:       # any problem at all: the Python parser's reading and message stand
        return None, {}
    finally:
        if parser is not None:
            parser.dispose()


def parse_yaml(text: str, source: str = "scenario") -> tuple[Any, dict]:
    """Parse YAML text with the safe loader and the limits above; return
    (data, {path: line}). Raises only :class:`ScenarioError`."""
    if not isinstance(text, str):
        raise TypeError(f"parse_yaml takes text (str), not {type(text).__name__}")
    nul = text.find("\x00")
    if nul >= 0:
        raise _fail(source, "contains a NUL byte (a binary file?); a scenario is YAML text",
                    _line_of_position(text, nul))
    loader = None
    try:
        loader = _Loader(text)
        node, lines = _compose_fast(text, source)
        if node is None:
            node = loader.get_single_node()
            if node is None:
                raise _fail(source, "the file is empty")
            lines = {}
            _walk(node, lines, source)
        data = loader.construct_document(node)
    except ScenarioError:
        raise
    except _Limit as exc:
        line = exc.mark.line + 1 if exc.mark is not None else None
        raise _fail(source, exc.message, line, _path_text(exc.path)) from None
    except yaml.reader.ReaderError as exc:
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        raise _fail(source, f"not valid YAML: the character {printable(chr(code))} (U+{code:04X}) is not allowed",
                    _line_of_position(text, exc.position)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        raise _fail(source, f"not valid YAML: {context + ', ' if context else ''}{problem}", line) from None
    except RecursionError:
        raise _fail(source, "not readable: nested too deeply") from None
    except MemoryError:
        raise _fail(source, "not readable: it needs more memory than is available") from None
    except (ValueError, TypeError, OverflowError, UnicodeError) as exc:
        raise _fail(source, f"not readable as YAML: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, lines
