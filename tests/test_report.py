"""Protocol reports (trialsim/report.py, report_cli.py, figures.py).

Unit tier: the YAML comment reader, the read-off of sizes from a power
curve, the sweep reader's refusals, the command line's exit codes.
Regression tier (pinned seeds, small replicates): the report of every
reference scenario, whose numbers are parsed back out of the HTML
(``<span class="num" id=... data-value=...>``) and compared with a fresh
simulation of the same scenario, seed and replicates; the HTML has no
external reference; the PDF is a PDF of a sensible number of A4 pages.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import CONVENTIONAL, SCENARIOS, write
from trialsim import atomic
from trialsim.atomic import write_files_atomically
from trialsim import load_scenario
from trialsim.cli import app
from trialsim.engine import simulate
from trialsim.report import (Curve, ScenarioFile, assumptions_table, count_pdf_pages, effect_grid, effect_path,
                             enrolment_grid, make_report, read_comments, read_off, read_sweep, ReportError,
                             split_comment, _leaves)

runner = CliRunner()


class _Numbers(HTMLParser):
    """Collects the report's numbers: id -> (data-value, shown text); and every src/href."""

    def __init__(self):
        super().__init__()
        self.numbers: dict[str, tuple[str, str]] = {}
        self.ids: list[str] = []
        self.refs: list[tuple[str, str]] = []
        self._open: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        for k in ("src", "href"):
            if k in a:
                self.refs.append((tag, a[k]))
        if tag == "link" or tag == "script":
            self.refs.append((tag, a.get("src") or a.get("href") or "inline"))
        if tag == "span" and "num" in (a.get("class") or "").split():
            self._open = a["id"]
            self._value = a["data-value"]
            self._text = ""

    def handle_data(self, data):
        if self._open is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "span" and self._open is not None:
            self.numbers[self._open] = (self._value, self._text)
            self._open = None


def parse(html_text: str) -> _Numbers:
    p = _Numbers()
    p.feed(html_text)
    return p


def value(numbers, key) -> float:
    return float(numbers.numbers[key][0])


# --------------------------------------------------------------------------
# Unit: comments of a scenario file


COMMENTED = """\
# Header line one
#   indented source line
#
# second paragraph

name: x                       # the name
description: >
  free text with a # that is not a comment
accrual:
  rate: 20                    # patients per month: first line
                              # and its continuation
  sites: {count: 5, open_over: 2}   # flow mapping comment
# A comment block about the population,
# on two lines
population:
  strata:
    # About all strata
    - name: all
      share: 1                # single stratum
      recurrence: {exponential: {median: 24}}
arms:
  control: {}
  treatment: {hazard_ratio: 0.7, allocation: 1}
trial:
  enrollment: 100
  analysis:
    # Above events
    events: 50                # after
    test: "logrank"           # quoted value, then a comment
"""


def test_unit_split_comment_respects_quotes_and_hashes_inside_words():
    assert split_comment('  test: "fh(0, 1)"  # two') == ('  test: "fh(0, 1)"', "two", 20)
    assert split_comment("  name: 'a # b'  # c")[1] == "c"
    assert split_comment("  name: issue#4") == ("  name: issue#4", None, None)
    assert split_comment("# whole line")[1] == "whole line"


def test_unit_read_comments_header_trailing_continuation_preceding(tmp_path):
    header, trailing, preceding = read_comments(COMMENTED)
    assert header.splitlines() == ["Header line one", "indented source line", "", "second paragraph"]
    lines = COMMENTED.splitlines()
    n = {key: i + 1 for i, line in enumerate(lines) for key in [line.strip().split(":")[0].lstrip("- ")]}
    assert trailing[n["rate"]] == "patients per month: first line and its continuation"
    assert trailing[n["sites"]] == "flow mapping comment"
    assert preceding[n["population"]] == "A comment block about the population, on two lines"
    assert preceding[n["events"]] == "Above events"
    assert trailing[n["test"]] == "quoted value, then a comment"
    assert not any("not a comment" in c for c in trailing.values())   # block scalar text
    sf = ScenarioFile.read(write(tmp_path, COMMENTED))
    assert sf.comment(("trial", "analysis", "events")) == "Above events after"
    assert sf.comment(("accrual", "sites", "count")) == "flow mapping comment"
    assert sf.comment(("arms", "control")) is None


@pytest.mark.parametrize("name", ["ctdna_er_positive", "dtc_bone_marrow", "zest_like_tnbc", "conventional_logrank"])
def test_unit_assumptions_table_has_every_value_of_the_file(name):
    sf = ScenarioFile.read(SCENARIOS / f"{name}.yaml")
    table, notes = assumptions_table(sf)
    shown = [r for i, r in enumerate(table.rows) if i not in table.groups and i not in table.muted]
    assert len(shown) == len(list(_leaves(sf.data, ())))
    assert all(len(r) == 4 for r in shown)
    # Nearly every value of the reference scenarios is commented with its source.
    commented = sum(1 for r in shown if r[3])
    assert commented >= 0.6 * len(shown), (commented, len(shown))


def _comment_block(text: str, anchor: str) -> str:
    """The comment at the end of the line holding ``anchor`` and the comment
    lines aligned under it, read independently of trialsim's reader."""
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if anchor in line)
    col = lines[i].index(" #") + 1
    parts = [lines[i][col + 1:].strip()]
    for line in lines[i + 1:]:
        if line.strip().startswith("#") and len(line) - len(line.lstrip()) == col:
            parts.append(line.strip()[1:].strip())
        else:
            break
    return " ".join(parts)


def _comment_above(text: str, anchor: str) -> str:
    """The comment-only lines right above the line holding ``anchor``, joined."""
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if anchor in line)
    parts = []
    for line in reversed(lines[:i]):
        if not line.strip().startswith("#"):
            break
        parts.insert(0, line.strip()[1:].strip())
    return " ".join(parts)


def test_unit_assumptions_show_the_sources_the_file_gives():
    path = SCENARIOS / "ctdna_er_positive.yaml"
    text = path.read_text()
    sf = ScenarioFile.read(path)
    table, notes = assumptions_table(sf)
    by_label = {}
    group = None
    for i, r in enumerate(table.rows):
        if i in table.groups:
            group = r[0]
        else:
            by_label[(group, r[0])] = r
    sens = by_label[("Screening", "test.sensitivity")]
    assert sens[1].text == "0.88" and sens[2] == "probability per test"
    assert sens[3] == _comment_block(text, "sensitivity: 0.88")          # with its continuation lines
    assert len(sens[3]) > len(text.split("sensitivity: 0.88")[1].splitlines()[0])
    lead = by_label[("MRD model", "lead_time")]
    assert lead[1].text == "Weibull, median 10.5, shape 1.4"
    assert lead[3] == _comment_above(text, "lead_time: {weibull")         # the comment block above it
    rec = by_label[("Population: stratum T2N0 (4 of 6)", "recurrence")]
    assert rec[1].text == "reference curve pan2017/T2N0"
    assert rec[3] == _comment_block(text, "recurrence: {reference: pan2017/T2N0}")
    first_stratum = next(line for line in text.splitlines() if line.strip().startswith("- name:"))
    assert notes == [f"On the strata: {_comment_above(text, first_stratum)}"]
    assert by_label[("Accrual", "rate")][2] == "survivors per month"


# --------------------------------------------------------------------------
# Unit: reading sizes off a power curve


def _curve(x, p, n=1000, **cols):
    x = np.asarray(x, float)
    p = np.asarray(p, float)
    return Curve(path="trial.enrollment", x=x, power=p, mcse=np.sqrt(p * (1 - p) / n),
                 replicates=np.full(x.size, n, float), columns={k: np.asarray(v, float) for k, v in cols.items()})


def test_unit_read_off_interpolates_the_first_crossing():
    c = _curve([100, 200, 300, 400], [0.5, 0.7, 0.9, 0.95], screened=[1000, 2000, 3000, 4000])
    r = read_off(c, 0.8)
    assert r.status == "ok" and r.value == pytest.approx(250.0)
    assert r.at["screened"] == pytest.approx(2500.0)
    lo, hi = r.band
    assert lo < 250 < hi
    assert read_off(c, 0.4).status == "below"
    assert read_off(c, 0.99).status == "not_reached"


def test_unit_read_off_for_a_hazard_ratio_goes_from_weak_to_strong_effects():
    c = _curve([1.0, 0.9, 0.8, 0.7], [0.025, 0.3, 0.7, 0.95])
    r = read_off(c, 0.8, increasing=False)
    assert r.status == "ok" and r.value == pytest.approx(0.8 - 0.1 * 0.1 / 0.25)


def test_unit_default_grids_include_the_design():
    sc = load_scenario(SCENARIOS / "ctdna_er_positive.yaml")
    assert effect_path(sc) == "arms.treatment.eradication"
    assert 0.3 in effect_grid(sc) and min(effect_grid(sc)) == 0.0
    assert (150, 80) in enrolment_grid(sc)
    conv = load_scenario(SCENARIOS / "conventional_logrank.yaml")
    assert effect_path(conv) == "arms.treatment.hazard_ratio"
    assert 0.7 in effect_grid(conv) and max(effect_grid(conv)) == 1.0
    assert all(e <= n for n, e in enrolment_grid(conv))


# --------------------------------------------------------------------------
# Regression: the report of every reference scenario (pinned seeds, small replicates)


REFERENCE = [("ctdna_er_positive", 60), ("dtc_bone_marrow", 60), ("zest_like_tnbc", 60),
             ("conventional_logrank", 200)]


@pytest.mark.parametrize("name,replicates", REFERENCE)
def test_regression_reference_report_numbers_equal_the_results(name, replicates, tmp_path):
    path = SCENARIOS / f"{name}.yaml"
    out = tmp_path / "report"
    rep = make_report(path, out=out, replicates=replicates, workers=1)
    sc = load_scenario(path)
    seed = sc.simulation.seed
    fresh = simulate(sc, replicates=replicates, seed=seed, workers=1).summary()
    h = parse(rep.html)

    # Every id is unique, and the numbers are those of a fresh simulation.
    assert len(h.ids) == len(set(h.ids))
    assert value(h, "power") == fresh["power"]
    assert value(h, "power-mcse") == pytest.approx(fresh["power_mcse"], rel=1e-12)
    assert value(h, "seed") == seed and value(h, "replicates") == replicates
    assert h.numbers["scenario-sha256"][0] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert value(h, "key-randomized") == pytest.approx(fresh["randomized"]["mean"])
    assert value(h, "key-events") == pytest.approx(fresh["events"]["mean"])
    assert value(h, "hr-median") == pytest.approx(fresh["hazard_ratio_estimate"]["median"])
    assert value(h, "hr-geomean") == pytest.approx(fresh["hazard_ratio_geometric_mean"])
    assert value(h, "timeline-analysis") == pytest.approx(fresh["analysis_month"]["median"])
    if sc.screening is not None:
        for key in ("screened", "tested", "test_positive", "eligible", "consented", "randomized"):
            k = key.replace("_", "-")
            for stat in ("mean", "median", "p10", "p90"):
                assert value(h, f"{k}-{stat}") == pytest.approx(fresh[key][stat]), (key, stat)
        assert value(h, "truly-mean") == pytest.approx(fresh["truly_mrd_positive_share"]["mean"])
        assert value(h, "assay-cost-mean") == pytest.approx(fresh["assay_cost"]["mean"])
        # What is shown is the value, rounded.
        assert h.numbers["screened-mean"][1] == f"{fresh['screened']['mean']:,.0f}"
    else:
        assert value(h, "randomized-mean") == sc.trial.enrollment
        assert value(h, "schoenfeld-power") == pytest.approx(
            __import__("trialsim.design", fromlist=["x"]).schoenfeld_power(
                events=fresh["events"]["mean"], hazard_ratio=0.7, alpha=0.025, sided=1))
    assert f"{fresh['power']:.3f}" == h.numbers["power"][1]

    # The typical replicate is the one with the median statistic, and its KM numbers are its own.
    t = rep.result.table
    assert value(h, "km-z") == pytest.approx(t["z"][t["replicate"] == rep.typical_replicate][0])
    assert value(h, "km-events") == t["events"][t["replicate"] == rep.typical_replicate][0]

    # Common random numbers: the default sweep's design points are the run itself.
    for c in rep.curves:
        at = np.flatnonzero(np.isclose(c.x, c.design_x))
        assert at.size == 1 and c.power[at[0]] == fresh["power"]
    reads = rep.reads["trial.enrollment"]
    for target, key in ((0.8, "n80"), (0.9, "n90")):
        r = reads[target]
        if r.status == "ok":
            assert value(h, key) == math.ceil(r.value - 1e-9)
        else:
            assert h.numbers[key][0] == r.status

    # Self-contained: no external reference, images are data URIs, no external CSS or scripts.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", rep.html, re.I)
    for tag, ref in h.refs:
        assert ref.startswith("data:image/png;base64,") or ref.startswith("#"), (tag, ref[:40])
    assert sum(1 for tag, _ in h.refs if tag == "img") == (5 if sc.screening is not None else 4)

    # The files on disk: exactly the two, the PDF a PDF of A4 pages.
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.pdf"]
    assert (out / "report.html").read_text(encoding="utf-8") == rep.html
    pdf = (out / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    assert 3 <= count_pdf_pages(pdf) <= 14, count_pdf_pages(pdf)
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in pdf     # A4
    if name == "ctdna_er_positive" and shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "30", "-f", "1", "-l", "1", str(out / "report.pdf"),
                        str(tmp_path / "page")], check=True, capture_output=True)
        assert list(tmp_path.glob("page*.png"))


# --------------------------------------------------------------------------
# Sweep results from a file


def _sweep_json(tmp_path, scenario_path, rows, provenance=None, name="sweep.json"):
    obj = {"rows": rows, "provenance": provenance or {}}
    p = tmp_path / name
    p.write_text(json.dumps(obj))
    return p


def test_unit_read_sweep_refuses_another_scenario(tmp_path):
    path = write(tmp_path, CONVENTIONAL)
    sf = ScenarioFile.read(path)
    rows = [{"trial.enrollment": n, "power": p, "power_mcse": 0.01, "replicates": 100}
            for n, p in ((300, 0.5), (500, 0.8))]
    bad_hash = _sweep_json(tmp_path, path, rows, {"scenario_sha256": "0" * 64})
    with pytest.raises(ReportError, match="another scenario"):
        read_sweep(bad_hash, sf)
    other = sf.scenario.to_dict()
    other["accrual"]["rate"] = 99.0
    with pytest.raises(ReportError, match="another scenario"):
        read_sweep(_sweep_json(tmp_path, path, rows, {"scenario": other}, "b.json"), sf)
    ok = _sweep_json(tmp_path, path, rows, {"scenario_sha256": sf.sha256}, "c.json")
    curves, info = read_sweep(ok, sf)
    assert info["vary"] == ["trial.enrollment"] and curves[0].power.tolist() == [0.5, 0.8]


def test_unit_read_sweep_reads_what_trialsim_sweep_writes(tmp_path):
    from trialsim.sweeps import run_sweep

    path = write(tmp_path, CONVENTIONAL)
    sc = load_scenario(path)
    res = run_sweep(sc, {"arms.treatment.hazard_ratio": [0.6, 0.8, 1.0]}, replicates=20, seed=4, workers=1)
    out = tmp_path / "sweep"
    res.write(out)
    sf = ScenarioFile.read(path)
    for target in (out, out / "sweep.json", out / "sweep.csv", out / "sweep.parquet"):
        curves, info = read_sweep(target, sf)
        assert info["vary"] == ["arms.treatment.hazard_ratio"], target
        c = curves[0]
        assert c.x.tolist() == [0.6, 0.8, 1.0] and c.replicates.tolist() == [20, 20, 20]
        assert c.power.tolist() == [p["summary"]["power"] for p in res.points]
        assert c.columns["events"].tolist() == [p["summary"]["events"]["mean"] for p in res.points]
    other = write(tmp_path, CONVENTIONAL.replace("median: 24", "median: 30"), "other.yaml")
    with pytest.raises(ReportError, match="another scenario"):
        read_sweep(out, ScenarioFile.read(other))
    with pytest.raises(ReportError, match="another scenario"):
        read_sweep(out / "sweep.csv", ScenarioFile.read(other))   # its sweep.json tells


def test_unit_read_sweep_reads_csv_and_folders_and_refuses_nonsense(tmp_path):
    path = write(tmp_path, CONVENTIONAL)
    sf = ScenarioFile.read(path)
    folder = tmp_path / "sweep"
    folder.mkdir()
    (folder / "sweep.csv").write_text("arms.treatment.hazard_ratio,power,power_mcse\n0.8,0.4,0.02\n0.7,0.8,0.02\n")
    curves, info = read_sweep(folder, sf)
    assert curves[0].path == "arms.treatment.hazard_ratio" and info["rows"] == 2
    garbage = tmp_path / "x.json"
    garbage.write_text("{not json")
    with pytest.raises(ReportError, match="cannot be read"):
        read_sweep(garbage, sf)
    pq = tmp_path / "x.parquet"
    pq.write_bytes(b"not parquet")
    with pytest.raises(ReportError, match="cannot be read"):
        read_sweep(pq, sf)
    nopower = tmp_path / "np.csv"
    nopower.write_text("trial.enrollment,x\n1,2\n3,4\n")
    with pytest.raises(ReportError, match="no 'power' column"):
        read_sweep(nopower, sf)
    with pytest.raises(ReportError, match="no such file"):
        read_sweep(tmp_path / "missing.csv", sf)


# --------------------------------------------------------------------------
# Command line


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_unit_cli_report_writes_both_files_to_the_default_folder(tmp_path, monkeypatch):
    path = write(tmp_path, CONVENTIONAL, "small_design.yaml")
    monkeypatch.chdir(tmp_path)
    res = invoke("report", path, "-n", 30, "--seed", 5, "-w", 1)
    assert res.exit_code == 0, res.output
    out = tmp_path / "reports" / "small_design"
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.pdf"]
    assert "power" in res.stdout and "report.pdf" in res.stdout
    html_text = (out / "report.html").read_text()
    # The command that reproduces the report is in it, with the seed and replicates.
    assert f"trialsim report {path} --replicates 30 --seed 5 --out reports/small_design" in html_text
    # The assumptions table shows the file; a note says what the command line changed.
    assert "This report was run with replicates 30 (the scenario&#39;s is 1,000) and seed 5, given" in html_text


def test_unit_cli_report_with_a_sweep_file_uses_it(tmp_path):
    path = write(tmp_path, CONVENTIONAL)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    rows = [{"trial.enrollment": n, "power": p, "power_mcse": math.sqrt(p * (1 - p) / 400), "screened": n,
             "randomized": n, "events": n / 2} for n, p in ((300, 0.55), (400, 0.70), (500, 0.80), (600, 0.88),
                                                          (700, 0.93))]
    sweep = _sweep_json(tmp_path, path, rows, {"scenario_sha256": sha, "replicates": 400})
    out = tmp_path / "out"
    res = invoke("report", path, "--sweep", sweep, "-n", 20, "--seed", 2, "-w", 1, "--out", out)
    assert res.exit_code == 0, res.output
    h = parse((out / "report.html").read_text())
    assert value(h, "n80") == 500
    assert value(h, "n90") == math.ceil(600 + (0.9 - 0.88) / (0.93 - 0.88) * 100)
    assert h.numbers["sweep-sha256"][0] == hashlib.sha256(sweep.read_bytes()).hexdigest()
    assert value(h, "curve0-power2") == 0.80


@pytest.mark.parametrize("args,message", [
    (["missing.yaml"], "no such file"),
    (["{scenario}", "--sweep", "nowhere.csv"], "--sweep nowhere.csv: no such file"),
    (["{scenario}", "--sweep", "{garbage}"], "cannot be read"),
    (["{scenario}", "--sweep", "{foreign}"], "another scenario"),
    (["{scenario}", "--replicates", "1"], "--replicates must be at least 2"),
    (["{scenario}", "--workers", "0"], "--workers must be at least 1"),
    (["{scenario}", "--out", "{afile}"], "exists and is not a folder"),
])
def test_unit_cli_report_bad_input_exits_2_with_one_message(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    scenario = write(tmp_path, CONVENTIONAL)
    garbage = tmp_path / "garbage.json"
    garbage.write_text("[1, 2,")
    foreign = _sweep_json(tmp_path, scenario, [{"trial.enrollment": 100, "power": 0.5}],
                          {"scenario_sha256": "f" * 64}, "foreign.json")
    afile = tmp_path / "afile"
    afile.write_text("x")
    fill = {"scenario": scenario, "garbage": garbage, "foreign": foreign, "afile": afile}
    args = [a.format(**fill) for a in args]
    res = invoke("report", *args, *([] if "--workers" in args else ["-w", 1]))
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("error: ") and message in res.stderr, res.stderr
    assert "Traceback" not in res.output
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "reports").exists()


def test_unit_cli_bad_scenario_names_file_line_and_field(tmp_path):
    bad = write(tmp_path, CONVENTIONAL.replace("enrollment: 500", "enrollment: -5"))
    res = invoke("report", bad, "-w", 1, "--out", tmp_path / "o")
    assert res.exit_code == 2
    assert f"{bad}:" in res.stderr and "trial.enrollment" in res.stderr
    assert not (tmp_path / "o").exists()


def test_unit_a_failed_report_leaves_nothing_half_written(tmp_path, monkeypatch):
    import trialsim.report as report

    path = write(tmp_path, CONVENTIONAL)
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("previous report")

    def boom(doc):
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(report, "render_pdf", boom)
    with pytest.raises(RuntimeError):
        make_report(path, out=out, replicates=10, seed=1, workers=1)
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]
    assert (out / "report.html").read_text() == "previous report"

    real_replace = atomic.os.replace
    calls = []

    def flaky_replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", flaky_replace)
    with pytest.raises(OSError):
        write_files_atomically(out, {"a.html": b"a", "b.pdf": b"b"})
    assert sorted(p.name for p in out.iterdir()) == ["a.html", "report.html"]   # no temporary left


# --------------------------------------------------------------------------
# Slow: a report at the scenario's own size


@pytest.mark.slow
def test_theory_conventional_report_schoenfeld_cross_check_agrees(tmp_path):
    """At 4,000 replicates the simulated power of the conventional design sits
    within 4 Monte Carlo SE of Schoenfeld's power at the simulated events, and
    so does every point of the hazard-ratio curve."""
    rep = make_report(SCENARIOS / "conventional_logrank.yaml", out=tmp_path, replicates=4000, workers=2)
    h = parse(rep.html)
    assert abs(value(h, "crosscheck-gap-se")) <= 4
    for c in rep.curves:
        se = np.sqrt(c.analytic * (1 - c.analytic) / c.replicates)
        assert np.all(np.abs(c.power - c.analytic) <= 4 * np.maximum(se, 1e-3) + 0.01), (c.path, c.power, c.analytic)


def test_unit_group_sequential_cross_check_uses_the_simulators_boundaries(tmp_path):
    """The report's exit-probability power is the run's analytic companion:
    the same boundaries (looks at the ceil(f * D)-th event, futility with the
    allocation) at the same drift."""
    text = CONVENTIONAL.replace("sided: 1}", "sided: 1, looks: [0.4, 0.7], futility: {beta: 0.2, hazard_ratio: 0.7}}")
    path = write(tmp_path, text, "gs.yaml")
    rep = make_report(path, out=tmp_path / "report", replicates=20, seed=3, workers=1)
    run = simulate(load_scenario(path), replicates=20, seed=3, workers=1).summary()
    assert value(parse(rep.html), "gsd-power") == pytest.approx(run["analytic"]["schoenfeld_power"], abs=1e-12)
