"""Protocol reports: the simulation report a protocol's statistical section can attach.

``make_report(path, ...)`` simulates a scenario file, runs the default power
sweeps (or reads a sweep's results), and writes ``report.html`` (self-contained:
figures as base64 PNG, CSS inline, no network needed) and ``report.pdf`` (A4)
of the same content, atomically. Both are rendered from one document model (a
list of sections of blocks), so they cannot disagree: the HTML through the
jinja2 templates in ``trialsim/templates``, the PDF through reportlab.

Every number a test or a reader may check is a :class:`Num`; in the HTML it is
``<span class="num" id="KEY" data-value="EXACT">shown</span>``.

The default sweep (docs/reports.md): common random numbers (the run's seed at
every point) over

* the treatment effect at the design's enrolment: the treatment arm's
  ``eradication`` when the scenario has an MRD model and the design assumes
  eradication > 0, else its ``hazard_ratio``;
* the enrolment at the design's effect, with the events target scaled in
  proportion (the same design, larger or smaller).

Sizes for 80% and 90% power are read off the simulated enrolment curve by
linear interpolation between grid points.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import math
import os
import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from trialsim import __version__
from trialsim.atomic import write_files_atomically
from trialsim.montecarlo import wilson_interval
from trialsim.scenario import Scenario, load_scenario, parse_yaml

HTML_NAME = "report.html"
PDF_NAME = "report.pdf"
TARGETS = (0.8, 0.9)
ENROLMENT_FACTORS = (0.4, 0.55, 0.7, 0.85, 1.0, 1.2, 1.4)
TIMELINE_MONTHS = 240


class ReportError(ValueError):
    """A user's input to a report is wrong (unreadable or foreign sweep, bad option)."""


# --------------------------------------------------------------------------
# The scenario file: text, hash, comments


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
    def read(cls, path: str | os.PathLike) -> "ScenarioFile":
        path = Path(path)
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


# --------------------------------------------------------------------------
# The document model: what both the HTML and the PDF show


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
    png: bytes
    width_px: int
    height_px: int
    caption: list
    alt: str
    id: str
    kind: str = "figure"

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


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


def _figure(fig, *, caption: list, alt: str, id: str) -> FigureBlock:
    from trialsim import figures

    png = figures.to_png(fig)
    w, h = (int(round(v * figures.DPI)) for v in fig.get_size_inches())
    return FigureBlock(png=png, width_px=w, height_px=h, caption=caption, alt=alt, id=id)


# --------------------------------------------------------------------------
# Formatting


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


def value_text(v: Any) -> str:
    """A scenario value as text: numbers as written, curves in words."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.10g}" if abs(v) >= 1000 else f"{v:.10g}"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return ", ".join(value_text(x) for x in v)
    if isinstance(v, dict):
        return curve_text(v)
    return str(v)


def curve_text(d: dict) -> str:
    if len(d) != 1:
        return "; ".join(f"{k} {value_text(v)}" for k, v in d.items())
    kind, body = next(iter(d.items()))
    if kind == "reference":
        return f"reference curve {body}"
    if kind == "fixed":
        return value_text(body)
    if kind == "uniform":
        return f"uniform from {value_text(body[0])} to {value_text(body[1])}"
    if kind == "exponential":
        if "cumulative" in body:
            return f"exponential, {value_text(body['cumulative'])} cumulative at {value_text(body['at'])}"
        k, v = next(iter(body.items()))
        return f"exponential, {k} {value_text(v)}"
    if kind == "weibull":
        return "Weibull, " + ", ".join(f"{k} {value_text(v)}" for k, v in body.items())
    if kind == "piecewise_exponential":
        return (f"piecewise exponential, breaks {value_text(body['breaks'])}; "
                f"rates {value_text(body['rates'])}")
    if kind == "cure":
        return f"cure fraction {value_text(body['fraction'])} of {curve_text(body['curve'])}"
    if kind == "proportional":
        return f"hazard ratio {value_text(body['hazard_ratio'])} times {curve_text(body['curve'])}"
    if kind == "table":
        if "file" in body:
            return f"table from {body['file']}"
        return f"table of {len(body.get('times', []))} points"
    return f"{kind}: {body}"


# --------------------------------------------------------------------------
# 1. Assumptions


_CURVE_KEYS = {"recurrence", "other_cause_death", "lead_time", "time_since_diagnosis", "turnaround"}
_SKIP = {("format",), ("name",), ("description",)}

_GROUP_TITLES = {"simulation": "Simulation", "accrual": "Accrual", "population": "Population", "mrd": "MRD model",
                 "screening": "Screening", "arms": "Arms", "trial": "Trial and analysis"}


def unit(path: tuple, sc: Scenario) -> str:
    """The unit of a scenario value, from its key path."""
    keys = [k for k in path if isinstance(k, str)]
    last = keys[-1]
    parent = keys[-2] if len(keys) > 1 else ""
    arrivals = "survivors" if sc.screening is not None else "patients"
    table = {
        "replicates": "simulated trials", "seed": "-",
        "count": "sites" if parent == "sites" else "visits",
        "open_over": "months", "every": "months",
        "share": "proportion", "time_since_diagnosis": "months from diagnosis at entry",
        "recurrence": "curve of months from diagnosis", "other_cause_death": "curve of months from entry",
        "lead_time": "months", "dormant_share": "proportion", "prevalence": "proportion",
        "hazard_ratio": "ratio", "onset_rate": "per month", "clearance_rate": "per month",
        "name": "-", "sensitivity": "probability per test", "specificity": "probability per test",
        "failure": "probability per test", "turnaround": "months", "cost": "currency units per test",
        "imaging_lead": "months", "consent": "probability", "max_screened": "survivors",
        "max_months": "months", "allocation": "ratio weight", "eradication": "probability", "delay": "months",
        "enrollment": "patients", "endpoint": "-", "death": "-", "annual": "proportion per year",
        "events": "events", "test": "-", "alpha": "type I error", "sided": "sides",
        "looks": "information fractions", "spending": "-", "stratified": "-", "beta": "type II error",
        "at": "months after randomisation", "model": "-",
    }
    if last == "rate":
        if "accrual" in keys:
            return f"{arrivals} per month"
        return "per month"
    if last == "months":
        if "piecewise" in keys:
            return "months"
        return "months after the last randomisation"
    if last == "hazard_ratio" and "mrd" in keys:
        return "ratio, MRD-positive vs negative"
    if last == "hazard_ratio" and "arms" in keys:
        return "ratio, on the residual hazard"
    return table.get(last, "-")


def _leaves(node: Any, path: tuple) -> Iterable[tuple[tuple, Any]]:
    """(path, value) of the values of a scenario mapping; curves and
    distributions are one value each."""
    if isinstance(node, dict):
        for k, v in node.items():
            p = path + (k,)
            if p in _SKIP:
                continue
            if k in _CURVE_KEYS or (isinstance(v, dict) and not v) or (isinstance(v, list) and v and not isinstance(v[0], dict)):
                yield p, v
            elif isinstance(v, (dict, list)):
                yield from _leaves(v, p)
            else:
                yield p, v
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, path + (i,))


def assumptions_table(sf: ScenarioFile) -> tuple[Table, list[str]]:
    """One row per scenario value: parameter, value, unit, source (the file's
    comment on it); then the defaults in force that the file does not set.
    Returns the table and notes attached to lists (e.g. all strata)."""
    sc = sf.scenario
    rows: list[list] = []
    groups: set[int] = set()
    muted: set[int] = set()
    notes: list[str] = []
    written = {p for p, _ in _leaves(sf.data, ())}
    current_group = None
    last_comment_line = None

    def group_of(p: tuple) -> str:
        if p[0] == "population" and len(p) > 2 and p[1] == "strata" and isinstance(p[2], int):
            st = sc.population.strata[p[2]]
            return f"Population: stratum {st.name} ({p[2] + 1} of {len(sc.population.strata)})"
        return _GROUP_TITLES.get(p[0], p[0])

    def label(p: tuple) -> str:
        if p[0] == "population" and len(p) > 2 and p[1] == "strata":
            p = p[3:]
        else:
            p = p[1:]
        return ".".join(str(k) for k in p) or "-"

    for p, v in _leaves(sf.data, ()):
        g = group_of(p)
        if g != current_group:
            groups.add(len(rows))
            rows.append([g])
            current_group = g
            # A comment above the first stratum speaks of all strata.
            if p[:2] == ("population", "strata"):
                first = sf.lines.get(("population", "strata", 0))
                if p[2] == 0 and first in sf.preceding:
                    notes.append(f"On the strata: {sf.preceding[first]}")
        line = sf.lines.get(p)
        comment = sf.comment(p)
        if p[:2] == ("population", "strata") and len(p) > 3 and sf.lines.get(p[:3]) == line \
                and p[2] == 0 and line in sf.preceding:
            comment = sf.trailing.get(line)      # its block was the note on all strata
        if comment and line == last_comment_line:
            comment = "(the comment above: same line)"
        elif comment:
            last_comment_line = line
        rows.append([label(p), Code(value_text(v)), unit(p, sc), comment or ""])
    defaults = [(p, v) for p, v in _leaves(sc.to_dict(), ()) if p not in written and _relevant_default(p, sc)]
    if defaults:
        groups.add(len(rows))
        rows.append(["Defaults in force (not set in the file)"])
        for p, v in defaults:
            muted.add(len(rows))
            name = ".".join(str(k) for k in p)
            if p[:2] == ("population", "strata"):
                name = f"population.strata[{sc.population.strata[p[2]].name}]." + ".".join(map(str, p[3:]))
            rows.append([name, Code(value_text(v)), unit(p, sc), "trialsim default"])
    table = Table(header=["parameter", "value", "unit", "source (the scenario file's comment)"], rows=rows,
                  widths=[0.20, 0.17, 0.15, 0.48], groups=groups, muted=muted, small=True, id="assumptions-table")
    return table, notes


def _relevant_default(p: tuple, sc: Scenario) -> bool:
    if p[0] in ("simulation", "format", "name", "description"):
        return False
    if p[:2] == ("trial", "analysis") and p[-1] == "spending" and not sc.trial.analysis.looks:
        return False
    return True


# --------------------------------------------------------------------------
# Sweeps: power curves and the sizes they imply


@dataclass
class Curve:
    """A power curve: power at each value of one varied path (others fixed)."""

    path: str
    x: np.ndarray
    power: np.ndarray
    mcse: np.ndarray
    replicates: np.ndarray
    columns: dict[str, np.ndarray]           # other per-point figures (screened, randomized, events, ...)
    label: str = ""
    design_x: float | None = None
    fixed: dict[str, Any] = field(default_factory=dict)   # other varied paths held at these values
    analytic: np.ndarray | None = None

    @property
    def band(self) -> tuple[np.ndarray, np.ndarray]:
        return wilson_interval(self.power, self.replicates)


@dataclass
class ReadOff:
    """Where a curve reaches a target power: ``value`` by linear
    interpolation, with the range where its 95% band reaches it; ``status``
    is 'ok', 'below' (already at the first point) or 'not_reached'."""

    target: float
    status: str
    value: float | None = None
    band: tuple[float | None, float | None] = (None, None)
    at: dict[str, float] = field(default_factory=dict)    # other columns interpolated at value


def _crossing(x: np.ndarray, p: np.ndarray, target: float, increasing: bool) -> tuple[str, float | None]:
    order = np.argsort(x) if increasing else np.argsort(-x)
    xs, ps = x[order], p[order]
    hit = np.flatnonzero(ps >= target)
    if hit.size == 0:
        return "not_reached", None
    j = int(hit[0])
    if j == 0:
        return "below", float(xs[0])
    x0, x1, p0, p1 = xs[j - 1], xs[j], ps[j - 1], ps[j]
    return "ok", float(x0 + (target - p0) * (x1 - x0) / (p1 - p0))


def read_off(curve: Curve, target: float, increasing: bool = True) -> ReadOff:
    status, value = _crossing(curve.x, curve.power, target, increasing)
    lo, hi = curve.band
    _, v_hi = _crossing(curve.x, hi, target, increasing)    # the upper band reaches it first
    _, v_lo = _crossing(curve.x, lo, target, increasing)
    out = ReadOff(target=target, status=status, value=value if status == "ok" else None, band=(v_hi, v_lo))
    if status == "ok":
        order = np.argsort(curve.x)
        for k, col in curve.columns.items():
            col = np.asarray(col, dtype=float)
            if np.all(np.isfinite(col)):
                out.at[k] = float(np.interp(value, curve.x[order], col[order]))
    return out


def effect_path(sc: Scenario) -> str:
    """The treatment effect a default sweep varies (docs/reports.md)."""
    arm = sc.arms[sc.treatment_arm]
    if sc.mrd is not None and arm.eradication > 0:
        return f"arms.{sc.treatment_arm}.eradication"
    return f"arms.{sc.treatment_arm}.hazard_ratio"


def effect_grid(sc: Scenario) -> list[float]:
    arm = sc.arms[sc.treatment_arm]
    if effect_path(sc).endswith("eradication"):
        d = arm.eradication
        grid = [k * d / 3 for k in range(7)] if 2 * d <= 1 else list(np.linspace(0, 1, 7)) + [d]
        grid = [min(1.0, g) for g in grid]
    else:
        h = arm.hazard_ratio
        grid = [1 - k * (1 - h) / 3 for k in range(7)] if h < 1 else [1 - 0.1 * k for k in range(7)] + [h]
        grid = [g for g in grid if g >= 0.05]
    return sorted({round(float(g), 10) for g in grid})


def enrolment_grid(sc: Scenario) -> list[tuple[int, int | None]]:
    """(enrolment, events target) pairs: the design scaled by ENROLMENT_FACTORS."""
    n, e = sc.trial.enrollment, sc.trial.analysis.events
    pairs = []
    for f in ENROLMENT_FACTORS:
        nf = max(4, int(round(n * f))) if f != 1.0 else n
        ef = (min(nf, max(1, int(round(e * f)))) if f != 1.0 else e) if e is not None else None
        pairs.append((nf, ef))
    return sorted(set(pairs))


def set_path(data: dict, path: str, value: Any) -> None:
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    node = data
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value


def get_path(data: dict, path: str) -> Any:
    node = data
    for k in path.split("."):
        node = node[int(k)] if k.isdigit() else node[k]
    return node


def point_summary(result) -> dict[str, float]:
    """The per-point figures a power curve keeps, from a run."""
    return summary_point(result.summary())


def summary_point(s: dict) -> dict[str, float]:
    """The per-point figures a power curve keeps (means over replicates) from
    the operating characteristics of `trialsim run`."""
    out = {"power": s["power"], "power_mcse": s["power_mcse"], "replicates": s["replicates"]}
    for key in ("screened", "randomized", "events", "analysis_month", "last_randomized_month", "assays",
                "assay_cost"):
        d = s.get(key)
        out[key] = d["mean"] if d else float("nan")
    out["enrollment_reached_share"] = s["enrollment_reached_share"]
    return out


def default_sweeps(sc: Scenario, design_point: dict, *, replicates: int, seed: int, workers: int,
                   progress: Callable[[int], None] | None = None) -> list[Curve]:
    """Power over the treatment effect and over the enrolment (events scaled),
    with trialsim.sweep and the run's seed at every point (common random
    numbers). ``design_point`` is the run itself (a sweep gives the same)."""
    from trialsim.sweeps import run_sweep

    base = sc.to_dict()
    epath = effect_path(sc)
    design_effect = float(get_path(base, epath))
    egrid = effect_grid(sc)
    ngrid = enrolment_grid(sc)

    def ticker():
        last = [0]

        def tick(points_done, points, reps_done, reps):
            if progress and reps_done > last[0]:
                progress(reps_done - last[0])
                last[0] = reps_done
        return tick

    eff = [design_point if v == design_effect else None for v in egrid]
    others = [v for v in egrid if v != design_effect]
    if others:
        res = run_sweep(sc, {epath: others}, replicates=replicates, seed=seed, workers=workers, progress=ticker())
        for p in res.points:
            eff[egrid.index(others[p["point"]])] = summary_point(p["summary"])
    enr = []
    for n, e in ngrid:
        if n == sc.trial.enrollment:
            enr.append(design_point)
            continue
        d = _copy(base)
        d["trial"]["enrollment"] = n
        if e is not None:
            d["trial"]["analysis"]["events"] = e
        res = run_sweep(Scenario.from_dict(d), None, replicates=replicates, seed=seed, workers=workers,
                        progress=ticker())
        enr.append(summary_point(res.points[0]["summary"]))
    return [
        _curve(epath, np.array(egrid), eff, design_x=design_effect),
        _curve("trial.enrollment", np.array([n for n, _ in ngrid], dtype=float), enr,
               design_x=float(sc.trial.enrollment),
               extra={"trial.analysis.events": np.array([np.nan if e is None else e for _, e in ngrid], float)}),
    ]


def _copy(d):
    import copy

    return copy.deepcopy(d)


def _curve(path: str, x: np.ndarray, rows: list[dict], design_x=None, extra=None) -> Curve:
    cols = {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0]
            if k not in ("power", "power_mcse", "replicates")}
    cols.update(extra or {})
    return Curve(path=path, x=x.astype(float), power=np.array([r["power"] for r in rows], float),
                 mcse=np.array([r["power_mcse"] for r in rows], float),
                 replicates=np.array([r["replicates"] for r in rows], float), columns=cols,
                 label=path_label(path), design_x=design_x)


def path_label(path: str) -> str:
    last = path.split(".")[-1]
    return {
        "eradication": "probability the treatment eradicates MRD",
        "hazard_ratio": "hazard ratio, treatment vs control" if ".arms." in f".{path}." else "hazard ratio",
        "enrollment": "patients randomised (enrolment target)",
        "events": "events at the analysis",
        "sensitivity": "test sensitivity",
        "specificity": "test specificity",
        "prevalence": "MRD prevalence",
    }.get(last, path)


# -- sweep results from a file ----------------------------------------------

_SWEEP_FILES = ("sweep.json", "sweep.parquet", "sweep.csv")


def read_sweep(path: str | os.PathLike, sf: ScenarioFile) -> tuple[list[Curve], dict]:
    """Power curves from a sweep's results: a file (.json, .csv, .parquet) or
    the folder ``trialsim sweep --out`` wrote. Refuses results whose
    provenance names another scenario. Returns (curves, info)."""
    import pandas as pd

    p = Path(path)
    if not p.exists():
        raise ReportError(f"--sweep {p}: no such file or folder")
    if p.is_dir():
        found = [p / n for n in _SWEEP_FILES if (p / n).is_file()]
        if not found:
            found = sorted(q for q in p.iterdir() if q.suffix in (".json", ".parquet", ".csv"))
        if not found:
            raise ReportError(f"--sweep {p}: the folder holds no sweep results (.json, .parquet or .csv)")
        file = found[0]
    else:
        file = p
    provenance: dict = {}
    vary: list[str] = []
    try:
        if file.suffix == ".json":
            import json

            obj = json.loads(file.read_text(encoding="utf-8"))
            rows = obj
            if isinstance(obj, dict):
                provenance = obj.get("provenance") or {}
                for key in ("rows", "table", "points", "results", "grid"):
                    if isinstance(obj.get(key), list):
                        rows = obj[key]
                        break
                else:
                    raise ReportError(f"--sweep {file}: a JSON object without a list of rows "
                                      "(rows, table, points or results)")
                v = obj.get("vary") or provenance.get("vary")
                if isinstance(v, dict):
                    vary = list(v)
                elif isinstance(v, list):
                    vary = [str(x) for x in v]
            if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
                raise ReportError(f"--sweep {file}: expected a list of rows, one per grid point")
            frame = _frame_from_rows(rows)
        elif file.suffix == ".parquet":
            frame = pd.read_parquet(file)
        elif file.suffix == ".csv":
            frame = pd.read_csv(file)
        else:
            raise ReportError(f"--sweep {file}: unknown format (expected .json, .csv or .parquet)")
    except ReportError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ReportError(f"--sweep {file}: cannot be read: {exc}") from None
    except Exception as exc:  # pyarrow and pandas parser errors have their own classes
        raise ReportError(f"--sweep {file}: cannot be read: {type(exc).__name__}: {exc}") from None
    import json

    manifest: dict = {}
    for sib in ("sweep.json", "manifest.json"):
        q = file.with_name(sib)
        if q == file or not q.is_file():
            continue
        try:
            obj = json.loads(q.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if sib == "sweep.json" and not provenance and isinstance(obj, dict):
            provenance = obj.get("provenance") or {}
            v = provenance.get("vary")
            if not vary and isinstance(v, dict):
                vary = list(v)
        elif sib == "manifest.json" and isinstance(obj, dict):
            manifest = obj
    _check_sweep_scenario(file, provenance, manifest, sf)
    if "power" not in frame.columns:
        raise ReportError(f"--sweep {file}: no 'power' column; columns are {', '.join(map(str, frame.columns))}")
    if not vary:
        vary = [c for c in frame.columns if "." in str(c) and frame[c].nunique() > 1
                and _is_scenario_path(sf.scenario, str(c))]
    vary = [v for v in vary if v in frame.columns]
    if not vary:
        raise ReportError(f"--sweep {file}: no varied scenario path among its columns "
                          f"({', '.join(map(str, frame.columns))})")
    reps = provenance.get("replicates")
    curves = curves_from_frame(frame, vary, sf.scenario, replicates=reps)
    info = {"file": str(file), "sha256": hashlib.sha256(file.read_bytes()).hexdigest(), "vary": vary,
            "provenance": provenance, "rows": len(frame)}
    return curves, info


def _frame_from_rows(rows: list[dict]):
    """A table from JSON rows: distributions ({mean, median, p10, p90}) become
    their mean; other nested mappings become dotted columns."""
    import pandas as pd

    flat = []
    for r in rows:
        out: dict = {}

        def walk(d, prefix):
            for k, v in d.items():
                key = f"{prefix}{k}"
                if isinstance(v, dict) and "mean" in v and "p10" in v:
                    out[key] = v.get("mean")
                elif isinstance(v, dict) and key != "provenance":
                    walk(v, key + ".")
                elif key != "provenance":
                    out[key] = v
        walk(r, "")
        flat.append(out)
    return pd.DataFrame(flat)


def _is_scenario_path(sc: Scenario, path: str) -> bool:
    try:
        get_path(sc.to_dict(), path)
        return True
    except (KeyError, IndexError, TypeError, ValueError):
        return path.startswith("arms.") or path.startswith("trial.") or path.startswith("screening.")


def _check_sweep_scenario(file: Path, prov: dict, manifest: dict, sf: ScenarioFile) -> None:
    """Refuse a sweep made from another scenario: by the scenario stored in its
    provenance (as loaded), else by a stored hash (trialsim.sweep's content
    hash of the scenario, or the SHA-256 of the file)."""
    import json

    from trialsim.sweeps import scenario_hash

    mine = scenario_hash(sf.scenario)
    stored = prov.get("scenario")
    if isinstance(stored, dict):
        norm = lambda d: json.dumps({k: v for k, v in d.items() if k != "simulation"}, sort_keys=True)  # noqa: E731
        if norm(json.loads(json.dumps(stored))) != norm(json.loads(json.dumps(sf.scenario.to_dict()))):
            raise ReportError(f"--sweep {file}: made from another scenario ('{stored.get('name', '?')}' as loaded "
                              f"differs from {sf.path}); run the sweep on this scenario")
        return
    for source in (prov, manifest):
        h = source.get("scenario_sha256")
        if isinstance(h, str) and h:
            h = h.split(":", 1)[-1].lower()
            if h not in (mine, sf.sha256):
                raise ReportError(f"--sweep {file}: made from another scenario (hash {h[:12]}..., this scenario "
                                  f"{mine[:12]}...); run the sweep on {sf.path}")
            return
    name = prov.get("scenario_name")
    if isinstance(name, str) and name != sf.scenario.name:
        raise ReportError(f"--sweep {file}: made from scenario '{name}', not '{sf.scenario.name}'")


def curves_from_frame(frame, vary: list[str], sc: Scenario, replicates: int | None = None) -> list[Curve]:
    """One curve per combination of the other varied paths, over the first
    (enrolment or events first, when varied)."""
    order = sorted(vary, key=lambda v: (v not in ("trial.enrollment", "trial.analysis.events"), vary.index(v)))
    xpath, others = order[0], order[1:]
    curves = []
    groups = frame.groupby(others, sort=True) if others else [((), frame)]
    design = sc.to_dict()
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        g = g.sort_values(xpath)
        n = g["replicates"].to_numpy(float) if "replicates" in g else np.full(len(g), float(replicates or np.nan))
        mcse = g["power_mcse"].to_numpy(float) if "power_mcse" in g else np.full(len(g), np.nan)
        if not np.all(np.isfinite(n)):
            p = g["power"].to_numpy(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                n = np.where(mcse > 0, p * (1 - p) / mcse ** 2, np.nan)
        cols = {c: g[c].to_numpy(float) for c in g.columns
                if c not in ("power", "power_mcse", "replicates", xpath, *others)
                and np.issubdtype(g[c].dtype, np.number)}
        try:
            design_x = float(get_path(design, xpath))
        except (KeyError, IndexError, TypeError, ValueError):
            design_x = None
        curves.append(Curve(path=xpath, x=g[xpath].to_numpy(float), power=g["power"].to_numpy(float), mcse=mcse,
                            replicates=n, columns=cols, label=path_label(xpath), design_x=design_x,
                            fixed=dict(zip(others, key))))
    return curves


# --------------------------------------------------------------------------
# 6. Analytic companions


def is_conventional(sc: Scenario) -> bool:
    """A design Schoenfeld's formula speaks to: no screening, no MRD, a
    proportional effect from randomisation, the log-rank test."""
    t = sc.arms[sc.treatment_arm]
    c = sc.arms[sc.control_arm]
    return (sc.screening is None and sc.mrd is None and t.delay == 0 and c.delay == 0
            and sc.trial.analysis.test == "logrank" and sc.trial.endpoints[0] == "drfs")


def design_hazard_ratio(sc: Scenario, hazard_ratio: float | None = None) -> float:
    t = sc.arms[sc.treatment_arm]
    c = sc.arms[sc.control_arm]
    return (hazard_ratio if hazard_ratio is not None else t.hazard_ratio) / c.hazard_ratio


def allocation(sc: Scenario) -> float:
    return sc.arms[sc.treatment_arm].allocation / sc.arms[sc.control_arm].allocation


def schoenfeld_at(sc: Scenario, events: float, hazard_ratio: float | None = None) -> float:
    from trialsim.design import schoenfeld_power

    a = sc.trial.analysis
    return schoenfeld_power(events=max(events, 1e-9), hazard_ratio=design_hazard_ratio(sc, hazard_ratio),
                            alpha=a.alpha, sided=a.sided, allocation=allocation(sc))


def add_analytic(curve: Curve, sc: Scenario) -> None:
    """Schoenfeld's power at each point's mean simulated events (conventional designs)."""
    if not is_conventional(sc) or "events" not in curve.columns:
        return
    ev = curve.columns["events"]
    hr_path = f"arms.{sc.treatment_arm}.hazard_ratio"
    other = set(curve.fixed) - {hr_path}
    if other - {"trial.enrollment", "trial.analysis.events"} and not all(p.startswith("accrual.") for p in other):
        return      # another varied path changes what Schoenfeld's inputs are
    hr = curve.fixed.get(hr_path)
    if curve.path == hr_path:
        curve.analytic = np.array([schoenfeld_at(sc, e, h) for e, h in zip(ev, curve.x)])
    elif curve.path in ("trial.enrollment", "trial.analysis.events") or curve.path.startswith("accrual."):
        curve.analytic = np.array([schoenfeld_at(sc, e, hr) for e in ev])


# --------------------------------------------------------------------------
# Building the report


@dataclass
class Report:
    """What ``make_report`` made: paths written (when ``out`` was given),
    the document, the run, and the power curves."""

    document: Document
    html: str
    pdf: bytes
    result: Any
    curves: list[Curve]
    reads: dict
    scenario_file: ScenarioFile
    command: str
    typical_replicate: int
    html_path: Path | None = None
    pdf_path: Path | None = None


def reproduce_command(scenario_path: str | os.PathLike, *, replicates: int, seed: int,
                      sweep: str | os.PathLike | None, out: str | os.PathLike | None) -> str:
    parts = ["trialsim", "report", str(scenario_path)]
    if sweep is not None:
        parts += ["--sweep", str(sweep)]
    parts += ["--replicates", str(replicates), "--seed", str(seed)]
    if out is not None:
        parts += ["--out", str(out)]
    return " ".join(shlex.quote(p) for p in parts)


def make_report(scenario_path: str | os.PathLike, *, out: str | os.PathLike | None = None,
                sweep: str | os.PathLike | None = None, replicates: int | None = None, seed: int | None = None,
                workers: int | None = None, progress: Callable[[int, int], None] | None = None,
                command: str | None = None) -> Report:
    """Simulate a scenario file and build its report; write ``report.html``
    and ``report.pdf`` into ``out`` (atomically) when given.

    Raises :class:`~trialsim.scenario.ScenarioError` for a bad scenario and
    :class:`ReportError` for a bad sweep or option.
    """
    from trialsim.engine import default_workers, draw_seed, patient_table, simulate

    sf = ScenarioFile.read(scenario_path)
    sc = sf.scenario
    replicates = replicates if replicates is not None else sc.simulation.replicates
    if replicates < 2:
        raise ReportError(f"--replicates must be at least 2 for a report, got {replicates}")
    seed = seed if seed is not None else sc.simulation.seed
    if seed is None:
        seed = draw_seed()
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ReportError(f"--workers must be at least 1, got {workers}")
    given_curves, sweep_info = (read_sweep(sweep, sf) if sweep is not None else (None, None))

    n_points = 0 if given_curves is not None else (len(effect_grid(sc)) + len(enrolment_grid(sc)) - 2)
    total = replicates * (1 + n_points)
    done = [0]

    def tick(k: int) -> None:
        done[0] += k
        if progress:
            progress(min(done[0], total), total)

    result = simulate(sc, replicates=replicates, seed=seed, workers=workers, timeline=TIMELINE_MONTHS,
                      progress=(lambda d, t: progress(d, total)) if progress else None)
    done[0] = replicates
    horizon = _finite_max(result.table["analysis_month"])
    if horizon > TIMELINE_MONTHS:     # rare: re-run with a timeline long enough (same seed, same results)
        result = simulate(sc, replicates=replicates, seed=seed, workers=workers,
                          timeline=int(min(600, math.ceil(horizon) + 12)))
    design_point = point_summary(result)
    if given_curves is not None:
        curves = given_curves
    else:
        curves = default_sweeps(result.scenario, design_point, replicates=replicates, seed=seed, workers=workers,
                                progress=tick)
    for c in curves:
        add_analytic(c, sc)

    # The typical replicate: the one whose statistic is the median.
    z = np.asarray(result.table["z"], dtype=float)
    z_filled = np.where(np.isfinite(z), z, -np.inf)
    typical_row = int(np.argsort(z_filled, kind="stable")[(len(z) - 1) // 2])
    typical = int(result.table["replicate"][typical_row])
    patients = patient_table(result.scenario, seed=seed, replicate=typical, replicates=replicates)

    if command is None:
        command = reproduce_command(scenario_path, replicates=replicates, seed=seed, sweep=sweep, out=out)
    doc, reads = build_document(sf, result, curves, patients, typical_row, sweep_info=sweep_info, command=command,
                                workers=workers)
    html_text = render_html(doc)
    pdf_bytes = render_pdf(doc)
    rep = Report(document=doc, html=html_text, pdf=pdf_bytes, result=result, curves=curves, reads=reads,
                 scenario_file=sf, command=command, typical_replicate=typical)
    if out is not None:
        rep.html_path, rep.pdf_path = write_files_atomically(Path(out), {HTML_NAME: html_text.encode("utf-8"),
                                                                     PDF_NAME: pdf_bytes})
    return rep


def _finite_max(v) -> float:
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.max()) if v.size else 0.0


# -- the sections -------------------------------------------------------------


def build_document(sf: ScenarioFile, result, curves: list[Curve], patients: dict, typical_row: int, *,
                   sweep_info: dict | None, command: str, workers: int) -> tuple[Document, dict]:
    sc = result.scenario
    s = result.summary()
    screening = sc.screening is not None
    reads = _reads(curves, sc)
    sections = [
        _section_assumptions(sf, replicates=result.replicates, seed=s["seed"]),
        _section_funnel(sc, s) if screening else _section_no_funnel(sc, s),
        _section_power(sc, s, curves, reads, sweep_info),
        _section_timelines(sc, s, result),
        _section_km(sc, s, result, patients, typical_row),
        _section_crosscheck(sc, s, curves, result),
        _section_reproducibility(sf, result, command, sweep_info, curves),
    ]
    a = sc.trial.analysis
    crit = f"{a.test}, {'one' if a.sided == 1 else 'two'}-sided alpha {a.alpha:g}"
    meta = [("scenario file", Code(str(sf.path))), ("simulated trials", num("meta-replicates", result.replicates)),
            ("seed", Num("meta-seed", int(result.seed), str(result.seed))),
            ("trialsim", __version__), ("created", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))]
    doc = Document(title=f"Simulation report: {sc.name}", subtitle=(sc.description or "").strip(), meta=meta,
                   key_results=_key_results(sc, s, reads, crit), sections=sections)
    return doc, reads


def curve_key(c: Curve) -> str:
    """How reads are keyed: the path, and the other varied paths' values of a grid's curve."""
    return c.path + "".join(f"|{k}={value_text(v)}" for k, v in c.fixed.items())


def _reads(curves: list[Curve], sc: Scenario) -> dict:
    reads: dict = {}
    for c in curves:
        inc = not (c.path.endswith("hazard_ratio") and ".arms." in f".{c.path}")
        reads[curve_key(c)] = {t: read_off(c, t, increasing=inc) for t in TARGETS}
    return reads


def _size_name(path: str) -> str:
    return {"trial.enrollment": "enrolment", "trial.analysis.events": "events"}.get(path, path)


def _key_results(sc: Scenario, s: dict, reads: dict, crit: str) -> Table:
    lo, hi = wilson_interval(s["power"], s["replicates"])
    rows: list[list] = [
        ["power", [num("power", s["power"], 3), " ± ", num("power-mcse", s["power_mcse"], 3),
                   f" (Monte Carlo SE; 95% interval {lo:.3f} to {hi:.3f}; {crit})"]],
    ]
    if sc.screening is not None:
        rows.append(["survivors screened", [num("key-screened", s["screened"]["mean"], 0),
                                            f" (10-90%: {fmt(s['screened']['p10'])} to {fmt(s['screened']['p90'])})"]])
    rows.append(["patients randomised", [num("key-randomized", s["randomized"]["mean"], 1),
                                         f" of {sc.trial.enrollment} planned; target reached in ",
                                         num("key-enrollment-reached", s["enrollment_reached_share"], 1, pct=True),
                                         " of trials"]])
    if s.get("truly_mrd_positive_share"):
        rows.append(["truly MRD-positive among the randomised",
                     [num("key-truly", s["truly_mrd_positive_share"]["mean"], 1, pct=True)]])
    rows.append(["events at the analysis", [num("key-events", s["events"]["mean"], 1),
                                            f" (target {sc.trial.analysis.events or '-'}; reached in ",
                                            num("key-events-reached", s["events_reached_share"], 1, pct=True),
                                            " of trials)"]])
    rows.append(["analysis, month", [num("key-analysis-month", s["analysis_month"]["median"], 1),
                                     f" (median; 10-90%: {fmt(s['analysis_month']['p10'], 1)} to "
                                     f"{fmt(s['analysis_month']['p90'], 1)})"]])
    if s.get("assay_cost"):
        rows.append(["assay cost", [num("key-assay-cost", s["assay_cost"]["mean"], 0),
                                    f" currency units ({fmt(s['assays']['mean'])} assays)"]])
    r = reads.get("trial.enrollment")
    if r:
        for t in TARGETS:
            rows.append([f"enrolment for {t:.0%} power", _read_fragments(r[t], f"n{int(t * 100)}", screening=sc.screening is not None)])
    return Table(header=["", ""], rows=rows, widths=[0.30, 0.70], id="key-results")


def _read_fragments(r: ReadOff, key: str, screening: bool, unit_word: str = "patients") -> list:
    if r.status == "not_reached":
        return [Num(key, "not_reached", "not reached"), " within the simulated range"]
    if r.status == "below":
        return [Num(key, "below", f"at most {fmt(r.band[0] if r.band[0] is not None else r.value)}"),
                " (the smallest simulated point already has it)"]
    parts: list = [num(key, math.ceil(r.value - 1e-9), 0), f" {unit_word}"]
    blo, bhi = r.band
    parts.append(f" (95% band {fmt(math.ceil(blo - 1e-9)) if blo is not None else '-'} to "
                 f"{fmt(math.ceil(bhi - 1e-9)) if bhi is not None else 'beyond the range'})")
    if screening and "screened" in r.at:
        parts += ["; ", num(f"{key}-screened", r.at["screened"], 0), " survivors screened"]
    return parts


def _section_assumptions(sf: ScenarioFile, *, replicates: int | None = None, seed: int | None = None) -> Section:
    table, notes = assumptions_table(sf)
    sim = sf.scenario.simulation
    overridden = [f"{name} {run:{fmt}}" + (f" (the scenario's is {filed:{fmt}})" if filed is not None else "")
                  for name, run, filed, fmt in (("replicates", replicates, sim.replicates, ","),
                                                ("seed", seed, sim.seed, "d"))
                  if run is not None and run != filed]
    if overridden:
        notes = [*notes, "This report was run with " + " and ".join(overridden)
                 + ", given on the command line; the table below shows the file."]
    blocks: list = [Para([
        "Every value of the scenario file ", Code(sf.path.name), " as read, with its unit and, where the file "
        "comments it, that comment (its source or the reason for an assumption). Time is in months, rates are "
        "per month, probabilities and shares are in [0, 1]. Values the file does not set are trialsim's "
        "defaults, listed last."])]
    for n in notes:
        blocks.append(Para([n], style="note"))
    blocks.append(table)
    if sf.header.strip():
        blocks.append(Pre(sf.header, title="Notes at the top of the scenario file"))
    return Section("assumptions", "Assumptions", blocks)


_FUNNEL = [("screened", "screened"), ("tested", "tested (a result)"), ("test_positive", "test-positive"),
           ("eligible", "eligible at staging"), ("consented", "consented"), ("randomized", "randomised")]


def _section_funnel(sc: Scenario, s: dict) -> Section:
    from trialsim import figures

    stages = [(label, s[key]) for key, label in _FUNNEL if s.get(key)]
    fig = figures.funnel(stages, s.get("truly_mrd_positive_share"))
    rows = []
    prev = None
    for key, label in _FUNNEL:
        d = s.get(key)
        if not d:
            continue
        share = d["mean"] / prev if prev else None
        rows.append([label, *dist_cells(key.replace("_", "-"), d, 0 if d["mean"] >= 100 else 1),
                     num(f"{key.replace('_', '-')}-share", share, 1, pct=True) if share is not None else "-"])
        prev = d["mean"]
    t = s.get("truly_mrd_positive_share")
    if t:
        rows.append(["truly MRD-positive share of the randomised", *dist_cells("truly", t, 1, pct=True), "-"])
    if s.get("assays"):
        rows.append(["assays performed", *dist_cells("assays", s["assays"], 0), "-"])
    if s.get("assay_cost"):
        rows.append(["assay cost (currency units)", *dist_cells("assay-cost", s["assay_cost"], 0), "-"])
    if s.get("screening_closed_month"):
        rows.append(["enrolment closed, month", *dist_cells("closed-month", s["screening_closed_month"], 1), "-"])
    table = Table(header=["stage", "mean", "median", "10th to 90th centile", "share of stage above"], rows=rows,
                  widths=[0.34, 0.14, 0.14, 0.22, 0.16], numeric={1, 2, 3, 4}, id="funnel-table")
    test = sc.screening.test
    blocks = [
        Para([f"Survivors enter screening at {fmt(sc.accrual.rate or 0, 0)} a month once all sites are open, and "
              f"are tested with {test.name} every {sc.screening.visits.every:g} months"
              f"{f' up to {sc.screening.visits.count} times' if sc.screening.visits.count else ''}. "
              "A positive survivor is staged; one whose recurrence is already visible on imaging is not eligible. "
              "The counts are per simulated trial, up to the close of enrolment; the figure shows means, "
              "the table the mean, median and 10th to 90th centiles over trials. 'Truly MRD-positive' counts the "
              "randomised whose MRD was detectable when the positive sample was drawn (the rest are false positives, "
              "who dilute the treatment effect)."]),
        _figure(fig, caption=["Screening funnel: mean per simulated trial (box width proportional to the square "
                              "root of the mean), 10th to 90th centiles over trials, and the share of each stage "
                              "kept from the stage above."], alt="screening funnel diagram", id="fig-funnel"),
        table,
    ]
    if s["enrollment_reached_share"] < 0.5:
        blocks.append(Para([Strong("Enrolment is limited by screening: "),
                            f"the target of {sc.trial.enrollment} is reached in only ",
                            num("funnel-enrollment-reached", s["enrollment_reached_share"], 1, pct=True),
                            " of trials; screening stops first (max_screened or max_months)."], style="note"))
    return Section("funnel", "Screening funnel", blocks)


def _section_no_funnel(sc: Scenario, s: dict) -> Section:
    return Section("funnel", "Screening funnel", [Para([
        "No screening: this is a conventional trial, and every accrued patient is randomised: ",
        num("screened-mean", s["screened"]["mean"], 0), " accrued, ",
        num("randomized-mean", s["randomized"]["mean"], 0), " randomised (mean over trials), the last at month ",
        num("last-randomized-median", s["last_randomized_month"]["median"], 1), " (median)."])])


def _section_power(sc: Scenario, s: dict, curves: list[Curve], reads: dict, sweep_info: dict | None) -> Section:
    from trialsim import figures

    blocks: list = []
    if sweep_info is None:
        epath = effect_path(sc)
        blocks.append(Para([
            "Power curves from trialsim's default sweep, with common random numbers (the run's seed ",
            Code(str(s["seed"])), " and ", f"{s['replicates']:,}", " simulated trials at every point): power over the "
            "treatment effect ", Code(epath), " at the design's enrolment"
            + (", and over the enrolment " if True else ""), Code("trial.enrollment"),
            " at the design's effect, with the events target scaled in the same proportion (the same design, "
            "larger or smaller). Bands are 95% Wilson intervals of each simulated proportion."]))
    else:
        blocks.append(Para([
            "Power curves from the sweep results ", Code(Path(sweep_info["file"]).name), f" ({sweep_info['rows']} "
            "grid points, varying ", ", ".join(sweep_info["vary"]),
            _sweep_run_text(sweep_info["provenance"]), "). Bands are 95% Wilson intervals of each "
            "simulated proportion."]))
    panels = []
    for c in curves:
        lo, hi = c.band
        title = {"trial.enrollment": "Power over the enrolment", "trial.analysis.events": "Power over the events"
                 }.get(c.path, "Power over the treatment effect" if c.path.startswith("arms.") else f"Power over {c.path}")
        if c.fixed:
            title += "\n" + ", ".join(f"{k.split('.')[-1]} {value_text(v)}" for k, v in c.fixed.items())
        r = reads.get(curve_key(c))
        panels.append({"x": c.x, "power": c.power, "lo": lo, "hi": hi, "xlabel": c.label, "title": "\n".join(_short(t) for t in title.split("\n")),
                       "design_x": c.design_x, "analytic": c.analytic,
                       "analytic_label": "Schoenfeld at the simulated events",
                       "reads": {t: (r[t].value if r and r[t].status == "ok" else None) for t in TARGETS},
                       "x_reversed": c.path.endswith("hazard_ratio")})
    fig = figures.power_curves(panels)
    blocks.append(_figure(fig, caption=[
        "Simulated power with 95% bands; dotted and dash-dotted lines at 80% and 90%; the dashed orange line marks "
        "the design; diamonds mark where the curve reaches 80% and 90% (linear interpolation)"
        + ("; the green dashed line is Schoenfeld's power at each point's simulated events." if any(
            c.analytic is not None for c in curves) else ".")], alt="power curves", id="fig-power"))
    # Sizes for 80% and 90% power (one row pair per enrolment curve of a grid).
    size_curves = [c for c in curves if c.path == "trial.enrollment"] or \
        [c for c in curves if c.path == "trial.analysis.events"]
    if size_curves:
        path = size_curves[0].path
        word = "patients" if path == "trial.enrollment" else "events"
        grid = any(c.fixed for c in size_curves)
        rows = []
        for ci, c in enumerate(size_curves):
            for t in TARGETS:
                r = reads[curve_key(c)][t]
                key = (f"size-n{int(t * 100)}" if path == "trial.enrollment" else f"size-d{int(t * 100)}") \
                    + (f"-{ci}" if grid else "")
                row = [f"{t:.0%}", _read_fragments(r, key, screening=False, unit_word=word)]
                if grid:
                    row.insert(0, ", ".join(f"{k.split('.')[-1]} {value_text(v)}" for k, v in c.fixed.items()))
                if sc.screening is not None:
                    row.append(num(f"{key}-screened", r.at.get("screened"), 0) if r.status == "ok" else "-")
                    row.append(num(f"{key}-assays", r.at.get("assays"), 0) if r.status == "ok" else "-")
                row.append(num(f"{key}-months", r.at.get("last_randomized_month"), 1) if r.status == "ok" else "-")
                rows.append(row)
        header = (["curve"] if grid else []) + ["power", f"{_size_name(path)} needed"]
        widths = ([0.16] if grid else []) + [0.10, 0.44 - (0.16 if grid else 0)]
        if sc.screening is not None:
            header += ["survivors screened", "assays"]
            widths += [0.17, 0.12]
        header += ["months to last randomisation"]
        widths += [1 - sum(widths)]
        blocks.append(Para([Strong("Size for 80% and 90% power. "),
                            "Read off the simulated curve by linear interpolation between grid points (not by a "
                            "root search such as find_sample_size); the 95% band is where the curve's 95% band "
                            "reaches the target. Survivors screened, assays and months are the simulated means "
                            "interpolated at that size."]))
        blocks.append(Table(header=header, rows=rows, widths=widths, id="size-table"))
        if sc.screening is not None and s["enrollment_reached_share"] < 0.5:
            blocks.append(Para(["The enrolment target is rarely reached in this design (screening stops first): a "
                                "larger target adds few patients while the events target grows with it, so the "
                                "enrolment curve says little here; screening more survivors "
                                "(screening.max_screened, max_months) is the lever."], style="note"))
    else:
        blocks.append(Para(["The sweep does not vary trial.enrollment or trial.analysis.events, so no sample size "
                            "is read off; run ", Code("trialsim sweep SCENARIO --vary trial.enrollment=..."),
                            " for one."], style="note"))
    # Effect detectable with 80% and 90% power.
    for c in curves:
        if c.path.startswith("arms.") and not c.fixed and c.path in reads:
            word = "eradication probability" if c.path.endswith("eradication") else "hazard ratio"
            parts: list = [Strong(f"Effect detectable at the design's enrolment ({word}). ")]
            for t in TARGETS:
                r = reads[c.path][t]
                key = f"effect{int(t * 100)}"
                if r.status == "ok":
                    parts += [f"{t:.0%} power at ", num(key, r.value, 3), "; "]
                elif r.status == "below":
                    parts += [f"{t:.0%} power already at the weakest simulated effect ({value_text(r.value)}); "]
                else:
                    parts += [f"{t:.0%} power not reached within the simulated effects; "]
            parts[-1] = parts[-1].rstrip("; ") + "." if isinstance(parts[-1], str) else parts[-1]
            if not isinstance(parts[-1], str):
                parts.append(".")
            blocks.append(Para(parts))
    # The grid itself.
    for ci, c in enumerate(curves):
        lo, hi = c.band
        header = [c.path.split(".")[-1], "power", "95% band", "events", "randomised"]
        widths = [0.16, 0.12, 0.18, 0.12, 0.14]
        if sc.screening is not None and "screened" in c.columns:
            header.append("screened")
            widths.append(0.14)
        if c.analytic is not None:
            header.append("Schoenfeld")
            widths.append(0.14)
        rows = []
        for i, xv in enumerate(c.x):
            row = [num(f"curve{ci}-x{i}", xv, 3 if abs(xv) < 10 else 0),
                   num(f"curve{ci}-power{i}", c.power[i], 3), f"{lo[i]:.3f} to {hi[i]:.3f}",
                   fmt(c.columns.get("events", [np.nan] * len(c.x))[i], 1),
                   fmt(c.columns.get("randomized", [np.nan] * len(c.x))[i], 1)]
            if "screened" in header:
                row.append(fmt(c.columns["screened"][i], 0))
            if c.analytic is not None:
                row.append(num(f"curve{ci}-schoenfeld{i}", c.analytic[i], 3))
            rows.append(row)
        tot = sum(widths)
        fixed = (" (" + ", ".join(f"{k} = {value_text(v)}" for k, v in c.fixed.items()) + ")") if c.fixed else ""
        blocks.append(Para([Strong("Grid: "), Code(c.path), fixed, "; means over simulated trials."], style="small"))
        blocks.append(Table(header=header, rows=rows, widths=[w / tot for w in widths],
                            numeric=set(range(len(header))), id=f"curve{ci}-table", small=True))
    return Section("power-curves", "Power", blocks)


def _sweep_run_text(prov: dict) -> str:
    parts = []
    if prov.get("replicates"):
        parts.append(f"{int(prov['replicates']):,} simulated trials per point")
    if prov.get("seed") is not None:
        parts.append(f"seed {prov['seed']} at every point")
    return ("; " + ", ".join(parts)) if parts else ""


def _short(t: str, n: int = 60) -> str:
    return t if len(t) <= n else t[: n - 1] + "…"


def _section_timelines(sc: Scenario, s: dict, result) -> Section:
    from trialsim import figures

    tl = result.timeline
    horizon = max(_finite_max(result.table["analysis_month"]), 12.0)
    horizon = min(float(tl["month"][-1]), math.ceil(horizon * 1.05 / 6) * 6)
    series = []
    if sc.screening is not None:
        series.append(("survivors\nscreened", tl["screened"], figures.BLUE))
    series.append(("patients\nrandomised", tl["randomized"], figures.VERMILLION))
    series.append(("events in\nthe analysis", tl["events"], figures.GREEN))
    marks = [("last randomisation", s["last_randomized_month"], figures.PURPLE),
             ("analysis", s["analysis_month"], figures.GREY)]
    fig = figures.timelines(tl["month"], series, marks, horizon)
    am, lm = s["analysis_month"], s["last_randomized_month"]
    blocks = [
        Para(["Cumulative counts at the end of each calendar month, from the opening of the first site: the median "
              "over simulated trials and the band from the 10th to the 90th centile. Events are those counted in the "
              "final analysis. The dashed lines mark the median month of the last randomisation (",
              num("timeline-last-randomized", lm["median"], 1), ") and of the analysis (",
              num("timeline-analysis", am["median"], 1), "), the shaded spans their 10th to 90th centiles (",
              f"{am['p10']:.1f} to {am['p90']:.1f} for the analysis)."]),
        _figure(fig, caption=["Cumulative screening, randomisation and events over calendar months (median and "
                              "10-90% band over simulated trials), with the last randomisation and the analysis "
                              "marked."], alt="timelines", id="fig-timelines"),
    ]
    a = sc.trial.analysis
    when = []
    if a.events is not None:
        when.append(f"at the {a.events}th event")
    if a.months is not None:
        when.append(f"{a.months:g} months after the last randomisation")
    blocks.append(Para([f"The analysis is {' or '.join(when)}{', whichever comes first' if len(when) > 1 else ''}; "
                        "the events target was reached in ", num("timeline-events-reached", s["events_reached_share"],
                                                                 1, pct=True), " of trials."]))
    return Section("timelines", "Timelines", blocks)


def _section_km(sc: Scenario, s: dict, result, patients: dict, row: int) -> Section:
    from trialsim import figures

    c_name, t_name = sc.control_arm, sc.treatment_arm
    keep = np.asarray(patients["in_analysis"], dtype=bool)
    arm = np.asarray(patients["arm"])
    time = np.asarray(patients["time"], dtype=float)
    event = np.asarray(patients["event"], dtype=bool)
    arms = [(name, time[keep & (arm == name)], event[keep & (arm == name)]) for name in (c_name, t_name)]
    t = result.table
    rep = int(t["replicate"][row])
    z, hr = float(t["z"][row]), float(t["hazard_ratio_estimate"][row])
    km = figures.kaplan_meier(arms, f"Simulated trial {rep} (the median statistic z = {z:.2f})")
    hr_all = np.asarray(t["hazard_ratio_estimate"], dtype=float)
    marks = [("geometric mean", s["hazard_ratio_geometric_mean"], figures.VERMILLION)] \
        if s.get("hazard_ratio_geometric_mean") else []
    if is_conventional(sc):
        marks.append(("design HR", design_hazard_ratio(sc), figures.GREEN))
    hist = figures.hazard_ratio_histogram(hr_all, marks)
    blocks = [
        Para(["Kaplan-Meier curves of distant recurrence-free survival by arm (lifelines, 95% pointwise bands) in a "
              "typical simulated trial: replicate ", Num("km-replicate", rep, str(rep)),
              ", whose log-rank statistic is the median over trials (z = ", num("km-z", z, 3),
              ", hazard-ratio estimate ", num("km-hr", hr, 3), ", ", num("km-events", int(t["events"][row]), 0),
              " events). It is re-simulated alone from the run's seed (",
              Code(f"patient_table(scenario, seed={result.seed}, replicate={rep}, replicates={result.replicates})"),
              ")."]),
        _figure(km, caption=[f"Kaplan-Meier curves by arm in simulated trial {rep}; numbers at risk below."],
                alt="Kaplan-Meier curves by arm", id="fig-km"),
        _figure(hist, caption=["The hazard-ratio estimate (log-rank, Pike) over all simulated trials."],
                alt="histogram of the hazard-ratio estimate", id="fig-hr"),
        Table(header=["hazard-ratio estimate", "mean", "median", "10th to 90th centile", "geometric mean"],
              rows=[["treatment vs control", *dist_cells("hr", s["hazard_ratio_estimate"], 3),
                     num("hr-geomean", s.get("hazard_ratio_geometric_mean"), 3)]],
              widths=[0.28, 0.14, 0.14, 0.26, 0.18], numeric={1, 2, 3, 4}, id="hr-table"),
    ]
    return Section("km", "Kaplan-Meier curves and the hazard-ratio estimate", blocks)


def _exponential_rate(spec) -> float | None:
    """The rate of a curve spec that is exponential (memoryless: the same from diagnosis or entry)."""
    from trialsim import curves

    c = spec.build()
    return float(c.rate) if isinstance(c, curves.Exponential) else None


def _censoring_rate(sc: Scenario) -> float | None:
    """Dropout plus other-cause death (when it censors), per month; None when not exponential."""
    rate = sc.trial.dropout.monthly_rate if sc.trial.dropout is not None else 0.0
    if sc.population.other_cause_death is not None:
        d = _exponential_rate(sc.population.other_cause_death)
        if d is None or sc.trial.death == "event":
            return None
        rate += d
    return rate


def expected_analysis_month(sc: Scenario) -> float | None:
    """The calendar month at which the expected events reach the target
    (``design.expected_events``; exponential arms, piecewise accrual,
    exponential censoring), capped at ``months`` after the expected last
    randomisation. None where those assumptions do not hold."""
    from scipy import optimize

    from trialsim import design

    rates = {_exponential_rate(st.recurrence) for st in sc.population.strata}
    cens = _censoring_rate(sc)
    if len(rates) != 1 or None in rates or cens is None or not is_conventional(sc):
        return None
    lam = rates.pop() * sc.arms[sc.control_arm].hazard_ratio
    starts, arrivals = sc.accrual.schedule()
    pieces = [(b - a, r) for a, b, r in zip(starts, starts[1:], arrivals)] + [(None, arrivals[-1])]
    n = sc.trial.enrollment
    kw = dict(accrual=pieces, hazard_ratio=design_hazard_ratio(sc), control_rate=lam, allocation=allocation(sc),
              dropout_rate=cens, n=n)
    # The expected time of the last randomisation: when the expected count reaches n.
    lo, hi = 0.0, 1.0
    while design.expected_events(hi, **kw).randomized[0] < n - 1e-9 and hi < 1e5:
        hi *= 2
    t_last = optimize.brentq(lambda t: design.expected_events(t, **kw).randomized[0] - (n - 1e-9), lo, hi)
    cap = t_last + sc.trial.analysis.months if sc.trial.analysis.months is not None else math.inf
    target = sc.trial.analysis.events
    if target is None:
        return cap
    total = lambda t: design.expected_events(t, **kw).total[0] - target  # noqa: E731
    hi = max(1.0, t_last)
    while total(hi) < 0 and hi < 1e5:
        hi *= 2
    if total(hi) < 0:
        return cap if math.isfinite(cap) else None
    return min(optimize.brentq(total, 0.0, hi, xtol=1e-6), cap)


def _section_crosscheck(sc: Scenario, s: dict, curves: list[Curve], result) -> Section:
    from trialsim import design

    blocks: list = []
    a = sc.trial.analysis
    ev = s["events"]["mean"]
    if is_conventional(sc):
        hr = design_hazard_ratio(sc)
        r = allocation(sc)
        sp = schoenfeld_at(sc, ev)
        rows = [["power", num("sim-power", s["power"], 4), num("schoenfeld-power", sp, 4),
                 f"Schoenfeld (1981) at the simulated mean events ({ev:.1f}), HR {hr:g}, allocation {r:g}"]]
        if hr != 1 and ev > 0:
            fp = design.freedman_power(events=ev, hazard_ratio=hr, alpha=a.alpha, sided=a.sided, allocation=r)
            rows.append(["power", num("sim-power-2", s["power"], 4), num("freedman-power", fp, 4),
                         "Freedman (1982) at the simulated mean events"])
        analytic = s.get("analytic") or {}
        if a.looks and "schoenfeld_rejection_by_look" in analytic:   # the run's companion: the simulator's boundaries
            rows.append(["power", num("sim-power-3", s["power"], 4), num("gsd-power", analytic["schoenfeld_power"], 4),
                         f"group-sequential exit probabilities (design.boundaries, {a.spending} spending, looks "
                         f"at {', '.join(f'{x:g}' for x in a.looks)}) at the drift of {a.events} events"])
        if hr != 1:
            need = design.schoenfeld_events(hazard_ratio=hr, alpha=a.alpha, power=0.8, sided=a.sided, allocation=r)
            rows.append(["events for 80% power", num("design-events", a.events or float("nan"), 0),
                         num("schoenfeld-events80", need, 1), "Schoenfeld's events for 80% power (simulated "
                                                               "column: the design's target)"])
        month = expected_analysis_month(sc)
        if month is not None:
            rows.append(["analysis, month", num("sim-analysis-month", s["analysis_month"]["median"], 1),
                         num("expected-analysis-month", month, 1),
                         "when the expected events reach the target (design.expected_events: exponential arms, "
                         "the scenario's accrual and dropout); simulated: median"])
        gap = (s["power"] - sp) / s["power_mcse"] if s["power_mcse"] > 0 else float("nan")
        blocks.append(Para(["Closed forms of trialsim.design beside the simulation. Schoenfeld's approximation "
                            "takes the log-rank statistic as normal with mean sqrt(d r)/(1 + r) |log HR| at d "
                            "events. The simulated power differs from it by ", num("crosscheck-gap-se", gap, 2),
                            " Monte Carlo standard errors; differences within about 2 are noise, and the closed "
                            "forms are approximations themselves (docs/differences.md)."]))
        blocks.append(Table(header=["quantity", "simulated", "analytic", "how"], rows=rows,
                            widths=[0.2, 0.13, 0.13, 0.54], numeric={1, 2}, id="crosscheck-table"))
        if any(c.analytic is not None for c in curves):
            blocks.append(Para(["The power figure shows Schoenfeld's power beside every simulated point (green "
                                "dashed line), and the grid tables give it in the 'Schoenfeld' column."]))
        return Section("crosscheck", "Analytic cross-check", blocks)

    blocks.append(Para([
        "No closed form covers a screened MRD design as a whole: the test, staging and consent select who is "
        "randomised, false positives dilute the effect, and eradication makes it non-proportional. The closed "
        "forms of trialsim.design that apply to this scenario, under the approximations stated, are set beside "
        "the simulation; they are orientation, not a test."]))
    blocks += _funnel_companion(sc, s)
    blocks += _dilution_companion(sc, s, result)
    gm = s.get("hazard_ratio_geometric_mean")
    if gm and gm > 0 and gm != 1 and ev > 0:
        sp = schoenfeld_at(sc, ev, gm * sc.arms[sc.control_arm].hazard_ratio)
        blocks.append(Para(["Schoenfeld's power at the simulated mean events (", f"{ev:.1f}",
                            ") and the simulated geometric-mean hazard-ratio estimate (", f"{gm:.3f}", "): ",
                            num("schoenfeld-orientation", sp, 3), " against the simulated ",
                            num("sim-power", s["power"], 3), ". Not an independent check (the hazard ratio comes "
                            "from the simulation): it shows how much of the power the average effect explains."]))
    return Section("crosscheck", "Analytic cross-check", blocks)


def _funnel_companion(sc: Scenario, s: dict) -> list:
    """design.screening_funnel per survivor screened, for one-visit designs."""
    from trialsim import design

    scr = sc.screening
    if scr is None:
        return []
    if scr.visits.count != 1:
        return [Para([Strong("Screening funnel. "), "design.screening_funnel's forms for several visits assume that "
                      "each visit sees MRD independently ('stationary') or that MRD status is fixed; in this "
                      "scenario (", f"{scr.visits.count or 'unlimited'} visits every {scr.visits.every:g} months",
                      f", {sc.mrd.model} model) MRD becomes detectable as recurrence approaches and survivors who "
                      "enter late get fewer visits before enrolment closes, so the closed form is not a fair check "
                      "and is not shown."], style="note")]
    t = scr.test
    turn = float(t.turnaround.build().mean())
    death = _exponential_rate(sc.population.other_cause_death) if sc.population.other_cause_death else 0.0
    parts = []
    notes = []
    for i, st in enumerate(sc.population.strata):
        m = sc.stratum_mrd(i)
        if m["model"] == "lead_time":
            rate = _exponential_rate(st.recurrence)
            if rate is None:
                rec = st.recurrence.build()
                tsd = float(st.time_since_diagnosis.build().mean())
                rate = -math.log(float(rec.survival(tsd + 24)) / float(rec.survival(tsd))) / 24
                notes.append("recurrence taken as exponential at its average rate over the 24 months after the mean "
                             "time since diagnosis")
            lts = design.lead_time_staging(recurrence_rate=rate, lead_time=m["lead_time"].build(),
                                           imaging_lead=scr.staging.imaging_lead, turnaround=turn,
                                           dormant_share=m.get("dormant_share") or 0.0, death_rate=death or 0.0)
            p, inel = lts.prevalence, lts.staging_ineligible
        else:
            p, inel = m["prevalence"], 0.0
            notes.append("staging ineligibility neglected (a few recurrences within the imaging lead)")
        f = design.screening_funnel(prevalence=p, sensitivity=t.sensitivity, specificity=t.specificity,
                                    failure=t.failure, staging_ineligible=inel, consent=scr.consent, visits=1)
        parts.append((st.share, f))
    agg = {k: sum(w * getattr(f, k) for w, f in parts) for k in ("tested", "test_positive", "eligible",
                                                                 "randomized", "assays")}
    tps = sum(w * f.randomized * f.true_positive_share for w, f in parts) / agg["randomized"] \
        if agg["randomized"] > 0 else float("nan")
    scr_mean = s["screened"]["mean"]
    rows = []
    for key, label in (("tested", "tested"), ("test_positive", "test-positive"), ("eligible", "eligible at staging"),
                       ("randomized", "randomised"), ("assays", "assays")):
        if s.get(key):
            rows.append([label + " per survivor screened", num(f"sim-{key.replace('_', '-')}-rate",
                                                              s[key]["mean"] / scr_mean, 4),
                         num(f"analytic-{key.replace('_', '-')}-rate", agg[key], 4)])
    if s.get("truly_mrd_positive_share"):
        rows.append(["truly MRD-positive share of the randomised", num("sim-truly", s["truly_mrd_positive_share"]["mean"], 3),
                     num("analytic-truly", tps, 3)])
    why = "; ".join(sorted(set(notes)))
    return [Para([Strong("Screening funnel. "), "design.screening_funnel for one visit (",
                  "P(randomised) = consent (1 - failure) [p Se (1 - staging) + (1 - p)(1 - Sp)]",
                  "), stratum by stratum, weighted by the stratum shares" + (f"; {why}" if why else "") + "."]),
            Table(header=["per survivor screened", "simulated", "closed form"], rows=rows, widths=[0.5, 0.25, 0.25],
                  numeric={1, 2}, id="funnel-crosscheck")]


def _dilution_companion(sc: Scenario, s: dict, result) -> list:
    """design.diluted_hazard_ratio for prevalence models with exponential curves."""
    from trialsim import design

    if sc.mrd is None or any(sc.stratum_mrd(i)["model"] != "prevalence" for i in range(len(sc.population.strata))):
        return [Para([Strong("Diluted hazard ratio. "), "design.diluted_hazard_ratio takes exponential hazards for "
                      "the MRD-positive and negative randomised; in the lead-time model a true positive's "
                      "recurrence comes within her residual lead time, not at a constant rate, so it is not "
                      "applied here."], style="note")] if sc.mrd is not None else []
    if len(sc.population.strata) != 1 or _exponential_rate(sc.population.strata[0].recurrence) is None \
            or not s.get("truly_mrd_positive_share") or s["events"]["mean"] <= 0:
        return []
    m = sc.stratum_mrd(0)
    lam = _exponential_rate(sc.population.strata[0].recurrence)
    p, h = m["prevalence"], m["hazard_ratio"]
    lneg = lam / (p * h + 1 - p)            # hazards at entry: p h u + (1 - p) u = lambda
    cens = _censoring_rate(sc)
    tl = result.timeline
    med = np.median(tl["randomized"], axis=0)
    first = float(tl["month"][int(np.argmax(med >= 1))]) - 1.0
    horizon = s["analysis_month"]["median"] - first
    accrual_time = min(max(0.0, s["last_randomized_month"]["median"] - first), horizon)
    arm = sc.arms[sc.treatment_arm]
    try:
        d = design.diluted_hazard_ratio(true_positive_share=s["truly_mrd_positive_share"]["mean"],
                                        positive_rate=h * lneg, negative_rate=lneg, eradicated_rate=lneg,
                                        hazard_ratio=arm.hazard_ratio / sc.arms[sc.control_arm].hazard_ratio,
                                        eradication=arm.eradication, horizon=horizon, accrual_time=accrual_time,
                                        allocation=allocation(sc), dropout_rate=cens or 0.0)
    except ValueError as exc:
        return [Para([f"design.diluted_hazard_ratio does not apply: {exc}"], style="note")]
    ignored = [k for k in ("onset_rate", "clearance_rate") if m.get(k)]
    pw = d.power(s["events"]["mean"], alpha=sc.trial.analysis.alpha, sided=sc.trial.analysis.sided)
    rows = [["hazard ratio the log-rank test sees", num("sim-hr-geomean", s["hazard_ratio_geometric_mean"], 3),
             num("analytic-diluted-hr", d.hazard_ratio, 3)],
            ["power at the simulated mean events", num("sim-power-dilution", s["power"], 3),
             num("analytic-diluted-power", pw, 3)]]
    return [Para([Strong("Diluted hazard ratio. "), "design.diluted_hazard_ratio: control = pi Exp(h u) + (1 - pi) "
                  "Exp(u), treatment with eradication back to Exp(u) and the hazard ratio on the rest; pi the "
                  f"simulated true-positive share ({s['truly_mrd_positive_share']['mean']:.3f}), u = lambda/(p h + 1 - p) "
                  f"= {lneg:.5f} per month (the hazards at entry), horizon {horizon:.1f} months with accrual over "
                  f"{accrual_time:.1f} (simulated medians), censoring {cens or 0:.4f} per month"
                  + (f"; {' and '.join(ignored)} ignored (they pull the effect towards 1)" if ignored else "")
                  + ". Simulated: geometric mean of the hazard-ratio estimate."]),
            Table(header=["quantity", "simulated", "closed form"], rows=rows, widths=[0.5, 0.25, 0.25],
                  numeric={1, 2}, id="dilution-crosscheck")]


def _section_reproducibility(sf: ScenarioFile, result, command: str, sweep_info: dict | None,
                             curves: list[Curve]) -> Section:
    prov = result.provenance
    rows = [
        ["trialsim version", Num("trialsim-version", __version__, __version__)],
        ["seed", Num("seed", int(result.seed), str(result.seed))],
        ["simulated trials (replicates)", Num("replicates", int(result.replicates), f"{result.replicates:,}")],
        ["scenario file", Code(str(sf.path))],
        ["scenario SHA-256", Num("scenario-sha256", sf.sha256, sf.sha256)],
    ]
    if sweep_info is not None:
        rows.append(["sweep results", Code(sweep_info["file"])])
        rows.append(["sweep SHA-256", Num("sweep-sha256", sweep_info["sha256"], sweep_info["sha256"])])
    else:
        rows.append(["power curves", "default sweep, same seed and replicates at every point: "
                     + "; ".join(f"{c.path} over {', '.join(f'{float(v):.4g}' for v in c.x)}" for c in curves)])
    versions = ", ".join(f"{k} {v}" for k, v in prov.get("versions", {}).items() if v)
    rows += [["versions", versions], ["Python, platform", f"{prov.get('python')}, {prov.get('platform')}"],
             ["simulated", prov.get("created", "")]]
    return Section("reproducibility", "Reproducibility", [
        Para(["The command below, run from the same folder with the same scenario file (check its SHA-256), "
              "reproduces every number in this report: results do not depend on the number of workers. In Python, ",
              Code("trialsim.replay(provenance)"), " re-runs the simulation from its provenance."]),
        Pre(command, title="command"),
        Table(header=["", ""], rows=rows, widths=[0.28, 0.72], id="repro-table", small=True),
    ])


# --------------------------------------------------------------------------
# HTML


def _jinja_env():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("trialsim", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    return env


def render_html(doc: Document) -> str:
    """The self-contained HTML of a document (figures as data URIs, CSS inline)."""
    env = _jinja_env()
    css = env.loader.get_source(env, "report.css")[0]
    return env.get_template("report.html").render(doc=doc, css=css, version=__version__)


# --------------------------------------------------------------------------
# PDF (reportlab; fonts: the DejaVu faces matplotlib ships, so the PDF and
# the figures share one typeface and any character of a scenario file prints)


_FONTS_DONE = False


def _register_fonts() -> None:
    global _FONTS_DONE
    if _FONTS_DONE:
        return
    import matplotlib
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    d = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    faces = {"DejaVu": "DejaVuSans.ttf", "DejaVu-Bold": "DejaVuSans-Bold.ttf",
             "DejaVu-Oblique": "DejaVuSans-Oblique.ttf", "DejaVu-BoldOblique": "DejaVuSans-BoldOblique.ttf",
             "DejaVuMono": "DejaVuSansMono.ttf"}
    for name, file in faces.items():
        pdfmetrics.registerFont(TTFont(name, str(d / file)))
    addMapping("DejaVu", 0, 0, "DejaVu")
    addMapping("DejaVu", 1, 0, "DejaVu-Bold")
    addMapping("DejaVu", 0, 1, "DejaVu-Oblique")
    addMapping("DejaVu", 1, 1, "DejaVu-BoldOblique")
    _FONTS_DONE = True


def _markup(parts, mono: str = "DejaVuMono") -> str:
    """reportlab paragraph markup of fragments."""
    if not isinstance(parts, list):
        parts = [parts]
    out = []
    for p in parts:
        if isinstance(p, Num):
            out.append(html.escape(p.text, quote=False))
        elif isinstance(p, Code):
            out.append(f'<font face="{mono}">{html.escape(p.text, quote=False)}</font>')
        elif isinstance(p, Strong):
            out.append(f"<b>{html.escape(p.text, quote=False)}</b>")
        else:
            out.append(html.escape(str(p), quote=False))
    return "".join(out)


def render_pdf(doc: Document) -> bytes:
    """The PDF of a document: A4 portrait, 15 mm margins."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_LEFT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (Image, KeepTogether, LongTable, Paragraph, Preformatted, SimpleDocTemplate,
                                    Spacer, TableStyle)

    _register_fonts()
    ink = colors.HexColor("#222222")
    grey = colors.HexColor("#555555")
    rule = colors.HexColor("#BBBBBB")
    band = colors.HexColor("#EEF3F8")
    base = ParagraphStyle("base", fontName="DejaVu", fontSize=9, leading=12.2, textColor=ink, alignment=TA_LEFT)
    st = {
        "title": ParagraphStyle("title", parent=base, fontName="DejaVu-Bold", fontSize=16, leading=20,
                                spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=9, leading=12, textColor=grey, spaceAfter=6),
        "h2": ParagraphStyle("h2", parent=base, fontName="DejaVu-Bold", fontSize=12.5, leading=16, spaceBefore=8,
                             spaceAfter=5, textColor=colors.HexColor("#0B4F7C")),
        "body": ParagraphStyle("body", parent=base, spaceAfter=5),
        "note": ParagraphStyle("note", parent=base, fontSize=8.5, leading=11.5, textColor=grey, spaceAfter=5,
                               leftIndent=6, borderPadding=0),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10.5, spaceAfter=2, spaceBefore=4),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=10.8),
        "cellsmall": ParagraphStyle("cellsmall", parent=base, fontSize=7.4, leading=9.2),
        "caption": ParagraphStyle("caption", parent=base, fontSize=8, leading=10.5, textColor=grey, spaceAfter=8),
        "pretitle": ParagraphStyle("pretitle", parent=base, fontName="DejaVu-Bold", fontSize=8.5, spaceBefore=4),
        "pre": ParagraphStyle("pre", parent=base, fontName="DejaVuMono", fontSize=6.9, leading=8.6,
                              textColor=ink, backColor=colors.HexColor("#F4F4F4"), borderPadding=4,
                              spaceBefore=2, spaceAfter=8),
    }
    page_w, page_h = A4
    margin = 15 * mm
    width = page_w - 2 * margin
    story: list = []

    def table_flowable(t: Table):
        cs = st["cellsmall"] if t.small else st["cell"]
        hs = ParagraphStyle("head", parent=cs, fontName="DejaVu-Bold", textColor=grey)
        gs = ParagraphStyle("group", parent=cs, fontName="DejaVu-Bold", textColor=colors.HexColor("#0B4F7C"))
        ms = ParagraphStyle("muted", parent=cs, textColor=grey)
        rs = ParagraphStyle("right", parent=cs, alignment=2)
        data = []
        has_header = any(h for h in t.header)
        if has_header:
            data.append([Paragraph(_markup(h), hs) for h in t.header])
        cmds = [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3), ("TOPPADDING", (0, 0), (-1, -1), 1.6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.6),
                ("LINEBELOW", (0, -1), (-1, -1), 0.5, rule)]
        if has_header:
            cmds += [("LINEBELOW", (0, 0), (-1, 0), 0.8, grey), ("LINEABOVE", (0, 0), (-1, 0), 0.8, grey)]
        off = 1 if has_header else 0
        for i, row in enumerate(t.rows):
            r = i + off
            if i in t.groups:
                data.append([Paragraph(_markup(row[0]), gs)] + [""] * (len(t.widths) - 1))
                cmds += [("SPAN", (0, r), (-1, r)), ("BACKGROUND", (0, r), (-1, r), band),
                         ("TOPPADDING", (0, r), (-1, r), 3)]
                continue
            style = ms if i in t.muted else cs
            cells = []
            for j, c in enumerate(row):
                cells.append(Paragraph(_markup(c), rs if (j in t.numeric and i not in t.muted) else style))
            data.append(cells)
            if not t.groups and i % 2 == 1:
                cmds.append(("BACKGROUND", (0, r), (-1, r), colors.HexColor("#F7F7F7")))
        lt = LongTable(data, colWidths=[w * width for w in t.widths], repeatRows=1 if has_header else 0,
                       hAlign="LEFT")
        lt.setStyle(TableStyle(cmds))
        lt.spaceAfter = 6
        return lt

    def figure_items(f: FigureBlock) -> list:
        w = width
        h = w * f.height_px / f.width_px
        max_h = page_h - 2 * margin - 60
        if h > max_h:
            w, h = w * max_h / h, max_h
        return [Image(io.BytesIO(f.png), width=w, height=h), Paragraph(_markup(f.caption), st["caption"])]

    def block_items(b) -> tuple[list, bool]:
        """The flowables of a block, and whether they must stay on one page.
        (KeepTogether is applied once, at the top: nested, it forces page breaks.)"""
        if b.kind == "para":
            return [Paragraph(_markup(b.parts), st[b.style])], True
        if b.kind == "table":
            return [table_flowable(b)], len(b.rows) <= 16
        if b.kind == "figure":
            return figure_items(b), True
        if b.kind == "pre":
            items = [Paragraph(html.escape(b.title), st["pretitle"])] if b.title else []
            items.append(Preformatted(_wrap_pre(b.text, 118), st["pre"]))
            return items, len(b.text) < 3000
        raise TypeError(f"unknown block {b.kind}")

    story.append(Paragraph(html.escape(doc.title), st["title"]))
    if doc.subtitle:
        story.append(Paragraph(html.escape(" ".join(doc.subtitle.split())), st["subtitle"]))
    story.append(Paragraph(" · ".join(f"{k}: {_markup(v)}" for k, v in doc.meta), st["subtitle"]))
    story.append(Paragraph("Key results", st["h2"]))
    story.append(table_flowable(doc.key_results))
    story.append(Spacer(1, 4))
    story.append(Paragraph("Contents: " + "; ".join(f"{i}. {html.escape(s.title)}"
                                                    for i, s in enumerate(doc.sections, 1)), st["note"]))
    for i, sec in enumerate(doc.sections, 1):
        # Groups of blocks kept on one page: a paragraph with the figure or
        # short table it introduces; the heading with the first group.
        groups: list[tuple[list, bool]] = []
        blocks = list(sec.blocks)
        k = 0
        while k < len(blocks):
            items, keep = block_items(blocks[k])
            nxt = blocks[k + 1] if k + 1 < len(blocks) else None
            k += 1
            if blocks[k - 1].kind == "para" and nxt is not None:
                more, keep2 = block_items(nxt)
                if keep2 and nxt.kind in ("figure", "table"):
                    items, k = items + more, k + 1
            groups.append((items, keep))
        heading = Paragraph(f"{i}. {html.escape(sec.title)}", st["h2"])
        first_items, first_keep = groups[0]
        if first_keep:
            groups[0] = ([heading] + first_items, True)
        else:
            groups.insert(0, ([heading, first_items[0]], True))
            groups[1] = (first_items[1:], False)
        for items, keep in groups:
            if keep and (len(items) > 1 or isinstance(items[0], LongTable)):
                story.append(KeepTogether(items))
            else:
                story.extend(items)

    title = doc.title

    def decorate(canvas, d):
        canvas.saveState()
        canvas.setFont("DejaVu", 7.5)
        canvas.setFillColor(grey)
        canvas.drawString(margin, 9 * mm, _clip(title, 95))
        canvas.drawRightString(page_w - margin, 9 * mm, f"page {d.page}")
        canvas.drawString(margin, page_h - 9 * mm, f"trialsim {__version__} simulation report")
        canvas.restoreState()

    buf = io.BytesIO()
    pdf = SimpleDocTemplate(buf, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=margin,
                            bottomMargin=margin, title=doc.title, author=f"trialsim {__version__}",
                            subject="Clinical trial simulation report", creator=f"trialsim {__version__}")
    pdf.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buf.getvalue()


def _clip(t: str, n: int) -> str:
    return t if len(t) <= n else t[: n - 1] + "…"


def _wrap_pre(text: str, width: int) -> str:
    import textwrap

    out = []
    for line in text.splitlines():
        if len(line) <= width:
            out.append(line)
        else:
            indent = len(line) - len(line.lstrip())
            out.extend(textwrap.wrap(line, width=width, subsequent_indent=" " * (indent + 2)) or [""])
    return "\n".join(out)


def count_pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF that reportlab wrote (its page objects are not compressed)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))
