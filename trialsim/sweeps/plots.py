"""Figures of sweeps and searches: power (or the smallest size) against a varied path.

Every curve carries its Monte Carlo band (Wilson's 95% interval for a power,
the search's 95% range for a size), so that a reader never takes a wiggle
of simulation noise for an effect of design. Each figure is written as PNG
and SVG, atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from trialsim.atomic import atomic_path
from trialsim.montecarlo import wilson_interval
from trialsim.sweeps.tables import fmt_value

if TYPE_CHECKING:   # for the annotation only: a SweepResult is what calls this
    from trialsim.sweeps.run import SweepResult


def is_numeric(values) -> bool:
    """True when every value is a number (an axis to scale), not a category."""
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def plot_power_curve(res: SweepResult, stem: Path) -> list[Path]:
    """Power against the first varied path, with its 95% Monte Carlo band
    (Wilson's interval); one line per value of the second path, if any.
    Writes ``stem.png`` and ``stem.svg``."""
    rows = res.rows()
    paths = res.paths
    prov = res.provenance
    lines = {}
    for r in rows:
        key = r[paths[1]] if len(paths) > 1 else None
        lines.setdefault(key, []).append(r)
    title = prov["scenario"].get("name", "scenario")
    sub = (f"{prov['replicates']:,} simulated trials per design, seed {prov['seed']}; "
           "bands: 95% Monte Carlo interval (Wilson)")
    return plot_curve(lines, x_path=paths[0], group_path=paths[1] if len(paths) > 1 else None,
                      y=lambda r: (r["power"], *wilson_interval(r["power"], r["replicates"])),
                      ylabel="power", title=title, sub=sub,
                      stem=stem, unit_range=True, hline=0.8)


def plot_curve(groups: dict, *, x_path: str, group_path: str | None, y, ylabel: str, title: str, sub: str,
               stem: Path, unit_range: bool, hline: float | None = None) -> list[Path]:
    """One line per group of rows, ``y(row)`` = (value, low, high) against the
    row's ``x_path``, with the band shaded; writes ``stem.png`` and ``stem.svg``."""
    import matplotlib  # deferred: importing matplotlib takes about a second

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # deferred: as above

    xs_all = [r[x_path] for g in groups.values() for r in g]
    numeric = is_numeric(xs_all)
    cats = list(dict.fromkeys(map(str, xs_all)))
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=120)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for n, (key, g) in enumerate(groups.items()):
        pts = [(r[x_path], *y(r)) for r in g if y(r)[0] is not None]
        if not pts:
            continue
        if numeric:
            pts.sort(key=lambda p: p[0])
            xv = np.array([p[0] for p in pts], dtype=float)
        else:
            xv = np.array([cats.index(str(p[0])) for p in pts], dtype=float)
        yv = np.array([p[1] for p in pts], dtype=float)
        lo = np.array([p[2] if p[2] is not None else p[1] for p in pts], dtype=float)
        hi = np.array([p[3] if p[3] is not None else p[1] for p in pts], dtype=float)
        c = colors[n % len(colors)]
        label = f"{group_path} = {fmt_value(key)}" if group_path is not None else None
        ax.plot(xv, yv, "-o", color=c, lw=1.8, ms=4, label=label)
        if unit_range:
            lo, hi = np.clip(lo, 0, 1), np.clip(hi, 0, 1)
        ax.fill_between(xv, lo, hi, color=c, alpha=0.18, lw=0)
    if not numeric:
        ax.set_xticks(range(len(cats)), cats)
    if hline is not None:
        ax.axhline(hline, color="0.55", lw=0.9, ls="--", zorder=0)
        ax.text(1.005, hline, f"{hline:.0%}", transform=ax.get_yaxis_transform(), fontsize=8, color="0.4",
                va="center")
    if unit_range:
        ax.set_ylim(0, 1.02)
    ax.set_xlabel(x_path)
    ax.set_ylabel(ylabel)
    ax.grid(True, color="0.9")
    ax.set_title(f"{title}\n", fontsize=11, loc="left")
    ax.text(0, 1.015, sub, transform=ax.transAxes, fontsize=8, color="0.35", va="bottom")
    if group_path is not None:
        ax.legend(fontsize=8, frameon=False, loc="best")
    fig.tight_layout()
    written = []
    for ext in ("png", "svg"):
        path = stem.with_suffix(f".{ext}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext)
        written.append(path)
    plt.close(fig)
    return written

