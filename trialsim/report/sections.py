"""The report's sections, and the document they make.

:func:`build_document` assembles the key results and the sections in the
order of docs/reports.md, results first: screening funnel, power with the
simulated type I error (in :mod:`~trialsim.report.power_section`), the
sensitivity analysis (in :mod:`~trialsim.report.sensitivity`), timelines,
Kaplan-Meier curves, analytic cross-check (in
:mod:`~trialsim.report.crosscheck`); then the assumptions and
reproducibility. Every section reads summaries of runs; none simulates.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np

from trialsim import figures
from trialsim.companions import design_hazard_ratio, is_conventional
from trialsim.montecarlo import wilson_interval
from trialsim.report.assumptions import assumptions_table
from trialsim.report.crosscheck import section_crosscheck
from trialsim.report.document import (
    Code,
    Document,
    FigureBlock,
    Num,
    Para,
    Pre,
    Section,
    Strong,
    Table,
    dist_cells,
    fmt,
    num,
)
from trialsim.report.power_curves import TARGETS, PowerCurve, curve_key, read_off
from trialsim.report.power_section import read_fragments, section_power
from trialsim.report.scenario_file import ScenarioFile
from trialsim.report.sensitivity import section_sensitivity, type1_fragments
from trialsim.scenario import Scenario
from trialsim.version import __version__


def build_document(sf: ScenarioFile, result, curves: list[PowerCurve], patients: dict, typical_row: int, *,
                   sweep_info: dict | None, command: str, workers: int, type1: dict | None = None,
                   sensitivity: dict | None = None) -> tuple[Document, dict]:
    sc = result.scenario
    s = result.summary()
    screening = sc.screening is not None
    reads = _reads(curves, sc)
    sections = [
        _section_funnel(sc, s) if screening else _section_no_funnel(sc, s),
        section_power(sc, s, curves, reads, sweep_info, type1=type1),
    ]
    if sensitivity is not None:
        sections.append(section_sensitivity(sc, sensitivity["inputs"], sensitivity["summaries"],
                                            replicates=sensitivity["replicates"], seed=s["seed"]))
    sections += [
        _section_timelines(sc, s, result),
        _section_km(sc, s, result, patients, typical_row),
        section_crosscheck(sc, s, curves, result),
        _section_assumptions(sf, replicates=result.replicates, seed=s["seed"]),
        _section_reproducibility(sf, result, command, sweep_info, curves, type1=type1, sensitivity=sensitivity),
    ]
    a = sc.trial.analysis
    crit = f"{a.test}, {'one' if a.sided == 1 else 'two'}-sided alpha {a.alpha:g}"
    meta = [("scenario file", Code(str(sf.path))), ("simulated trials", num("meta-replicates", result.replicates)),
            ("seed", Num("meta-seed", int(result.seed), str(result.seed))),
            ("trialsim", __version__), ("created", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))]
    doc = Document(title=f"Simulation report: {sc.name}", subtitle=(sc.description or "").strip(), meta=meta,
                   key_results=_key_results(sc, s, reads, crit, type1), sections=sections,
                   warnings=_warnings(s), key_note=_trials_note(s, curves, sweep_info, type1, sensitivity))
    return doc, reads


def _warnings(s: dict) -> list[str]:
    """The run's warnings as text (a summary's ``warnings``: strings, or mappings with a message)."""
    out = []
    for w in s.get("warnings") or []:
        if isinstance(w, dict):
            w = w.get("message") or "; ".join(f"{k}: {v}" for k, v in w.items())
        out.append(str(w))
    return out


def _trials_note(s: dict, curves: list[PowerCurve], sweep_info: dict | None, type1: dict | None,
                 sensitivity: dict | None) -> list:
    """How many simulated trials each part of the report rests on."""
    n = f"{s['replicates']:,}"
    parts: list = [f"Simulated trials behind each part: {n} for the key results, funnel, timelines and "
                   f"Kaplan-Meier curves (one run)"]
    if sweep_info is None and curves:
        parts.append(f"; {n} at each point of the power curves")
    elif curves:
        parts.append("; the power curves as the sweep results say")
    if type1 is not None:
        parts.append(f"; {type1['replicates']:,} for the type I error")
    if sensitivity is not None:
        parts.append(f"; {sensitivity['replicates']:,} for each design of the sensitivity analysis")
    parts.append(f". Every design uses the seed {s['seed']}.")
    return parts


def _reads(curves: list[PowerCurve], sc: Scenario) -> dict:
    reads: dict = {}
    for c in curves:
        inc = not (c.path.endswith("hazard_ratio") and ".arms." in f".{c.path}")
        reads[curve_key(c)] = {t: read_off(c, t, increasing=inc) for t in TARGETS}
    return reads


def cost_unit(sc: Scenario) -> str:
    """The currency of costs (screening.test.currency), or '' when the scenario names none."""
    return (sc.screening.test.currency or "") if sc.screening is not None else ""


def _key_results(sc: Scenario, s: dict, reads: dict, crit: str, type1: dict | None = None) -> Table:
    lo, hi = wilson_interval(s["power"], s["replicates"])
    several = bool(s.get("comparisons"))
    rows: list[list] = [
        ["power (at least one comparison)" if several else "power",
         [num("power", s["power"], 3), " ± ", num("power-mcse", s["power_mcse"], 3),
          f" (Monte Carlo SE; 95% interval {lo:.3f} to {hi:.3f}; {crit}"
          + (f"; {s['multiplicity']} adjustment for {len(s['comparisons'])} comparisons with control)"
             if several else ")")]],
    ]
    for i, c in enumerate(s.get("comparisons") or []):
        clo, chi = wilson_interval(c["power"], s["replicates"])
        rows.append([f"power, {c['arm']} vs {sc.control_arm}",
                     [num(f"power-{i + 1}", c["power"], 3), " ± ", num(f"power-mcse-{i + 1}", c["power_mcse"], 3),
                      f" (95% interval {clo:.3f} to {chi:.3f}); hazard-ratio estimate ",
                      num(f"hr-geomean-{i + 1}", c["hazard_ratio_geometric_mean"], 3), " (geometric mean)"]])
    if type1 is not None:
        rows.append(["family-wise type I error (simulated)" if several else "type I error (simulated)",
                     type1_fragments(type1, f"alpha {type1['alpha']:g}")])
    if sc.screening is not None:
        rows.append(["survivors screened", [num("key-screened", s["screened"]["mean"], 0),
                                            f" (10-90%: {fmt(s['screened']['p10'])} to {fmt(s['screened']['p90'])})"]])
    rows.append(["patients randomised", [num("key-randomized", s["randomized"]["mean"], 1),
                                         f" of {sc.trial.enrollment} planned; target reached in ",
                                         num("key-enrollment-reached", s["enrollment_reached_share"], 1, pct=True),
                                         " of trials"]])
    if s.get("truly_mrd_positive_share"):
        rows.append(["truly MRD-positive among the randomised",
                     [num("key-truly", s["truly_mrd_positive_share"]["mean"], 1, pct=True)]])
    rows.append(["events at the analysis", [num("key-events", s["events"]["mean"], 1),
                                            f" (target {sc.trial.analysis.events or '-'}; reached in ",
                                            num("key-events-reached", s["events_reached_share"], 1, pct=True),
                                            " of trials)"]])
    rows.append(["analysis, month", [num("key-analysis-month", s["analysis_month"]["median"], 1),
                                     f" (median; 10-90%: {fmt(s['analysis_month']['p10'], 1)} to "
                                     f"{fmt(s['analysis_month']['p90'], 1)})"]])
    if s.get("assay_cost"):
        unit = cost_unit(sc)
        rows.append(["assay cost", [num("key-assay-cost", s["assay_cost"]["mean"], 0),
                                    f"{' ' + unit if unit else ''} ({fmt(s['assays']['mean'])} assays)"]])
    r = reads.get("trial.enrollment")
    if r:
        for t in TARGETS:
            rows.append([f"enrolment for {t:.0%} power", read_fragments(r[t], f"n{int(t * 100)}", screening=sc.screening is not None)])
    return Table(header=["", ""], rows=rows, widths=[0.30, 0.70], id="key-results")


def _section_assumptions(sf: ScenarioFile, *, replicates: int | None = None, seed: int | None = None) -> Section:
    table, notes = assumptions_table(sf)
    sim = sf.scenario.simulation
    overridden = [f"{name} {run:{fmt}}" + (f" (the scenario's is {filed:{fmt}})" if filed is not None else "")
                  for name, run, filed, fmt in (("replicates", replicates, sim.replicates, ","),
                                                ("seed", seed, sim.seed, "d"))
                  if run is not None and run != filed]
    if overridden:
        notes = [*notes, "This report was run with " + " and ".join(overridden)
                 + ", given on the command line; the table below shows the file."]
    blocks: list = [Para([
        "Every value of the scenario file ", Code(sf.path.name), " as read, with its unit and, where the file "
        "comments it, that comment (its source or the reason for an assumption). Time is in months, rates are "
        "per month, probabilities and shares are in [0, 1]. Values the file does not set are trialsim's "
        "defaults, listed last."])]
    for n in notes:
        blocks.append(Para([n], style="note"))
    blocks.append(table)
    if sf.header.strip():
        blocks.append(Pre(sf.header, title="Notes at the top of the scenario file"))
    return Section("assumptions", "Assumptions", blocks)


_FUNNEL = [("approached", "approached"), ("registered", "registered (consented to surveillance)"),
           ("assay_ready", "assay set up"),
           ("screened", "screened"), ("tested", "tested (a result)"), ("test_positive", "test-positive"),
           ("eligible", "eligible at staging"), ("consented", "consented"), ("randomized", "randomised")]


def _section_funnel(sc: Scenario, s: dict) -> Section:
    stages = [(label, s[key]) for key, label in _FUNNEL if s.get(key)]
    fig = figures.funnel(stages, s.get("truly_mrd_positive_share"))
    rows = []
    prev = None
    for key, label in _FUNNEL:
        d = s.get(key)
        if not d:
            continue
        share = d["mean"] / prev if prev else None
        rows.append([label, *dist_cells(key.replace("_", "-"), d, 0 if d["mean"] >= 100 else 1),
                     num(f"{key.replace('_', '-')}-share", share, 1, pct=True) if share is not None else "-"])
        prev = d["mean"]
    t = s.get("truly_mrd_positive_share")
    if t:
        rows.append(["truly MRD-positive share of the randomised", *dist_cells("truly", t, 1, pct=True), "-"])
    m = s.get("metastatic_at_staging_share")
    if m:
        rows.append(["metastatic at staging, share of the test-positive", *dist_cells("metastatic", m, 1, pct=True),
                     "-"])
    if s.get("confirmed"):
        rows.append(["confirmed positive", *dist_cells("confirmed", s["confirmed"], 1), "-"])
    for arm, share in (s.get("metastatic_at_staging_by_arm") or {}).items():
        if share is not None:
            rows.append([f"metastatic when staged after allocation, {arm} arm", "-", "-", "-",
                         num(f"metastatic-arm-{arm}", share, 1, pct=True)])
    if s.get("serial_agreement") is not None:
        rows.append(["serial samples of one survivor that agree", "-", "-", "-",
                     num("serial-agreement", s["serial_agreement"], 1, pct=True)])
    if s.get("assays"):
        rows.append(["assays performed", *dist_cells("assays", s["assays"], 0), "-"])
    if s.get("assay_cost"):
        unit = cost_unit(sc)
        rows.append([f"assay cost ({unit})" if unit else "assay cost", *dist_cells("assay-cost", s["assay_cost"], 0),
                     "-"])
    if s.get("screening_closed_month"):
        rows.append(["enrolment closed, month", *dist_cells("closed-month", s["screening_closed_month"], 1), "-"])
    table = Table(header=["stage", "mean", "median", "10th to 90th centile", "share of stage above"], rows=rows,
                  widths=[0.34, 0.14, 0.14, 0.22, 0.16], numeric={1, 2, 3, 4}, id="funnel-table")
    test = sc.screening.test
    visits = sc.screening.visits.describe().replace(", up to", " up to")
    pre = sc.screening.prescreen
    prescreen = ("" if pre is None else
                 f"Of the survivors approached, {pre.consent:.0%} consent to surveillance and the assay can be set "
                 f"up for {pre.assay_setup:.0%} of them; screening starts with the first sample. ")
    blocks = [
        Para([f"Survivors enter screening at {fmt(sc.accrual.rate or 0, 0)} a month once all sites are open, and "
              f"are tested with {test.name} {visits}. {prescreen}"
              "A positive survivor is staged; one whose recurrence is already visible on imaging is not eligible. "
              "The counts are per simulated trial, up to the close of enrolment; the figure shows means, "
              "the table the mean, median and 10th to 90th centiles over trials. 'Truly MRD-positive' counts the "
              "randomised whose MRD was detectable when the positive sample was drawn (the rest are false positives, "
              "who dilute the treatment effect)."]),
        FigureBlock.from_figure(fig, caption=[
            "Screening funnel: mean per simulated trial (box width proportional to the square root of the mean), "
            "10th to 90th centiles over trials, and the share of each stage kept from the stage above."],
            alt="screening funnel diagram", id="fig-funnel"),
        table,
    ]
    blocks += _funnel_by_stratum(s) + _funnel_by_visit(s)
    if s["enrollment_reached_share"] < 0.5:
        blocks.append(Para([Strong("Enrolment is limited by screening: "),
                            f"the target of {sc.trial.enrollment} is reached in only ",
                            num("funnel-enrollment-reached", s["enrollment_reached_share"], 1, pct=True),
                            " of trials; screening stops first (max_screened or max_months)."], style="note"))
    return Section("funnel", "Screening funnel", blocks)


def _funnel_by_stratum(s: dict) -> list:
    """The funnel of each stratum (means per simulated trial), when there are several."""
    strata = s.get("by_stratum") or {}
    if len(strata) < 2:
        return []
    cols = [("screened", "screened", False), ("test_positive", "test-positive", False),
            ("metastatic_at_staging_share", "metastatic at staging", True), ("randomized", "randomised", False),
            ("truly_mrd_positive_share", "truly MRD-positive", True)]
    cols = [c for c in cols if any(e.get(c[0]) for e in strata.values())]
    rows = []
    for i, (name, e) in enumerate(strata.items()):
        row = [name]
        for key, _, pct in cols:
            d = e.get(key)
            row.append(num(f"stratum-{i}-{key.replace('_', '-')}", d["mean"] if d else None, 1, pct=pct))
        rows.append(row)
    width = 0.6 / len(cols)
    return [Para(["By stratum: means per simulated trial (shares: the mean of the trials' shares)."]),
            Table(header=["stratum"] + [label for _, label, _ in cols], rows=rows,
                  widths=[0.4] + [width] * len(cols), numeric=set(range(1, len(cols) + 1)), id="funnel-by-stratum")]


def _funnel_by_visit(s: dict, first: int = 8) -> list:
    """Tests and positives at the first visits."""
    visits = s.get("by_visit") or []
    if len(visits) < 2:
        return []
    rows = [[str(v["visit"]), num(f"visit-{v['visit']}-tests", v["tests"], 1),
             num(f"visit-{v['visit']}-positive", v["positive"], 1),
             num(f"visit-{v['visit']}-share", v["positive_share"], 2, pct=True)] for v in visits[:first]]
    more = f" (the first {first} of {len(visits)})" if len(visits) > first else ""
    return [Para([f"By visit{more}: tests with a result and positive results per simulated trial (means), and the "
                  "positive share of all the visit's results."]),
            Table(header=["visit", "tests", "positive", "positive share"], rows=rows, widths=[0.25] * 4,
                  numeric={1, 2, 3}, id="funnel-by-visit")]


def _section_no_funnel(sc: Scenario, s: dict) -> Section:
    return Section("funnel", "Screening funnel", [Para([
        "No screening: this is a conventional trial, and every accrued patient is randomised: ",
        num("screened-mean", s["screened"]["mean"], 0), " accrued, ",
        num("randomized-mean", s["randomized"]["mean"], 0), " randomised (mean over trials), the last at month ",
        num("last-randomized-median", s["last_randomized_month"]["median"], 1), " (median)."])])


def _section_timelines(sc: Scenario, s: dict, result) -> Section:
    tl = result.timeline
    horizon = max(finite_max(result.table["analysis_month"]), 12.0)
    horizon = min(float(tl["month"][-1]), math.ceil(horizon * 1.05 / 6) * 6)
    series = []
    if sc.screening is not None:
        series.append(("survivors\nscreened", tl["screened"], figures.BLUE))
    series.append(("patients\nrandomised", tl["randomized"], figures.VERMILLION))
    series.append(("events in\nthe analysis", tl["events"], figures.GREEN))
    marks = [("last randomisation", s["last_randomized_month"], figures.PURPLE),
             ("analysis", s["analysis_month"], figures.GREY)]
    fig = figures.timelines(tl["month"], series, marks, horizon)
    am, lm = s["analysis_month"], s["last_randomized_month"]
    blocks = [
        Para(["Cumulative counts at the end of each calendar month, from the opening of the first site: the median "
              "over simulated trials and the band from the 10th to the 90th centile. Events are those counted in the "
              "final analysis. The dashed lines mark the median month of the last randomisation (",
              num("timeline-last-randomized", lm["median"], 1), ") and of the analysis (",
              num("timeline-analysis", am["median"], 1), "), the shaded spans their 10th to 90th centiles (",
              f"{am['p10']:.1f} to {am['p90']:.1f} for the analysis)."]),
        FigureBlock.from_figure(fig, caption=[
            "Cumulative screening, randomisation and events over calendar months (median and 10-90% band over "
            "simulated trials), with the last randomisation and the analysis marked."],
            alt="timelines", id="fig-timelines"),
    ]
    a = sc.trial.analysis
    when = []
    if a.events is not None:
        when.append(f"at the {a.events}th event")
    if a.months is not None:
        when.append(f"{a.months:g} months after the last randomisation")
    blocks.append(Para([f"The analysis is {' or '.join(when)}{', whichever comes first' if len(when) > 1 else ''}; "
                        "the events target was reached in ", num("timeline-events-reached", s["events_reached_share"],
                                                                 1, pct=True), " of trials."]))
    return Section("timelines", "Timelines", blocks)


def _section_km(sc: Scenario, s: dict, result, patients: dict, row: int) -> Section:
    keep = np.asarray(patients["in_analysis"], dtype=bool)
    arm = np.asarray(patients["arm"])
    time = np.asarray(patients["time"], dtype=float)
    event = np.asarray(patients["event"], dtype=bool)
    arms = [(name, time[keep & (arm == name)], event[keep & (arm == name)]) for name in sc.arms]
    t = result.table
    rep = int(t["replicate"][row])
    z, hr = float(t["z"][row]), float(t["hazard_ratio_estimate"][row])
    km = figures.kaplan_meier(arms, f"Simulated trial {rep} (the median statistic z = {z:.2f})")
    hr_all = np.asarray(t["hazard_ratio_estimate"], dtype=float)
    marks = [("geometric mean", s["hazard_ratio_geometric_mean"], figures.VERMILLION)] \
        if s.get("hazard_ratio_geometric_mean") else []
    if is_conventional(sc):
        marks.append(("design HR", design_hazard_ratio(sc), figures.GREEN))
    hist = figures.hazard_ratio_histogram(hr_all, marks)
    blocks = [
        Para(["Kaplan-Meier curves of distant recurrence-free survival by arm (lifelines, 95% pointwise bands) in a "
              "typical simulated trial: replicate ", Num("km-replicate", rep, str(rep)),
              ", whose log-rank statistic is the median over trials (z = ", num("km-z", z, 3),
              ", hazard-ratio estimate ", num("km-hr", hr, 3), ", ", num("km-events", int(t["events"][row]), 0),
              " events). It is re-simulated alone from the run's seed (",
              Code(f"patient_table(scenario, seed={result.seed}, replicate={rep}, replicates={result.replicates})"),
              ")."]),
        FigureBlock.from_figure(km, caption=[f"Kaplan-Meier curves by arm in simulated trial {rep}; numbers at risk "
                                             "below."], alt="Kaplan-Meier curves by arm", id="fig-km"),
        FigureBlock.from_figure(hist, caption=["The hazard-ratio estimate (log-rank, Pike) over all simulated trials."],
                                alt="histogram of the hazard-ratio estimate", id="fig-hr"),
        Table(header=["hazard-ratio estimate", "mean", "median", "10th to 90th centile", "geometric mean"],
              rows=[["treatment vs control", *dist_cells("hr", s["hazard_ratio_estimate"], 3),
                     num("hr-geomean", s.get("hazard_ratio_geometric_mean"), 3)]],
              widths=[0.28, 0.14, 0.14, 0.26, 0.18], numeric={1, 2, 3, 4}, id="hr-table"),
    ]
    if s.get("average_hazard_ratio") is not None:
        words = ["The effect the trials see according to the model, with every randomised patient observed in "
                 "both arms (her outcome under the other arm drawn from her own latent history): hazard ratio ",
                 num("model-hr", s["average_hazard_ratio"], 3)]
        if s.get("average_hazard_ratio_mrd") is not None:
            words += [" (truly MRD-positive alone: ", num("model-hr-mrd", s["average_hazard_ratio_mrd"], 3), ")"]
        if s.get("effect_diluted_share") is not None:
            words += ["; the other randomised patients dilute ", num("model-hr-diluted", s["effect_diluted_share"], 0, pct=True),
                      " of the true positives' log hazard ratio"]
        blocks.append(Para(words + [". Geometric means over the simulated trials."]))
    return Section("km", "Kaplan-Meier curves and the hazard-ratio estimate", blocks)


def _section_reproducibility(sf: ScenarioFile, result, command: str, sweep_info: dict | None,
                             curves: list[PowerCurve], *, type1: dict | None = None,
                             sensitivity: dict | None = None) -> Section:
    prov = result.provenance
    rows = [
        ["trialsim version", Num("trialsim-version", __version__, __version__)],
        ["seed", Num("seed", int(result.seed), str(result.seed))],
        ["simulated trials (replicates)", Num("replicates", int(result.replicates), f"{result.replicates:,}")],
        ["scenario file", Code(str(sf.path))],
        ["scenario SHA-256", Num("scenario-sha256", sf.sha256, sf.sha256)],
    ]
    if sweep_info is not None:
        rows.append(["sweep results", Code(sweep_info["file"])])
        rows.append(["sweep SHA-256", Num("sweep-sha256", sweep_info["sha256"], sweep_info["sha256"])])
    else:
        rows.append(["power curves", "default sweep, same seed and replicates at every point: "
                     + "; ".join(f"{c.path} over {', '.join(f'{float(v):.4g}' for v in c.x)}" for c in curves)])
    if type1 is not None:
        rows.append(["type I error", f"the design with no effect (every arm's eradication 0, hazard ratio 1, delay 0), "
                     f"{type1['replicates']:,} simulated trials, seed {type1['seed']}"])
    if sensitivity is not None:
        rows.append(["sensitivity analysis", f"each input at 75% and 125% of the design's value, "
                     f"{sensitivity['replicates']:,} simulated trials per design, the same seed"])
    versions = ", ".join(f"{k} {v}" for k, v in prov.get("versions", {}).items() if v)
    rows += [["versions", versions], ["Python, platform", f"{prov.get('python')}, {prov.get('platform')}"],
             ["simulated", prov.get("created", "")]]
    return Section("reproducibility", "Reproducibility", [
        Para(["The command below, run from the same folder with the same scenario file (check its SHA-256), "
              "reproduces every number in this report: results do not depend on the number of workers. In Python, ",
              Code("trialsim.replay(provenance)"), " re-runs the simulation from its provenance."]),
        Pre(command, title="command"),
        Table(header=["", ""], rows=rows, widths=[0.28, 0.72], id="repro-table", small=True),
    ])


def finite_max(v) -> float:
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.max()) if v.size else 0.0
