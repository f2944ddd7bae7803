"""Regression tier: trialsim.report.build, the report of every reference scenario.

Pinned seeds, small replicates: the report's numbers are parsed back out of
the HTML (``<span class="num" id=... data-value=...>``) and compared with a
fresh simulation of the same scenario, seed and replicates; the HTML has no
external reference; the PDF is a PDF of a sensible number of A4 pages.
"""

from __future__ import annotations

import hashlib
import math
import re
import shutil
import subprocess

import numpy as np
import pytest

from tests.conftest import SCENARIOS
from tests.support.report_html import parse, value
from trialsim import load_scenario
from trialsim.engine import simulate
from trialsim.report import count_pdf_pages, make_report

REFERENCE = [("ctdna_er_positive", 60), ("dtc_bone_marrow", 60), ("zest_like_tnbc", 60),
             ("conventional_logrank", 200)]


@pytest.mark.parametrize("name,replicates", REFERENCE)
def test_regression_reference_report_numbers_equal_the_results(name, replicates, tmp_path):
    path = SCENARIOS / f"{name}.yaml"
    out = tmp_path / "report"
    rep = make_report(path, out=out, replicates=replicates, workers=1, sensitivity_replicates=20)
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

    # Self-contained: no external reference, images are SVG data URIs, no external CSS or scripts.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", rep.html, re.I)
    for tag, ref in h.refs:
        assert ref.startswith("data:image/svg+xml;base64,") or ref.startswith("#"), (tag, ref[:40])
    assert sum(1 for tag, _ in h.refs if tag == "img") == (6 if sc.screening is not None else 5)   # + the tornado

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
