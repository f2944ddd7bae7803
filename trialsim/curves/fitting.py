"""Fitting survival curves to data (lifelines).

``fit(data)`` fits Kaplan-Meier, exponential, Weibull, log-normal,
log-logistic and piecewise-exponential models with lifelines' fitters and
returns a :class:`FitReport`: a comparison table, the model with the lowest
AIC, and the chosen curve written as YAML a scenario can use. Drawing the
fits is :func:`trialsim.curves.plots.plot`.

Data come in two shapes (a CSV file, a pandas DataFrame or a mapping of
columns):

* patient-level: columns ``time`` and ``event`` (1 = event, 0 = censored);
* a digitised Kaplan-Meier curve: columns ``time`` and ``survival``, and
  ``at_risk`` (numbers at risk) when the publication gives them. The curve is
  turned back into pseudo patient data (:func:`reconstruct_patient_data`, a
  Guyot-style reconstruction) and fitted like patient data.

Time is in months; ``time_unit`` converts data given in days, weeks or years.
See docs/curves.md for the choices made here and why.
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from trialsim.atomic import write_atomic
from trialsim.curves import grammar
from trialsim.curves.kinds import Curve, PiecewiseExponential, piecewise_approximation
from trialsim.curves.tables import CurveDataError, open_csv
from trialsim.version import __version__  # in the header of a written curve

__all__ = [
    "MODELS",
    "PARAMETRIC_MODELS",
    "TIME_UNITS",
    "MIN_EVENTS",
    "NOMINAL_N",
    "FitError",
    "SurvivalData",
    "ModelFit",
    "FitReport",
    "read_survival_data",
    "reconstruct_patient_data",
    "default_breakpoints",
    "fit",
]

MODELS = ("kaplan_meier", "exponential", "weibull", "lognormal", "loglogistic", "piecewise_exponential")
PARAMETRIC_MODELS = MODELS[1:]
_LABELS = {
    "kaplan_meier": "Kaplan-Meier",
    "exponential": "exponential",
    "weibull": "Weibull",
    "lognormal": "log-normal",
    "loglogistic": "log-logistic",
    "piecewise_exponential": "piecewise exponential",
}
#: months per unit of the data's time column
TIME_UNITS = {"months": 1.0, "days": 12.0 / 365.25, "weeks": 7.0 * 12.0 / 365.25, "years": 12.0}
#: fewer (weighted) events than this and nothing is fitted
MIN_EVENTS = 5
#: pseudo-patients behind a digitised curve without numbers at risk (see reconstruct_patient_data)
NOMINAL_N = 1000
#: events per piece of a default piecewise-exponential model
EVENTS_PER_PIECE = 15
#: censoring in an interval between two numbers at risk is spread over this many points
CENSOR_POINTS = 20
#: a fitted time scale (or 1 / rate) beyond this factor of the data's times, or below its inverse, is at a bound
BOUND_TIME_FACTOR = 1e6
#: a fitted shape (Weibull shape, log-normal sigma, log-logistic beta) outside [1 / this, this] is at a bound
BOUND_SHAPE_FACTOR = 1e3


class FitError(ValueError):
    """The data cannot be fitted (too few events, no model converged)."""


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class SurvivalData:
    """Right-censored data ready for lifelines: one (weighted) row per pseudo-patient group.

    ``kind`` is "patient" (as given) or "digitised" (reconstructed from a
    curve); ``n`` and ``events`` are weighted totals; ``nominal`` says that
    ``n`` was not known (a digitised curve without numbers at risk), so the
    log-likelihood, AIC and standard errors are on an arbitrary scale.
    """

    durations: np.ndarray
    events: np.ndarray
    weights: np.ndarray
    kind: str
    source: str
    time_unit: str = "months"
    nominal: bool = False
    curve_times: np.ndarray | None = None      # the digitised points (months), for plots
    curve_survival: np.ndarray | None = None
    notes: tuple[str, ...] = ()

    @property
    def n(self) -> float:
        return float(self.weights.sum())

    @property
    def n_events(self) -> float:
        return float(self.weights[self.events].sum())


def _fmt_count(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 1e-6 else f"{x:.1f}"


class _Table:
    """Columns of a CSV file (or data frame) with the location of every row, for messages."""

    def __init__(self, source: str, header: list[str], rows: list[list[str]], lines: list[int | None]):
        self.source = source
        self.header = header
        self.rows = rows
        self.lines = lines

    def where(self, i: int) -> str:
        line = self.lines[i]
        return f"{self.source}, data row {i + 1}" + (f" (line {line})" if line is not None else "")

    def fail(self, i: int, message: str) -> CurveDataError:
        return CurveDataError(f"{self.where(i)}: {message}", path=self.source, row=i + 1, line=self.lines[i])

    def column(self, name: str) -> list[str]:
        j = self.header.index(name)
        return [r[j] for r in self.rows]

    def numbers(self, name: str, *, allow_blank: bool = False) -> np.ndarray:
        out = np.empty(len(self.rows))
        for i, cell in enumerate(self.column(name)):
            text = str(cell).strip()
            if text == "" or text.lower() == "nan":
                if allow_blank:
                    out[i] = np.nan
                    continue
                raise self.fail(i, f"{name} is empty")
            try:
                out[i] = float(text)
            except ValueError:
                raise self.fail(i, f"{name} {text!r} is not a number") from None
            if not math.isfinite(out[i]):
                raise self.fail(i, f"{name} {text} is not a finite number")
        return out


def _read_csv(path: Path) -> _Table:
    name = str(path)
    fh = open_csv(path, "data")
    rows: list[list[str]] = []
    lines: list[int | None] = []
    header: list[str] | None = None
    header_line = 0
    with fh:
        reader = csv.reader(fh)
        try:
            for fields in reader:
                if not any(f.strip() for f in fields) or fields[0].lstrip().startswith("#"):
                    continue
                if header is None:
                    header = [h.strip().lower() for h in fields]
                    header_line = reader.line_num
                    continue
                if len(fields) != len(header):
                    raise CurveDataError(
                        f"{name}, data row {len(rows) + 1} (line {reader.line_num}): expected {len(header)} "
                        f"fields like the header, found {len(fields)}",
                        path=name, row=len(rows) + 1, line=reader.line_num)
                rows.append(fields)
                lines.append(reader.line_num)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise CurveDataError(f"{name}, line {reader.line_num + 1}: cannot parse CSV ({exc})",
                                 path=name, line=reader.line_num + 1) from None
    if header is None:
        raise CurveDataError(f"{name}: empty file; expected a header 'time,event' (patient data) or "
                             f"'time,survival[,at_risk]' (a digitised curve)", path=name)
    if not rows:
        raise CurveDataError(f"{name}: no data rows after the header (line {header_line})", path=name)
    return _Table(name, header, rows, lines)


def _table_from_frame(data: Any, source: str) -> _Table:
    import pandas as pd  # deferred: pandas costs 0.3 s of start-up

    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(dict(data))
    header = [str(c).strip().lower() for c in frame.columns]
    rows = [[("" if (isinstance(v, float) and math.isnan(v)) else str(v)) for v in rec]
            for rec in frame.itertuples(index=False, name=None)]
    if not rows:
        raise CurveDataError(f"{source}: no data rows", path=source)
    return _Table(source, header, rows, [None] * len(rows))


def read_survival_data(data: Any, *, time_unit: str = "months", n_at_risk: float | None = None,
                       source: str | None = None) -> SurvivalData:
    """Read and check patient-level data or a digitised curve (see the module docs).

    ``data`` is a CSV path, a pandas DataFrame or a mapping of columns. Every
    problem raises :class:`~trialsim.curves.CurveDataError` with one line that
    names the file (or ``source``) and the 1-based data row.
    """
    if time_unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {', '.join(TIME_UNITS)}, got {time_unit!r}")
    if isinstance(data, (str, Path)):
        table = _read_csv(Path(data))
    elif isinstance(data, Mapping) or type(data).__name__ == "DataFrame":
        table = _table_from_frame(data, source or "data frame")
    else:
        raise TypeError(f"data must be a CSV path, a pandas DataFrame or a mapping of columns, "
                        f"got {type(data).__name__}")
    cols = table.header
    src = table.source
    if "time" not in cols:
        raise CurveDataError(f"{src}: no 'time' column (found {', '.join(cols)}); patient data need "
                             f"'time,event', a digitised curve 'time,survival[,at_risk]'", path=src)
    has_event, has_surv = "event" in cols, "survival" in cols
    if has_event and has_surv:
        raise CurveDataError(f"{src}: both 'event' and 'survival' columns; give patient data (time, event) "
                             f"or a digitised curve (time, survival[, at_risk]), not both", path=src)
    if not has_event and not has_surv:
        hint = " (rename 'status' to 'event')" if "status" in cols else ""
        raise CurveDataError(f"{src}: missing column 'event' (patient data) or 'survival' (a digitised "
                             f"curve){hint}; found {', '.join(cols)}", path=src)
    scale = TIME_UNITS[time_unit]
    if has_event:
        return _patient_data(table, scale, time_unit)
    return _digitised_data(table, scale, time_unit, n_at_risk)


def _patient_data(table: _Table, scale: float, time_unit: str) -> SurvivalData:
    t = table.numbers("time")
    e = table.numbers("event")
    bad = np.flatnonzero((t <= 0) | ((e != 0) & (e != 1)))
    if bad.size:  # the first row with a problem
        i = int(bad[0])
        if t[i] <= 0:
            raise table.fail(i, f"time {t[i]:g} must be > 0 (parametric models need positive times; "
                                f"an event on day 0 can be given as a small positive time)")
        raise table.fail(i, f"event {e[i]:g} must be 1 (event) or 0 (censored)")
    return SurvivalData(durations=t * scale, events=e.astype(bool), weights=np.ones(t.size), kind="patient",
                        source=table.source, time_unit=time_unit)


def _digitised_data(table: _Table, scale: float, time_unit: str, n_at_risk: float | None) -> SurvivalData:
    t = table.numbers("time")
    s = table.numbers("survival")
    r = table.numbers("at_risk", allow_blank=True) if "at_risk" in table.header else None
    for i in range(t.size):
        if t[i] < 0:
            raise table.fail(i, f"time {t[i]:g} is negative")
        if not 0.0 <= s[i] <= 1.0:
            extra = " (percentages? give proportions)" if 1 < s[i] <= 100 else ""
            raise table.fail(i, f"survival {s[i]:g} is outside [0, 1]{extra}")
        if i and t[i] < t[i - 1]:
            raise table.fail(i, f"time {t[i]:g} is smaller than the previous time {t[i - 1]:g} "
                                f"(times must be sorted)")
        if i and s[i] > s[i - 1]:
            raise table.fail(i, f"survival {s[i]:g} is greater than the previous survival {s[i - 1]:g} "
                                f"(survival must not increase)")
        if t[i] == 0 and s[i] != 1:
            raise table.fail(i, f"survival at time 0 must be 1, got {s[i]:g}")
        if r is not None and not np.isnan(r[i]) and r[i] < 0:
            raise table.fail(i, f"at_risk {r[i]:g} is negative")
    if r is not None:
        given = np.flatnonzero(~np.isnan(r))
        if given.size == 0:
            r = None
        else:
            first = int(given[0])
            if t[first] != 0:
                raise table.fail(first, "the first number at risk must be on a row at time 0 "
                                        "(add a row '0,1,N' with N the number at risk at the start)")
            prev = given[:-1]
            up = np.flatnonzero(r[given[1:]] > r[prev])
            if up.size:
                i = int(given[1:][up[0]])
                raise table.fail(i, f"at_risk {r[i]:g} is greater than the previous number at risk "
                                    f"{r[int(prev[up[0]])]:g} (numbers at risk must not increase)")
    durations, events, weights, notes = reconstruct_patient_data(t * scale, s, r, n=n_at_risk, _table=table)
    return SurvivalData(durations=durations, events=events, weights=weights, kind="digitised",
                        source=table.source, time_unit=time_unit, nominal=r is None and n_at_risk is None,
                        curve_times=t * scale, curve_survival=s, notes=tuple(notes))


def reconstruct_patient_data(times: Sequence[float], survival: Sequence[float],
                             at_risk: Sequence[float] | None = None, *, n: float | None = None,
                             censor_points: int = CENSOR_POINTS, _table: _Table | None = None):
    """Pseudo patient data whose Kaplan-Meier curve is the digitised one.

    Returns ``(durations, events, weights, notes)``: weighted rows for
    lifelines. A Guyot-style reconstruction (Guyot, Ades, Ouwens, Welton, BMC
    Med Res Methodol 2012;12:9), with real-valued counts instead of rounded
    ones:

    * At each digitised time t_i the drop S_i / S_{i-1} is a Kaplan-Meier
      factor: d_i = n_i (1 - S_i / S_{i-1}) events among the n_i at risk.
    * Between two published numbers at risk (times T_k, T_{k+1}) the number
      censored, c_k, is spread evenly over the interval (``censor_points``
      equally spaced points) and solved for exactly (n_i is linear in c_k) so
      that the reconstruction has R_{k+1} at risk at T_{k+1}. A negative
      solution (digitising error: more at risk than the drops allow) is set to
      0 and noted; the count restarts from the published number at T_{k+1}.
    * After the last number at risk no one is censored until the last time,
      where everyone left is censored.
    * Without numbers at risk, ``n`` (the number at the start, if the paper
      says it) or :data:`NOMINAL_N` is used and no one is censored before the
      last time. The fitted curves are then a fit of the curve's shape (the
      maximum-likelihood fit to a cohort that reproduces the curve exactly);
      with the nominal n, log-likelihoods, AICs and standard errors are on an
      arbitrary scale.

    Equal consecutive times (a vertical drop digitised as two points) are
    merged, keeping the lower survival.
    """
    t = np.asarray(times, dtype=float)
    s = np.asarray(survival, dtype=float)
    r = None if at_risk is None else np.asarray(at_risk, dtype=float)
    idx = np.arange(t.size)  # row numbers, for messages
    if t.size == 0:
        raise CurveDataError("no points in the digitised curve")
    # merge equal times (keep the last, lowest survival; keep an at-risk value if any row has one)
    last_of_run = np.concatenate((t[1:] != t[:-1], [True]))
    if r is not None:
        first_of_run = np.concatenate(([True], t[1:] != t[:-1]))
        run_id = np.cumsum(first_of_run) - 1
        merged_r = np.full(run_id[-1] + 1, np.nan)
        for i in range(t.size):
            if not np.isnan(r[i]) and np.isnan(merged_r[run_id[i]]):
                merged_r[run_id[i]] = r[i]
        r = merged_r
    t, s, idx = t[last_of_run], s[last_of_run], idx[last_of_run]
    if t[0] > 0:  # the curve starts at (0, 1)
        t, s, idx = np.concatenate(([0.0], t)), np.concatenate(([1.0], s)), np.concatenate(([-1], idx))
        if r is not None:
            r = np.concatenate(([np.nan], r))
    notes: list[str] = []

    def fail(i: int, message: str) -> CurveDataError:
        row = int(idx[i])
        if _table is not None and row >= 0:
            return _table.fail(row, message)
        return CurveDataError(f"digitised point {row + 1}: {message}", row=row + 1)

    reports = [] if r is None else [int(i) for i in np.flatnonzero(~np.isnan(r))]
    if reports:
        if reports[0] != 0:
            raise fail(reports[0], "the first number at risk must be at time 0")
        start = float(r[0])
        if n is not None and abs(n - start) > 1e-9:
            notes.append(f"n = {n:g} ignored: the table says {start:g} at risk at time 0")
    else:
        start = float(n) if n is not None else float(NOMINAL_N)
        reports = [0]
        r = np.full(t.size, np.nan)
        r[0] = start
    if start <= 0:
        raise fail(0, f"the number at risk at the start must be positive, got {start:g}")

    ratio = np.ones(t.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio[1:] = np.where(s[:-1] > 0, s[1:] / s[:-1], 1.0)
    ev_t: list[float] = []
    ev_w: list[float] = []
    ce_t: list[float] = []
    ce_w: list[float] = []
    bounds = reports + [t.size]
    for k, a in enumerate(reports):
        b = bounds[k + 1]                      # next report row (or the end)
        inner = np.arange(a + 1, b)
        n_a = float(r[a])
        d_a = n_a * (1.0 - ratio[a])
        if n_a == 0 and ratio[a] < 1:
            raise fail(a, "survival falls although the number at risk is 0")
        if d_a > 0:
            ev_t.append(t[a])
            ev_w.append(d_a)
        last = b == t.size
        if last:
            c, points = 0.0, np.zeros(0)
        else:
            points = t[a] + (np.arange(censor_points) + 0.5) / censor_points * (t[b] - t[a])

        def walk(c: float) -> tuple[np.ndarray, float]:
            """Events at the inner rows and the number left at T_b, for c censored in (T_a, T_b)."""
            left = n_a - d_a
            d = np.empty(inner.size)
            done = 0
            for j, i in enumerate(inner):
                now = int(np.searchsorted(points, t[i], side="left"))  # censoring points before t_i
                left -= (now - done) * c / max(points.size, 1)
                done = now
                d[j] = left * (1.0 - ratio[i])
                left -= d[j]
            left -= (points.size - done) * c / max(points.size, 1)
            return d, left

        if not last:
            d0, left0 = walk(0.0)
            _, left1 = walk(1.0)
            slope = left0 - left1  # left(c) = left0 - slope·c, 0 < slope <= 1
            c = (left0 - float(r[b])) / slope
            if c < -1e-9 * max(n_a, 1.0):
                notes.append(f"rows {int(idx[a]) + 1}-{int(idx[b]) + 1}: the numbers at risk ({n_a:g} then "
                             f"{r[b]:g}) leave fewer at risk than the survival drops allow; no censoring "
                             f"assumed there (digitising error?)")
            c = max(c, 0.0)
        d, left = walk(c)
        if np.any(d < -1e-9) or left < -1e-6 * max(n_a, 1.0):
            raise fail(a, "the numbers at risk and the survival drops are inconsistent")
        for i, dj in zip(inner, d):
            if dj > 0:
                ev_t.append(t[i])
                ev_w.append(dj)
        if c > 0:
            ce_t.extend(points.tolist())
            ce_w.extend([c / points.size] * points.size)
        if last and left > 1e-12:
            ce_t.append(t[-1])
            ce_w.append(left)
        if not last and r[b] == 0 and np.any(ratio[b + 1:] < 1):
            raise fail(b, "number at risk 0 but the survival still falls after this row")
    durations = np.asarray(ev_t + ce_t, dtype=float)
    events = np.concatenate((np.ones(len(ev_t), bool), np.zeros(len(ce_t), bool)))
    weights = np.asarray(ev_w + ce_w, dtype=float)
    positive = durations > 0  # an event or censoring at time 0 carries no information for the fits
    if np.any(~positive & events):
        raise fail(0, "survival drops at time 0")
    return durations[positive], events[positive], weights[positive], notes


# --------------------------------------------------------------------------
# Fits
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelFit:
    """One fitted model: the trialsim curve, its parameters (value, standard error) and fit statistics."""

    name: str
    curve: Curve
    parameters: dict[str, tuple[float, float]]
    log_likelihood: float
    aic: float
    fitter: Any = field(repr=False, compare=False)
    note: str = ""
    #: why the fit sits at a bound of its parameters (empty: it does not): such a fit should not be trusted
    at_bound: str = ""

    @property
    def label(self) -> str:
        return _LABELS[self.name]

    def parameter_text(self) -> str:
        if self.name == "kaplan_meier":
            c = self.curve
            steps = int(np.sum(np.diff(c.table_survival) < 0))
            return f"{steps} steps to month {c.table_times[-1]:.3g} (survival {c.table_survival[-1]:.3g})"
        parts = []
        for k, (v, se) in self.parameters.items():
            se_text = f" ± {se:.2g}" if math.isfinite(se) else ""
            parts.append(f"{k} {v:.3g}{se_text}")
        return ", ".join(parts)


def default_breakpoints(durations: np.ndarray, events: np.ndarray, weights: np.ndarray) -> list[float]:
    """Breaks of the default piecewise-exponential model: event-time quantiles.

    One piece per :data:`EVENTS_PER_PIECE` events, 2 to 4 pieces, the breaks
    at the equally spaced quantiles of the (weighted) event times, rounded to
    3 significant digits; none (no piecewise model) below 2 pieces' worth of
    events. Equal counts of events per piece keep every rate about equally
    well estimated.
    """
    ev_t = durations[events]
    ev_w = weights[events]
    n_events = ev_w.sum()
    pieces = int(min(4, n_events // EVENTS_PER_PIECE))
    if pieces < 2:
        return []
    order = np.argsort(ev_t)
    cum = np.cumsum(ev_w[order]) / n_events
    qs = [float(ev_t[order][np.searchsorted(cum, j / pieces)]) for j in range(1, pieces)]
    breaks = sorted({float(f"{q:.3g}") for q in qs if q > 0})
    return [b for b in breaks if b < durations.max()]


def _lifelines_fitter(name: str, breakpoints: Sequence[float]):
    import lifelines  # deferred: lifelines costs seconds of start-up

    return {
        "kaplan_meier": lifelines.KaplanMeierFitter,
        "exponential": lifelines.ExponentialFitter,
        "weibull": lifelines.WeibullFitter,
        "lognormal": lifelines.LogNormalFitter,
        "loglogistic": lifelines.LogLogisticFitter,
        "piecewise_exponential": lambda: lifelines.PiecewiseExponentialFitter(breakpoints=list(breakpoints)),
    }[name]()


def _parameters(name: str, fitter: Any, nominal: bool) -> dict[str, tuple[float, float]]:
    """Parameters in trialsim's parameterisation, with standard errors (delta method where transformed)."""
    p = fitter.params_
    se = fitter.summary["se(coef)"] if not nominal else p * np.nan

    def pair(key: str) -> tuple[float, float]:
        return float(p[key]), float(se[key])

    def inverse(key: str) -> tuple[float, float]:  # rate = 1/lambda, se(rate) = se(lambda)/lambda^2
        v, s = pair(key)
        return 1.0 / v, s / v**2

    if name == "exponential":
        return {"rate": inverse("lambda_")}
    if name == "weibull":
        return {"scale": pair("lambda_"), "shape": pair("rho_")}
    if name == "lognormal":
        return {"mu": pair("mu_"), "sigma": pair("sigma_")}
    if name == "loglogistic":
        return {"alpha": pair("alpha_"), "beta": pair("beta_")}
    if name == "piecewise_exponential":
        pieces = sum(1 for b in fitter.breakpoints if np.isfinite(b)) + 1
        return {f"rate{i}": inverse(f"lambda_{i}_") for i in range(pieces)}
    raise AssertionError(name)


def parameter_at_bound(name: str, params: dict[str, tuple[float, float]], durations: np.ndarray) -> str:
    """Why a fit's parameters sit at a bound of what the optimiser can reach
    (empty: they do not). Degenerate data (every event at one time, one
    distinct time, a curve that drops to zero at once) drive a shape towards 0
    or infinity, a scale or rate towards 0 or infinity, and the optimiser stops
    at its bound: the likelihood is then of a point mass, not of a curve.

    A time scale (Weibull scale, log-logistic alpha, exp(mu) of the
    log-normal, 1 / rate) beyond :data:`BOUND_TIME_FACTOR` times the longest
    time in the data, or below the shortest over that factor; a shape outside
    [1 / :data:`BOUND_SHAPE_FACTOR`, :data:`BOUND_SHAPE_FACTOR`]. A rate of
    practically 0 (a piece without events) is not a bound: the curve is flat
    there, which the data say."""
    d = np.asarray(durations, dtype=float)
    d = d[np.isfinite(d) & (d > 0)]
    if d.size == 0:
        return ""
    longest, shortest = float(d.max()), float(d.min())
    for key, (value, _se) in params.items():
        if key in ("shape", "sigma", "beta"):
            if value > BOUND_SHAPE_FACTOR:
                return f"{key} {value:.3g} runs off towards infinity"
            if value < 1.0 / BOUND_SHAPE_FACTOR:
                return f"{key} {value:.3g} is practically 0"
            continue
        if key.startswith("rate"):
            scale = 1.0 / value if value > 0 else math.inf
        elif key == "mu":
            scale = math.exp(min(value, 700.0))
        else:       # scale, alpha
            scale = value
        what = f"{key} {value:.3g}" + ("" if key in ("scale", "alpha") else f" (a time scale of {scale:.3g} months)")
        if scale > BOUND_TIME_FACTOR * longest:
            if key.startswith("rate"):
                continue        # no events in a piece: a rate of 0 is a curve (flat there), not a point mass
            return f"{what} is over a million times the longest time in the data ({longest:.3g})"
        if scale < shortest / BOUND_TIME_FACTOR:
            return f"{what} is under a millionth of the shortest time in the data ({shortest:.3g})"
    return ""


def _fit_one(name: str, data: SurvivalData, breakpoints: Sequence[float]) -> ModelFit:
    from lifelines import (
        exceptions as lx,  # deferred: lifelines costs seconds of start-up
    )

    fitter = _lifelines_fitter(name, breakpoints)
    durations, events, weights = data.durations, data.events, data.weights
    if durations.size == 1:     # lifelines cannot take one row (it squeezes it to a scalar): two halves
        durations, events, weights = np.repeat(durations, 2), np.repeat(events, 2), np.repeat(weights / 2, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fitter.fit(durations, events, weights=weights)
        except (lx.ConvergenceError, ValueError, TypeError, ArithmeticError, np.linalg.LinAlgError) as exc:
            raise FitError(f"{_LABELS[name]}: the fit failed ({str(exc).splitlines()[0].strip()})") from None
    if name == "kaplan_meier":
        curve = Curve.from_lifelines(fitter)
        return ModelFit(name, curve, {}, math.nan, math.nan, fitter)
    trouble = [w for w in caught if issubclass(w.category, (lx.ApproximationWarning, lx.ConvergenceWarning))]
    if trouble:
        raise FitError(f"{_LABELS[name]}: the fit did not converge (lifelines: "
                       f"{str(trouble[0].message).strip().splitlines()[0]})")
    params = _parameters(name, fitter, data.nominal)
    if not all(math.isfinite(v) and (v > 0 or k == "mu") for k, (v, _) in params.items()):
        raise FitError(f"{_LABELS[name]}: the fit did not converge (parameters {params})")
    curve = Curve.from_lifelines(fitter)
    note = ""
    if name == "piecewise_exponential":
        note = "breaks at month " + ", ".join(f"{b:g}" for b in breakpoints)
        edges = [0.0, *breakpoints, math.inf]
        ev_t, ev_w = data.durations[data.events], data.weights[data.events]
        flat = [k for i, (k, (v, _)) in enumerate(params.items())
                if v * float(data.durations.max()) * BOUND_TIME_FACTOR < 1
                and not np.any((ev_t >= edges[i]) & (ev_t < edges[i + 1]) & (ev_w > 0))]
        if flat:
            note += f"; {', '.join(flat)} practically 0 (no events in {'that piece' if len(flat) == 1 else 'those pieces'})"
    return ModelFit(name, curve, params, float(fitter.log_likelihood_), float(fitter.AIC_), fitter, note,
                    parameter_at_bound(name, params, data.durations))


class FitReport:
    """Models fitted to one data set: a comparison table and the chosen curve.

    ``str(report)`` is the table (model, parameters with standard errors,
    log-likelihood, AIC, n, events); ``report.best`` the parametric model with
    the lowest AIC; ``report[name]`` any fitted model; ``report.failed`` the
    models that could not be fitted, with the reason; ``report.to_yaml(name)``
    the curve as YAML for a scenario.
    """

    def __init__(self, data: SurvivalData, fits: dict[str, ModelFit], failed: dict[str, str],
                 breakpoints: Sequence[float]):
        self.data = data
        self.fits = fits
        self.failed = failed
        self.breakpoints = list(breakpoints)

    def __getitem__(self, name: str) -> ModelFit:
        if name in self.fits:
            return self.fits[name]
        if name in self.failed:
            raise FitError(f"{_LABELS.get(name, name)} could not be fitted: {self.failed[name]}")
        raise KeyError(f"{name!r} was not fitted (fitted: {', '.join(self.fits)})")

    def __contains__(self, name: str) -> bool:
        return name in self.fits

    @property
    def best(self) -> ModelFit:
        """The parametric model with the lowest AIC among those not at a bound
        of their parameters (:attr:`ModelFit.at_bound`); if every one is, the
        lowest AIC of all (and :attr:`warnings` says it should not be trusted)."""
        parametric = [f for f in self.fits.values() if f.name != "kaplan_meier"]
        if not parametric:
            raise FitError("no parametric model was fitted, so there is no best AIC")
        inside = [f for f in parametric if not f.at_bound]
        return min(inside or parametric, key=lambda f: f.aic)

    @property
    def warnings(self) -> list[str]:
        """What the user must know about the fits: each fit at a bound of its
        parameters (it should not be trusted), and whether it was passed over
        as the best or is the best for want of another."""
        out = []
        at_bound = [f for f in self.fits.values() if f.at_bound]
        if not at_bound:
            return out
        try:
            best = self.best
        except FitError:
            best = None
        for f in at_bound:
            line = (f"{f.name}: the fit is at a bound of its parameters ({f.at_bound}) and should not be "
                    "trusted")
            if best is f:
                line += ("; it is chosen only because every parametric fit is at a bound: the data look "
                         "degenerate (every event at one time, or one distinct time?)")
            elif best is not None and f.aic < best.aic:
                line += f"; not chosen although its AIC is lower ({best.name} is chosen)"
            out.append(line)
        return out

    def curve(self, model: str | None = None) -> Curve:
        return (self.best if model is None else self[model]).curve

    def to_frame(self):
        """One row per fitted model: model, parameters, log_likelihood, aic, delta_aic, n, events."""
        import pandas as pd  # deferred: pandas costs 0.3 s of start-up

        best = self.best.aic if any(f.name != "kaplan_meier" for f in self.fits.values()) else math.nan
        return pd.DataFrame([
            {"model": f.name, "parameters": f.parameter_text(), "log_likelihood": f.log_likelihood,
             "aic": f.aic, "delta_aic": f.aic - best, "n": self.data.n, "events": self.data.n_events}
            for f in self.fits.values()])

    def __str__(self) -> str:
        d = self.data
        kind = ("patient-level data" if d.kind == "patient" else
                f"digitised curve ({d.curve_times.size} points), reconstructed patient data")
        unit = "" if d.time_unit == "months" else f" (converted from {d.time_unit})"
        lines = [f"Fits to {d.source}: {kind}; time in months{unit}"]
        if d.nominal:
            lines.append(f"  n is nominal ({NOMINAL_N}: no numbers at risk): AIC compares shapes only, "
                         f"no standard errors")
        lines.extend(f"  note: {n}" for n in d.notes)
        rows = [("model", "parameters (± standard error)", "log-lik", "AIC", "n", "events")]
        for f in self.fits.values():
            ll = "-" if math.isnan(f.log_likelihood) else f"{f.log_likelihood:.2f}"
            aic = "-" if math.isnan(f.aic) else f"{f.aic:.2f}"
            params = f.parameter_text() + (f"; {f.note}" if f.note else "")
            if f.at_bound:
                params += f"; AT A BOUND: {f.at_bound}"
            rows.append((f.name, params, ll, aic, _fmt_count(d.n), _fmt_count(d.n_events)))
        for name, why in self.failed.items():
            rows.append((name, f"not fitted: {why}", "-", "-", _fmt_count(d.n), _fmt_count(d.n_events)))
        widths = [max(len(r[j]) for r in rows) for j in range(6)]
        for i, r in enumerate(rows):
            cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1])] + [c.rjust(w) for c, w in zip(r[2:], widths[2:])]
            lines.append("  " + "  ".join(cells).rstrip())
            if i == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
        try:
            best = self.best
        except FitError:
            best = None
        if best is not None and any(f.at_bound for f in self.fits.values()):
            what = ("every parametric fit is at a bound: do not trust it" if best.at_bound
                    else "fits at a bound of their parameters left out")
            lines.append(f"best (lowest AIC among parametric models; {what}): {best.name}")
        elif best is not None:
            lines.append(f"best (lowest AIC among parametric models): {best.name}")
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle):  # IPython
        p.text(str(self))

    def to_yaml(self, model: str | None = None, *, date: str | None = None, horizon: float | None = None) -> str:
        """The chosen curve (default: :attr:`best`) as YAML a scenario can use, with a comment header.

        The mapping is the curve's ``to_spec()``. A log-normal or log-logistic
        curve that the installed scenario loader cannot read yet is written as
        a piecewise-exponential approximation (:func:`trialsim.curves.
        piecewise_approximation`, 240 pieces up to ``horizon``, by default
        three times the last data time and at least 120 months), with the
        native form and the approximation's largest survival error in the
        header. A Kaplan-Meier curve is written as an inline table.
        """
        chosen = self.best if model is None else self[model]
        spec = chosen.curve.to_spec()
        header = [f"{chosen.label} curve fitted by trialsim {__version__} "
                  f"(lifelines {_lifelines_version()}) on {date or _dt.date.today().isoformat()}",
                  f"source: {self.data.source} ({self.data.kind} data, n = {_fmt_count(self.data.n)}, "
                  f"events = {_fmt_count(self.data.n_events)}{', n nominal' if self.data.nominal else ''}); "
                  f"time in months"]
        if chosen.name == "kaplan_meier":
            header.append("Kaplan-Meier estimate as a survival table (log-linear between steps, flat after the last)")
        else:
            others = sorted((f for f in self.fits.values() if f.name != "kaplan_meier"), key=lambda f: f.aic)
            rank = "lowest" if others and others[0] is chosen else f"rank {others.index(chosen) + 1}"
            header.append(f"model: {chosen.name}, AIC {chosen.aic:.2f} ({rank} of {len(others)}: "
                          + ", ".join(f"{f.name} {f.aic:.2f}" for f in others) + ")")
            header.append(f"parameters: {chosen.parameter_text()}" + (f"; {chosen.note}" if chosen.note else ""))
            if chosen.at_bound:
                header.append(f"WARNING: this fit is at a bound of its parameters ({chosen.at_bound}) "
                              "and should not be trusted")
        if not _scenario_accepts(spec):
            h = horizon or 60.0 * math.ceil(max(120.0, 3.0 * float(self.data.durations.max())) / 60.0)
            approx = piecewise_approximation(chosen.curve, horizon=h)
            # rounded for a readable file; the error below is that of the rounded curve
            approx = PiecewiseExponential(breaks=np.round(approx.breaks, 6),
                                                  rates=[float(f"{r:.8g}") for r in approx.rates])
            grid = np.linspace(0.0, h, 4001)
            err = float(np.max(np.abs(approx.survival(grid) - chosen.curve.survival(grid))))
            native = yaml.safe_dump(spec, default_flow_style=True, width=10**6).strip()
            header += [f"written as a piecewise-exponential approximation (240 pieces to month {h:g}, largest",
                       f"survival error {err:.1e} up to there, constant hazard after) because this trialsim's",
                       f"scenario loader does not read '{next(iter(spec))}' curves; native form: {native}"]
            spec = approx.to_spec()
        header.append("use it as a curve in a scenario, e.g. recurrence: <the mapping below>")
        body = yaml.safe_dump(spec, default_flow_style=None, sort_keys=False, width=100)
        return "".join(f"# {h}\n" for h in header) + body

    def write_yaml(self, path: str | Path, model: str | None = None, **kwargs: Any) -> Path:
        """Write :meth:`to_yaml` atomically (a temporary file, then a rename)."""
        text = self.to_yaml(model, **kwargs)
        return write_atomic(path, text.encode("utf-8"))


def _lifelines_version() -> str:
    import lifelines  # deferred: lifelines costs seconds of start-up

    return lifelines.__version__


def _scenario_accepts(spec: Any) -> bool:
    """Does a scenario read this curve mapping? Scenarios read curves through the one grammar."""
    return grammar.accepts(spec, role=grammar.CURVE)


def fit(data: Any, *, models: Sequence[str] = MODELS, time_unit: str = "months",
        breakpoints: Sequence[float] | None = None, n_at_risk: float | None = None,
        source: str | None = None) -> FitReport:
    """Fit survival models to patient-level data or a digitised Kaplan-Meier curve.

    ``data``: a CSV path, a pandas DataFrame or a mapping of columns (``time,
    event`` or ``time, survival[, at_risk]``; see :func:`read_survival_data`),
    or a :class:`SurvivalData`. ``models``: any of :data:`MODELS`.
    ``breakpoints`` (months) for the piecewise-exponential model; by default
    :func:`default_breakpoints`. ``n_at_risk``: the number at the start of a
    digitised curve that has no at_risk column.

    Raises :class:`~trialsim.curves.CurveDataError` for unusable data and
    :class:`FitError` when there are fewer than :data:`MIN_EVENTS` events or
    no requested model can be fitted. A model that fails while others succeed
    is listed in ``report.failed``.
    """
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r} (known: {', '.join(MODELS)})")
    if not models:
        raise ValueError("models: give at least one model")
    sd = data if isinstance(data, SurvivalData) else read_survival_data(
        data, time_unit=time_unit, n_at_risk=n_at_risk, source=source)
    if sd.n_events < MIN_EVENTS:
        raise FitError(f"{sd.source}: too few events to fit: {_fmt_count(sd.n_events)} "
                       f"(need at least {MIN_EVENTS})")
    if breakpoints is None:
        breaks = default_breakpoints(sd.durations, sd.events, sd.weights)
    else:
        breaks = sorted(float(b) for b in breakpoints)
        if not breaks or breaks[0] <= 0 or len(set(breaks)) != len(breaks):
            raise ValueError(f"breakpoints must be distinct positive times, got {list(breakpoints)}")
    fits: dict[str, ModelFit] = {}
    failed: dict[str, str] = {}
    for name in models:
        if name == "piecewise_exponential" and not breaks:
            failed[name] = (f"too few events for a piecewise model ({_fmt_count(sd.n_events)}; "
                            f"{2 * EVENTS_PER_PIECE} needed for 2 pieces; or give breakpoints)")
            continue
        try:
            fits[name] = _fit_one(name, sd, breaks)
        except FitError as exc:
            failed[name] = str(exc).split(": ", 1)[-1]
    if not fits:
        first = next(iter(failed.items()))
        raise FitError(f"{sd.source}: no model could be fitted ({_LABELS[first[0]]}: {first[1]})")
    return FitReport(sd, fits, failed, breaks)


