"""The report's simulated type I error and its one-at-a-time sensitivity analysis.

* **Type I error**: the same design with the arms' effects removed (every
  arm's ``eradication`` 0, ``hazard_ratio`` 1, ``delay`` 0), simulated with
  the run's seed: the share of trials that reject is the type I error, shown
  beside the power with its 95% Wilson interval.
* **Sensitivity**: power and screening size (mean survivors screened) when one
  uncertain input at a time moves to 75% and to 125% of the design's value
  (:data:`SPREAD`), probabilities clipped to [0, 1], every other input at the
  design's: the median lead time of ``mrd.lead_time`` (the whole distribution
  scaled in time, per-stratum overrides too), the test's sensitivity, the
  MRD prevalence or the dormant share (whichever the MRD model has; per-stratum
  overrides scaled alike), the imaging lead, and the treatment effect
  (``eradication``, or the log hazard ratio: HR^0.75 and HR^1.25). An input
  the design sets to 0 has no relative range and is not moved. All designs use
  the run's seed (common random numbers), so the differences are of design,
  not of luck.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable

from trialsim import figures
from trialsim.montecarlo import wilson_interval
from trialsim.report.document import FigureBlock, Num, Para, Section, Strong, Table, fmt, num
from trialsim.report.power_curves import effect_path
from trialsim.scenario import Scenario

SPREAD = 0.25
#: simulated trials per design of the sensitivity analysis, unless given (at most the run's)
SENSITIVITY_REPLICATES = 200


# --------------------------------------------------------------------------
# The null design


def null_scenario(sc: Scenario) -> Scenario:
    """The design with every arm's effect removed: eradication 0, hazard ratio 1, no delay."""
    d = sc.to_dict()
    for arm in d["arms"].values():
        arm.update(eradication=0.0, hazard_ratio=1.0, delay=0.0)
    return Scenario.from_dict(d)


def type1_fragments(t: dict, crit: str) -> list:
    """Key-result fragments of a type I error summary (``type1_summary``)."""
    return [num("type1", t["value"], 4), " ± ", num("type1-mcse", t["mcse"], 4),
            f" (95% interval {t['low']:.4f} to {t['high']:.4f}; nominal {crit}; ",
            num("type1-replicates", t["replicates"], 0), " simulated trials of the design with no effect)"]


def type1_summary(s_null: dict) -> dict:
    p, n = float(s_null["power"]), int(s_null["replicates"])
    lo, hi = wilson_interval(p, n)
    return {"value": p, "mcse": float(s_null["power_mcse"]), "low": float(lo), "high": float(hi), "replicates": n,
            "alpha": s_null["alpha"], "sided": s_null["sided"], "seed": s_null["seed"]}


# --------------------------------------------------------------------------
# The inputs of the sensitivity analysis


class CannotScale(ValueError):
    pass


def scale_time(spec: Any, f: float) -> Any:
    """A distribution of a time, written as a scenario writes it, scaled by ``f``
    in time (its median times f). Reference curves cannot be scaled."""
    if isinstance(spec, (int, float)):
        return float(spec) * f
    kind, body = next(iter(spec.items()))
    b = copy.deepcopy(body)
    if kind == "fixed":
        return {"fixed": float(b) * f}
    if kind == "uniform":
        if isinstance(b, dict):
            return {"uniform": [b["low"] * f, b["high"] * f]}
        return {"uniform": [b[0] * f, b[1] * f]}
    if kind == "exponential":
        if "rate" in b:
            b["rate"] = b["rate"] / f
        elif "median" in b:
            b["median"] = b["median"] * f
        else:
            b["at"] = b["at"] * f
        return {kind: b}
    if kind in ("weibull", "lognormal", "loglogistic"):
        for key in ("scale", "median", "alpha"):
            if key in b:
                b[key] = b[key] * f
        if "mu" in b:
            b["mu"] = b["mu"] + math.log(f)
        return {kind: b}
    if kind == "piecewise_exponential":
        return {kind: {"breaks": [x * f for x in b["breaks"]], "rates": [r / f for r in b["rates"]]}}
    if kind == "table":
        return {kind: {"times": [x * f for x in b["times"]], "survival": list(b["survival"])}}
    if kind in ("cure", "proportional"):
        b["curve"] = scale_time(b["curve"], f)
        return {kind: b}
    raise CannotScale(f"a {kind} distribution cannot be scaled in time")


@dataclass
class Input:
    """One uncertain input: its name, where it is, the design's value and the
    two values it moves to (``low`` for the smaller quantity, ``high`` for the
    larger), with ``apply(data, which)`` setting a scenario dict to one of them."""

    key: str
    label: str
    path: str
    unit: str
    design: float
    low: float
    high: float
    apply: Callable[[dict, str], None] | None
    digits: int = 3
    note: str = ""
    skipped: str = ""


def _factor(which: str) -> float:
    return 1 - SPREAD if which == "low" else 1 + SPREAD


def _clip01(x: float) -> float:
    return min(1.0, max(0.0, x))


def _mrd_blocks(d: dict) -> list[dict]:
    """The top-level mrd block and every stratum's override."""
    out = [d["mrd"]]
    out += [st["mrd"] for st in d["population"]["strata"] if st.get("mrd")]
    return out


def sensitivity_inputs(sc: Scenario) -> list[Input]:
    """The inputs moved one at a time, in a fixed order (skipped ones included, with the reason)."""
    inputs: list[Input] = []
    d0 = sc.to_dict()
    if sc.mrd is not None and sc.mrd.model == "lead_time":
        specs = [b["lead_time"] for b in _mrd_blocks(d0) if b.get("lead_time") is not None]
        own = sc.mrd.lead_time or next(st.mrd.lead_time for st in sc.population.strata
                                       if st.mrd is not None and st.mrd.lead_time is not None)
        med = float(own.build().median())
        try:
            for spec in specs:
                scale_time(spec, 1 - SPREAD)
            skipped = ""
        except CannotScale as exc:
            skipped = str(exc)

        def lead(data: dict, which: str) -> None:
            for block in _mrd_blocks(data):
                if block.get("lead_time") is not None:
                    block["lead_time"] = scale_time(block["lead_time"], _factor(which))

        inputs.append(Input("lead-time", "median lead time", "mrd.lead_time", "months", med,
                            med * (1 - SPREAD), med * (1 + SPREAD), lead, digits=1,
                            note="the whole distribution scaled in time" + (
                                ", per-stratum lead times alike" if len(specs) > 1 else ""), skipped=skipped))
    if sc.screening is not None:
        se = sc.screening.test.sensitivity

        def sens(data: dict, which: str) -> None:
            t = data["screening"]["test"]
            t["sensitivity"] = _clip01(t["sensitivity"] * _factor(which))

        inputs.append(Input("sensitivity", "test sensitivity", "screening.test.sensitivity", "per test", se,
                            _clip01(se * (1 - SPREAD)), _clip01(se * (1 + SPREAD)), sens))
    if sc.mrd is not None:
        key = "prevalence" if sc.mrd.model == "prevalence" else "dormant_share"
        top = getattr(sc.mrd, key)
        overrides = [getattr(st.mrd, key) for st in sc.population.strata if st.mrd is not None
                     and getattr(st.mrd, key) is not None]
        shown = top if top is not None else (overrides[0] if overrides else 0.0)

        def share(data: dict, which: str, key=key) -> None:
            for block in _mrd_blocks(data):
                if block.get(key) is not None:
                    block[key] = _clip01(block[key] * _factor(which))

        label = "MRD prevalence" if key == "prevalence" else "dormant share"
        zero = top in (None, 0.0) and not any(overrides)
        inputs.append(Input(key.replace("_", "-"), label, f"mrd.{key}", "proportion", shown,
                            _clip01(shown * (1 - SPREAD)), _clip01(shown * (1 + SPREAD)), share, digits=4,
                            note="per-stratum values alike" if overrides else "",
                            skipped="0 in the design: no relative range" if zero else ""))
    if sc.screening is not None:
        lead = sc.screening.staging.imaging_lead

        def imaging(data: dict, which: str) -> None:
            st = data["screening"].setdefault("staging", {})
            st["imaging_lead"] = st.get("imaging_lead", 0.0) * _factor(which)

        inputs.append(Input("imaging-lead", "imaging lead", "screening.staging.imaging_lead", "months", lead,
                            lead * (1 - SPREAD), lead * (1 + SPREAD), imaging, digits=2,
                            skipped="0 in the design: no relative range" if lead == 0 else ""))
    epath = effect_path(sc)
    arm = sc.arms[sc.treatment_arm]
    if epath.endswith("eradication"):
        e = arm.eradication

        def erad(data: dict, which: str) -> None:
            a = data["arms"][sc.treatment_arm]
            a["eradication"] = _clip01(a["eradication"] * _factor(which))

        inputs.append(Input("effect", "effect: eradication", epath, "probability", e, _clip01(e * (1 - SPREAD)),
                            _clip01(e * (1 + SPREAD)), erad))
    else:
        h = arm.hazard_ratio

        def hr(data: dict, which: str) -> None:
            a = data["arms"][sc.treatment_arm]
            a["hazard_ratio"] = a["hazard_ratio"] ** _factor(which)

        inputs.append(Input("effect", "effect: hazard ratio", epath, "ratio", h, h ** (1 - SPREAD),
                            h ** (1 + SPREAD), hr, note="the effect size (minus the log hazard ratio) moved",
                            skipped="1 in the design: no effect to move" if h == 1 else ""))
    return inputs


def sensitivity_requests(sc: Scenario, inputs: list[Input], replicates: int) -> list[tuple[tuple, Scenario, int]]:
    """(key, scenario, replicates) of the baseline and each moved input, for ``run_batch``."""
    base = sc.to_dict()
    out = [(("sens", "baseline"), sc, replicates)]
    for inp in inputs:
        if inp.skipped:
            continue
        for which in ("low", "high"):
            d = copy.deepcopy(base)
            inp.apply(d, which)
            out.append((("sens", inp.key, which), Scenario.from_dict(d), replicates))
    return out


# --------------------------------------------------------------------------
# The section


def _value(x: float, digits: int) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:,.{digits}f}"


def section_sensitivity(sc: Scenario, inputs: list[Input], summaries: dict, *, replicates: int,
                        seed: int) -> Section:
    screening = sc.screening is not None
    base = summaries[("sens", "baseline")]
    bp, bs = float(base["power"]), float(base["screened"]["mean"])
    size_word = "survivors screened" if screening else "patients accrued"
    rows, bars = [], []
    for inp in inputs:
        cells: list = [inp.label, f"{inp.path} ({inp.unit})" + (f"; {inp.note}" if inp.note else ""),
                       _value(inp.design, inp.digits)]
        if inp.skipped:
            rows.append(cells + [inp.skipped, "", "", "", ""])
            continue
        lo, hi = summaries[("sens", inp.key, "low")], summaries[("sens", inp.key, "high")]
        k = f"sens-{inp.key}"
        cells += [f"{_value(inp.low, inp.digits)} / {_value(inp.high, inp.digits)}",
                  num(f"{k}-low-power", lo["power"], 3), num(f"{k}-high-power", hi["power"], 3),
                  num(f"{k}-low-screened", lo["screened"]["mean"], 0),
                  num(f"{k}-high-screened", hi["screened"]["mean"], 0)]
        rows.append(cells)
        bars.append({"label": f"{inp.label}\n{_value(inp.low, inp.digits)} to {_value(inp.high, inp.digits)}"
                              + (f" {inp.unit}" if inp.unit in ("months",) else ""),
                     "power": (float(lo["power"]), float(hi["power"])),
                     "size": (float(lo["screened"]["mean"]), float(hi["screened"]["mean"]))})
    rows.append(["design (baseline)", "every input at the design's value", "", "",
                 num("sens-baseline-power", bp, 3), "", num("sens-baseline-screened", bs, 0), ""])
    table = Table(header=["input", "where", "design", "moved to (-25% / +25%)", "power at -25%", "power at +25%",
                          f"{size_word} at -25%", "at +25%"],
                  rows=rows, widths=[0.13, 0.25, 0.08, 0.14, 0.095, 0.095, 0.11, 0.10], numeric={2, 3, 4, 5, 6, 7},
                  id="sensitivity-table", small=True)
    lo_mc, hi_mc = wilson_interval(bp, replicates)
    blocks: list = [Para([
        "How power and the screening size (mean ", size_word, ") change when one input nobody knows well moves "
        "to 75% and to 125% of the design's value, every other input held at the design's: the ",
        "median lead time (the lead-time distribution scaled in time), the test's sensitivity, the MRD prevalence "
        "or dormant share, the imaging lead, and the treatment effect (eradication, or the effect size minus the "
        "log hazard ratio: HR^0.75 and HR^1.25). Probabilities are clipped to [0, 1]; an input the design sets to "
        "0 has no relative range and is not moved. Every design is simulated with ",
        Num("sens-replicates", int(replicates), f"{replicates:,}"), " trials and the run's seed ",
        Num("sens-seed", int(seed), str(seed)), " (common random numbers, so differences between designs are "
        "differences of design, not of luck; the baseline's power ", f"{bp:.3f}",
        f" has a 95% interval of {lo_mc:.3f} to {hi_mc:.3f} on its own)."])]
    if bars:
        fig = figures.tornado(bars, baseline=(bp, bs if screening else None), size_label=size_word)
        blocks.append(FigureBlock.from_figure(fig, caption=[
            f"Sensitivity of power{' and of the survivors screened' if screening else ''} to each input moved "
            "-25% (blue) and +25% (orange) from the design, one at a time, largest swing in power first; the line "
            f"is the design at {replicates:,} simulated trials per design."], alt="tornado chart of the sensitivity "
            "analysis", id="fig-tornado"))
    blocks.append(table)
    return Section("sensitivity", "Sensitivity to uncertain inputs", blocks)


def power_type1_para(t: dict, power: float, power_replicates: int) -> Para:
    """The power section's first paragraph: the power and, beside it, the simulated type I error."""
    lo, hi = t["low"], t["high"]
    plo, phi = wilson_interval(power, power_replicates)
    side = "one" if t["sided"] == 1 else "two"
    return Para([Strong("Power and type I error. "),
                 f"The design rejects in {power:.3f} of {power_replicates:,} simulated trials (95% Wilson interval "
                 f"{plo:.3f} to {phi:.3f}). The same design with the effects removed (every arm's eradication 0, "
                 "hazard ratio 1, no delay), simulated with the same seed, rejects in ",
                 num("type1-power-section", t["value"], 4), f" of {t['replicates']:,} (95% interval {lo:.4f} to "
                 f"{hi:.4f}), against a nominal {side}-sided alpha of {t['alpha']:g}: the simulated type I error of "
                 "the same test, boundaries and rules for the analysis time."])
