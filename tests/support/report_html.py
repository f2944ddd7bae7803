"""Reading a report's numbers back out of its HTML, for the report's tests.

Every number of a report is ``<span class="num" id=... data-value=...>``; the
tests compare these with a fresh simulation. Not a test module: a helper the
report's test files share.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser


class _Numbers(HTMLParser):
    """Collects the report's numbers: id -> (data-value, shown text); and every src/href."""

    def __init__(self):
        super().__init__()
        self.numbers: dict[str, tuple[str, str]] = {}
        self.ids: list[str] = []
        self.refs: list[tuple[str, str]] = []
        self._open: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        for k in ("src", "href"):
            if k in a:
                self.refs.append((tag, a[k]))
        if tag == "link" or tag == "script":
            self.refs.append((tag, a.get("src") or a.get("href") or "inline"))
        if tag == "span" and "num" in (a.get("class") or "").split():
            self._open = a["id"]
            self._value = a["data-value"]
            self._text = ""

    def handle_data(self, data):
        if self._open is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "span" and self._open is not None:
            self.numbers[self._open] = (self._value, self._text)
            self._open = None


def parse(html_text: str) -> _Numbers:
    p = _Numbers()
    p.feed(html_text)
    return p


def value(numbers, key) -> float:
    return float(numbers.numbers[key][0])


def _sweep_json(tmp_path, scenario_path, rows, provenance=None, name="sweep.json"):
    obj = {"rows": rows, "provenance": provenance or {}}
    p = tmp_path / name
    p.write_text(json.dumps(obj))
    return p
