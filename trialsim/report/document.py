"""The document model of a report: what both the HTML and the PDF show.

A document is a list of sections of blocks (paragraphs, tables, figures,
preformatted text); paragraphs and cells are lists of fragments (text,
:class:`Num`, :class:`Code`, :class:`Strong`). The HTML and the PDF are both
rendered from one document, so they cannot disagree.

Every number a test or a reader may check is a :class:`Num`; in the HTML it is
``<span class="num" id="KEY" data-value="EXACT">shown</span>``.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trialsim import figures


@dataclass(frozen=True)
class Num:
    """A number in the report: ``key`` is its HTML id, ``value`` the exact
    value (``data-value``), ``text`` what is shown."""

    key: str
    value: float | int | str
    text: str
    kind: str = "num"


@dataclass(frozen=True)
class Code:
    text: str
    kind: str = "code"


@dataclass(frozen=True)
class Strong:
    text: str
    kind: str = "strong"


Fragment = Any   # str | Num | Code | Strong


@dataclass
class Para:
    parts: list
    kind: str = "para"
    style: str = "body"          # body | note | small


@dataclass
class Table:
    header: list[str]
    rows: list[list]             # cells: a fragment or a list of fragments
    widths: list[float]          # fractions of the text width
    groups: set[int] = field(default_factory=set)   # rows shown as group headings (one cell)
    muted: set[int] = field(default_factory=set)    # rows shown in grey (defaults)
    numeric: set[int] = field(default_factory=set)  # right-aligned columns
    kind: str = "table"
    small: bool = False
    id: str | None = None


@dataclass
class FigureBlock:
    """A figure: SVG in the HTML, PNG in the PDF, both drawn from one
    matplotlib figure when first asked for (a report that writes only one
    format renders only that one)."""

    width_px: int
    height_px: int
    caption: list
    alt: str
    id: str
    kind: str = "figure"
    fig: Any = field(default=None, repr=False, compare=False)
    _png: bytes | None = field(default=None, repr=False)
    _svg: bytes | None = field(default=None, repr=False)

    @property
    def png(self) -> bytes:
        if self._png is None:
            self._png = figures.to_png(self.fig)
        return self._png

    @property
    def svg(self) -> bytes:
        if self._svg is None:
            self._svg = figures.to_svg(self.fig)
        return self._svg

    @property
    def data_uri(self) -> str:
        """The SVG as a data URI, for the HTML's <img>."""
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg).decode("ascii")

    @property
    def png_data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")

    @classmethod
    def from_figure(cls, fig, *, caption: list, alt: str, id: str) -> "FigureBlock":
        """The block of a matplotlib figure; its size in CSS pixels at the figures' resolution."""
        w, h = (int(round(v * figures.DPI)) for v in fig.get_size_inches())
        return cls(width_px=w, height_px=h, caption=caption, alt=alt, id=id, fig=fig)


@dataclass
class Pre:
    text: str
    title: str = ""
    kind: str = "pre"


@dataclass
class Section:
    id: str
    title: str
    blocks: list


@dataclass
class Document:
    title: str
    subtitle: str
    meta: list[tuple[str, Any]]
    key_results: Table
    sections: list[Section]
    warnings: list[str] = field(default_factory=list)    # the run's warnings, shown above the key results
    key_note: list = field(default_factory=list)         # fragments under the key results (trials behind each)


# --------------------------------------------------------------------------
# Formatting: numbers as shown, and the Num that keeps them exact


def fmt(x: float | int | None, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:,.{digits}f}"


def num(key: str, value, digits: int = 0, pct: bool = False) -> Num:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return Num(key, "nan", "-")
    if pct:
        return Num(key, float(value), f"{value:.{digits}%}")
    return Num(key, value if isinstance(value, (int, np.integer)) else float(value), fmt(value, digits))


def dist_cells(key: str, d: dict | None, digits: int = 0, pct: bool = False) -> list:
    """Mean, median, 10th and 90th centile cells of a distribution."""
    if d is None:
        return ["-", "-", "-"]
    return [num(f"{key}-mean", d["mean"], digits, pct), num(f"{key}-median", d["median"], digits, pct),
            [num(f"{key}-p10", d["p10"], digits, pct), " to ", num(f"{key}-p90", d["p90"], digits, pct)]]
