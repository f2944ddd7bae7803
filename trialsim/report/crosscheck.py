"""The report's analytic cross-check: closed forms beside the simulation.

The figures come from :mod:`trialsim.companions`, the one place that computes
them (``trialsim run`` shows the same in its "analytic" block); this module
only lays them out: a table for a conventional design (Schoenfeld, Freedman,
the group-sequential exit probabilities, the expected analysis month), and
for a screened MRD design the closed-form funnel and the diluted hazard
ratio, each with the approximations it makes, or a note saying why it is
withheld.
"""

from __future__ import annotations

from trialsim.companions import (
    allocation_ratio,
    design_hazard_ratio,
    dilution_companion,
    expected_analysis_month,
    freedman_at,
    is_conventional,
    schoenfeld_at,
    schoenfeld_events_for,
)
from trialsim.report.document import Para, Section, Strong, Table, num
from trialsim.report.power_curves import PowerCurve
from trialsim.scenario import Scenario


def section_crosscheck(sc: Scenario, s: dict, curves: list[PowerCurve], result) -> Section:
    blocks: list = []
    a = sc.trial.analysis
    ev = s["events"]["mean"]
    if is_conventional(sc):
        hr = design_hazard_ratio(sc)
        r = allocation_ratio(sc)
        sp = schoenfeld_at(sc, ev)
        rows = [["power", num("sim-power", s["power"], 4), num("schoenfeld-power", sp, 4),
                 f"Schoenfeld (1981) at the simulated mean events ({ev:.1f}), HR {hr:g}, allocation {r:g}"]]
        if hr != 1 and ev > 0:
            fp = freedman_at(sc, ev)
            rows.append(["power", num("sim-power-2", s["power"], 4), num("freedman-power", fp, 4),
                         "Freedman (1982) at the simulated mean events"])
        analytic = s.get("analytic") or {}
        if a.looks and "schoenfeld_rejection_by_look" in analytic:   # the run's companion: the simulator's boundaries
            rows.append(["power", num("sim-power-3", s["power"], 4), num("gsd-power", analytic["schoenfeld_power"], 4),
                         f"group-sequential exit probabilities (design.boundaries, {a.spending} spending, looks "
                         f"at {', '.join(f'{x:g}' for x in a.looks)}) at the drift of {a.events} events"])
        if hr != 1:
            need = schoenfeld_events_for(sc, 0.8)
            rows.append(["events for 80% power", num("design-events", a.events or float("nan"), 0),
                         num("schoenfeld-events80", need, 1), "Schoenfeld's events for 80% power (simulated "
                                                               "column: the design's target)"])
        month = expected_analysis_month(sc)
        if month is not None:
            rows.append(["analysis, month", num("sim-analysis-month", s["analysis_month"]["median"], 1),
                         num("expected-analysis-month", month, 1),
                         "when the expected events reach the target (design.expected_events: exponential arms, "
                         "the scenario's accrual and dropout); simulated: median"])
        gap = (s["power"] - sp) / s["power_mcse"] if s["power_mcse"] > 0 else float("nan")
        blocks.append(Para(["Closed forms of trialsim.design beside the simulation. Schoenfeld's approximation "
                            "takes the log-rank statistic as normal with mean sqrt(d r)/(1 + r) |log HR| at d "
                            "events. The simulated power differs from it by ", num("crosscheck-gap-se", gap, 2),
                            " Monte Carlo standard errors; differences within about 2 are noise, and the closed "
                            "forms are approximations themselves (docs/differences.md)."]))
        blocks.append(Table(header=["quantity", "simulated", "analytic", "how"], rows=rows,
                            widths=[0.2, 0.13, 0.13, 0.54], numeric={1, 2}, id="crosscheck-table"))
        if any(c.analytic is not None for c in curves):
            blocks.append(Para(["The power figure shows Schoenfeld's power beside every simulated point (green "
                                "dashed line), and the grid tables give it in the 'Schoenfeld' column."]))
        return Section("crosscheck", "Analytic cross-check", blocks)

    blocks.append(Para([
        "No closed form covers a screened MRD design as a whole: the test, staging and consent select who is "
        "randomised, false positives dilute the effect, and eradication makes it non-proportional. The closed "
        "forms of trialsim.design that apply to this scenario, under the approximations stated, are set beside "
        "the simulation; they are orientation, not a test."]))
    blocks += _funnel_blocks(sc, s)
    blocks += _dilution_blocks(dilution_companion(sc, s, result.timeline), s)
    gm = s.get("hazard_ratio_geometric_mean")
    if gm and gm > 0 and gm != 1 and ev > 0:
        sp = schoenfeld_at(sc, ev, gm * sc.arms[sc.control_arm].hazard_ratio)
        blocks.append(Para(["Schoenfeld's power at the simulated mean events (", f"{ev:.1f}",
                            ") and the simulated geometric-mean hazard-ratio estimate (", f"{gm:.3f}", "): ",
                            num("schoenfeld-orientation", sp, 3), " against the simulated ",
                            num("sim-power", s["power"], 3), ". Not an independent check (the hazard ratio comes "
                            "from the simulation): it shows how much of the power the average effect explains."]))
    return Section("crosscheck", "Analytic cross-check", blocks)


def _funnel_blocks(sc: Scenario, s: dict) -> list:
    """The run's closed-form funnel (``companions.screening_funnel_companion``,
    the "analytic" block of ``trialsim run``) per survivor screened, beside
    the simulated one; or why it is withheld."""
    scr = sc.screening
    if scr is None:
        return []
    analytic = s.get("analytic") or {}
    fun = analytic.get("funnel")
    if fun is None and scr.visits.anchor == "diagnosis":
        return [Para([Strong("Screening funnel. "), analytic.get("funnel_note", "")], style="note")]
    if fun is None:
        return [Para([Strong("Screening funnel. "), "design.screening_funnel's forms for several visits assume that "
                      "each visit sees MRD independently ('stationary') or that MRD status is fixed; in this "
                      "scenario (", f"{scr.visits.count or 'unlimited'} visits " + scr.visits.describe().split(", up to")[0],
                      f", {sc.mrd.model} model) MRD becomes detectable as recurrence approaches and survivors who "
                      "enter late get fewer visits before enrolment closes, so the closed form is not a fair check "
                      "and is not shown."], style="note")]
    scr_mean = s["screened"]["mean"]
    rows = []
    for key, label in (("tested", "tested"), ("test_positive", "test-positive"), ("eligible", "eligible at staging"),
                       ("randomized", "randomised"), ("assays", "assays")):
        if s.get(key):
            rows.append([label + " per survivor screened", num(f"sim-{key.replace('_', '-')}-rate",
                                                              s[key]["mean"] / scr_mean, 4),
                         num(f"analytic-{key.replace('_', '-')}-rate", fun[f"{key}_per_screened"], 4)])
    if s.get("truly_mrd_positive_share"):
        tps = fun["true_positive_share"]
        rows.append(["truly MRD-positive share of the randomised",
                     num("sim-truly", s["truly_mrd_positive_share"]["mean"], 3),
                     num("analytic-truly", tps if tps is not None else float("nan"), 3)])
    return [Para([Strong("Screening funnel. "), "design.screening_funnel (",
                  "P(randomised) = consent (1 - failure) [p Se (1 - staging) + (1 - p)(1 - Sp)] at one visit",
                  "), stratum by stratum, weighted by the stratum shares; the same closed form as the "
                  "\"analytic\" block of trialsim run. Approximations: ", fun["assumes"]]),
            Table(header=["per survivor screened", "simulated", "closed form"], rows=rows, widths=[0.5, 0.25, 0.25],
                  numeric={1, 2}, id="funnel-crosscheck")]


def _dilution_blocks(d: dict | None, s: dict) -> list:
    """``companions.dilution_companion`` beside the simulated hazard ratio and power; or why it is withheld."""
    if d is None:
        return []
    if d.get("withheld") == "lead_time":
        return [Para([Strong("Diluted hazard ratio. "), "design.diluted_hazard_ratio takes exponential hazards for "
                      "the MRD-positive and negative randomised; in the lead-time model a true positive's "
                      "recurrence comes within her residual lead time, not at a constant rate, so it is not "
                      "applied here."], style="note")]
    if d.get("withheld") == "error":
        return [Para([f"design.diluted_hazard_ratio does not apply: {d['error']}"], style="note")]
    ignored = d["ignored"]
    rows = [["hazard ratio the log-rank test sees", num("sim-hr-geomean", s["hazard_ratio_geometric_mean"], 3),
             num("analytic-diluted-hr", d["hazard_ratio"], 3)],
            ["power at the simulated mean events", num("sim-power-dilution", s["power"], 3),
             num("analytic-diluted-power", d["power"], 3)]]
    return [Para([Strong("Diluted hazard ratio. "), "design.diluted_hazard_ratio: control = pi Exp(h u) + (1 - pi) "
                  "Exp(u), treatment with eradication back to Exp(u) and the hazard ratio on the rest; pi the "
                  f"simulated true-positive share ({d['true_positive_share']:.3f}), u = lambda/(p h + 1 - p) "
                  f"= {d['negative_rate']:.5f} per month (the hazards at entry), horizon {d['horizon']:.1f} months "
                  f"with accrual over {d['accrual_time']:.1f} (simulated medians), censoring "
                  f"{d['censoring_rate']:.4f} per month"
                  + (f"; {' and '.join(ignored)} ignored (they pull the effect towards 1)" if ignored else "")
                  + ". Simulated: geometric mean of the hazard-ratio estimate."]),
            Table(header=["quantity", "simulated", "closed form"], rows=rows, widths=[0.5, 0.25, 0.25],
                  numeric={1, 2}, id="dilution-crosscheck")]
