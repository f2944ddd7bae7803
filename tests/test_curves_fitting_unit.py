"""Unit tier of trialsim.curves.fitting: reading data, reconstructing digitised curves, fit reports."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.support.curves import DIGITISED, PATIENTS, km_steps, simulate
from trialsim import curves
from trialsim.curves import CurveDataError, Exponential, TableCurve, fitting, from_spec
from trialsim.curves.fitting import (
    FitError,
    fit,
    read_survival_data,
    reconstruct_patient_data,
)


def test_unit_read_patient_data():
    sd = read_survival_data(PATIENTS)
    raw = pd.read_csv(PATIENTS, comment="#")
    assert sd.kind == "patient" and not sd.nominal and sd.source == str(PATIENTS)
    np.testing.assert_array_equal(sd.durations, raw.time.to_numpy())
    np.testing.assert_array_equal(sd.events, raw.event.to_numpy() == 1)
    assert sd.n == 300 and sd.n_events == raw.event.sum()


def test_unit_read_accepts_frames_mappings_and_time_units():
    raw = pd.read_csv(PATIENTS, comment="#")
    a = read_survival_data(raw)
    b = read_survival_data({"time": raw.time.tolist(), "event": raw.event.tolist()})
    np.testing.assert_array_equal(a.durations, b.durations)
    days = read_survival_data(raw.assign(time=raw.time * 365.25 / 12), time_unit="days")
    np.testing.assert_allclose(days.durations, raw.time.to_numpy(), rtol=1e-14)
    years = read_survival_data(raw.assign(time=raw.time / 12), time_unit="years")
    np.testing.assert_allclose(years.durations, raw.time.to_numpy(), rtol=1e-14)
    with pytest.raises(ValueError, match="time_unit must be one of"):
        read_survival_data(raw, time_unit="fortnights")


BAD = [
    ("time,status\n1,1\n", "missing column 'event'", "rename 'status' to 'event'"),
    ("t,event\n1,1\n", "no 'time' column", ""),
    ("time,event,survival\n1,1,0.5\n", "both 'event' and 'survival'", ""),
    ("time,event\n3,1\n0,1\n", "data row 2 (line 3)", "time 0 must be > 0"),
    ("time,event\n3,1\n4,2\n", "data row 2 (line 3)", "event 2 must be 1 (event) or 0 (censored)"),
    ("time,event\n3,1\n4,yes\n", "data row 2 (line 3)", "event 'yes' is not a number"),
    ("time,event\n3,1\n,1\n", "data row 2 (line 3)", "time is empty"),
    ("time,event\n3,1,7\n", "data row 1 (line 2)", "expected 2 fields"),
    ("time,survival\n0,1\n12,0.9\n6,0.8\n", "data row 3 (line 4)", "times must be sorted"),
    ("time,survival\n0,1\n12,0.9\n24,1.2\n", "data row 3 (line 4)", "outside [0, 1]"),
    ("time,survival\n0,1\n12,0.9\n24,-0.1\n", "data row 3 (line 4)", "outside [0, 1]"),
    ("time,survival\n0,100\n", "data row 1 (line 2)", "percentages? give proportions"),
    ("time,survival\n0,1\n12,0.8\n24,0.9\n", "data row 3 (line 4)", "survival must not increase"),
    ("time,survival\n0,0.9\n", "data row 1 (line 2)", "survival at time 0 must be 1"),
    ("# comment\ntime,survival,at_risk\n0,1,\n12,0.8,40\n", "data row 2 (line 4)",
     "the first number at risk must be on a row at time 0"),
    ("time,survival,at_risk\n0,1,50\n12,0.8,60\n", "data row 2 (line 3)", "numbers at risk must not increase"),
    ("time,survival,at_risk\n0,1,50\n12,0.8,-1\n", "data row 2 (line 3)", "at_risk -1 is negative"),
    ("time,survival,at_risk\n0,1,50\n12,0.8,0\n24,0.7,\n", "data row 2 (line 3)",
     "number at risk 0 but the survival still falls"),
    ("time,event\n", "no data rows", ""),
    ("", "empty file", ""),
]


@pytest.mark.parametrize("content,where,what", BAD)
def test_unit_bad_data_one_clear_line(tmp_path, content, where, what):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(CurveDataError) as info:
        fit(path)
    msg = str(info.value)
    assert msg.startswith(str(path)) and where in msg and what in msg
    assert "\n" not in msg


def test_unit_missing_file_and_too_few_events(tmp_path):
    with pytest.raises(CurveDataError, match="nope.csv: data file not found"):
        fit(tmp_path / "nope.csv")
    few = tmp_path / "few.csv"
    few.write_text("time,event\n1,1\n2,1\n3,0\n4,1\n5,0\n6,1\n")
    with pytest.raises(FitError, match=r"few.csv: too few events to fit: 4 \(need at least 5\)"):
        fit(few)


def test_unit_reconstruction_reproduces_the_curve_and_the_numbers_at_risk():
    table = pd.read_csv(DIGITISED, comment="#")
    sd = read_survival_data(DIGITISED)
    assert sd.kind == "digitised" and not sd.nominal and sd.notes == ()
    km = km_steps(sd.durations, sd.events, sd.weights)
    # the Kaplan-Meier curve of the pseudo-patients passes through every digitised point
    np.testing.assert_allclose(km.survival_function_at_times(table.time).to_numpy(), table.survival, atol=1e-12)
    # and has the published numbers at risk at the at-risk table's times
    given = table.dropna()
    at_risk = [sd.weights[sd.durations >= t].sum() for t in given.time]
    np.testing.assert_allclose(at_risk, given.at_risk, rtol=1e-9)
    assert sd.n == pytest.approx(300, rel=1e-12)


def test_unit_reconstruction_without_numbers_at_risk():
    t = [0, 6, 12, 24, 36]
    s = [1, 0.9, 0.8, 0.7, 0.65]
    d, e, w, notes = reconstruct_patient_data(t, s)
    assert w.sum() == pytest.approx(fitting.NOMINAL_N) and notes == []
    # no censoring before the last time; everyone left is censored there
    assert np.all(d[~e] == 36) and w[~e].sum() == pytest.approx(650)
    np.testing.assert_allclose(w[e], [100, 100, 100, 50], rtol=1e-12)
    d2, e2, w2, _ = reconstruct_patient_data(t, s, n=200)
    np.testing.assert_allclose(w2, w / 5, rtol=1e-12)
    sd = read_survival_data({"time": t, "survival": s})
    assert sd.nominal and sd.n == pytest.approx(fitting.NOMINAL_N, rel=1e-12)
    assert not read_survival_data({"time": t, "survival": s}, n_at_risk=200).nominal


def test_unit_reconstruction_merges_vertical_drops_and_notes_inconsistencies():
    # a vertical drop digitised as two points at the same time
    d, e, w, _ = reconstruct_patient_data([0, 10, 10, 20], [1, 0.9, 0.8, 0.7], n=100)
    np.testing.assert_allclose(d[e], [10, 20]) and np.testing.assert_allclose(w[e], [20, 12.5])
    # more at risk at 12 than the drops allow: no censoring assumed, and a note
    d, e, w, notes = reconstruct_patient_data([0, 6, 12, 18], [1, 0.8, 0.7, 0.6], [100, np.nan, 95, np.nan])
    assert len(notes) == 1 and "fewer at risk than the survival drops allow" in notes[0]
    # the count restarts from the published 95 at month 12
    d12 = 95 * (1 - 0.7 / 0.8)
    assert w[e].sum() == pytest.approx(20 + d12 + (95 - d12) * (1 - 0.6 / 0.7), rel=1e-12)


def test_unit_default_breakpoints():
    d = np.arange(1.0, 101.0)
    e = np.ones(100, bool)
    w = np.ones(100)
    assert fitting.default_breakpoints(d, e, w) == [25.0, 50.0, 75.0]  # 4 pieces, quartiles
    assert fitting.default_breakpoints(d[:40], e[:40], w[:40]) == [20.0]  # 2 pieces
    assert fitting.default_breakpoints(d[:20], e[:20], w[:20]) == []  # too few events for 2 pieces


def test_unit_report_table_and_best(report):
    text = str(report)
    for name in fitting.MODELS:
        assert name in text
    for column in ("parameters", "log-lik", "AIC", "n", "events"):
        assert column in text
    parametric = {n: f.aic for n, f in report.fits.items() if n != "kaplan_meier"}
    assert set(parametric) == set(fitting.PARAMETRIC_MODELS)
    assert report.best.name == min(parametric, key=parametric.get)
    assert f"best (lowest AIC among parametric models): {report.best.name}" in text
    frame = report.to_frame()
    assert list(frame.model) == list(fitting.MODELS) and (frame.n == 300).all()
    assert frame.delta_aic.min() == 0.0
    assert isinstance(report["kaplan_meier"].curve, TableCurve)
    assert report.curve() is report.best.curve and report.curve("weibull") is report["weibull"].curve
    with pytest.raises(KeyError):
        report["gompertz"]


def test_unit_to_yaml_is_a_scenario_curve_with_a_header(report):
    from trialsim.scenario import CurveSpec

    text = report.to_yaml(date="2026-01-02")
    header = [ln for ln in text.splitlines() if ln.startswith("#")]
    assert "2026-01-02" in header[0] and "trialsim" in header[0]
    assert any(str(PATIENTS) in h for h in header)
    assert any(f"model: {report.best.name}, AIC {report.best.aic:.2f}" in h for h in header)
    spec = yaml.safe_load(text)
    assert from_spec(spec) == report.best.curve
    assert CurveSpec.model_validate(spec).build() == report.best.curve
    km = yaml.safe_load(report.to_yaml("kaplan_meier"))
    assert from_spec(km) == report["kaplan_meier"].curve and "table" in km


@pytest.mark.parametrize("model", ["lognormal", "loglogistic"])
def test_unit_to_yaml_approximates_kinds_the_scenario_loader_lacks(report, model, monkeypatch):
    c = report[model].curve
    text = report.to_yaml(model)
    spec = yaml.safe_load(text)
    if fitting._scenario_accepts(c.to_spec()):  # the loader reads the native kind: written as is
        assert from_spec(spec) == c
    else:
        assert "piecewise_exponential" in spec and f"native form: {{{model}:" in text
        approx = from_spec(spec)
        grid = np.linspace(0, 180, 721)
        err = np.max(np.abs(np.asarray(approx.survival(grid)) - np.asarray(c.survival(grid))))
        stated = float(text.split("survival error ")[1].split()[0])
        assert err <= stated * 1.01 + 1e-12 and stated < 2e-3
    # either way the other branch works too
    monkeypatch.setattr(fitting, "_scenario_accepts", lambda spec: True)
    assert from_spec(yaml.safe_load(report.to_yaml(model))) == c
    monkeypatch.setattr(fitting, "_scenario_accepts", lambda spec: False)
    assert "piecewise_exponential" in yaml.safe_load(report.to_yaml(model))


def test_unit_write_yaml_is_atomic(report, tmp_path, monkeypatch):
    out = tmp_path / "curve.yaml"
    report.write_yaml(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curve.yaml"]
    before = out.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        report.write_yaml(out, "exponential")
    assert out.read_bytes() == before  # the old file is untouched, and no temporary file is left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curve.yaml"]


def test_unit_failed_models_are_listed_not_fatal(tmp_path):
    # 20 events: enough to fit, too few for a default piecewise model
    df = simulate(Exponential(rate=0.05), 40, seed=3)
    df = df.iloc[np.argsort(-df.event.to_numpy(), kind="stable")[:25]]
    r = fit(df)
    assert "piecewise_exponential" in r.failed and "too few events" in r.failed["piecewise_exponential"]
    assert "piecewise_exponential" in str(r) and "not fitted" in str(r)
    with pytest.raises(FitError, match="could not be fitted"):
        r["piecewise_exponential"]
    with pytest.raises(ValueError, match="unknown model 'gompertz'"):
        fit(df, models=("gompertz",))
    with pytest.raises(ValueError, match="breakpoints must be"):
        fit(df, breakpoints=[0, 10])


def test_unit_time_unit_days_gives_months():
    raw = pd.read_csv(PATIENTS, comment="#")
    a = fit(raw, models=("weibull",))
    b = fit(raw.assign(time=raw.time * 365.25 / 12), models=("weibull",), time_unit="days")
    assert b["weibull"].curve.scale == pytest.approx(a["weibull"].curve.scale, rel=1e-6)
    assert b["weibull"].curve.shape == pytest.approx(a["weibull"].curve.shape, rel=1e-6)
    assert "time in months (converted from days)" in str(b)


def test_unit_library_entry_points():
    # the package re-exports the one fit (no wrapper: fitting defers lifelines itself)
    assert curves.fit is fitting.fit and curves.fit(PATIENTS, models=("exponential",))["exponential"]
    assert "fit" in curves.__all__ and "plot" in curves.__all__


# --------------------------------------------------------------------------
# Degenerate data: fits stuck at a bound of their parameters


ALL_AT_ONE_TIME = pd.DataFrame({"time": [12.0] * 50, "event": [1] * 50})
ONE_DISTINCT_TIME = pd.DataFrame({"time": [12.0] * 50, "event": [1, 0] * 25})
DROP_TO_ZERO = {"time": [0.0, 12.0], "survival": [1.0, 0.0]}


@pytest.mark.parametrize("data", [ALL_AT_ONE_TIME, ONE_DISTINCT_TIME, DROP_TO_ZERO],
                         ids=["all events at one time", "one distinct time", "a curve that drops to zero at once"])
def test_unit_fits_at_a_bound_are_flagged_and_not_chosen(data):
    """Weibull's shape runs off to infinity, log-normal's sigma to 0: the
    likelihood of a point mass beats every curve's, so these fits have the
    lowest AIC. They are flagged, left out of the best, and warned about."""
    r = fit(data)
    stuck = {f.name for f in r.fits.values() if f.at_bound}
    assert "lognormal" in stuck and stuck <= {"weibull", "lognormal", "loglogistic"}, stuck
    assert r["lognormal"].at_bound == f"sigma {r['lognormal'].parameters['sigma'][0]:.3g} is practically 0"
    assert min(r.fits[n].aic for n in stuck) < r["exponential"].aic      # AIC alone would pick a stuck fit
    assert r.best.name == "exponential" and not r.best.at_bound
    assert r.best.parameters["rate"][0] == pytest.approx(r.data.n_events / r.data.durations.dot(r.data.weights))
    assert len(r.warnings) == len(stuck)
    assert all("at a bound of its parameters" in w and "should not be trusted" in w
               and "not chosen although its AIC is lower (exponential is chosen)" in w for w in r.warnings)
    text = str(r)
    assert "AT A BOUND: sigma" in text and "fits at a bound of their parameters left out): exponential" in text


def test_unit_a_fit_at_a_bound_is_chosen_only_when_every_fit_is_and_said_so():
    r = fit(ALL_AT_ONE_TIME, models=("weibull", "lognormal"))
    assert r.best.at_bound and all(f.at_bound for f in r.fits.values() if f.name != "kaplan_meier")
    chosen = [w for w in r.warnings if w.startswith(f"{r.best.name}: ")]
    assert len(chosen) == 1 and "chosen only because every parametric fit is at a bound" in chosen[0]
    assert "every parametric fit is at a bound: do not trust it" in str(r)
    assert "# WARNING: this fit is at a bound of its parameters" in r.to_yaml()


def test_unit_ordinary_data_have_no_fit_at_a_bound():
    r = fit(PATIENTS)
    assert not any(f.at_bound for f in r.fits.values()) and r.warnings == []
    assert "AT A BOUND" not in str(r)


def test_unit_a_piece_without_events_is_flat_not_at_a_bound():
    """No events before month 12: the first piece's rate is (practically) 0,
    which is what the data say; the fit is usable and noted, not flagged."""
    df = pd.DataFrame({"time": [12.0] * 25 + [24.0] * 25, "event": [1] * 50})
    r = fit(df, breakpoints=[12])
    pw = r["piecewise_exponential"]
    assert not pw.at_bound and "rate0 practically 0 (no events in that piece)" in pw.note
    assert pw.parameters["rate0"][0] < 1e-6


def test_unit_one_row_of_data_is_fitted():
    """A digitised curve that drops to zero at once is one weighted row; lifelines
    cannot take one row, so it is given as two halves (the same likelihood)."""
    r = fit(DROP_TO_ZERO)
    assert r.data.durations.size == 1
    assert r["exponential"].parameters["rate"][0] == pytest.approx(1 / 12)


@pytest.mark.parametrize("path, needle", [
    ("/dev/zero", "is not a regular file (a pipe, a device or a socket)"),
    ("/tmp", "is a folder"),
])
def test_unit_data_that_is_no_file_is_refused_at_once(path, needle):
    with pytest.raises(CurveDataError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        fit(path)
