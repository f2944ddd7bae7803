"""The report as PDF (A4), rendered from the document model with reportlab.

Fonts: the DejaVu faces matplotlib ships, so the PDF and the figures share one
typeface and any character of a scenario file prints.
"""

from __future__ import annotations

import html
import io
import re
import textwrap
from pathlib import Path

import matplotlib

from trialsim.report.document import Code, Document, FigureBlock, Num, Strong, Table
from trialsim.version import __version__

_FONTS_DONE = False


def _register_fonts() -> None:
    global _FONTS_DONE
    if _FONTS_DONE:
        return
    from reportlab.lib.fonts import addMapping  # deferred: only the PDF needs reportlab
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    d = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    faces = {"DejaVu": "DejaVuSans.ttf", "DejaVu-Bold": "DejaVuSans-Bold.ttf",
             "DejaVu-Oblique": "DejaVuSans-Oblique.ttf", "DejaVu-BoldOblique": "DejaVuSans-BoldOblique.ttf",
             "DejaVuMono": "DejaVuSansMono.ttf"}
    for name, file in faces.items():
        pdfmetrics.registerFont(TTFont(name, str(d / file)))
    addMapping("DejaVu", 0, 0, "DejaVu")
    addMapping("DejaVu", 1, 0, "DejaVu-Bold")
    addMapping("DejaVu", 0, 1, "DejaVu-Oblique")
    addMapping("DejaVu", 1, 1, "DejaVu-BoldOblique")
    _FONTS_DONE = True


def _markup(parts, mono: str = "DejaVuMono") -> str:
    """reportlab paragraph markup of fragments."""
    if not isinstance(parts, list):
        parts = [parts]
    out = []
    for p in parts:
        if isinstance(p, Num):
            out.append(html.escape(p.text, quote=False))
        elif isinstance(p, Code):
            out.append(f'<font face="{mono}">{html.escape(p.text, quote=False)}</font>')
        elif isinstance(p, Strong):
            out.append(f"<b>{html.escape(p.text, quote=False)}</b>")
        else:
            out.append(html.escape(str(p), quote=False))
    return "".join(out)


def render_pdf(doc: Document) -> bytes:
    """The PDF of a document: A4 portrait, 15 mm margins."""
    # deferred: reportlab is needed when a PDF is rendered, not by `import trialsim.report`
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_LEFT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        Image,
        KeepTogether,
        LongTable,
        Paragraph,
        Preformatted,
        SimpleDocTemplate,
        Spacer,
        TableStyle,
    )

    _register_fonts()
    ink = colors.HexColor("#222222")
    grey = colors.HexColor("#555555")
    rule = colors.HexColor("#BBBBBB")
    band = colors.HexColor("#EEF3F8")
    base = ParagraphStyle("base", fontName="DejaVu", fontSize=9, leading=12.2, textColor=ink, alignment=TA_LEFT)
    st = {
        "title": ParagraphStyle("title", parent=base, fontName="DejaVu-Bold", fontSize=16, leading=20,
                                spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=9, leading=12, textColor=grey, spaceAfter=6),
        "h2": ParagraphStyle("h2", parent=base, fontName="DejaVu-Bold", fontSize=12.5, leading=16, spaceBefore=8,
                             spaceAfter=5, textColor=colors.HexColor("#0B4F7C")),
        "body": ParagraphStyle("body", parent=base, spaceAfter=5),
        "note": ParagraphStyle("note", parent=base, fontSize=8.5, leading=11.5, textColor=grey, spaceAfter=5,
                               leftIndent=6, borderPadding=0),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10.5, spaceAfter=2, spaceBefore=4),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=10.8),
        "cellsmall": ParagraphStyle("cellsmall", parent=base, fontSize=7.4, leading=9.2),
        "caption": ParagraphStyle("caption", parent=base, fontSize=8, leading=10.5, textColor=grey, spaceAfter=8),
        "pretitle": ParagraphStyle("pretitle", parent=base, fontName="DejaVu-Bold", fontSize=8.5, spaceBefore=4),
        "warnhead": ParagraphStyle("warnhead", parent=base, fontName="DejaVu-Bold", fontSize=11, leading=14,
                                   spaceBefore=6, spaceAfter=3, textColor=colors.HexColor("#A04400")),
        "warning": ParagraphStyle("warning", parent=base, fontSize=8.8, leading=11.5, leftIndent=8, spaceAfter=3,
                                  textColor=colors.HexColor("#A04400")),
        "pre": ParagraphStyle("pre", parent=base, fontName="DejaVuMono", fontSize=6.9, leading=8.6,
                              textColor=ink, backColor=colors.HexColor("#F4F4F4"), borderPadding=4,
                              spaceBefore=2, spaceAfter=8),
    }
    page_w, page_h = A4
    margin = 15 * mm
    width = page_w - 2 * margin
    story: list = []

    def table_flowable(t: Table):
        cs = st["cellsmall"] if t.small else st["cell"]
        hs = ParagraphStyle("head", parent=cs, fontName="DejaVu-Bold", textColor=grey)
        gs = ParagraphStyle("group", parent=cs, fontName="DejaVu-Bold", textColor=colors.HexColor("#0B4F7C"))
        ms = ParagraphStyle("muted", parent=cs, textColor=grey)
        rs = ParagraphStyle("right", parent=cs, alignment=2)
        data = []
        has_header = any(h for h in t.header)
        if has_header:
            data.append([Paragraph(_markup(h), hs) for h in t.header])
        cmds = [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3), ("TOPPADDING", (0, 0), (-1, -1), 1.6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.6),
                ("LINEBELOW", (0, -1), (-1, -1), 0.5, rule)]
        if has_header:
            cmds += [("LINEBELOW", (0, 0), (-1, 0), 0.8, grey), ("LINEABOVE", (0, 0), (-1, 0), 0.8, grey)]
        off = 1 if has_header else 0
        for i, row in enumerate(t.rows):
            r = i + off
            if i in t.groups:
                data.append([Paragraph(_markup(row[0]), gs)] + [""] * (len(t.widths) - 1))
                cmds += [("SPAN", (0, r), (-1, r)), ("BACKGROUND", (0, r), (-1, r), band),
                         ("TOPPADDING", (0, r), (-1, r), 3)]
                continue
            style = ms if i in t.muted else cs
            cells = []
            for j, c in enumerate(row):
                cells.append(Paragraph(_markup(c), rs if (j in t.numeric and i not in t.muted) else style))
            data.append(cells)
            if not t.groups and i % 2 == 1:
                cmds.append(("BACKGROUND", (0, r), (-1, r), colors.HexColor("#F7F7F7")))
        lt = LongTable(data, colWidths=[w * width for w in t.widths], repeatRows=1 if has_header else 0,
                       hAlign="LEFT")
        lt.setStyle(TableStyle(cmds))
        lt.spaceAfter = 6
        return lt

    def figure_items(f: FigureBlock) -> list:
        w = width
        h = w * f.height_px / f.width_px
        max_h = page_h - 2 * margin - 60
        if h > max_h:
            w, h = w * max_h / h, max_h
        return [Image(io.BytesIO(f.png), width=w, height=h), Paragraph(_markup(f.caption), st["caption"])]

    def block_items(b) -> tuple[list, bool]:
        """The flowables of a block, and whether they must stay on one page.
        (KeepTogether is applied once, at the top: nested, it forces page breaks.)"""
        if b.kind == "para":
            return [Paragraph(_markup(b.parts), st[b.style])], True
        if b.kind == "table":
            return [table_flowable(b)], len(b.rows) <= 16
        if b.kind == "figure":
            return figure_items(b), True
        if b.kind == "pre":
            items = [Paragraph(html.escape(b.title), st["pretitle"])] if b.title else []
            items.append(Preformatted(_wrap_pre(b.text, 118), st["pre"]))
            return items, len(b.text) < 3000
        raise TypeError(f"unknown block {b.kind}")

    story.append(Paragraph(html.escape(doc.title), st["title"]))
    if doc.subtitle:
        story.append(Paragraph(html.escape(" ".join(doc.subtitle.split())), st["subtitle"]))
    story.append(Paragraph(" · ".join(f"{k}: {_markup(v)}" for k, v in doc.meta), st["subtitle"]))
    if doc.warnings:
        story.append(Paragraph("Warnings", st["warnhead"]))
        for w in doc.warnings:
            story.append(Paragraph("• " + html.escape(w, quote=False), st["warning"]))
    story.append(Paragraph("Key results", st["h2"]))
    story.append(table_flowable(doc.key_results))
    if doc.key_note:
        story.append(Paragraph(_markup(doc.key_note), st["note"]))
    story.append(Spacer(1, 4))
    story.append(Paragraph("Contents: " + "; ".join(f"{i}. {html.escape(s.title)}"
                                                    for i, s in enumerate(doc.sections, 1)), st["note"]))
    for i, sec in enumerate(doc.sections, 1):
        # Groups of blocks kept on one page: a paragraph with the figure or
        # short table it introduces; the heading with the first group.
        groups: list[tuple[list, bool]] = []
        blocks = list(sec.blocks)
        k = 0
        while k < len(blocks):
            items, keep = block_items(blocks[k])
            nxt = blocks[k + 1] if k + 1 < len(blocks) else None
            k += 1
            if blocks[k - 1].kind == "para" and nxt is not None:
                more, keep2 = block_items(nxt)
                if keep2 and nxt.kind in ("figure", "table"):
                    items, k = items + more, k + 1
            groups.append((items, keep))
        heading = Paragraph(f"{i}. {html.escape(sec.title)}", st["h2"])
        first_items, first_keep = groups[0]
        if first_keep:
            groups[0] = ([heading] + first_items, True)
        else:
            groups.insert(0, ([heading, first_items[0]], True))
            groups[1] = (first_items[1:], False)
        for items, keep in groups:
            if keep and (len(items) > 1 or isinstance(items[0], LongTable)):
                story.append(KeepTogether(items))
            else:
                story.extend(items)

    title = doc.title

    def decorate(canvas, d):
        canvas.saveState()
        canvas.setFont("DejaVu", 7.5)
        canvas.setFillColor(grey)
        canvas.drawString(margin, 9 * mm, _clip(title, 95))
        canvas.drawRightString(page_w - margin, 9 * mm, f"page {d.page}")
        canvas.drawString(margin, page_h - 9 * mm, f"trialsim {__version__} simulation report")
        canvas.restoreState()

    buf = io.BytesIO()
    pdf = SimpleDocTemplate(buf, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=margin,
                            bottomMargin=margin, title=doc.title, author=f"trialsim {__version__}",
                            subject="Clinical trial simulation report", creator=f"trialsim {__version__}")
    pdf.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buf.getvalue()


def _clip(t: str, n: int) -> str:
    return t if len(t) <= n else t[: n - 1] + "…"


def _wrap_pre(text: str, width: int) -> str:
    out = []
    for line in text.splitlines():
        if len(line) <= width:
            out.append(line)
        else:
            indent = len(line) - len(line.lstrip())
            out.extend(textwrap.wrap(line, width=width, subsequent_indent=" " * (indent + 2)) or [""])
    return "\n".join(out)


def count_pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF that reportlab wrote (its page objects are not compressed)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))
