"""Figures of the protocol report, in one consistent matplotlib style.

Every figure is a :class:`matplotlib.figure.Figure` drawn on the Agg canvas
directly: no pyplot, no global backend switch, no global rcParams change (the
style is applied with ``rc_context`` while a figure is drawn), so importing
trialsim never disturbs a user's own plotting. Figures are 7 inches wide, the
width of an A4 page's text column, so their 9-point text prints at 9 points.

Colours are the Okabe-Ito palette (readable by colour-blind readers and in
grey print): control blue, treatment vermillion, analytic companions green.
"""

from __future__ import annotations

import io
import math
from contextlib import contextmanager
from typing import Sequence

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter, NullLocator

WIDTH = 7.0          # inches: the text width of an A4 page with 15 mm margins
DPI = 160            # PNG resolution: sharp on screen, and printed at about 160 dpi

BLUE = "#0072B2"
VERMILLION = "#D55E00"
GREEN = "#009E73"
SKY = "#56B4E9"
ORANGE = "#E69F00"
PURPLE = "#CC79A7"
GREY = "#555555"
LIGHT = "#DDDDDD"

ARM_COLOURS = (BLUE, VERMILLION)  # control, treatment

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "axes.edgecolor": GREY,
    "grid.color": LIGHT,
    "grid.linewidth": 0.6,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "xtick.color": GREY,
    "ytick.color": GREY,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "svg.fonttype": "none",
}


@contextmanager
def style():
    """The report's matplotlib style, for the duration of a ``with`` block."""
    with rc_context(STYLE):
        yield


def new_figure(height: float, width: float = WIDTH) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_png(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes (Agg)."""
    buf = io.BytesIO()
    with rc_context(STYLE):
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


#: SVG as the HTML report embeds it: glyphs drawn as paths (the figure looks the
#: same on a machine without the DejaVu fonts, and the file fetches nothing),
#: fixed element ids and no date (the same figure gives the same bytes).
SVG_STYLE = {**STYLE, "svg.fonttype": "path", "svg.hashsalt": "trialsim"}


def to_svg(fig: Figure) -> bytes:
    """The figure as standalone SVG bytes, deterministic, with text as paths."""
    buf = io.BytesIO()
    with rc_context(SVG_STYLE):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def _fmt_count(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 10 else f"{x:,.1f}"


# --------------------------------------------------------------------------
# The screening funnel


def funnel(stages: Sequence[tuple[str, dict]], truly_share: dict | None = None) -> Figure:
    """A funnel diagram: one centred box per stage, its width proportional to
    the square root of the stage's mean (so small stages stay visible), with
    the mean, the 10th-90th centiles and the share kept from the stage above.

    stages: (label, {mean, median, p10, p90}) from the first stage to the last.
    """
    n = len(stages)
    with style():
        fig = new_figure(0.62 * n + 0.7)
        ax = fig.add_subplot()
        ax.set_axis_off()
        top = max(s[1]["mean"] for s in stages) or 1.0
        step = 1.0
        for i, (label, d) in enumerate(stages):
            y = (n - 1 - i) * step
            w = 0.12 + 0.50 * math.sqrt(max(d["mean"], 0.0) / top)
            colour = VERMILLION if i == n - 1 else BLUE
            box = FancyBboxPatch((0.5 - w / 2, y - 0.30), w, 0.60, boxstyle="round,pad=0,rounding_size=0.08",
                                 facecolor=colour, alpha=0.16 if i < n - 1 else 0.22, edgecolor=colour, linewidth=1.2,
                                 mutation_aspect=1.0 / 2.5)
            ax.add_patch(box)
            ax.text(0.5, y + 0.06, f"{_fmt_count(d['mean'])}", ha="center", va="center", fontsize=10.5,
                    fontweight="bold", color="#222222")
            ax.text(0.5, y - 0.17, f"10-90%: {_fmt_count(d['p10'])} to {_fmt_count(d['p90'])}", ha="center",
                    va="center", fontsize=7.5, color=GREY)
            ax.text(0.5 - w / 2 - 0.02, y, label, ha="right", va="center", fontsize=9)
            if i > 0:
                prev = stages[i - 1][1]["mean"]
                share = d["mean"] / prev if prev > 0 else float("nan")
                ax.add_patch(FancyArrowPatch((0.5, y + step - 0.31), (0.5, y + 0.31), arrowstyle="-|>",
                                             mutation_scale=8, color=GREY, linewidth=0.8))
                ax.text(0.53, y + step / 2, f"{share:.1%} of the stage above" if np.isfinite(share) else "",
                        ha="left", va="center", fontsize=7.5, color=GREY)
        if truly_share is not None:
            ax.text(0.5 + 0.31, 0.0, f"truly MRD-positive:\n{truly_share['mean']:.1%} "
                    f"(10-90%: {truly_share['p10']:.1%} to {truly_share['p90']:.1%})",
                    ha="left", va="center", fontsize=8, color=VERMILLION)
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.5, (n - 1) * step + 0.5)
    return fig


# --------------------------------------------------------------------------
# Power curves


def power_curves(panels: Sequence[dict]) -> Figure:
    """One panel per curve. Each panel: dict with x, power, lo, hi (band),
    xlabel, title, optional design_x, analytic (array, same x), reads
    ({target: x or None}), x_reversed (bool), note (str)."""
    k = len(panels)
    with style():
        fig = new_figure(3.0 if k <= 2 else 2.8 * math.ceil(k / 2))
        axes = fig.subplots(math.ceil(k / 2), min(k, 2), squeeze=False).ravel()
        for ax in axes[k:]:
            ax.set_visible(False)
        for ax, p in zip(axes, panels):
            x = np.asarray(p["x"], dtype=float)
            for series in p.get("lines", [None]):
                if series is None:
                    pw, lo, hi, lab, col = p["power"], p["lo"], p["hi"], "simulated", BLUE
                else:
                    pw, lo, hi, lab, col = series["power"], series["lo"], series["hi"], series["label"], series["colour"]
                ax.fill_between(x, lo, hi, color=col, alpha=0.18, linewidth=0,
                                label="95% band" if series is None else None)
                ax.plot(x, pw, "o-", color=col, markersize=3.5, label=lab)
            if p.get("analytic") is not None:
                ax.plot(x, p["analytic"], "--", color=GREEN, linewidth=1.4, label=p.get("analytic_label", "analytic"))
            for target, ls in ((0.8, ":"), (0.9, "-.")):
                ax.axhline(target, color=GREY, linewidth=0.8, linestyle=ls)
                ax.text(1.0, target, f" {target:.0%}", transform=ax.get_yaxis_transform(), va="center",
                        ha="left", fontsize=7.5, color=GREY)
            for target, xv in (p.get("reads") or {}).items():
                if xv is not None and np.isfinite(xv):
                    ax.plot([xv, xv], [0, target], color=PURPLE, linewidth=0.9)
                    ax.plot([xv], [target], "D", color=PURPLE, markersize=4)
            if p.get("design_x") is not None:
                ax.axvline(p["design_x"], color=ORANGE, linewidth=1.0, linestyle="--", label="design")
            ax.set_ylim(0, 1.02)
            ax.set_xlabel(p["xlabel"])
            ax.set_ylabel("power")
            ax.set_title(p["title"])
            if p.get("x_reversed"):
                ax.invert_xaxis()
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=len(labels))
    return fig


# --------------------------------------------------------------------------
# Timelines


def timelines(month: np.ndarray, series: Sequence[tuple[str, np.ndarray, str]], marks: Sequence[tuple[str, dict, str]],
              horizon: float) -> Figure:
    """Stacked panels of cumulative counts over calendar months: the median
    across replicates and the 10-90% band. marks: (label, {median, p10, p90},
    colour) of calendar times (analysis, last randomisation), drawn as a line
    at the median and a shaded 10-90% span on every panel."""
    k = len(series)
    with style():
        fig = new_figure(1.45 * k + 0.65)
        axes = fig.subplots(k, 1, sharex=True, squeeze=False).ravel()
        m = np.asarray(month, dtype=float)
        keep = m <= horizon
        for ax, (label, counts, colour) in zip(axes, series):
            c = np.asarray(counts, dtype=float)[:, keep]
            p10, med, p90 = np.percentile(c, [10, 50, 90], axis=0)
            ax.fill_between(m[keep], p10, p90, color=colour, alpha=0.22, linewidth=0, step="post")
            ax.step(m[keep], med, where="post", color=colour)
            ax.set_ylabel(label)
            ax.set_ylim(bottom=0)
            for mlabel, d, mcol in marks:
                if d is None:
                    continue
                ax.axvspan(d["p10"], d["p90"], color=mcol, alpha=0.10, linewidth=0)
                ax.axvline(d["median"], color=mcol, linestyle="--", linewidth=1.1)
            ax.yaxis.set_major_formatter(_thousands)
        handles = [Line2D([], [], color=GREY, linewidth=1.6), Patch(color=GREY, alpha=0.22, linewidth=0)]
        labels = ["median over trials", "10-90% of trials"]
        for mlabel, d, mcol in marks:
            if d is not None:
                handles.append(Line2D([], [], color=mcol, linestyle="--", linewidth=1.1))
                labels.append(f"{mlabel}: month {d['median']:.1f} (median; 10-90% shaded)")
        fig.legend(handles, labels, loc="outside upper center", ncol=2)
        axes[-1].set_xlabel("calendar month from the opening of the first site")
        axes[-1].set_xlim(0, horizon)
    return fig


_thousands = FuncFormatter(lambda x, pos=None: f"{x:,.0f}")


# --------------------------------------------------------------------------
# Kaplan-Meier curves and the hazard-ratio estimate


def kaplan_meier(arms: Sequence[tuple[str, np.ndarray, np.ndarray]], title: str) -> Figure:
    """Kaplan-Meier curves with 95% pointwise bands (lifelines), one per arm,
    and the numbers at risk below. arms: (label, time, event) per arm."""
    from lifelines import KaplanMeierFitter  # deferred: lifelines takes a second to import; only KM figures need it

    with style():
        fig = new_figure(3.6)
        gs = fig.add_gridspec(2, 1, height_ratios=[5, 1])
        ax = fig.add_subplot(gs[0])
        risk = fig.add_subplot(gs[1], sharex=ax)
        tmax = max((float(np.max(t)) for _, t, _ in arms if len(t)), default=1.0)
        ticks = _nice_ticks(tmax)
        for i, (label, t, e) in enumerate(arms):
            colour = ARM_COLOURS[i % 2]
            if len(t) == 0:
                continue
            kmf = KaplanMeierFitter(label=label).fit(t, e)
            sf = kmf.survival_function_.iloc[:, 0]
            ci = kmf.confidence_interval_
            ax.fill_between(sf.index, ci.iloc[:, 0], ci.iloc[:, 1], step="post", color=colour, alpha=0.15,
                            linewidth=0)
            ax.step(sf.index, sf.values, where="post", color=colour, label=f"{label} ({len(t)} patients, "
                                                                            f"{int(np.sum(e))} events)")
            at_risk = [int(np.sum(t >= x)) for x in ticks]
            for x, n in zip(ticks, at_risk):
                risk.text(x, 1 - i, f"{n}", ha="center", va="center", fontsize=7.5, color=colour)
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("recurrence-free (DRFS)")
        ax.set_title(title)
        ax.legend(loc="lower left")
        ax.tick_params(labelbottom=False)
        risk.set_ylim(-0.6, 1.6)
        risk.set_yticks([1, 0])
        risk.set_yticklabels([a[0] for a in arms][:2], fontsize=7.5)
        risk.grid(False)
        risk.spines["left"].set_visible(False)
        risk.tick_params(axis="y", length=0, pad=16)
        risk.set_xticks(ticks)
        risk.set_xlim(0, tmax * 1.02)
        risk.set_xlabel("months from randomisation (numbers at risk below the curves)")
    return fig


def _nice_ticks(tmax: float) -> list[float]:
    for step in (3, 6, 12, 24, 48, 96):
        if tmax / step <= 8:
            break
    return [float(x) for x in np.arange(0, tmax + 1e-9, step)]


def hazard_ratio_histogram(hr: np.ndarray, marks: Sequence[tuple[str, float, str]]) -> Figure:
    """Histogram of the hazard-ratio estimate over replicates (log axis), with
    vertical marks (label, value, colour)."""
    with style():
        fig = new_figure(2.6)
        ax = fig.add_subplot()
        v = np.asarray(hr, dtype=float)
        v = v[np.isfinite(v) & (v > 0)]
        if v.size:
            lo, hi = np.percentile(v, [0.5, 99.5])
            lo, hi = min(lo, *(m[1] for m in marks if m[1] > 0)) * 0.95, max(hi, *(m[1] for m in marks)) * 1.05
            bins = np.geomspace(lo, hi, 40)
            ax.hist(np.clip(v, lo, hi), bins=bins, color=SKY, edgecolor="white", linewidth=0.4)
            ax.set_xscale("log")
            ax.set_xlim(lo, hi)
            _log_ticks(ax, lo, hi)
        for label, x, colour in marks:
            ax.axvline(x, color=colour, linestyle="--", linewidth=1.2, label=f"{label} {x:.3f}")
        ax.set_xlabel("hazard-ratio estimate, treatment vs control (log scale)")
        ax.set_ylabel("simulated trials")
        ax.set_title("Distribution of the hazard-ratio estimate")
        ax.legend(loc="upper right")
    return fig


def _log_ticks(ax, lo: float, hi: float) -> None:
    candidates = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 2, 3, 4, 5, 10]
    ticks = [t for t in candidates if lo <= t <= hi]
    if len(ticks) > 9:
        ticks = ticks[::2]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, pos=None: f"{x:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


# --------------------------------------------------------------------------
# Sensitivity: a tornado chart


def tornado(bars: Sequence[dict], baseline: tuple[float, float | None], size_label: str = "survivors screened"
            ) -> Figure:
    """One row per input moved one at a time, largest swing in power on top:
    bars from the design's value to the value with the input at -25% (blue)
    and at +25% (orange). bars: {label, power: (at -25%, at +25%), size: (...)};
    baseline: (power, size) of the design; a second panel shows the size
    unless baseline[1] is None."""
    order = sorted(bars, key=lambda b: abs(b["power"][1] - b["power"][0]), reverse=True)
    k = len(order)
    two = baseline[1] is not None
    with style():
        fig = new_figure(0.62 * k + 1.0)
        axes = fig.subplots(1, 2 if two else 1, sharey=True, squeeze=False).ravel()
        y = np.arange(k)[::-1].astype(float)
        panels = [(axes[0], "power", baseline[0], "power", lambda v: f"{v:.2f}")]
        if two:
            panels.append((axes[1], "size", baseline[1], size_label, _fmt_count))
        for ax, key, base, xlabel, text in panels:
            values = [base]
            for yi, b in zip(y, order):
                for (v, colour, dy) in ((b[key][0], BLUE, 0.19), (b[key][1], ORANGE, -0.19)):
                    ax.barh(yi + dy, v - base, left=base, height=0.36, color=colour, alpha=0.85)
                    ax.text(v, yi + dy, f" {text(v)} " if v >= base else f" {text(v)} ", va="center",
                            ha="left" if v >= base else "right", fontsize=7.5, color=GREY)
                    values.append(v)
            ax.axvline(base, color="#222222", linewidth=1.0)
            lo, hi = min(values), max(values)
            pad = 0.22 * (hi - lo) if hi > lo else max(abs(base) * 0.1, 0.05)
            left, right = lo - pad, hi + pad
            if key == "size":       # at least +-5% of the design's size: small changes look small
                left, right = min(left, base * 0.95), max(right, base * 1.05)
            if key == "power":
                left, right = max(left, -0.02), min(right, 1.02)
            ax.set_xlim(left, right)
            ax.set_xlabel(xlabel)
            ax.grid(axis="y", visible=False)
            if key == "size":
                ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
                ax.xaxis.set_major_formatter(_thousands)
        axes[0].set_yticks(y)
        axes[0].set_yticklabels([b["label"] for b in order])
        axes[0].set_ylim(-0.6, k - 0.4)
        handles = [Patch(color=BLUE, alpha=0.85), Patch(color=ORANGE, alpha=0.85),
                   Line2D([], [], color="#222222", linewidth=1.0)]
        fig.legend(handles, ["input at -25%", "input at +25%", "design"], loc="outside lower center", ncol=3)
    return fig
