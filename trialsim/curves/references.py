"""Reference curves shipped with trialsim, and period life tables.

Each curve is derived from published figures kept with their source in
``trialsim/data/references.yaml`` (Pan 2017, CTS5, Braun 2005, the US SSA
2020 life table); the note of each says how, and what is assumed rather than
published. They are built once, at import, so that a reference name always
gives the same curve object.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import yaml

from trialsim.curves._numeric import _number
from trialsim.curves.kinds import Curve, Exponential, PiecewiseExponential, Proportional


class UnknownReferenceError(KeyError, ValueError):
    """An unknown reference-curve name; the message suggests close names."""

    def __init__(self, name: str, suggestions: Sequence[str] = ()):
        self.name = name
        self.suggestions = list(suggestions)
        msg = f"unknown reference curve {name!r}"
        if self.suggestions:
            msg += "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        msg += " (known: " + ", ".join(sorted(REFERENCES)) + ")"
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


_DATA = Path(__file__).resolve().parent.parent / "data"  # trialsim/data (package data)


class Reference(NamedTuple):
    """A named curve shipped with trialsim, with its provenance (immutable; a named tuple, which
    unlike a frozen dataclass needs no code generated at import)."""

    name: str
    curve: Curve
    source: str
    note: str


def _load_reference_data() -> dict:
    # libyaml's safe loader where installed (the same data; read at every start, so its speed counts)
    with open(_DATA / "references.yaml", encoding="utf-8") as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _late_risk_curve(risk: float, start: float, end: float) -> tuple[PiecewiseExponential, float]:
    """Hazard 0 before ``start``, then constant with cumulative risk ``risk`` from start to end."""
    rate = -math.log1p(-risk) / (end - start)
    return PiecewiseExponential(breaks=[start], rates=[0.0, rate]), rate


def _pan2017(data: dict) -> list[Reference]:
    start, end = map(float, data["window"])
    out = []
    for group, risk in data["risk"].items():
        curve, rate = _late_risk_curve(risk, start, end)
        note = (
            f"Distant recurrence, time from diagnosis, ER-positive early breast cancer, original TN "
            f"status {group}, in women recurrence-free after 5 years of scheduled endocrine therapy "
            f"that then stopped. Published risk of distant recurrence from year 5 to year 20: "
            f"{risk:.0%}, at a near-constant yearly rate. Modelled as a constant hazard from month 60, "
            f"-log(1 - {risk:g})/180 = {rate:.6f}/month, so the risk from month 60 to 240 is exactly "
            f"{risk:.0%}; beyond month 240 the same hazard is extrapolated. The hazard before month 60 "
            f"is NOT modelled and set to 0: the curve is only meaningful conditional on being "
            f"recurrence-free at 60 months, so simulations must condition on time_since_diagnosis >= 60."
        )
        out.append(Reference(f"pan2017/{group}", curve, " ".join(data["source"].split()), note))
    return out


def _cts5(data: dict) -> list[Reference]:
    start, end = map(float, data["window"])
    out = []
    for group, risk in data["risk"].items():
        low, high = data["band"][group]
        if not low <= risk <= high:  # guards the data file against a value outside its published band
            raise ValueError(f"references.yaml: cts5 {group} risk {risk} is outside its band [{low}, {high}]")
        curve, rate = _late_risk_curve(risk, start, end)
        band = f"below {high:.0%}" if low == 0 else (f"above {low:.0%}" if high == 1 else f"{low:.0%} to {high:.0%}")
        note = (
            f"Distant recurrence, time from diagnosis, ER-positive breast cancer, CTS5 {group}-risk group "
            f"(published band: distant recurrence in years 5 to 10 {band}), in women distant-recurrence-free "
            f"after 5 years of endocrine therapy. Risk used from year 5 to year 10: {risk:.1%} "
            f"({' '.join(data['choice'][group].split())}). Modelled as a constant hazard from month 60, "
            f"-log(1 - {risk:g})/60 = {rate:.6f}/month; beyond month 120 the same hazard is extrapolated "
            f"(a steady late rate, as Pan 2017 found for years 5 to 20; CTS5 itself says nothing past "
            f"year 10). The hazard before month 60 is NOT modelled and set to 0: the curve is only "
            f"meaningful conditional on being recurrence-free at 60 months, so simulations must condition "
            f"on time_since_diagnosis >= 60."
        )
        out.append(Reference(f"cts5/{group}", curve, " ".join(data["source"].split()), note))
    return out


def _braun2005(data: dict) -> list[Reference]:
    irr = float(data["incidence_rate_ratio"])
    base = data["baseline_assumption"]
    start, end = map(float, base["window"])
    negative = Exponential.from_cumulative(base["risk"], end - start)
    positive = Proportional(hazard_ratio=irr, curve=negative)
    source = " ".join(data["source"].split())
    common = (
        f"Distant recurrence, time from diagnosis, stage I-III breast cancer, by bone-marrow "
        f"micrometastasis (DTC) at diagnosis. From Braun 2005: DTC in {data['prevalence']:.1%} of "
        f"patients and an incidence-rate ratio of {irr:g} for distant-disease-free survival over "
        f"10 years, read as a constant hazard ratio. ASSUMPTION, not from Braun 2005: the DTC-negative "
        f"baseline, a constant hazard with a {base['risk']:.0%} risk over {end - start:g} months "
        f"({negative.rate:.6f}/month). For another baseline write "
        f"{{proportional: {{hazard_ratio: {irr:g}, curve: YOUR_CURVE}}}}; for the prevalence model use "
        f"mrd: {{model: prevalence, prevalence: ..., hazard_ratio: {irr:g}}}."
    )
    return [
        Reference("braun2005/dtc_negative", negative, source,
                  common + " This curve: DTC-negative (the assumed baseline)."),
        Reference("braun2005/dtc_positive", positive, source,
                  common + f" This curve: DTC-positive, {irr:g} times the DTC-negative hazard."),
    ]


def _read_qx(path: Path) -> dict[int, float]:
    rows = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r and not r.startswith("#")]
    if rows[0] != "age,qx":
        raise ValueError(f"{path}: expected the header 'age,qx'")
    return {int(a): float(q) for a, q in (r.split(",") for r in rows[1:])}


_LIFE_TABLES: dict[str, tuple[dict[int, float], str]] = {}


def life_table(age: float, *, table: str = "ssa2020_female") -> PiecewiseExponential:
    """Other-cause death, time from entry at ``age`` (years), from a shipped period life table.

    The yearly death probability q_x of the table applies as a constant hazard
    -log(1 - q_x)/12 per month through each year of age x; after the table's
    last age its hazard continues unchanged. All-cause mortality (a life table
    does not separate causes), so slightly high as "other-cause" death.
    """
    if table not in _LIFE_TABLES:
        raise ValueError(f"life_table: unknown table {table!r} (known: {', '.join(sorted(_LIFE_TABLES))})")
    qx, _ = _LIFE_TABLES[table]
    first, last = min(qx), max(qx)
    a = _number("life_table", "age", age)
    if not first <= a <= last:
        raise ValueError(f"life_table: age must be in [{first}, {last}] for {table}, got {a:g}")
    ages = range(math.floor(a), last + 1)
    rates = [-math.log1p(-qx[x]) / 12.0 for x in ages]
    breaks = [(x - a) * 12.0 for x in ages[1:]]
    keep = [i for i, b in enumerate(breaks) if b > 0]
    return PiecewiseExponential(breaks=[breaks[i] for i in keep], rates=[rates[i] for i in keep] + rates[-1:])


def _ssa2020_female(data: dict) -> list[Reference]:
    qx = _read_qx(_DATA / data["table"])
    source = " ".join(data["source"].split())
    _LIFE_TABLES["ssa2020_female"] = (qx, source)
    out = []
    for age in data["entry_ages"]:
        curve = life_table(age, table="ssa2020_female")
        note = (
            f"Death from any cause of a woman aged {age} at entry, time from entry. Yearly death "
            f"probabilities q_x of the US SSA 2020 period life table (female) at ages {age} to {max(qx)}, "
            f"each as a constant hazard -log(1 - q_x)/12 per month through that year of age; after age "
            f"{max(qx)} the hazard of age {max(qx)} continues. A period table: the mortality of calendar "
            f"year 2020 (including the first COVID-19 year), not of a birth cohort. All causes, breast "
            f"cancer included, so slightly high as other-cause death. q_{age} = {qx[age]:g}."
        )
        out.append(Reference(f"ssa2020/female_age{age}", curve, source, note))
    return out


def _build_references() -> dict[str, Reference]:
    data = _load_reference_data()
    refs = [*_pan2017(data["pan2017"]), *_cts5(data["cts5"]), *_braun2005(data["braun2005"]),
            *_ssa2020_female(data["ssa2020_female"])]
    return {r.name: r for r in refs}


REFERENCES: dict[str, Reference] = _build_references()


def reference(name: str) -> Curve:
    """The curve of a named reference (see ``REFERENCES``)."""
    if not isinstance(name, str):
        raise UnknownReferenceError(repr(name))
    try:
        return REFERENCES[name].curve
    except KeyError:
        lowered = {k.lower(): k for k in REFERENCES}
        # deferred: difflib is needed only for a mistake's suggestion, not at every start-up
        import difflib

        close = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)
        raise UnknownReferenceError(name, [lowered[c] for c in close]) from None
