"""Scenario files: YAML -> a validated, frozen :class:`Scenario`.

The format is the contract with users (docs/scenario-format.md, from
SCENARIO_FORMAT.md). Everything a user can get wrong is caught here, before any
simulation, and reported as a :class:`ScenarioError` whose problems each name
the field path and, for a YAML file, its line. This module knows nothing of
numpy arrays: curves are kept as specifications (read by the one curve grammar,
:mod:`trialsim.curves.grammar`) and built by ``build()``.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from trialsim import curves
from trialsim.curves import grammar

FORMAT_VERSION = 1


# --------------------------------------------------------------------------
# Errors


class ScenarioError(ValueError):
    """A user's scenario is wrong. ``problems`` holds (path, line, message)."""

    def __init__(self, problems: list[tuple[str, int | None, str]], source: str | None = None):
        self.problems = problems
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        lines = []
        for path, line, message in self.problems:
            where = self.source or "scenario"
            if line is not None:
                where = f"{where}:{line}"
            lines.append(f"{where}: {path}: {message}" if path else f"{where}: {message}")
        return "\n".join(lines)


class FieldProblem(ValueError):
    """Raised inside validators to point at a sub-path of the model being validated."""

    def __init__(self, subpath: tuple[str | int, ...], message: str):
        self.subpath = subpath
        self.message = message
        super().__init__(message)


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --------------------------------------------------------------------------
# Base model: frozen, no unknown keys (with a suggestion)


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = set(cls.model_fields)
            for key in data:
                if key not in allowed:
                    hint = ""
                    if str(key).rstrip().endswith(")"):
                        hint = ("; inside {...} a comma ends the value: quote it, e.g. "
                                "test: \"fh(0, 1)\"")
                    raise FieldProblem(
                        (str(key),),
                        f"unknown key '{key}'{_suggest(key, sorted(allowed))}; "
                        f"allowed here: {', '.join(sorted(allowed))}{hint}",
                    )
        return data


Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
PositiveInt = Annotated[int, Field(gt=0)]


# --------------------------------------------------------------------------
# Curves and distributions (specifications; built into trialsim.curves objects)


_SAME_AS = "x-trialsim-same-as"


class _CurveSpecBase(RootModel[Any]):
    """A curve as written in a scenario, read by the one curve grammar
    (:mod:`trialsim.curves.grammar`) and kept in full written form (every number
    a float, a table file's points inline next to its name), so that the
    scenario as loaded replays alone. ``build()`` gives the Curve."""

    model_config = ConfigDict(frozen=True)
    _role: ClassVar[str] = grammar.CURVE

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, _CurveSpecBase):
            data = data.root
        base = Path((info.context or {}).get("base_dir", "."))
        try:
            written, _ = grammar.read(data, role=cls._role, base_dir=base, record=True)
        except grammar.SpecProblem as problem:
            raise FieldProblem(problem.field_path, problem.detail) from None
        return written

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler):
        # the curves inside cure/proportional are this schema again: json_schema() makes that a $ref
        return grammar.json_schema(cls._role, {_SAME_AS: cls.__name__})

    @property
    def kind(self) -> str:
        return next(iter(self.root)) if isinstance(self.root, dict) else "fixed"

    def build(self) -> curves.Curve:
        return grammar.read(self.root, role=self._role, record=True)[1]


class CurveSpec(_CurveSpecBase):
    """A survival curve: one mapping with one key, the curve's kind."""

    _role: ClassVar[str] = grammar.CURVE


class DistributionSpec(_CurveSpecBase):
    """A distribution of a time that is not a survival curve (lead time,
    turnaround, time since diagnosis): a curve, a uniform, or a fixed number."""

    _role: ClassVar[str] = grammar.DISTRIBUTION

    @property
    def fixed(self) -> float | None:
        return self.root["fixed"] if self.kind == "fixed" else None

    @property
    def uniform(self) -> list[float] | None:
        return self.root["uniform"] if self.kind == "uniform" else None

    def lower_bound(self) -> float:
        if self.uniform is not None:
            return self.uniform[0]
        if self.fixed is not None:
            return self.fixed
        return 0.0


Distribution = DistributionSpec


def dump_distribution(d: DistributionSpec) -> Any:
    """The YAML form of a distribution: fixed values go back to plain numbers."""
    if d.fixed is not None:
        return d.fixed
    return d.model_dump(mode="json", exclude_none=True)


# --------------------------------------------------------------------------
# Blocks


class SimulationSpec(Strict):
    replicates: PositiveInt = 1000
    seed: Annotated[int, Field(ge=0)] | None = None


class SitesSpec(Strict):
    count: PositiveInt
    open_over: NonNegative


class PiecewiseRate(Strict):
    months: Positive | None = None
    rate: NonNegative


class AccrualSpec(Strict):
    rate: Positive | None = None
    sites: SitesSpec | None = None
    piecewise: list[PiecewiseRate] | None = None

    @model_validator(mode="after")
    def _one_form(self):
        if (self.rate is None) == (self.piecewise is None):
            raise FieldProblem((), "give either rate (with optional sites) or piecewise")
        if self.piecewise is not None:
            if self.sites is not None:
                raise FieldProblem(("sites",), "sites goes with rate, not with piecewise")
            for i, piece in enumerate(self.piecewise[:-1]):
                if piece.months is None:
                    raise FieldProblem(("piecewise", i, "months"), "every piece but the last needs months")
            if self.piecewise[-1].rate <= 0:
                raise FieldProblem(("piecewise", len(self.piecewise) - 1, "rate"),
                                   "the last piece's rate must be positive, or accrual would stop for ever")
        return self

    def schedule(self) -> tuple[list[float], list[float]]:
        """Piecewise-constant arrival rate: (starts, rates); rates[i] holds from starts[i]."""
        if self.piecewise is not None:
            starts, rates, t = [], [], 0.0
            for piece in self.piecewise:
                starts.append(t)
                rates.append(piece.rate)
                t += piece.months or 0.0
            return starts, rates
        if self.sites is None or self.sites.count == 1 or self.sites.open_over == 0:
            return [0.0], [self.rate]
        # Site k (k = 0 .. count-1) opens at k * open_over / count: the first at
        # month 0, all open within open_over months. Each brings rate / count.
        n = self.sites.count
        step = self.sites.open_over / n
        return [k * step for k in range(n)], [self.rate * (k + 1) / n for k in range(n)]


class MrdOverride(Strict):
    """Per-stratum overrides of the mrd block (every key but model)."""

    lead_time: Distribution | None = None
    dormant_share: Probability | None = None
    prevalence: Probability | None = None
    hazard_ratio: Positive | None = None
    onset_rate: NonNegative | None = None
    clearance_rate: NonNegative | None = None


class MrdSpec(MrdOverride):
    model: Literal["lead_time", "prevalence"]


class StratumSpec(Strict):
    name: str
    share: Probability
    time_since_diagnosis: Distribution = Field(default_factory=lambda: DistributionSpec({"fixed": 0.0}))
    recurrence: CurveSpec
    mrd: MrdOverride | None = None


class PopulationSpec(Strict):
    strata: Annotated[list[StratumSpec], Field(min_length=1)]
    other_cause_death: CurveSpec | None = None

    @model_validator(mode="after")
    def _shares(self):
        total = math.fsum(s.share for s in self.strata)
        if abs(total - 1.0) > 1e-6:
            raise FieldProblem(("strata",), f"stratum shares must sum to 1, they sum to {total:.6g}")
        names = [s.name for s in self.strata]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise FieldProblem(("strata", i, "name"), f"stratum name '{name}' is used twice")
        return self


class TestSpec(Strict):
    name: str = "screening test"
    sensitivity: Probability
    specificity: Probability
    failure: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    turnaround: Distribution = Field(default_factory=lambda: DistributionSpec({"fixed": 0.0}))
    cost: NonNegative | None = None
    currency: str | None = None     # the unit of cost, as reports show it (EUR, USD, ...)

    @field_validator("currency")
    @classmethod
    def _currency(cls, v):
        text = v.strip()
        if not 1 <= len(text) <= 12 or not text.isprintable():
            raise ValueError("currency must be a short code or symbol (1 to 12 printable characters, "
                             "e.g. EUR, USD or £)")
        return text


class VisitsSpec(Strict):
    every: Positive
    count: PositiveInt | None = None


class StagingSpec(Strict):
    imaging_lead: NonNegative = 0.0


class ScreeningSpec(Strict):
    test: TestSpec
    visits: VisitsSpec
    staging: StagingSpec = Field(default_factory=StagingSpec)
    consent: Probability = 1.0
    max_screened: PositiveInt | None = None
    max_months: Positive | None = None


class ArmSpec(Strict):
    allocation: Positive = 1.0
    eradication: Probability = 0.0
    hazard_ratio: Positive = 1.0
    delay: NonNegative = 0.0


class DropoutSpec(Strict):
    annual: Annotated[float, Field(ge=0.0, lt=1.0)] | None = None
    rate: NonNegative | None = None

    @model_validator(mode="after")
    def _one_form(self):
        if (self.annual is None) == (self.rate is None):
            raise FieldProblem((), "give exactly one of annual (share lost per year) or rate (per month)")
        return self

    @property
    def monthly_rate(self) -> float:
        if self.rate is not None:
            return self.rate
        return -math.log1p(-self.annual) / 12.0


_NUM = r"\s*-?\d+(?:\.\d+)?\s*"
_TEST_PATTERN = re.compile(rf"^(logrank|cox|maxcombo|fh\({_NUM},{_NUM}\)|rmst\({_NUM}\)|milestone\({_NUM}\))$")
_SPENDING_PATTERN = re.compile(rf"^(obrien_fleming|pocock|classical_obrien_fleming|classical_pocock|hsd\({_NUM}\))$")


class FutilitySpec(Strict):
    """Non-binding futility bounds by beta-spending, for the drift of ``hazard_ratio``."""

    spending: str = "obrien_fleming"
    beta: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.2
    hazard_ratio: Annotated[float, Field(gt=0.0)]

    @field_validator("spending")
    @classmethod
    def _spending(cls, v):
        v = v.replace(" ", "")
        if not _SPENDING_PATTERN.match(v):
            raise ValueError(f"unknown spending '{v}'; one of obrien_fleming, pocock, hsd(gamma), "
                             "classical_obrien_fleming, classical_pocock")
        return v

    @field_validator("hazard_ratio")
    @classmethod
    def _not_one(cls, v):
        if v == 1.0:
            raise ValueError("the futility alternative needs a hazard ratio other than 1")
        return v


class AnalysisSpec(Strict):
    events: PositiveInt | None = None
    months: Positive | None = None
    test: str = "logrank"
    stratified: bool = False      # stratify the test by the scenario's strata
    alpha: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.025
    sided: Literal[1, 2] = 1
    looks: list[Annotated[float, Field(gt=0.0, lt=1.0)]] | None = None
    spending: str = "obrien_fleming"
    futility: FutilitySpec | None = None

    @field_validator("test", "spending")
    @classmethod
    def _no_spaces(cls, v):
        return v.replace(" ", "")

    @model_validator(mode="after")
    def _checks(self):
        if self.events is None and self.months is None:
            raise FieldProblem((), "give events (analyse at this many events), months (after the last "
                                   "randomisation), or both (whichever comes first)")
        if not _TEST_PATTERN.match(self.test):
            raise FieldProblem(("test",), f"unknown test '{self.test}'; one of logrank, fh(rho,gamma), "
                                          "maxcombo, rmst(horizon), milestone(time), cox")
        if self.stratified and self.test.startswith(("rmst", "milestone")):
            raise FieldProblem(("stratified",), f"a stratified {self.test.split('(')[0]} test is not available; "
                                                "use logrank, fh(rho,gamma), maxcombo or cox, or stratified: false")
        if not _SPENDING_PATTERN.match(self.spending):
            raise FieldProblem(("spending",), f"unknown spending '{self.spending}'; one of obrien_fleming, "
                                              "pocock, hsd(gamma), classical_obrien_fleming, classical_pocock")
        if self.looks:
            if self.events is None:
                raise FieldProblem(("looks",), "interim looks are at fractions of the events target: give events")
            if any(b <= a for a, b in zip(self.looks, self.looks[1:])):
                raise FieldProblem(("looks",), "information fractions must be strictly increasing")
            if self.test == "maxcombo":
                raise FieldProblem(("looks",), "group-sequential boundaries are not defined for maxcombo here; "
                                               "use a single analysis or another test")
            if self.futility is not None and self.sided == 2:
                raise FieldProblem(("futility",), "futility bounds are implemented for one-sided designs only")
            if any(math.ceil(f * self.events) >= self.events for f in self.looks):
                raise FieldProblem(("looks",), f"with {self.events} events, every interim look must come "
                                               "before the last event: use smaller fractions")
        elif self.futility is not None:
            raise FieldProblem(("futility",), "futility bounds apply at interim looks: give looks")
        return self


class ClearanceSpec(Strict):
    """MRD clearance measured ``at`` months after randomisation with the screening test."""

    at: Positive
    test: Literal["fisher", "cmh"] = "fisher"
    alpha: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.025
    sided: Literal[1, 2] = 1


Endpoint = Literal["drfs", "mrd_clearance"]


class TrialSpec(Strict):
    enrollment: PositiveInt
    endpoint: Endpoint | list[Endpoint] = "drfs"
    death: Literal["censor", "event"] = "censor"
    dropout: DropoutSpec | None = None
    analysis: AnalysisSpec
    clearance: ClearanceSpec | None = None

    @model_validator(mode="after")
    def _checks(self):
        if self.analysis.events is not None and self.analysis.events > self.enrollment:
            raise FieldProblem(("analysis", "events"),
                               f"{self.analysis.events} events can never be reached with an enrollment of "
                               f"{self.enrollment} (each patient has at most one event)")
        eps = self.endpoints
        if len(set(eps)) != len(eps) or not eps:
            raise FieldProblem(("endpoint",), "list each endpoint once: drfs, mrd_clearance")
        if "mrd_clearance" in eps and self.clearance is None:
            raise FieldProblem(("clearance",), "the mrd_clearance endpoint needs clearance: {at: MONTHS} "
                                               "(when MRD is measured after randomisation)")
        if self.clearance is not None and "mrd_clearance" not in eps:
            raise FieldProblem(("clearance",), "clearance is set but mrd_clearance is not an endpoint")
        return self

    @property
    def endpoints(self) -> list[str]:
        return [self.endpoint] if isinstance(self.endpoint, str) else list(self.endpoint)


class Scenario(Strict):
    """A trial design, validated and frozen. Build one with :func:`load_scenario`
    or :meth:`Scenario.from_dict`; fields mirror the YAML keys."""

    format: Literal[1] = 1
    name: str = "unnamed scenario"
    description: str | None = None
    simulation: SimulationSpec = Field(default_factory=SimulationSpec)
    accrual: AccrualSpec
    population: PopulationSpec
    mrd: MrdSpec | None = None
    screening: ScreeningSpec | None = None
    arms: dict[str, ArmSpec]
    trial: TrialSpec

    @model_validator(mode="after")
    def _cross_checks(self):
        if len(self.arms) != 2:
            raise FieldProblem(("arms",), f"a trial has two arms (control first, then treatment), got {len(self.arms)}")
        for i, stratum in enumerate(self.population.strata):
            eff = self.stratum_mrd(i)
            if stratum.mrd is not None and self.mrd is None:
                raise FieldProblem(("population", "strata", i, "mrd"),
                                   "per-stratum mrd overrides need a top-level mrd block with a model")
            if eff is None:
                continue
            where = ("population", "strata", i, "mrd") if stratum.mrd is not None else ("mrd",)
            if eff["model"] == "lead_time" and eff.get("lead_time") is None:
                raise FieldProblem(where, "the lead_time model needs lead_time (a distribution, months)")
            if eff["model"] == "prevalence":
                if eff.get("prevalence") is None:
                    raise FieldProblem(where, "the prevalence model needs prevalence (share MRD-positive at entry)")
                if eff.get("hazard_ratio") is None:
                    raise FieldProblem(where, "the prevalence model needs hazard_ratio (MRD-positive vs negative)")
            for key in ("prevalence", "hazard_ratio", "onset_rate", "clearance_rate"):
                if eff["model"] == "lead_time" and eff.get(key) is not None:
                    raise FieldProblem(where + (key,), f"{key} belongs to the prevalence model, not lead_time")
            for key in ("lead_time", "dormant_share"):
                if eff["model"] == "prevalence" and eff.get(key) is not None:
                    raise FieldProblem(where + (key,), f"{key} belongs to the lead_time model, not prevalence")
        if "mrd_clearance" in self.trial.endpoints:
            if self.screening is None:
                raise FieldProblem(("trial", "endpoint"), "MRD clearance is measured with the screening test: "
                                                          "the scenario needs a screening block")
            if self.mrd is None:
                raise FieldProblem(("trial", "endpoint"), "MRD clearance needs an mrd block (a model of MRD)")
        if self.trial.analysis.stratified and len(self.population.strata) < 2:
            raise FieldProblem(("trial", "analysis", "stratified"), "a stratified test needs at least two strata")
        return self

    # -- helpers used by the engine and reports -----------------------------

    @property
    def control_arm(self) -> str:
        return next(iter(self.arms))

    @property
    def treatment_arm(self) -> str:
        return list(self.arms)[1]

    def stratum_mrd(self, i: int) -> dict | None:
        """The mrd block in force for stratum i (top level merged with its overrides)."""
        if self.mrd is None:
            return None
        merged = {k: getattr(self.mrd, k) for k in MrdSpec.model_fields}
        override = self.population.strata[i].mrd
        if override is not None:
            for k in MrdOverride.model_fields:
                if getattr(override, k) is not None:
                    merged[k] = getattr(override, k)
        return merged

    def to_dict(self) -> dict:
        """The scenario as loaded, as plain data (the form stored in provenance)."""
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_dict(cls, data: dict, *, base_dir: str | Path = ".", source: str | None = None,
                  lines: dict | None = None) -> "Scenario":
        try:
            return cls.model_validate(data, context={"base_dir": str(base_dir)})
        except ValidationError as exc:
            raise ScenarioError(_problems(exc, lines or {}), source) from None

    def with_simulation(self, *, replicates: int | None = None, seed: int | None = None) -> "Scenario":
        sim = self.simulation.model_copy(update={k: v for k, v in
                                                 (("replicates", replicates), ("seed", seed)) if v is not None})
        return self.model_copy(update={"simulation": sim})


# --------------------------------------------------------------------------
# Error rendering


def _problems(exc: ValidationError, lines: dict) -> list[tuple[str, int | None, str]]:
    out: list[tuple[str, int | None, str]] = []
    seen = set()
    for err in exc.errors(include_url=False):
        loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith("function-")))
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, FieldProblem):
            loc = loc + cause.subpath
            message = cause.message
        else:
            message = err["msg"]
            if message.startswith("Value error, "):
                message = message[len("Value error, "):]
            if err["type"] not in ("missing",) and "input" in err and not isinstance(err["input"], (dict, list)):
                message = f"{message} (got {err['input']!r})"
            if err["type"] == "missing":
                message = "required field missing"
        # A bare number given for a distribution becomes {fixed: n}; hide that detail.
        loc = tuple(x for x in loc if x != "fixed")
        path = ".".join(str(x) for x in loc)
        key = (path, message)
        if key in seen:
            continue
        seen.add(key)
        out.append((path, _line_for(loc, lines), message))
    return out


def _line_for(loc: tuple, lines: dict) -> int | None:
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get((), None)


# --------------------------------------------------------------------------
# YAML loading: safe loader, duplicate keys refused, line of every path kept


def _walk(node, path, lines, source):
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        keys = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in keys:
                raise ScenarioError([(".".join(map(str, path + (key,))), key_node.start_mark.line + 1,
                                      f"key '{key}' appears twice")], source)
            keys.add(key)
            lines[path + (key,)] = key_node.start_mark.line + 1
            _walk(value_node, path + (key,), lines, source)
            lines[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), lines, source)


def parse_yaml(text: str, source: str = "scenario") -> tuple[Any, dict]:
    """Parse YAML text with the safe loader; return (data, {path: line})."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError([("", None, "the file is empty")], source)
        lines: dict = {}
        _walk(node, (), lines, source)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        text_msg = f"not valid YAML: {context + ', ' if context else ''}{problem}"
        raise ScenarioError([("", line, text_msg)], source) from None
    finally:
        loader.dispose()
    return data, lines


def load_scenario(source: str | os.PathLike | Mapping[str, Any], *, base_dir: str | os.PathLike | None = None
                  ) -> Scenario:
    """Load and validate a scenario: a path to a YAML file, or a mapping with
    the same content (as ``yaml.safe_load`` or :meth:`Scenario.to_dict` give).

    Relative paths inside the scenario (a curve's ``table`` file) are read
    from the file's folder, or from ``base_dir`` (default: the current
    folder) for a mapping. Raises :class:`ScenarioError` (a ``ValueError``)
    naming the file, line and field of every problem found; a ``TypeError``
    for anything that is neither a path nor a mapping.
    """
    if isinstance(source, Mapping):
        return Scenario.from_dict(dict(source), base_dir=base_dir if base_dir is not None else ".",
                                  source="scenario mapping")
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"load_scenario: source must be a path to a YAML file or a mapping, "
                        f"not {type(source).__name__}")
    path = Path(source)
    source = str(path)
    if not path.exists():
        raise ScenarioError([("", None, "no such file")], source)
    if path.is_dir():
        raise ScenarioError([("", None, "is a folder, not a scenario file")], source)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([("", None, f"cannot be read: {exc}")], source) from None
    data, lines = parse_yaml(text, source)
    if not isinstance(data, dict):
        raise ScenarioError([("", lines.get(()), "a scenario is a YAML mapping (key: value lines), "
                                                 f"got {type(data).__name__}")], source)
    if "name" not in data:
        data = {**data, "name": path.stem}
    return Scenario.from_dict(data, base_dir=path.parent if base_dir is None else base_dir, source=source,
                              lines=lines)


def _refs_for_inner_curves(node: Any) -> Any:
    """The curves inside cure/proportional as $refs to their schema (see _CurveSpecBase)."""
    if isinstance(node, dict):
        if _SAME_AS in node:
            return {"$ref": f"#/$defs/{node[_SAME_AS]}"}
        return {k: _refs_for_inner_curves(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_refs_for_inner_curves(v) for v in node]
    return node


def json_schema() -> dict:
    schema = _refs_for_inner_curves(Scenario.model_json_schema())
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "trialsim scenario, format 1"
    return schema
