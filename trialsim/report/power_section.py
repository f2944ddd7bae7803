"""The report's power section: the power curves, and the sizes and effects read off them.

First the simulated type I error beside the power; then a figure of every power curve (with Wilson bands and, for conventional
designs, Schoenfeld's power at each point), the enrolment or events needed
for 80% and 90% power, the effect detectable at the design's enrolment, and
the grid of every curve.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from trialsim import figures
from trialsim.report.assumptions import value_text
from trialsim.report.document import (
    Code,
    FigureBlock,
    Num,
    Para,
    Section,
    Strong,
    Table,
    fmt,
    num,
)
from trialsim.report.power_curves import (
    TARGETS,
    PowerCurve,
    ReadOff,
    curve_key,
    effect_path,
)
from trialsim.report.sensitivity import power_type1_para
from trialsim.scenario import Scenario


def section_power(sc: Scenario, s: dict, curves: list[PowerCurve], reads: dict, sweep_info: dict | None, *,
                  type1: dict | None = None) -> Section:
    blocks: list = []
    if type1 is not None:
        blocks.append(power_type1_para(type1, s["power"], s["replicates"]))
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
    blocks.append(FigureBlock.from_figure(fig, caption=[
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
                row = [f"{t:.0%}", read_fragments(r, key, screening=False, unit_word=word)]
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


def read_fragments(r: ReadOff, key: str, screening: bool, unit_word: str = "patients") -> list:
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


def _size_name(path: str) -> str:
    return {"trial.enrollment": "enrolment", "trial.analysis.events": "events"}.get(path, path)


def _sweep_run_text(prov: dict) -> str:
    parts = []
    if prov.get("replicates"):
        parts.append(f"{int(prov['replicates']):,} simulated trials per point")
    if prov.get("seed") is not None:
        parts.append(f"seed {prov['seed']} at every point")
    return ("; " + ", ".join(parts)) if parts else ""


def _short(t: str, n: int = 60) -> str:
    return t if len(t) <= n else t[: n - 1] + "…"
