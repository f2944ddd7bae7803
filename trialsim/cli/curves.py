"""`trialsim curves ...`: reference curves, fitting curves to data, plots.

Exit status 0 on success and 2 on bad input (one line naming the file and row,
or the name, at fault); an output file is written whole or not at all.
"""

from __future__ import annotations

import math
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from trialsim.cli.common import examples, fail, is_stdin, out_path, read_scenario
from trialsim.scenario import ScenarioError

#: the largest --n-at-risk: more patients than any trial, and still a cohort the fit can hold
MAX_AT_RISK = 1_000_000

curves_app = typer.Typer(no_args_is_help=True, help="Survival curves: reference curves, fitting, plots.")


class Model(str, Enum):
    kaplan_meier = "kaplan_meier"
    exponential = "exponential"
    weibull = "weibull"
    lognormal = "lognormal"
    loglogistic = "loglogistic"
    piecewise_exponential = "piecewise_exponential"


class TimeUnit(str, Enum):
    months = "months"
    days = "days"
    weeks = "weeks"
    years = "years"


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the user's input is wrong": reported in one line, status 2."""
    # deferred: the curve modules import scipy (0.3 s); --help and the other commands never need it
    from trialsim.curves import CurveDataError, CurveSpecError, UnknownReferenceError
    from trialsim.curves import FitError

    return (CurveDataError, CurveSpecError, UnknownReferenceError, FitError, ScenarioError)


def _check_out(out: Path, suffixes: tuple[str, ...]) -> None:
    if out.suffix.lower() not in suffixes:
        fail(f"--out {out}: the file name must end in {' or '.join(suffixes)}")
    if out.is_dir():
        fail(f"--out {out}: is a folder")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        fail(f"--out {out}: folder {parent} does not exist")


@curves_app.command("list", epilog=examples("trialsim curves list"))
def curves_list(
    notes: bool = typer.Option(False, "--notes", help="Also print how each curve was derived from its source."),
):
    """List the reference curves shipped with trialsim, with their sources."""
    # deferred: the curve modules import scipy (0.3 s); --help and the other commands never need it
    from trialsim.curves import REFERENCES

    for name, ref in REFERENCES.items():
        typer.echo(f"{name:<24} {ref.curve.describe()}")
        typer.echo(f"{'':<24} source: {ref.source}")
        if notes:
            typer.echo(f"{'':<24} note: {ref.note}")


@curves_app.command("fit", epilog=examples(
    "trialsim curves fit km.csv --out curve.yaml",
    "trialsim curves fit digitised.csv --n-at-risk 300 --time-unit years --out curve.yaml"))
def curves_fit(
    data: Path = typer.Argument(..., help="CSV: 'time,event' (patient data) or 'time,survival[,at_risk]' "
                                          "(a digitised Kaplan-Meier curve)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", parser=out_path,
                                       help="Write the chosen curve here (YAML)."),
    model: Optional[Model] = typer.Option(None, "--model", "-m",
                                          help="Curve to write (default: lowest AIC among parametric models)."),
    time_unit: TimeUnit = typer.Option(TimeUnit.months, "--time-unit", help="Unit of the time column."),
    breaks: Optional[str] = typer.Option(None, "--breaks",
                                         help="Piecewise-exponential breakpoints in months, e.g. 12,36."),
    n_at_risk: Optional[float] = typer.Option(None, "--n-at-risk",
                                              help="Number at risk at time 0 of a digitised curve "
                                                   "without an at_risk column."),
):
    """Fit Kaplan-Meier, exponential, Weibull, log-normal, log-logistic and piecewise-exponential models."""
    # deferred: fitting imports scipy and lifelines; --help and the other commands never need them
    from trialsim.curves import FitError, fit

    if out is not None:
        _check_out(out, (".yaml", ".yml"))
    breakpoints = None
    if breaks is not None:
        try:
            breakpoints = [float(b) for b in breaks.split(",") if b.strip()]
        except ValueError:
            fail(f"--breaks {breaks!r}: give numbers separated by commas, e.g. 12,36")
        if (not breakpoints or not all(map(math.isfinite, breakpoints)) or min(breakpoints) <= 0
                or len(set(breakpoints)) != len(breakpoints)):
            fail(f"--breaks {breaks!r}: give distinct positive (finite) months, e.g. 12,36")
    if n_at_risk is not None and not (math.isfinite(n_at_risk) and 0 < n_at_risk <= MAX_AT_RISK):
        fail(f"--n-at-risk must be a positive number of patients up to {MAX_AT_RISK:,}, got {n_at_risk:g}")
    try:
        report = fit(data, time_unit=time_unit.value, breakpoints=breakpoints, n_at_risk=n_at_risk)
    except _user_errors() as exc:
        fail(str(exc))
    typer.echo(str(report))
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    name = model.value if model is not None else None
    try:
        chosen = report.best if name is None else report[name]
    except FitError as exc:
        fail(f"{data}: {exc}" + ("" if name else "; choose --model kaplan_meier"))
    if out is not None:
        try:
            report.write_yaml(out, chosen.name)
        except OSError as exc:
            fail(f"--out {out}: cannot write: {exc}")
        typer.echo(f"wrote {out} ({chosen.name})")


@curves_app.command("plot", epilog=examples(
    "trialsim curves plot pan2017/T2N1-3 --out pan.png",
    "trialsim curves plot scenarios/ctdna_er_positive.yaml --out strata.svg"))
def curves_plot(
    what: str = typer.Argument(..., metavar="CURVE_OR_SCENARIO",
                               help="A curve YAML file, a reference name (e.g. pan2017/T1N0) or a scenario file "
                               "(- reads a scenario from standard input)."),
    out: Path = typer.Option(..., "--out", "-o", parser=out_path, help="Figure file: .png or .svg."),
    data: Optional[Path] = typer.Option(None, "--data", help="Data to overlay (its Kaplan-Meier curve, "
                                                              "or the digitised points)."),
    months: Optional[float] = typer.Option(None, "--months", help="Length of the time axis, in months."),
    time_unit: TimeUnit = typer.Option(TimeUnit.months, "--time-unit", help="Unit of the data's time column."),
):
    """Draw curves: a curve file, a reference curve, or a scenario's strata with their MRD components."""
    # deferred: plotting imports matplotlib and scipy; --help and the other commands never need them
    from trialsim.population_plot import plot

    _check_out(out, (".png", ".svg"))
    if months is not None and not months > 0:
        fail(f"--months must be positive, got {months:g}")
    if is_stdin(what):
        what = read_scenario(what)      # a scenario piped in (a curve file is read from its path)
    try:
        plot(what, out=out, data=data, months=months, time_unit=time_unit.value)
    except _user_errors() as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"--out {out}: cannot write: {exc}")
    typer.echo(f"wrote {out}")

