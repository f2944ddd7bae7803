"""The report's power curves and the sizes read off them.

A :class:`PowerCurve` holds simulated power (with its Wilson band) at each
value of one varied scenario path. The default sweeps (docs/reports.md) use
common random numbers (the run's seed at every point) over

* the treatment effect at the design's enrolment: the treatment arm's
  ``eradication`` when the scenario has an MRD model and the design assumes
  eradication > 0, else its ``hazard_ratio``;
* the enrolment at the design's effect, with the events target scaled in
  proportion (the same design, larger or smaller).

:func:`sweep_requests` lists these designs and :func:`sweep_curves` makes the
curves of their summaries, so that a report simulates them in one batch with
its other designs (:mod:`trialsim.report.runs`).

Sizes for 80% and 90% power are read off the simulated enrolment curve by
linear interpolation between grid points (:func:`read_off`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from trialsim.companions import is_conventional, schoenfeld_at
from trialsim.montecarlo import wilson_interval
from trialsim.report.assumptions import value_text
from trialsim.report.runs import run_batch
from trialsim.scenario import Scenario
from trialsim.sweeps import get_path, set_path

TARGETS = (0.8, 0.9)
ENROLMENT_FACTORS = (0.4, 0.55, 0.7, 0.85, 1.0, 1.2, 1.4)


@dataclass
class PowerCurve:
    """A power curve: power at each value of one varied path (others fixed).

    (Not a :class:`trialsim.curves.Curve`, which is a survival curve.)"""

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


def read_off(curve: PowerCurve, target: float, increasing: bool = True) -> ReadOff:
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


def curve_key(c: PowerCurve) -> str:
    """How reads are keyed: the path, and the other varied paths' values of a grid's curve."""
    return c.path + "".join(f"|{k}={value_text(v)}" for k, v in c.fixed.items())


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


def sweep_requests(sc: Scenario, replicates: int) -> list[tuple[tuple, Scenario, int]]:
    """The designs of the default sweeps but the design itself (the run is that
    point): (key, scenario, replicates) for :func:`trialsim.report.runs.run_batch`."""
    base = sc.to_dict()
    epath = effect_path(sc)
    design_effect = float(get_path(base, epath))
    out = []
    for v in effect_grid(sc):
        if v != design_effect:
            out.append((("effect", v), Scenario.from_dict(set_path(base, epath, v)), replicates))
    for n, e in enrolment_grid(sc):
        if n == sc.trial.enrollment:
            continue
        d = copy.deepcopy(base)
        d["trial"]["enrollment"] = n
        if e is not None:
            d["trial"]["analysis"]["events"] = e
        out.append((("enrolment", n, e), Scenario.from_dict(d), replicates))
    return out


def sweep_curves(sc: Scenario, design_point: dict, summaries: dict) -> list[PowerCurve]:
    """The default power curves from the run (``design_point``) and the
    summaries of :func:`sweep_requests`' designs, keyed as there."""
    epath = effect_path(sc)
    design_effect = float(get_path(sc.to_dict(), epath))
    egrid = effect_grid(sc)
    ngrid = enrolment_grid(sc)
    eff = [design_point if v == design_effect else summary_point(summaries[("effect", v)]) for v in egrid]
    enr = [design_point if n == sc.trial.enrollment else summary_point(summaries[("enrolment", n, e)])
           for n, e in ngrid]
    return [
        _curve(epath, np.array(egrid), eff, design_x=design_effect),
        _curve("trial.enrollment", np.array([n for n, _ in ngrid], dtype=float), enr,
               design_x=float(sc.trial.enrollment),
               extra={"trial.analysis.events": np.array([np.nan if e is None else e for _, e in ngrid], float)}),
    ]


def default_sweeps(sc: Scenario, design_point: dict, *, replicates: int, seed: int, workers: int,
                   progress: Callable[[int], None] | None = None, scheduler=None) -> list[PowerCurve]:
    """Power over the treatment effect and over the enrolment (events scaled),
    with the run's seed at every point (common random numbers). ``design_point``
    is the run itself (a sweep gives the same)."""
    summaries = run_batch(sweep_requests(sc, replicates), seed=seed, workers=workers, progress=progress,
                          scheduler=scheduler)
    return sweep_curves(sc, design_point, summaries)


def _curve(path: str, x: np.ndarray, rows: list[dict], design_x=None, extra=None) -> PowerCurve:
    cols = {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0]
            if k not in ("power", "power_mcse", "replicates")}
    cols.update(extra or {})
    return PowerCurve(path=path, x=x.astype(float), power=np.array([r["power"] for r in rows], float),
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


def add_analytic(curve: PowerCurve, sc: Scenario) -> None:
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
