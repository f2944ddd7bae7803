"""Drawing curves, fitted models and a population's strata (matplotlib, no display).

``plot(what)`` draws curves, reference curves, a curve file or a
:class:`~trialsim.curves.fitting.FitReport`, with data on top, or a
population's strata with their MRD components. Figures are drawn with
matplotlib's object API (Agg or SVG), never through pyplot, so no display is
needed and no global state is touched.
"""

from __future__ import annotations

import io
import math
import textwrap
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from trialsim.atomic import write_atomic
from trialsim.curves.fitting import FitReport, SurvivalData, _fmt_count, read_survival_data
from trialsim.curves.grammar import CurveSpecError, from_spec
from trialsim.curves.kinds import Curve
from trialsim.curves.mrd import _distribution_nodes, detectable_mrd_prevalence, mrd_components
from trialsim.curves.references import REFERENCES, reference
from trialsim.loading import ScenarioError, parse_yaml, read_text


_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
           "#7f7f7f", "#bcbd22"]


def _figure(panels: int):
    from matplotlib.figure import Figure  # deferred: matplotlib costs a second of start-up

    fig = Figure(figsize=(7.5 * panels if panels > 1 else 8.0, 5.2), layout="constrained")
    axes = [fig.add_subplot(1, panels, i + 1) for i in range(panels)]
    for ax in axes:
        ax.grid(True, color="#dddddd", linewidth=0.8)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    return fig, axes


def _default_horizon(curves_: Sequence[Curve], data: SurvivalData | None) -> float:
    if data is not None:
        return 1.1 * float(data.durations.max())
    h = 0.0
    for c in curves_:
        q = float(c.quantile(0.95)) if c.cured_fraction < 0.05 else math.inf
        h = max(h, min(q, 240.0) if math.isfinite(q) else 240.0)
    return max(h, 12.0)


def _plot_data(ax, data: SurvivalData) -> None:
    if data.kind == "digitised":
        ax.plot(data.curve_times, data.curve_survival, "o", ms=3.5, color="black", alpha=0.7,
                label=f"data: digitised curve ({Path(data.source).name})")
        return
    from lifelines import KaplanMeierFitter  # deferred: lifelines (and pandas) cost seconds of start-up

    with warnings.catch_warnings():  # lifelines warns about non-integer weights; ours are counts
        warnings.simplefilter("ignore")
        km = KaplanMeierFitter().fit(data.durations, data.events, weights=data.weights)
    sf = km.survival_function_
    ax.step(sf.index.to_numpy(), sf.iloc[:, 0].to_numpy(), where="post", color="black", linewidth=1.6,
            label=f"data: Kaplan-Meier ({Path(data.source).name}, n = {_fmt_count(data.n)})")
    cens = data.durations[~data.events]
    if 0 < cens.size <= 400:
        ax.plot(cens, km.survival_function_at_times(cens).to_numpy(), "|", color="black", ms=6, alpha=0.6)


def _finish(ax, *, title: str, xlabel: str = "months from entry", ylabel: str = "survival (no recurrence)",
            horizon: float, ylim: tuple[float, float] | None = None) -> None:
    ax.set_xlim(0, horizon)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel(xlabel, fontsize=11)
    ax.set_ylabel(ylabel, fontsize=11)
    ax.set_title("\n".join(textwrap.wrap(title, 62 if ax.figure.get_figwidth() > 10 else 72)),
                 fontsize=12, loc="left")
    ax.legend(fontsize=9, frameon=False, loc="best")


def _survival_ylim(values: list[np.ndarray]) -> tuple[float, float]:
    low = min(float(np.nanmin(v)) for v in values)
    return (0.0, 1.02) if low < 0.5 else (max(0.0, low - 0.05 * (1 - low) - 0.02), 1.005)


def _plot_curves(items: list[tuple[str, Curve]], *, data: SurvivalData | None, months: float | None,
                 title: str | None, xlabel: str):
    fig, (ax,) = _figure(1)
    horizon = months or _default_horizon([c for _, c in items], data)
    t = np.linspace(0.0, horizon, 600)
    ys = []
    for i, (label, c) in enumerate(items):
        y = np.asarray(c.survival(t))
        ys.append(y)
        ax.plot(t, y, color=_COLORS[i % len(_COLORS)], linewidth=2.0, label=label)
    if data is not None:
        _plot_data(ax, data)
        ys.append(np.asarray(data.curve_survival if data.kind == "digitised" else [0.0]))
    _finish(ax, title=title or "survival curves", xlabel=xlabel, ylabel="survival", horizon=horizon,
            ylim=_survival_ylim(ys))
    return fig


def _is_population(what: Any) -> bool:
    """A population model: strata (name, tsd, recurrence, mrd) and other-cause death, as trialsim.cohort builds it."""
    return hasattr(what, "strata") and hasattr(what, "death")


def _plot_population(pop: Any, *, name: str, months: float | None, title: str | None):
    lead = [s for s in pop.strata if s.mrd is not None and s.mrd.kind == "lead_time"]
    fig, axes = _figure(2 if lead else 1)
    horizon = months or 120.0
    t = np.linspace(0.0, horizon, 241)
    ax = axes[0]
    ys = []
    for i, st in enumerate(pop.strata):
        color = _COLORS[i % len(_COLORS)]
        tsd = _distribution_nodes(st.tsd, 64)
        lam0 = np.asarray(st.recurrence.cumhaz(tsd))
        marginal = np.exp(lam0[:, None] - np.asarray(st.recurrence.cumhaz(tsd[:, None] + t))).mean(axis=0)
        ys.append(marginal)
        ax.plot(t, marginal, color=color, linewidth=2.2, label=f"{st.name}")
        if st.mrd is not None and st.mrd.kind == "prevalence":
            pos = np.zeros_like(t)
            neg = np.zeros_like(t)
            for s in tsd:
                cp, cn = mrd_components(st.recurrence, prevalence=st.mrd.prevalence,
                                        hazard_ratio=st.mrd.hazard_ratio, time_since_diagnosis=float(s))
                pos += np.asarray(cp.survival(t))
                neg += np.asarray(cn.survival(t))
            pos /= tsd.size
            neg /= tsd.size
            ys += [pos, neg]
            ax.plot(t, pos, color=color, linewidth=1.6, linestyle="--",
                    label=f"{st.name}: MRD-positive at entry ({st.mrd.prevalence:.0%}, HR {st.mrd.hazard_ratio:g})")
            ax.plot(t, neg, color=color, linewidth=1.6, linestyle=":", label=f"{st.name}: MRD-negative at entry")
    if pop.death is not None:
        ax.plot(t, np.asarray(pop.death.survival(t)), color="#555555", linewidth=1.4, linestyle="-.",
                label="other-cause death (survival)")
    changing = any(s.mrd is not None and s.mrd.kind == "prevalence" and (s.mrd.onset_rate or s.mrd.clearance_rate)
                   for s in pop.strata)
    extra = "; MRD components by status at entry, calibrated; onset and clearance not applied" if changing else ""
    _finish(ax, title=title or f"{name}: distant recurrence from entry{extra}",
            ylabel="recurrence-free (share)", horizon=horizon, ylim=_survival_ylim(ys))
    if lead:
        ax2 = axes[1]
        for i, st in enumerate(pop.strata):
            if st.mrd is None or st.mrd.kind != "lead_time":
                continue
            prev = detectable_mrd_prevalence(st.recurrence, st.mrd.lead_time, t,
                                             dormant_share=st.mrd.dormant_share,
                                             time_since_diagnosis=st.tsd, nodes=500)
            ax2.plot(t, 100.0 * np.asarray(prev), color=_COLORS[i % len(_COLORS)], linewidth=2.0, label=st.name)
        ax2.set_ylim(bottom=0)
        _finish(ax2, title="detectable MRD (lead_time model, no competing death)",
                ylabel="survivors with detectable MRD (%)", horizon=horizon)
    return fig


def _load_yaml(path: Path) -> Any:
    """A curve or scenario file, read with the scenario reader's limits (a regular file, 1 MiB, safe YAML)."""
    if not path.exists():
        raise CurveSpecError(f"{path}: file not found")
    try:
        return parse_yaml(read_text(path), str(path))[0]
    except ScenarioError as exc:
        raise CurveSpecError(str(exc)) from None


def is_scenario_file(what: Any) -> bool:
    """Is ``what`` the path of a YAML file holding a scenario (a mapping with a population) rather than a curve?"""
    if not isinstance(what, (str, Path)) or not Path(what).is_file():
        return False
    doc = _load_yaml(Path(what))
    return isinstance(doc, Mapping) and "population" in doc


def _resolve(what: Any) -> tuple[str, Any]:
    """('curves', [(label, curve)]), ('report', FitReport) or ('population', model) for anything plot() takes."""
    if isinstance(what, Curve):
        return "curves", [(what.describe(), what)]
    if isinstance(what, FitReport):
        return "report", what
    if isinstance(what, Mapping) and what and all(isinstance(v, Curve) for v in what.values()):
        return "curves", list(what.items())
    if _is_population(what):
        return "population", what
    if isinstance(what, (str, Path)):
        text = str(what)
        path = Path(text)
        if path.is_file():
            doc = _load_yaml(path)
            if isinstance(doc, Mapping) and "population" in doc:
                raise CurveSpecError(f"{path}: a scenario, not a curve; trialsim.population_plot.plot "
                                     "(`trialsim curves plot`) draws scenarios")
            try:
                curve = from_spec(doc, base_dir=path.parent)
            except CurveSpecError as exc:
                raise CurveSpecError(f"{path}: {exc}") from None
            return "curves", [(f"{path.name}: {curve.describe()}", curve)]
        if text in REFERENCES:
            return "curves", [(text, reference(text))]
        if path.suffix.lower() in (".yaml", ".yml", ".csv", ".json"):
            raise CurveSpecError(f"{text}: file not found")
        reference(text)  # not a file: a reference name, or UnknownReferenceError with suggestions
    raise TypeError(f"plot: cannot draw a {type(what).__name__}")


def plot(what: Any, *, out: str | Path | None = None, data: Any = None, months: float | None = None,
         title: str | None = None, time_unit: str = "months", name: str = "population"):
    """Draw curves, with data when given; return the matplotlib Figure (and write ``out``).

    ``what``: a Curve, a mapping {label: Curve}, a reference name
    (``"pan2017/T1N0"``), a curve YAML file (as written by ``trialsim curves
    fit``), a :class:`FitReport` (its fitted models over its data), or a
    population model (:class:`trialsim.cohort.PopulationModel`, named
    ``name`` in the title). For a population: each stratum's recurrence curve
    from entry (averaged over its time since diagnosis), the calibrated
    MRD-positive and MRD-negative components of ``prevalence`` strata, and for
    ``lead_time`` strata a second panel with the share of survivors with
    detectable MRD (:func:`trialsim.curves.detectable_mrd_prevalence`).
    Scenarios (files or objects) are drawn by
    :func:`trialsim.population_plot.plot`, which builds their population model.

    ``data`` (a CSV path, data frame or :class:`SurvivalData`) is overlaid:
    its Kaplan-Meier curve, or the digitised points. ``months`` sets the time
    axis. ``out`` (.png or .svg) is written atomically. No display is used:
    the figure is drawn with matplotlib's Agg (PNG) or SVG backend and pyplot
    is never imported.
    """
    if out is not None and Path(out).suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"--out {out}: the file must end in .png or .svg")
    sd = None
    if data is not None:
        sd = data if isinstance(data, SurvivalData) else read_survival_data(data, time_unit=time_unit)
    kind, obj = _resolve(what)
    if kind == "population":
        fig = _plot_population(obj, name=name, months=months, title=title)
    elif kind == "report":
        items = [(f"{f.label}" + (f" (AIC {f.aic:.1f})" if f.name != "kaplan_meier" else ""), f.curve)
                 for f in obj.fits.values() if f.name != "kaplan_meier"]
        fig = _plot_curves(items, data=sd or obj.data, months=months,
                           title=title or f"models fitted to {Path(obj.data.source).name}", xlabel="months")
    else:
        xlabel = "months" + (" (from diagnosis for recurrence curves)" if any(
            n.startswith(("pan2017/", "cts5/", "braun2005/")) for n, _ in obj) else "")
        fig = _plot_curves(obj, data=sd, months=months, title=title, xlabel=xlabel)
    if out is not None:
        buf = io.BytesIO()
        fig.savefig(buf, format=Path(out).suffix.lower()[1:], dpi=150)
        write_atomic(out, buf.getvalue())
    return fig
