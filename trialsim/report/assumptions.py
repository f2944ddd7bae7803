"""The report's assumptions table: every value of a scenario file, with its unit and source.

One row per value as the file writes it (curves and distributions are one
value each, described in words), its unit from the key path, and the file's
own comment on it; then the defaults in force that the file does not set.
"""

from __future__ import annotations

from typing import Any, Iterable

from trialsim.report.document import Code, Table
from trialsim.report.scenario_file import ScenarioFile
from trialsim.scenario import Scenario


def value_text(v: Any) -> str:
    """A scenario value as text: numbers as written, curves in words."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.10g}" if abs(v) >= 1000 else f"{v:.10g}"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return ", ".join(value_text(x) for x in v)
    if isinstance(v, dict):
        return curve_text(v)
    return str(v)


def curve_text(d: dict) -> str:
    if len(d) != 1:
        return "; ".join(f"{k} {value_text(v)}" for k, v in d.items())
    kind, body = next(iter(d.items()))
    if kind == "reference":
        return f"reference curve {body}"
    if kind == "fixed":
        return value_text(body)
    if kind == "uniform":
        return f"uniform from {value_text(body[0])} to {value_text(body[1])}"
    if kind == "exponential":
        if "cumulative" in body:
            return f"exponential, {value_text(body['cumulative'])} cumulative at {value_text(body['at'])}"
        k, v = next(iter(body.items()))
        return f"exponential, {k} {value_text(v)}"
    if kind == "weibull":
        return "Weibull, " + ", ".join(f"{k} {value_text(v)}" for k, v in body.items())
    if kind == "piecewise_exponential":
        return (f"piecewise exponential, breaks {value_text(body['breaks'])}; "
                f"rates {value_text(body['rates'])}")
    if kind == "cure":
        return f"cure fraction {value_text(body['fraction'])} of {curve_text(body['curve'])}"
    if kind == "proportional":
        return f"hazard ratio {value_text(body['hazard_ratio'])} times {curve_text(body['curve'])}"
    if kind == "table":
        if "file" in body:
            return f"table from {body['file']}"
        return f"table of {len(body.get('times', []))} points"
    return f"{kind}: {body}"


_CURVE_KEYS = {"recurrence", "other_cause_death", "lead_time", "time_since_diagnosis", "turnaround",
               "setup_time"}
_SKIP = {("format",), ("name",), ("description",)}
_GROUP_TITLES = {"simulation": "Simulation", "accrual": "Accrual", "population": "Population", "mrd": "MRD model",
                 "screening": "Screening", "arms": "Arms", "trial": "Trial and analysis"}


def unit(path: tuple, sc: Scenario) -> str:
    """The unit of a scenario value, from its key path."""
    keys = [k for k in path if isinstance(k, str)]
    last = keys[-1]
    parent = keys[-2] if len(keys) > 1 else ""
    arrivals = "survivors" if sc.screening is not None else "patients"
    table = {
        "replicates": "simulated trials", "seed": "-",
        "count": "sites" if parent == "sites" else "visits",
        "open_over": "months", "every": "months",
        "share": "proportion", "time_since_diagnosis": "months from diagnosis at entry",
        "recurrence": "curve of months from diagnosis", "other_cause_death": "curve of months from entry",
        "lead_time": "months", "dormant_share": "proportion", "prevalence": "proportion",
        "hazard_ratio": "ratio", "onset_rate": "per month", "clearance_rate": "per month",
        "name": "-", "sensitivity": "probability per test", "specificity": "probability per test",
        "failure": "probability per test", "turnaround": "months",
        "cost": f"{sc.screening.test.currency} per test" if sc.screening is not None and sc.screening.test.currency
        else "per test", "currency": "-",
        "imaging_lead": "months", "consent": "probability", "max_screened": "survivors",
        "max_months": "months", "allocation": "ratio weight", "eradication": "probability", "delay": "months",
        "enrollment": "patients", "endpoint": "-", "death": "-", "annual": "proportion per year",
        "events": "events", "test": "-", "alpha": "type I error", "sided": "sides",
        "looks": "information fractions", "spending": "-", "stratified": "-", "beta": "type II error",
        "at": "months after randomisation", "model": "-",
        "until": "months since the anchor", "anchor": "-", "assay_setup": "probability per survivor",
        "setup_time": "months from registration to the first sample",
    }
    if last == "consent" and "prescreen" in keys:
        return "probability, consent to surveillance"
    if last == "rate":
        if "accrual" in keys:
            return f"{arrivals} per month"
        return "per month"
    if last == "months":
        if "piecewise" in keys:
            return "months"
        return "months after the last randomisation"
    if last == "hazard_ratio" and "mrd" in keys:
        return "ratio, MRD-positive vs negative"
    if last == "hazard_ratio" and "arms" in keys:
        return "ratio, on the residual hazard"
    return table.get(last, "-")


def _leaves(node: Any, path: tuple) -> Iterable[tuple[tuple, Any]]:
    """(path, value) of the values of a scenario mapping; curves and
    distributions are one value each."""
    if isinstance(node, dict):
        for k, v in node.items():
            p = path + (k,)
            if p in _SKIP:
                continue
            if k in _CURVE_KEYS or (isinstance(v, dict) and not v) or (isinstance(v, list) and v and not isinstance(v[0], dict)):
                yield p, v
            elif isinstance(v, (dict, list)):
                yield from _leaves(v, p)
            else:
                yield p, v
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, path + (i,))


def assumptions_table(sf: ScenarioFile) -> tuple[Table, list[str]]:
    """One row per scenario value: parameter, value, unit, source (the file's
    comment on it); then the defaults in force that the file does not set.
    Returns the table and notes attached to lists (e.g. all strata)."""
    sc = sf.scenario
    rows: list[list] = []
    groups: set[int] = set()
    muted: set[int] = set()
    notes: list[str] = []
    written = {p for p, _ in _leaves(sf.data, ())}
    current_group = None
    last_comment_line = None

    def group_of(p: tuple) -> str:
        if p[0] == "population" and len(p) > 2 and p[1] == "strata" and isinstance(p[2], int):
            st = sc.population.strata[p[2]]
            return f"Population: stratum {st.name} ({p[2] + 1} of {len(sc.population.strata)})"
        return _GROUP_TITLES.get(p[0], p[0])

    def label(p: tuple) -> str:
        if p[0] == "population" and len(p) > 2 and p[1] == "strata":
            p = p[3:]
        else:
            p = p[1:]
        return ".".join(str(k) for k in p) or "-"

    for p, v in _leaves(sf.data, ()):
        g = group_of(p)
        if g != current_group:
            groups.add(len(rows))
            rows.append([g])
            current_group = g
            # A comment above the first stratum speaks of all strata.
            if p[:2] == ("population", "strata"):
                first = sf.lines.get(("population", "strata", 0))
                if p[2] == 0 and first in sf.preceding:
                    notes.append(f"On the strata: {sf.preceding[first]}")
        line = sf.lines.get(p)
        comment = sf.comment(p)
        if p[:2] == ("population", "strata") and len(p) > 3 and sf.lines.get(p[:3]) == line \
                and p[2] == 0 and line in sf.preceding:
            comment = sf.trailing.get(line)      # its block was the note on all strata
        if comment and line == last_comment_line:
            comment = "(the comment above: same line)"
        elif comment:
            last_comment_line = line
        rows.append([label(p), Code(value_text(v)), unit(p, sc), comment or ""])
    defaults = [(p, v) for p, v in _leaves(sc.to_dict(), ()) if p not in written and _relevant_default(p, sc)]
    if defaults:
        groups.add(len(rows))
        rows.append(["Defaults in force (not set in the file)"])
        for p, v in defaults:
            muted.add(len(rows))
            name = ".".join(str(k) for k in p)
            if p[:2] == ("population", "strata"):
                name = f"population.strata[{sc.population.strata[p[2]].name}]." + ".".join(map(str, p[3:]))
            rows.append([name, Code(value_text(v)), unit(p, sc), "trialsim default"])
    table = Table(header=["parameter", "value", "unit", "source (the scenario file's comment)"], rows=rows,
                  widths=[0.20, 0.17, 0.15, 0.48], groups=groups, muted=muted, small=True, id="assumptions-table")
    return table, notes


def _relevant_default(p: tuple, sc: Scenario) -> bool:
    if p[0] in ("simulation", "format", "name", "description"):
        return False
    if p[:2] == ("trial", "analysis") and p[-1] == "spending" and not sc.trial.analysis.looks:
        return False
    return True
