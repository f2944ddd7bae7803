"""A scenario file as a report reads it: text, SHA-256, key lines and comments.

The assumptions table shows, beside every value, the comment the file gives
it (its source, or the reason for an assumption); so the report reads the
YAML comments that the scenario loader ignores. The reader is line-based and
knows only as much YAML as scenario files use: quotes, flow mappings, block
scalars.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from trialsim.scenario import Scenario, load_scenario, parse_yaml

_BLOCK_SCALAR = re.compile(r":\s*[|>][-+0-9]*\s*$")


def split_comment(line: str) -> tuple[str, str | None, int | None]:
    """(code, comment text, column of '#') of one YAML line. A '#' starts a
    comment at the start of a line or after whitespace, outside quotes; a
    quote opens a quoted scalar only where a value starts."""
    quote = None
    prev = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"" and (prev.strip() == "" or prev.rstrip()[-1:] in ":-[{,"):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip(), line[i + 1:].strip(), i
        prev = line[: i + 1]
    return line.rstrip(), None, None


def read_comments(text: str) -> tuple[str, dict[int, str], dict[int, str]]:
    """The comments of a scenario file, line by line.

    Returns (header, trailing, preceding): ``header`` is the comment block
    before the first key (verbatim, '# ' removed); ``trailing[n]`` the comment
    at the end of line n (1-based) joined with the comment-only lines below it
    aligned on the same column; ``preceding[n]`` the comment-only lines right
    above line n (no blank line between). Lines inside block scalars
    (``description: >``) are text, not comments.
    """
    lines = text.splitlines()
    header: list[str] = []
    trailing: dict[int, str] = {}
    preceding: dict[int, str] = {}
    seen_key = False
    block: list[str] = []          # pending comment-only lines
    cont_of: int | None = None     # line whose trailing comment continues
    cont_col: int | None = None
    scalar_indent: int | None = None
    for n, raw in enumerate(lines, start=1):
        indent = len(raw) - len(raw.lstrip(" "))
        if scalar_indent is not None:
            if raw.strip() == "" or indent > scalar_indent:
                continue
            scalar_indent = None
        code, comment, col = split_comment(raw)
        if code.strip() == "":
            if comment is None:            # blank line: ends blocks and continuations
                if not seen_key and block:
                    header.extend(block + [""])
                block, cont_of = [], None
                continue
            if cont_of is not None and col == cont_col:
                trailing[cont_of] += " " + comment
                continue
            cont_of = None
            if not seen_key:
                block.append(raw.strip()[1:].strip())
            else:
                block.append(comment)
            continue
        # A line with code.
        if not seen_key:
            header.extend(block)
            block = []
            seen_key = True
        if block:
            preceding[n] = " ".join(b for b in block if b)
            block = []
        if comment:
            trailing[n] = comment
            cont_of, cont_col = n, col
        else:
            cont_of = None
        if _BLOCK_SCALAR.search(code):
            scalar_indent = indent
    while header and header[-1] == "":
        header.pop()
    return "\n".join(header), trailing, preceding


@dataclass
class ScenarioFile:
    """A scenario file as read for a report: text, SHA-256, the validated
    scenario, the raw YAML data, the line of every key path, and comments."""

    path: Path
    text: str
    sha256: str
    scenario: Scenario
    data: dict
    lines: dict
    header: str
    trailing: dict[int, str]
    preceding: dict[int, str]

    @classmethod
    def read(cls, path: str | os.PathLike, *, text: str | None = None) -> "ScenarioFile":
        """The scenario file ``path``; or, given ``text`` (a scenario read
        from standard input), that text, with ``path`` only its name."""
        path = Path(path)
        if text is not None:
            scenario = load_scenario(str(path), text=text)
            raw = text.encode("utf-8")
        else:
            scenario = load_scenario(path)            # ScenarioError names file, line and field
            raw = path.read_bytes()
            text = raw.decode("utf-8")
        data, lines = parse_yaml(text, str(path))
        header, trailing, preceding = read_comments(text)
        return cls(path=path, text=text, sha256=hashlib.sha256(raw).hexdigest(), scenario=scenario, data=data,
                   lines=lines, header=header, trailing=trailing, preceding=preceding)

    def comment(self, path: tuple) -> str | None:
        """The comment a scenario file gives a key path: the lines above it,
        then the comment at the end of its line."""
        line = self.lines.get(tuple(path))
        if line is None:
            return None
        parts = [self.preceding.get(line), self.trailing.get(line)]
        text = " ".join(p for p in parts if p)
        return text or None
