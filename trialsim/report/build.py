"""Making a report: simulate a scenario file, sweep, build the document, write HTML and PDF.

``make_report(path, ...)`` simulates a scenario file; runs, in one batch with
the run's seed, the default power sweeps (unless a sweep's results are given),
the null design of the type I error and the designs of the sensitivity
analysis; and writes ``report.html`` (self-contained) and/or ``report.pdf``
(A4) of the same document, atomically: a failed report leaves the previous one
in place.
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
from trialsim.cluster import connect
from trialsim.engine import default_workers, draw_seed, patient_table, simulate
from trialsim.limits import as_workers
from trialsim.report.document import Document
from trialsim.report.errors import ReportError
from trialsim.report.html import render_html
from trialsim.report.pdf import render_pdf
from trialsim.report.power_curves import (
    PowerCurve,
    add_analytic,
    point_summary,
    sweep_curves,
    sweep_requests,
)
from trialsim.report.runs import run_batch
from trialsim.report.scenario_file import ScenarioFile
from trialsim.report.sections import build_document, finite_max
from trialsim.report.sensitivity import (
    SENSITIVITY_REPLICATES,
    null_scenario,
    sensitivity_inputs,
    sensitivity_requests,
    type1_summary,
)
from trialsim.report.sweep_results import read_sweep

HTML_NAME = "report.html"
PDF_NAME = "report.pdf"
TIMELINE_MONTHS = 240
FORMATS = ("html", "pdf")


@dataclass
class Report:
    """What ``make_report`` made: paths written (when ``out`` was given),
    the document, the run, and the power curves."""

    document: Document
    html: str | None            # None when the HTML was not asked for
    pdf: bytes | None           # None when the PDF was not asked for
    result: Any
    curves: list[PowerCurve]
    reads: dict
    scenario_file: ScenarioFile
    command: str
    typical_replicate: int
    type1: dict | None = None             # the null design's rejection rate (type1_summary)
    sensitivity: dict | None = None       # {"inputs", "summaries", "replicates"}
    html_path: Path | None = None
    pdf_path: Path | None = None


def reproduce_command(scenario_path: str | os.PathLike, *, replicates: int, seed: int,
                      sweep: str | os.PathLike | None, out: str | os.PathLike | None,
                      null_replicates: int | None = None, sensitivity_replicates: int | None = None,
                      formats: tuple[str, ...] = FORMATS) -> str:
    parts = ["trialsim", "report", str(scenario_path)]
    if sweep is not None:
        parts += ["--sweep", str(sweep)]
    parts += ["--replicates", str(replicates), "--seed", str(seed)]
    if null_replicates is not None:
        parts += ["--null-replicates", str(null_replicates)]
    if sensitivity_replicates is not None:
        parts += ["--sensitivity-replicates", str(sensitivity_replicates)]
    if tuple(formats) != FORMATS:
        parts += ["--format", formats[0] if len(formats) == 1 else "both"]
    if out is not None:
        parts += ["--out", str(out)]
    return " ".join(shlex.quote(p) for p in parts)


def check_formats(formats) -> tuple[str, ...]:
    """The formats to write, in the order html, pdf: "html", "pdf", "both" or a sequence of them."""
    if isinstance(formats, str):
        formats = FORMATS if formats == "both" else (formats,)
    fs = tuple(dict.fromkeys(formats))
    if not fs or any(f not in FORMATS for f in fs):
        raise ReportError(f"formats must be some of {', '.join(FORMATS)}, got {', '.join(map(str, formats)) or 'none'}")
    return tuple(f for f in FORMATS if f in fs)


def make_report(scenario_path: str | os.PathLike, *, out: str | os.PathLike | None = None,
                sweep: str | os.PathLike | None = None, replicates: int | None = None, seed: int | None = None,
                workers: int | None = None, progress: Callable[[int, int], None] | None = None,
                command: str | None = None, formats=FORMATS, null_replicates: int | None = None,
                sensitivity_replicates: int | None = None, scenario_text: str | None = None,
                scheduler=None) -> Report:
    """Simulate a scenario file and build its report; write ``report.html``
    and/or ``report.pdf`` (``formats``: "html", "pdf") into ``out``
    (atomically) when given.

    ``null_replicates``: simulated trials of the type I error's null design
    (default: ``replicates``); ``sensitivity_replicates``: of each design of
    the sensitivity analysis (default: ``SENSITIVITY_REPLICATES``, at most
    ``replicates``). Every design uses the run's seed. ``scenario_text``: the
    scenario's YAML (read from standard input), ``scenario_path`` then only
    its name. ``scheduler``: a Dask scheduler's address or a
    ``distributed.Client``: every simulation of the report (the run, the power
    curves, the null and sensitivity designs) runs there, with the same results.

    Raises :class:`~trialsim.scenario.ScenarioError` for a bad scenario and
    :class:`ReportError` for a bad sweep or option.
    """
    formats = check_formats(formats)
    sf = ScenarioFile.read(scenario_path, text=scenario_text)
    sc = sf.scenario
    replicates = replicates if replicates is not None else sc.simulation.replicates
    if replicates < 2:
        raise ReportError(f"--replicates must be at least 2 for a report, got {replicates}")
    n_null = replicates if null_replicates is None else int(null_replicates)
    n_sens = min(replicates, SENSITIVITY_REPLICATES) if sensitivity_replicates is None else int(sensitivity_replicates)
    for name, n in (("--null-replicates", n_null), ("--sensitivity-replicates", n_sens)):
        if n < 2:
            raise ReportError(f"{name} must be at least 2 for a report, got {n}")
    seed = seed if seed is not None else sc.simulation.seed
    if seed is None:
        seed = draw_seed()
    try:
        workers = default_workers() if workers is None else as_workers(workers, "--workers")
    except (TypeError, ValueError) as exc:
        raise ReportError(str(exc)) from None
    given_curves, sweep_info = (read_sweep(sweep, sf) if sweep is not None else (None, None))

    # Every extra design, simulated in one batch with the run's seed.
    requests = [] if given_curves is not None else sweep_requests(sc, replicates)
    requests.append((("null",), null_scenario(sc), n_null))
    inputs = sensitivity_inputs(sc)
    requests += sensitivity_requests(sc, inputs, n_sens)
    total = replicates + sum(n for _, _, n in requests)
    done = [replicates]

    def tick(k: int) -> None:
        done[0] += k
        if progress:
            progress(min(done[0], total), total)

    cluster, owned = connect(scheduler) if scheduler is not None else (None, False)   # one connection for all
    try:
        result = simulate(sc, replicates=replicates, seed=seed, workers=workers, timeline=TIMELINE_MONTHS,
                          progress=(lambda d, t: progress(d, total)) if progress else None, scheduler=cluster)
        horizon = finite_max(result.table["analysis_month"])
        if horizon > TIMELINE_MONTHS:     # rare: re-run with a timeline long enough (same seed, same results)
            result = simulate(sc, replicates=replicates, seed=seed, workers=workers,
                              timeline=int(min(600, math.ceil(horizon) + 12)), scheduler=cluster)
        design_point = point_summary(result)
        summaries = run_batch(requests, seed=seed, workers=workers, progress=tick, scheduler=cluster)
    finally:
        if owned:
            cluster.close()
    curves = given_curves if given_curves is not None else sweep_curves(result.scenario, design_point, summaries)
    for c in curves:
        add_analytic(c, sc)
    type1 = type1_summary(summaries[("null",)])
    sensitivity = {"inputs": inputs, "summaries": summaries, "replicates": n_sens}

    # The typical replicate: the one whose statistic is the median.
    z = np.asarray(result.table["z"], dtype=float)
    z_filled = np.where(np.isfinite(z), z, -np.inf)
    typical_row = int(np.argsort(z_filled, kind="stable")[(len(z) - 1) // 2])
    typical = int(result.table["replicate"][typical_row])
    patients = patient_table(result.scenario, seed=seed, replicate=typical, replicates=replicates)

    if command is None:
        command = reproduce_command(scenario_path, replicates=replicates, seed=seed, sweep=sweep, out=out,
                                    null_replicates=null_replicates, sensitivity_replicates=sensitivity_replicates,
                                    formats=formats)
    doc, reads = build_document(sf, result, curves, patients, typical_row, sweep_info=sweep_info, command=command,
                                workers=workers, type1=type1, sensitivity=sensitivity)
    html_text = render_html(doc) if "html" in formats else None
    pdf_bytes = render_pdf(doc) if "pdf" in formats else None
    rep = Report(document=doc, html=html_text, pdf=pdf_bytes, result=result, curves=curves, reads=reads,
                 scenario_file=sf, command=command, typical_replicate=typical, type1=type1, sensitivity=sensitivity)
    if out is not None:
        files = {}
        if html_text is not None:
            files[HTML_NAME] = html_text.encode("utf-8")
        if pdf_bytes is not None:
            files[PDF_NAME] = pdf_bytes
        written = dict(zip(files, write_files_atomically(Path(out), files)))
        rep.html_path, rep.pdf_path = written.get(HTML_NAME), written.get(PDF_NAME)
    return rep
