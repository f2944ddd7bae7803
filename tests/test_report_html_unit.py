"""Unit tier: the HTML report in a real browser (headless Chromium over the DevTools protocol).

A small report (few replicates) is opened from its file in the system's
Chromium, with every host name resolving nowhere. Checked: the stylesheet
applies (computed styles are the CSS's: the body's font is DejaVu Sans and the
font actually used for text is DejaVu Sans where it is installed; headings are
styled as the CSS says), every figure loads (an SVG with a non-zero natural
size and box), the page makes no request but for itself and its data URIs, and
printed to PDF it is A4 with no figure split across pages (a marker at the top
and one at the bottom of each figure land on the same page).

Skipped, with the reason, where no Chromium is installed (Debian: ``apt-get
install chromium``) or websocket-client / pypdf are missing.
"""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest

from tests.conftest import CTDNA, write
from tests.support.chromium import Chromium, find_chromium
from trialsim.report import make_report

CHROMIUM, WHY_NOT = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=WHY_NOT)

# The CSS's values (trialsim/templates/report.css): html 15px on screen, 10pt in print.
ACCENT = "rgb(11, 79, 124)"       # --accent: #0b4f7c
INK = "rgb(34, 34, 34)"           # --ink: #222

STYLES = """(() => {
  const pick = (sel) => {
    const e = document.querySelector(sel);
    if (!e) return null;
    const s = getComputedStyle(e);
    return {fontFamily: s.fontFamily, fontSize: s.fontSize, fontWeight: s.fontWeight, color: s.color,
            borderBottomStyle: s.borderBottomStyle, borderBottomColor: s.borderBottomColor,
            borderBottomWidth: s.borderBottomWidth, display: s.display, breakInside: s.breakInside,
            breakAfter: s.breakAfter, fontVariantNumeric: s.fontVariantNumeric, textAlign: s.textAlign,
            backgroundColor: s.backgroundColor};
  };
  return {html: pick('html'), body: pick('body'), h1: pick('h1'), h2: pick('section:not(.warnings) > h2'), p: pick('main p'),
          num: pick('.num'), code: pick('code'), th: pick('thead th'), numeric: pick('td.n'),
          figure: pick('figure'), toc: pick('nav.toc'), pre: pick('pre')};
})()"""

IMAGES = """(async () => {
  const imgs = [...document.querySelectorAll('img')];
  const decoded = await Promise.all(imgs.map(i => i.decode().then(() => true, () => false)));
  return imgs.map((i, k) => {
    const r = i.getBoundingClientRect();
    return {figure: i.closest('figure') ? i.closest('figure').id : null, decoded: decoded[k],
            complete: i.complete, naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight,
            width: r.width, height: r.height, src: i.currentSrc.slice(0, 26)};
  });
})()"""

# A marker at the top and one at the bottom of each figure (absolutely placed:
# the layout does not change), to find in the printed PDF.
MARKERS = """(() => {
  const figs = [...document.querySelectorAll('figure')];
  figs.forEach((f, k) => {
    f.style.position = 'relative';
    for (const [where, text] of [['top', 'FIGSTART' + k + 'Q'], ['bottom', 'FIGEND' + k + 'Q']]) {
      const m = document.createElement('span');
      m.textContent = text;
      m.style.cssText = 'position:absolute;left:0;font-size:6px;line-height:6px;' + where + ':0';
      f.appendChild(m);
    }
  });
  return figs.length;
})()"""


# Before each figure, a page break and a block that leaves a figure's image
# room at the foot of the page but not its caption: a figure that may be split
# is split there (the control below shows it); one kept whole moves on. Measured
# in print media at the width of an A4 page's text (180 mm = 680 CSS px).
A4_TEXT_WIDTH_PX = 680
A4_TEXT_HEIGHT_PX = 267 / 25.4 * 96        # 297 mm less the 15 mm margins
CRAMP = """((mode) => {
  const figs = [...document.querySelectorAll('figure')];
  const heights = figs.map(f => f.querySelector('img').getBoundingClientRect().height);
  figs.forEach((f, k) => {
    const s = document.createElement('div');
    s.style.cssText = 'break-before: page; height: ' + (%f - heights[k] - 20) + 'px';
    f.parentNode.insertBefore(s, f);
    if (mode) f.style.breakInside = mode;
  });
  return heights;
})(%s)"""


def _print_pages(page, pypdf, mode: str | None = None) -> list[tuple[float, float, str]]:
    """Print the page (markers added; crammed against page ends unless mode is 'natural')
    and return (width, height, text) of every PDF page."""
    if mode != "natural":
        page.send("Emulation.setEmulatedMedia", media="print")
        page.send("Emulation.setDeviceMetricsOverride", width=A4_TEXT_WIDTH_PX, height=1000, deviceScaleFactor=1,
                  mobile=False)
        page.evaluate(CRAMP % (A4_TEXT_HEIGHT_PX, f"'{mode}'" if mode else "null"))
        page.send("Emulation.clearDeviceMetricsOverride")
        page.send("Emulation.setEmulatedMedia", media="")
    page.evaluate(MARKERS)
    pdf = page.print_pdf(preferCSSPageSize=True, printBackground=True)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [(float(p.mediabox.width), float(p.mediabox.height), (p.extract_text() or "").replace(" ", ""))
            for p in reader.pages]


def _figure_pages(pages, n: int) -> list[tuple[list[int], list[int]]]:
    """For each figure: the pages of its top marker and of its bottom marker."""
    text = [t for _, _, t in pages]
    return [([i for i, t in enumerate(text) if f"FIGSTART{k}Q" in t], [i for i, t in enumerate(text) if f"FIGEND{k}Q" in t])
            for k in range(n)]


def _dejavu_installed() -> bool:
    if not shutil.which("fc-list"):
        return False
    out = subprocess.run(["fc-list", ":family=DejaVu Sans"], capture_output=True, text=True).stdout
    return bool(out.strip())


@pytest.fixture(scope="module")
def seen(tmp_path_factory):
    """Everything the browser showed of one small report."""
    websocket = pytest.importorskip("websocket", reason="websocket-client is not installed (the test extra has it)")
    pypdf = pytest.importorskip("pypdf", reason="pypdf is not installed (the test extra has it)")
    del websocket
    tmp = tmp_path_factory.mktemp("browser")
    path = write(tmp, CTDNA)
    rep = make_report(path, out=tmp / "report", replicates=12, seed=4, workers=1, sensitivity_replicates=6,
                      null_replicates=6, formats=("html",))
    html_path = rep.html_path.resolve()
    out: dict = {"html": rep.html, "figures": sum(1 for s in rep.document.sections for b in s.blocks
                                                   if b.kind == "figure")}
    with Chromium(CHROMIUM) as browser:
        out["browser"] = browser.version()
        page = browser.page()
        try:
            page.send("Network.enable")
            page.send("Page.enable")
            page.send("DOM.enable")
            page.send("CSS.enable")
            page.send("Emulation.setDeviceMetricsOverride", width=1000, height=800, deviceScaleFactor=1,
                      mobile=False)
            page.navigate(html_path.as_uri())
            out["screen"] = page.evaluate(STYLES)
            out["images"] = page.evaluate(IMAGES)
            doc = page.send("DOM.getDocument")
            node = page.send("DOM.querySelector", nodeId=doc["root"]["nodeId"], selector="main p")["nodeId"]
            out["platform_fonts"] = [f["familyName"] for f in
                                     page.send("CSS.getPlatformFontsForNode", nodeId=node)["fonts"]]
            page.send("Emulation.setEmulatedMedia", media="print")
            out["print"] = page.evaluate(STYLES)
            page.send("Emulation.setEmulatedMedia", media="")
            out["requests"] = page.requests()
            out["failures"] = page.failures()
            out["pages"] = _print_pages(page, pypdf, "natural")
            page.navigate(html_path.as_uri())
            out["crammed"] = _print_pages(page, pypdf)
            page.navigate(html_path.as_uri())
            out["control"] = _print_pages(page, pypdf, "auto")
            out["all_requests"] = page.requests()
        finally:
            page.close()
    return out


def test_unit_browser_the_stylesheet_applies(seen):
    screen, prt = seen["screen"], seen["print"]
    assert "&#34;" not in seen["html"] and 'font-family: "DejaVu Sans"' in seen["html"]
    assert screen["body"]["fontFamily"].startswith('"DejaVu Sans"'), screen["body"]
    assert screen["body"]["color"] == INK
    if _dejavu_installed():     # the font actually drawn, not just the one asked for
        assert "DejaVu Sans" in seen["platform_fonts"], seen["platform_fonts"]
    assert screen["html"]["fontSize"] == "15px"
    assert screen["h1"]["fontSize"] == "24px"                    # 1.6rem
    h2 = screen["h2"]
    assert (h2["fontSize"], h2["color"], h2["borderBottomStyle"]) == ("18px", ACCENT, "solid"), h2   # 1.2rem
    assert h2["borderBottomWidth"] == "1px" and h2["borderBottomColor"] == "rgb(187, 187, 187)"
    assert screen["code"]["fontFamily"].startswith('"DejaVu Sans Mono"')
    assert screen["num"]["fontVariantNumeric"] == "tabular-nums"
    assert screen["th"]["color"] == "rgb(85, 85, 85)" and screen["numeric"]["textAlign"] == "right"
    assert screen["toc"]["display"] == "block"
    # Print media: 10pt base, no table of contents, figures kept whole.
    assert prt["html"]["fontSize"] == "13.3333px"
    assert prt["h2"]["fontSize"] == "16px" and prt["h2"]["breakAfter"] == "avoid"
    assert prt["toc"]["display"] == "none"
    assert prt["figure"]["breakInside"] == "avoid"


def test_unit_browser_every_figure_loads_as_svg(seen):
    images = seen["images"]
    assert len(images) == seen["figures"] >= 5
    for im in images:
        assert im["src"].startswith("data:image/svg+xml"), im
        assert im["decoded"] and im["complete"], im
        assert im["naturalWidth"] > 100 and im["naturalHeight"] > 50, im
        assert im["width"] > 100 and im["height"] > 50, im
        # drawn at the figure's proportions
        assert im["height"] / im["width"] == pytest.approx(im["naturalHeight"] / im["naturalWidth"], rel=0.02)


def test_unit_browser_no_request_leaves_the_page(seen):
    requests = seen["requests"]
    assert requests and requests[0].startswith("file://")          # the page itself was seen
    outside = [u for u in seen["all_requests"] if not u.startswith(("file://", "data:"))]
    assert outside == []
    assert [u for u in requests if u.startswith("file://")] == [requests[0]]     # no other local file
    assert seen["failures"] == []


def test_unit_browser_prints_on_a4_without_splitting_a_figure(seen):
    n = seen["figures"]
    for name in ("pages", "crammed", "control"):
        assert len(seen[name]) >= 3
        for w, h, _ in seen[name]:
            assert (w, h) == pytest.approx((595.28, 841.89), abs=1.0), name   # A4 in points, from the CSS's @page
    # As printed, and with every figure pushed against the foot of a page: each stays on one page.
    for name in ("pages", "crammed"):
        for k, (start, end) in enumerate(_figure_pages(seen[name], n)):
            assert len(start) == 1 and len(end) == 1, (name, k, start, end)
            assert start == end, f"{name}: figure {k} starts on page {start[0] + 1} and ends on page {end[0] + 1}"
    # The control: the same, with the CSS's break-inside: avoid taken off, splits figures (the check sees it).
    split = [k for k, (start, end) in enumerate(_figure_pages(seen["control"], n)) if start != end]
    assert len(split) == n, split
