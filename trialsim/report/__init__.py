"""Protocol reports: the simulation report a protocol's statistical section can attach.

``make_report(path, ...)`` simulates a scenario file, runs the default power
sweeps (or reads a sweep's results), the design with no effect (the simulated
type I error) and a one-at-a-time sensitivity analysis, and writes
``report.html`` (self-contained: figures as SVG data URIs, CSS inline, no
network needed) and/or ``report.pdf`` (A4, figures as PNG) of the same
content, atomically. Both are rendered from one document model, so they
cannot disagree.

The modules, in the order a report is made:

* :mod:`~trialsim.report.scenario_file`: the scenario file as read, with its comments;
* :mod:`~trialsim.report.assumptions`: the assumptions table (values, units, sources);
* :mod:`~trialsim.report.power_curves`: power curves, default sweeps, sizes read off;
* :mod:`~trialsim.report.sweep_results`: power curves from ``trialsim sweep`` results;
* :mod:`~trialsim.report.sensitivity`: the null design (type I error) and the sensitivity analysis;
* :mod:`~trialsim.report.runs`: the extra designs simulated in one batch with the run's seed;
* :mod:`~trialsim.report.document`: the document model (sections of blocks, numbers);
* :mod:`~trialsim.report.sections`, :mod:`~trialsim.report.power_section`,
  :mod:`~trialsim.report.crosscheck`: the sections (closed forms from
  :mod:`trialsim.companions`);
* :mod:`~trialsim.report.html`, :mod:`~trialsim.report.pdf`: rendering;
* :mod:`~trialsim.report.build`: :func:`make_report`, which ties them together.
"""

from trialsim.report.assumptions import assumptions_table
from trialsim.report.build import (
                                          HTML_NAME,
                                          PDF_NAME,
                                          Report,
                                          make_report,
                                          reproduce_command,
)
from trialsim.report.document import Document
from trialsim.report.errors import ReportError
from trialsim.report.html import render_html
from trialsim.report.pdf import count_pdf_pages, render_pdf
from trialsim.report.power_curves import (
                                          PowerCurve,
                                          ReadOff,
                                          default_sweeps,
                                          effect_grid,
                                          effect_path,
                                          enrolment_grid,
                                          read_off,
)
from trialsim.report.scenario_file import ScenarioFile, read_comments, split_comment
from trialsim.report.sections import build_document
from trialsim.report.sweep_results import curves_from_frame, read_sweep

__all__ = [
    "HTML_NAME", "PDF_NAME", "Document", "PowerCurve", "ReadOff", "Report", "ReportError", "ScenarioFile",
    "assumptions_table", "build_document", "count_pdf_pages", "curves_from_frame", "default_sweeps",
    "effect_grid", "effect_path", "enrolment_grid", "make_report", "read_comments", "read_off", "read_sweep",
    "render_html", "render_pdf", "reproduce_command", "split_comment",
]
