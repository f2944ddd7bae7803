"""Making a report: simulate a scenario file, sweep, build the document, write HTML and PDF.

``make_report(path, ...)`` simulates a scenario file, runs the default power
sweeps (or reads a sweep's results), and writes ``report.html`` (self-contained)
and ``report.pdf`` (A4) of the same document, atomically: a failed report
leaves the previous one in place.
"""

from __future__ import annotations

import math
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from trialsim.atomic import write_files_atomically
from trialsim.engine import default_workers, draw_seed, patient_table, simulate
from trialsim.report.document import Document
from trialsim.report.errors import ReportError
from trialsim.report.html import render_html
from trialsim.report.pdf import render_pdf
from trialsim.report.power_curves import (
    PowerCurve,
    add_analytic,
    default_sweeps,
    effect_grid,
    enrolment_grid,
    point_summary,
)
from trialsim.report.scenario_file import ScenarioFile
from trialsim.report.sections import build_document, finite_max
from trialsim.report.sweep_results import read_sweep

HTML_NAME = "report.html"
PDF_NAME = "report.pdf"
TIMELINE_MONTHS = 240


@dataclass
class Report:
    """What ``make_report`` made: paths written (when ``out`` was given),
    the document, the run, and the power curves."""

    document: Document
    html: str
    pdf: bytes
    result: Any
    curves: list[PowerCurve]
    reads: dict
    scenario_file: ScenarioFile
    command: str
    typical_replicate: int
    html_path: Path | None = None
    pdf_path: Path | None = None


def reproduce_command(scenario_path: str | os.PathLike, *, replicates: int, seed: int,
                      sweep: str | os.PathLike | None, out: str | os.PathLike | None) -> str:
    parts = ["trialsim", "report", str(scenario_path)]
    if sweep is not None:
        parts += ["--sweep", str(sweep)]
    parts += ["--replicates", str(replicates), "--seed", str(seed)]
    if out is not None:
        parts += ["--out", str(out)]
    return " ".join(shlex.quote(p) for p in parts)


def make_report(scenario_path: str | os.PathLike, *, out: str | os.PathLike | None = None,
                sweep: str | os.PathLike | None = None, replicates: int | None = None, seed: int | None = None,
                workers: int | None = None, progress: Callable[[int, int], None] | None = None,
                command: str | None = None) -> Report:
    """Simulate a scenario file and build its report; write ``report.html``
    and ``report.pdf`` into ``out`` (atomically) when given.

    Raises :class:`~trialsim.scenario.ScenarioError` for a bad scenario and
    :class:`ReportError` for a bad sweep or option.
    """
    sf = ScenarioFile.read(scenario_path)
    sc = sf.scenario
    replicates = replicates if replicates is not None else sc.simulation.replicates
    if replicates < 2:
        raise ReportError(f"--replicates must be at least 2 for a report, got {replicates}")
    seed = seed if seed is not None else sc.simulation.seed
    if seed is None:
        seed = draw_seed()
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ReportError(f"--workers must be at least 1, got {workers}")
    given_curves, sweep_info = (read_sweep(sweep, sf) if sweep is not None else (None, None))

    n_points = 0 if given_curves is not None else (len(effect_grid(sc)) + len(enrolment_grid(sc)) - 2)
    total = replicates * (1 + n_points)
    done = [0]

    def tick(k: int) -> None:
        done[0] += k
        if progress:
            progress(min(done[0], total), total)

    result = simulate(sc, replicates=replicates, seed=seed, workers=workers, timeline=TIMELINE_MONTHS,
                      progress=(lambda d, t: progress(d, total)) if progress else None)
    done[0] = replicates
    horizon = finite_max(result.table["analysis_month"])
    if horizon > TIMELINE_MONTHS:     # rare: re-run with a timeline long enough (same seed, same results)
        result = simulate(sc, replicates=replicates, seed=seed, workers=workers,
                          timeline=int(min(600, math.ceil(horizon) + 12)))
    design_point = point_summary(result)
    if given_curves is not None:
        curves = given_curves
    else:
        curves = default_sweeps(result.scenario, design_point, replicates=replicates, seed=seed, workers=workers,
                                progress=tick)
    for c in curves:
        add_analytic(c, sc)

    # The typical replicate: the one whose statistic is the median.
    z = np.asarray(result.table["z"], dtype=float)
    z_filled = np.where(np.isfinite(z), z, -np.inf)
    typical_row = int(np.argsort(z_filled, kind="stable")[(len(z) - 1) // 2])
    typical = int(result.table["replicate"][typical_row])
    patients = patient_table(result.scenario, seed=seed, replicate=typical, replicates=replicates)

    if command is None:
        command = reproduce_command(scenario_path, replicates=replicates, seed=seed, sweep=sweep, out=out)
    doc, reads = build_document(sf, result, curves, patients, typical_row, sweep_info=sweep_info, command=command,
                                workers=workers)
    html_text = render_html(doc)
    pdf_bytes = render_pdf(doc)
    rep = Report(document=doc, html=html_text, pdf=pdf_bytes, result=result, curves=curves, reads=reads,
                 scenario_file=sf, command=command, typical_replicate=typical)
    if out is not None:
        rep.html_path, rep.pdf_path = write_files_atomically(Path(out), {HTML_NAME: html_text.encode("utf-8"),
                                                                     PDF_NAME: pdf_bytes})
    return rep
