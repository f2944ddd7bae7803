"""Unit tier for `trialsim curves list | fit | plot`: exit 0 with the file written, or exit 2
with one line naming the file and row (or the name) at fault, no traceback, nothing half-written."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import CTDNA, ROOT, write
from trialsim.cli import app
from trialsim.curves import REFERENCES, from_spec

DATA = Path(__file__).resolve().parent / "data"
PATIENTS = DATA / "patients_weibull.csv"
DIGITISED = DATA / "km_digitised.csv"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_user_error(res, *fragments):
    assert res.exit_code == 2, res.output
    err = res.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert "Traceback" not in res.output
    for f in fragments:
        assert f in err, (f, err)


def test_unit_curves_list_names_sources():
    res = invoke("curves", "list")
    assert res.exit_code == 0 and "pan2017/T1N0" in res.stdout and "source" in res.stdout


def test_unit_list_names_every_reference_with_its_source():
    res = invoke("curves", "list")
    assert res.exit_code == 0
    for name in REFERENCES:
        assert name in res.stdout
    assert res.stdout.count("source: ") == len(REFERENCES)
    notes = invoke("curves", "list", "--notes")
    assert notes.exit_code == 0 and "ASSUMPTION" in notes.stdout and "representative choice" in notes.stdout


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """One `trialsim curves fit` of the patient-level fixture, shared (fits take a while)."""
    folder = tmp_path_factory.mktemp("fit")
    out = folder / "curve.yaml"
    res = invoke("curves", "fit", PATIENTS, "--out", out)
    return folder, out, res


def test_unit_fit_prints_the_table_and_writes_the_best_curve(fitted):
    folder, out, res = fitted
    assert res.exit_code == 0, res.output
    for name in ("kaplan_meier", "exponential", "weibull", "lognormal", "loglogistic", "piecewise_exponential",
                 "AIC", "events", "best (lowest AIC among parametric models)"):
        assert name in res.stdout
    text = out.read_text()
    assert text.startswith("# ") and str(PATIENTS) in text and "AIC" in text
    curve = from_spec(yaml.safe_load(text))
    best = res.stdout.split("best (lowest AIC among parametric models): ")[1].split()[0]
    assert f"wrote {out} ({best})" in res.stdout
    assert f"model: {best}," in text and curve.describe()
    assert sorted(p.name for p in folder.iterdir()) == ["curve.yaml"]  # no temporary file left


def test_unit_fit_model_choice_digitised_data_and_breaks(tmp_path):
    out = tmp_path / "pw.yml"
    res = invoke("curves", "fit", DIGITISED, "-o", out, "-m", "piecewise_exponential", "--breaks", "12,36")
    assert res.exit_code == 0, res.output
    assert "digitised curve" in res.stdout and f"wrote {out} (piecewise_exponential)" in res.stdout
    assert yaml.safe_load(out.read_text())["piecewise_exponential"]["breaks"] == [12.0, 36.0]


@pytest.mark.parametrize(
    "content,fragments",
    [
        ("time,status\n1,1\n", ["bad.csv", "missing column 'event'"]),
        ("time,survival\n0,1\n12,0.9\n6,0.8\n", ["bad.csv, data row 3 (line 4)", "times must be sorted"]),
        ("time,survival\n0,1\n12,1.3\n", ["bad.csv, data row 2 (line 3)", "outside [0, 1]"]),
        ("time,survival\n0,1\n12,0.7\n24,0.8\n", ["bad.csv, data row 3 (line 4)", "must not increase"]),
        ("time,event\n1,1\n2,1\n3,0\n", ["bad.csv", "too few events to fit: 2 (need at least 5)"]),
        ("time,event\n1,1\n2,x\n", ["bad.csv, data row 2 (line 3)", "event 'x' is not a number"]),
    ],
)
def test_unit_fit_bad_input_exit_2_nothing_written(tmp_path, content, fragments):
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    out = tmp_path / "out.yaml"
    assert_user_error(invoke("curves", "fit", bad, "--out", out), *fragments)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_unit_fit_bad_options(tmp_path):
    assert_user_error(invoke("curves", "fit", tmp_path / "none.csv"), "none.csv: data file not found")
    assert_user_error(invoke("curves", "fit", PATIENTS, "--out", tmp_path / "c.txt"), "must end in .yaml or .yml")
    assert_user_error(invoke("curves", "fit", PATIENTS, "--out", tmp_path / "no" / "c.yaml"), "does not exist")
    assert_user_error(invoke("curves", "fit", PATIENTS, "--breaks", "12,x"), "--breaks")
    assert_user_error(invoke("curves", "fit", PATIENTS, "--breaks", "0,12"), "distinct positive")
    res = invoke("curves", "fit", PATIENTS, "--model", "gompertz")
    assert res.exit_code == 2 and "Traceback" not in res.output  # typer's own usage error


def test_unit_fit_requested_model_that_cannot_be_fitted(tmp_path):
    few = tmp_path / "few.csv"
    few.write_text("time,event\n" + "".join(f"{i + 1},1\n" for i in range(12)))
    out = tmp_path / "c.yaml"
    res = invoke("curves", "fit", few, "--model", "piecewise_exponential", "--out", out)
    assert_user_error(res, "few.csv", "could not be fitted", "too few events for a piecewise model")
    assert not out.exists()


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_MAGIC and head[12:16] == b"IHDR"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_unit_plot_curve_file_with_data_png(fitted, tmp_path):
    curve = fitted[1]
    png = tmp_path / "fit.png"
    res = invoke("curves", "plot", curve, "--data", PATIENTS, "--out", png)
    assert res.exit_code == 0, res.output
    w, h = _png_size(png)
    assert w >= 800 and h >= 500
    svg = tmp_path / "digitised.svg"
    assert invoke("curves", "plot", curve, "--data", DIGITISED, "--out", svg).exit_code == 0
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")


def test_unit_plot_reference_and_scenarios(tmp_path):
    for target, name in [("pan2017/T2N1-3", "ref.svg"), ("cts5/high", "cts5.png"),
                         (write(tmp_path, CTDNA), "ctdna.png"),
                         (ROOT / "scenarios" / "dtc_bone_marrow.yaml", "dtc.png")]:
        out = tmp_path / name
        res = invoke("curves", "plot", target, "--out", out, "--months", 60)
        assert res.exit_code == 0, res.output
        assert f"wrote {out}" in res.stdout
        if name.endswith(".png"):
            _png_size(out)
        else:
            assert ET.parse(out).getroot().tag.endswith("svg")


def test_unit_plot_bad_input_exit_2(tmp_path):
    out = tmp_path / "x.png"
    assert_user_error(invoke("curves", "plot", "pan2017/T2N13", "--out", out),
                      "unknown reference curve 'pan2017/T2N13'", "did you mean 'pan2017/T2N1-3'")
    assert_user_error(invoke("curves", "plot", "pan2017/T1N0", "--out", tmp_path / "x.pdf"), "must end in .png or .svg")
    assert_user_error(invoke("curves", "plot", tmp_path / "gone.yaml", "--out", out), "gone.yaml: file not found")
    bad_curve = tmp_path / "bad_curve.yaml"
    bad_curve.write_text("weibull: {scale: 3}\n")
    assert_user_error(invoke("curves", "plot", bad_curve, "--out", out), "bad_curve.yaml", "missing 'shape'")
    not_yaml = tmp_path / "broken.yaml"
    not_yaml.write_text("weibull: {scale: 3\n")
    assert_user_error(invoke("curves", "plot", not_yaml, "--out", out), "broken.yaml", "not valid YAML")
    bad_data = tmp_path / "bad.csv"
    bad_data.write_text("time,survival\n0,1\n5,0.9\n4,0.8\n")
    assert_user_error(invoke("curves", "plot", "pan2017/T1N0", "--data", bad_data, "--out", out),
                      "bad.csv, data row 3 (line 4)")
    bad_scenario = write(tmp_path, CTDNA.replace("share: 0.6", "share: 2"), "bad_scenario.yaml")
    res = invoke("curves", "plot", bad_scenario, "--out", out)
    assert res.exit_code == 2 and "bad_scenario.yaml" in res.stderr and "Traceback" not in res.output
    assert not out.exists()


def test_unit_curves_fit_warns_on_stderr_about_fits_at_a_bound(tmp_path):
    data = tmp_path / "km.csv"
    data.write_text("time,survival\n0,1\n12,0\n")      # drops to zero at once
    res = invoke("curves", "fit", data, "--out", tmp_path / "curve.yaml")
    assert res.exit_code == 0 and "Traceback" not in res.output, res.output
    warnings = [line for line in res.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings and all("at a bound of its parameters" in w and "should not be trusted" in w
                            for w in warnings), res.stderr
    assert "wrote " in res.stdout and "(exponential)" in res.stdout
    assert yaml.safe_load((tmp_path / "curve.yaml").read_text()) == {"exponential": {"rate": pytest.approx(1 / 12)}}
