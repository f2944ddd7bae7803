"""Scenario files: YAML -> a validated, frozen :class:`Scenario`.

The format is the contract with users (docs/scenario-format.md, from
SCENARIO_FORMAT.md). Everything a user can get wrong is caught here, before any
simulation, and reported as a :class:`ScenarioError` whose problems each name
the field path and, for a YAML file, its line. This module knows nothing of
numpy arrays: curves are kept as specifications (read by the one curve grammar,
:mod:`trialsim.curves.grammar`) and built by ``build()``.
"""

# (no __future__ annotations: pydantic reads real annotations faster than strings)

import math
import numbers
import os
import re
import sys
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
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
from trialsim.loading import ScenarioError, parse_yaml, read_text


FORMAT_VERSION = 1
MAX_REPLICATES = 1_000_000   # simulated trials per run (trialsim.limits holds the other limits)
MAX_SITES = 10_000           # accrual sites (each is a piece of the accrual schedule)
MAX_ARMS = 10                # a control arm and up to nine treatment arms


# --------------------------------------------------------------------------
# Errors


class FieldProblem(ValueError):
    """Raised inside validators to point at a sub-path of the model being validated."""

    def __init__(self, subpath: tuple[str | int, ...], message: str):
        self.subpath = subpath
        self.message = message
        super().__init__(message)


def _suggest(word: str, choices) -> str:
    # deferred: difflib is needed only for a mistake's suggestion, not at every start-up
    import difflib

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --------------------------------------------------------------------------
# Base model: frozen, no unknown keys (with a suggestion)
#
# Every model defers building its validator to its first use (defer_build):
# a scenario is validated by Scenario's validator, which holds the blocks'
# schemas, so that a block's own validator is built only if a block is
# validated alone (a default such as StagingSpec()), not at every start-up.


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

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


# --------------------------------------------------------------------------
# Numbers: strict types (a boolean or a quoted string is not a number; an
# integer is a whole number), finite, and not so close to zero that
# arithmetic on them underflows.


def _is_boolean(v: Any) -> bool:
    return isinstance(v, bool) or type(v).__name__ == "bool_"     # numpy's bool too


def _not_a_number(v: Any, what: str) -> None:
    """Refuse the inputs pydantic's lax mode would turn into numbers."""
    if _is_boolean(v):
        raise ValueError(f"must be {what}, not true or false")
    if isinstance(v, (str, bytes)):
        raise ValueError(f"must be {what} written without quotes")


def _number(v: Any) -> Any:
    _not_a_number(v, "a number")
    if isinstance(v, numbers.Real):
        try:
            x = float(v)
        except OverflowError:
            raise ValueError("is too large a number") from None
        if not math.isfinite(x):
            raise ValueError("must be a finite number")
        if x != 0.0 and abs(x) < sys.float_info.min:
            raise ValueError(f"is too close to zero to compute with (below {sys.float_info.min:.3g}); "
                             "write 0 or a larger number")
        return x
    return v            # not a number at all: pydantic says so


def _integer(v: Any) -> Any:
    _not_a_number(v, "a whole number")
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        x = float(v)
        if not math.isfinite(x) or not x.is_integer():
            raise ValueError("must be a whole number")
        return int(x)
    return v


def _boolean(v: Any) -> Any:
    if not _is_boolean(v):
        raise ValueError("must be true or false")
    return bool(v)


def _num(**bounds):
    """A number (float) within ``bounds`` (Field's ge, gt, le, lt). The check of
    its type comes last in the Annotated so that it runs first, and the bounds
    stay in the JSON schema as minimum, exclusiveMinimum..."""
    return Annotated[float, Field(**bounds), BeforeValidator(_number)]


def _int(**bounds):
    """A whole number within ``bounds`` (see :func:`_num`)."""
    return Annotated[int, Field(**bounds), BeforeValidator(_integer)]


Boolean = Annotated[bool, BeforeValidator(_boolean)]
Probability = _num(ge=0.0, le=1.0)
Positive = _num(gt=0.0)
NonNegative = _num(ge=0.0)
PositiveInt = _int(gt=0)
Sided = Annotated[Literal[1, 2], BeforeValidator(_integer)]

#: the smallest significance level (and futility beta) accepted: below it the
#: critical values are beyond what the tests' normal tails compute
MIN_ALPHA = 1e-12


def _alpha(v: Any) -> Any:
    x = _number(v)
    if isinstance(x, float) and x < MIN_ALPHA:
        raise ValueError(f"must be at least {MIN_ALPHA:g} (and below 1): smaller levels are beyond "
                         "the precision of the tests' normal tails")
    return x


Alpha = Annotated[float, Field(ge=MIN_ALPHA, lt=1.0), BeforeValidator(_alpha)]
#: the largest accrual rate, patients per month (far beyond any trial; the arrival
#: counts are drawn from a Poisson law that cannot take much larger means)
MAX_ACCRUAL_RATE = 1e6
AccrualRate = _num(ge=0.0, le=MAX_ACCRUAL_RATE)
#: hsd(gamma) spending: |gamma| at most this (beyond it the spending function overflows)
MAX_HSD_GAMMA = 50.0


# --------------------------------------------------------------------------
# Curves and distributions (specifications; built into trialsim.curves objects)


_SAME_AS = "x-trialsim-same-as"


class _CurveSpecBase(RootModel[Any]):
    """A curve as written in a scenario, read by the one curve grammar
    (:mod:`trialsim.curves.grammar`) and kept in full written form (every number
    a float, a table file's points inline next to its name), so that the
    scenario as loaded replays alone. ``build()`` gives the Curve."""

    model_config = ConfigDict(frozen=True, defer_build=True)
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
    replicates: _int(gt=0, le=MAX_REPLICATES) = 1000
    seed: _int(ge=0) | None = None


class SitesSpec(Strict):
    count: _int(gt=0, le=MAX_SITES)
    open_over: NonNegative


class PiecewiseRate(Strict):
    months: Positive | None = None
    rate: AccrualRate


class AccrualSpec(Strict):
    rate: _num(gt=0.0, le=MAX_ACCRUAL_RATE) | None = None
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
    # a person's propensity to test positive persists from sample to sample (intra-person correlation)
    shedding: _num(ge=0.0, lt=1.0) | None = None


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
    failure: _num(ge=0.0, lt=1.0) = 0.0
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


class SchedulePiece(Strict):
    """One piece of a visit schedule: a visit every ``every`` months, up to
    ``until`` months since the schedule's anchor."""

    every: Annotated[Positive, Field(description="months between visits in this piece")]
    until: Annotated[Positive | None, Field(description="months since the anchor (entry or diagnosis) up to "
                                                        "which this piece applies; only the last piece may omit it "
                                                        "(then visits go on while screening lasts)")] = None


#: tolerance of the visit grid (months): 12.000000001 is month 12
_GRID_TOL = 1e-9


class VisitsSpec(Strict):
    every: Annotated[Positive | None, Field(description="months between visits, the first at the anchor "
                                                        "(exclusive with schedule)")] = None
    count: Annotated[PositiveInt | None, Field(description="at most this many visits per survivor "
                                                           "(absent: while screening lasts)")] = None
    schedule: Annotated[list[SchedulePiece] | None, Field(
        min_length=1, description="a visit schedule in pieces, months since the anchor: [{every: 3, until: 24}, "
                                  "{every: 6, until: 60}] (exclusive with every)")] = None
    anchor: Annotated[Literal["entry", "diagnosis"], Field(
        description="what the visit times count from: entry into screening (the first visit at entry, or at "
                    "the first sample with screening.prescreen), or diagnosis (visits at fixed months since "
                    "diagnosis, the first at or after entry)")] = "entry"

    @model_validator(mode="after")
    def _one_form(self):
        if self.every is not None and self.schedule is not None:
            raise FieldProblem(("schedule",), "give either every (one interval) or schedule (pieces), not both")
        if self.every is None and self.schedule is None:
            raise FieldProblem(("every",), "give every (months between visits) or schedule "
                                           "(e.g. [{every: 3, until: 24}, {every: 6}])")
        if self.schedule is not None:
            last = 0.0
            for i, piece in enumerate(self.schedule):
                if piece.until is None:
                    if i < len(self.schedule) - 1:
                        raise FieldProblem(("schedule", i, "until"), "every piece but the last needs until "
                                                                     "(months since the anchor)")
                    continue
                if piece.until <= last:
                    raise FieldProblem(("schedule", i, "until"), f"until must increase from piece to piece "
                                                                 f"(got {piece.until:g} after {last:g})")
                last = piece.until
        return self

    @property
    def pieces(self) -> list[tuple[float, float]]:
        """(every, until) of each piece; until is inf for an open last piece."""
        if self.schedule is None:
            return [(self.every, math.inf)]
        return [(p.every, p.until if p.until is not None else math.inf) for p in self.schedule]

    @property
    def shortest_interval(self) -> float:
        return min(e for e, _ in self.pieces)

    @property
    def legacy(self) -> bool:
        """Visits at entry and every ``every`` months: the one-interval form anchored at entry."""
        return self.schedule is None and self.anchor == "entry"

    def grid_starts(self) -> list[tuple[float, float, float]]:
        """(start, every, end) of each piece on the grid of visit times since the
        anchor: the grid is 0, then start + n every up to end in each piece; a
        piece starts at the last visit of the piece before."""
        out, start = [], 0.0
        for every, until in self.pieces:
            if math.isinf(until):
                out.append((start, every, math.inf))
                break
            n = math.floor((until - start) / every + _GRID_TOL)
            end = start + n * every
            out.append((start, every, end))
            start = end
        return out

    def describe(self) -> str:
        """The visits in words: 'every 6 months, up to 4 times', 'every 3 months to month 12, then every
        6 months to month 24, since diagnosis'."""
        if self.schedule is None:
            text = f"every {self.every:g} months"
        else:
            parts = [f"every {e:g} months" + (f" to month {u:g}" if math.isfinite(u) else "")
                     for e, u in self.pieces]
            text = ", then ".join(parts)
        if self.count is not None:
            text += f", up to {self.count} time{'s' if self.count != 1 else ''}"
        if self.anchor == "diagnosis":
            text += " (months since diagnosis)"
        return text

    def grid(self, upto: float, limit: int = 100_000) -> list[float]:
        """Visit times since the anchor, from 0 up to ``upto`` months (at most ``limit`` of them)."""
        times = [0.0]
        for start, every, end in self.grid_starts():
            n = 1
            while len(times) < limit:
                t = start + n * every
                if t > min(end, upto) + _GRID_TOL * max(1.0, abs(t)):
                    break
                times.append(t)
                n += 1
        return [t for t in times if t <= upto + _GRID_TOL * max(1.0, abs(t))]


class ImagingSpec(Strict):
    """Staging scans as a test: ``sensitivity`` gives, at d months before
    clinical recurrence, the probability that scans show the metastasis, as
    the survival curve of a distribution of each person's imaging lead (a
    curve, a table, ``{fixed: 3}`` for the step of ``imaging_lead: 3``)."""

    sensitivity: Distribution


class StagingSpec(Strict):
    imaging_lead: NonNegative = 0.0
    # scans as an imperfect test (a curve of months before recurrence) instead of the step at imaging_lead
    imaging: ImagingSpec | None = None
    # stage_then_randomise (absent): only the eligible are randomised; randomise_then_stage: allocate
    # at the positive result, scan after (the metastatic are then in the arms)
    order: Literal["stage_then_randomise", "randomise_then_stage"] | None = None

    @model_validator(mode="after")
    def _one_imaging(self):
        if self.imaging is not None and self.imaging_lead != 0.0:
            raise FieldProblem(("imaging",), "give imaging_lead (a fixed lead) or imaging: {sensitivity: CURVE}, "
                                             "not both")
        return self


class PrescreenSpec(Strict):
    """The steps between approaching a survivor and her first sample."""

    consent: Annotated[Probability, Field(description="probability that an approached survivor consents to "
                                                      "surveillance (registers)")] = 1.0
    assay_setup: Annotated[Probability, Field(description="probability, per registered survivor, that the assay "
                                                          "can be set up at all (tissue found, panel designed)")] = 1.0
    setup_time: Annotated[Distribution, Field(description="months from registration to the first sample "
                                                          "(a number or a distribution)")] = Field(
        default_factory=lambda: DistributionSpec({"fixed": 0.0}))


class ConfirmTestSpec(TestSpec):
    """The second assay of ``screening.confirm.test`` (the fields of a test)."""


class ConfirmSpec(Strict):
    """A positive counts once ``tests`` consecutive samples of the person are
    positive, or once a second assay (``test``) on a new sample is positive."""

    tests: _int(ge=2, le=10) | None = None
    test: ConfirmTestSpec | None = None

    @model_validator(mode="after")
    def _one_form(self):
        if (self.tests is None) == (self.test is None):
            raise FieldProblem((), "give tests (consecutive positive samples, 2 to 10) or test (a second assay), "
                                   "not both")
        return self


class ScreeningSpec(Strict):
    test: TestSpec
    visits: VisitsSpec
    # enrol_first_positive (absent): a (confirmed) positive ends screening; surveillance: every visit runs
    mode: Literal["enrol_first_positive", "surveillance"] | None = None
    confirm: ConfirmSpec | None = None
    prescreen: Annotated[PrescreenSpec | None, Field(
        description="consent to surveillance, assay set-up and the months to the first sample, before "
                    "screening")] = None
    staging: StagingSpec = Field(default_factory=StagingSpec)
    consent: Probability = 1.0
    max_screened: _int(gt=0, le=2 ** 53) | None = None      # beyond 2**53 a count is no longer exact
    max_months: Positive | None = None


class ArmSpec(Strict):
    allocation: Positive = 1.0
    eradication: Probability = 0.0
    hazard_ratio: _num(gt=0.0, le=1e12) = 1.0      # beyond 1e12 recurrence times underflow to nothing
    delay: NonNegative = 0.0


class DropoutSpec(Strict):
    annual: _num(ge=0.0, lt=1.0) | None = None
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
_ARGS = re.compile(r"-?\d+(?:\.\d+)?")


# The same patterns for the JSON Schema, which sees the text before its spaces are
# removed: a space may stand anywhere, other blanks only around a number. The
# numbers' ranges are in the patterns too (fh's at least 0, rmst's and
# milestone's above 0, hsd's from -50 to 50), written as digits; a number
# written with more digits than a float keeps (50.00000000000000001) is the
# only place they can part.
_JS_SPACE = "[ ]*"
_JS_DIGITS = r"\d(?:[ ]*\d)*"
_JS_ZERO = r"0(?:[ ]*0)*(?:[ ]*\.[ ]*0(?:[ ]*0)*)?"
_JS_UNSIGNED = rf"{_JS_DIGITS}(?:[ ]*\.[ ]*{_JS_DIGITS})?"
_JS_NUMBERS = {   # each takes the blanks around it
    "any": rf"\s*(?:-[ ]*)?{_JS_UNSIGNED}\s*",
    "non-negative": rf"\s*(?:-[ ]*{_JS_ZERO}|{_JS_UNSIGNED})\s*",
    "positive": rf"\s*(?!{_JS_ZERO}\s*\)){_JS_UNSIGNED}\s*",
    "hsd": (rf"\s*(?:-[ ]*)?(?:(?:0[ ]*)*(?:[1-4][ ]*)?\d(?:[ ]*\.[ ]*{_JS_DIGITS})?"
            rf"|(?:0[ ]*)*5[ ]*0(?:[ ]*\.[ ]*0(?:[ ]*0)*)?)\s*"),
}


def _js_word(word: str) -> str:
    return _JS_SPACE.join(re.escape(c) if c not in "_" else c for c in word)


def _js_call(name: str, numbers: tuple[str, ...]) -> str:
    inner = ",".join(_JS_NUMBERS[n] for n in numbers)
    return f"{_js_word(name)}{_JS_SPACE}\\({inner}\\)"


def _js_pattern(words: tuple[str, ...], calls: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> str:
    options = [_js_word(w) for w in words] + [_js_call(n, k) for n, k in calls]
    return f"^{_JS_SPACE}(?:{'|'.join(options)}){_JS_SPACE}$"


TEST_JS_PATTERN = _js_pattern(("logrank", "cox", "maxcombo"), (
    ("fh", ("non-negative", "non-negative")), ("rmst", ("positive",)), ("milestone", ("positive",))))
SPENDING_JS_PATTERN = _js_pattern(("obrien_fleming", "pocock", "classical_obrien_fleming", "classical_pocock"),
                                  (("hsd", ("hsd",)),))
_MAXCOMBO_JS_PATTERN = _js_pattern(("maxcombo",))
_UNSTRATIFIED_JS_PATTERN = _js_pattern((), (("rmst", ("any",)), ("milestone", ("any",))))


def _test_arguments(test: str) -> str | None:
    """What is wrong with the numbers in a test that matches _TEST_PATTERN, or None."""
    name = test.split("(")[0]
    args = [float(x) for x in _ARGS.findall(test[len(name):])]
    if name in ("rmst", "milestone") and not args[0] > 0:
        what = "horizon" if name == "rmst" else "time"
        return f"{name}({what}) needs a {what} above 0 months, got {args[0]:g}"
    if name == "fh" and min(args) < 0:
        return f"fh(rho, gamma) needs rho >= 0 and gamma >= 0 (weights S^rho (1-S)^gamma), got {test}"
    return None


def _spending_arguments(spending: str) -> str | None:
    if spending.startswith("hsd("):
        gamma = float(_ARGS.search(spending).group())
        if abs(gamma) > MAX_HSD_GAMMA:
            return f"hsd(gamma) needs gamma between -{MAX_HSD_GAMMA:g} and {MAX_HSD_GAMMA:g}, got {gamma:g}"
    return None


class FutilitySpec(Strict):
    """Non-binding futility bounds by beta-spending, for the drift of ``hazard_ratio``."""

    spending: str = "obrien_fleming"
    beta: Alpha = 0.2
    hazard_ratio: Positive

    @field_validator("spending")
    @classmethod
    def _spending(cls, v):
        v = v.replace(" ", "")
        if not _SPENDING_PATTERN.match(v):
            raise ValueError(f"unknown spending '{v}'; one of obrien_fleming, pocock, hsd(gamma), "
                             "classical_obrien_fleming, classical_pocock")
        problem = _spending_arguments(v)
        if problem:
            raise ValueError(problem)
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
    stratified: Boolean = False   # stratify the test by the scenario's strata
    alpha: Alpha = 0.025
    sided: Sided = 1
    looks: list[_num(gt=0.0, lt=1.0)] | None = None
    spending: str = "obrien_fleming"
    futility: FutilitySpec | None = None
    # with several treatment arms: how the comparisons with control share alpha (absent: holm)
    multiplicity: Literal["holm", "bonferroni", "dunnett", "none"] | None = None

    @property
    def multiplicity_method(self) -> str:
        """The adjustment for several comparisons with control: holm unless set."""
        return self.multiplicity or "holm"

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
        if _test_arguments(self.test):
            raise FieldProblem(("test",), _test_arguments(self.test))
        if self.stratified and self.test.startswith(("rmst", "milestone")):
            raise FieldProblem(("stratified",), f"a stratified {self.test.split('(')[0]} test is not available; "
                                                "use logrank, fh(rho,gamma), maxcombo or cox, or stratified: false")
        if not _SPENDING_PATTERN.match(self.spending):
            raise FieldProblem(("spending",), f"unknown spending '{self.spending}'; one of obrien_fleming, "
                                              "pocock, hsd(gamma), classical_obrien_fleming, classical_pocock")
        if _spending_arguments(self.spending):
            raise FieldProblem(("spending",), _spending_arguments(self.spending))
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
    alpha: Alpha = 0.025
    sided: Sided = 1


Endpoint = Literal["drfs", "mrd_clearance"]


class TrialSpec(Strict):
    enrollment: PositiveInt
    endpoint: Endpoint | list[Endpoint] = "drfs"
    death: Literal["censor", "event"] = "censor"
    dropout: DropoutSpec | None = None
    analysis: AnalysisSpec
    clearance: ClearanceSpec | None = None
    # with staging after randomisation: itt (absent) analyses everyone randomised, eligible leaves out
    # those found metastatic at staging
    population: Literal["itt", "eligible"] | None = None

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

    format: Annotated[Literal[1], BeforeValidator(_integer)] = 1
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
        if not 2 <= len(self.arms) <= MAX_ARMS:
            raise FieldProblem(("arms",), f"a trial has a control arm (first) and 1 to {MAX_ARMS - 1} treatment "
                                          f"arms, got {len(self.arms)} arm{'s' if len(self.arms) != 1 else ''}")
        if len(self.arms) > 2:
            a = self.trial.analysis
            if a.looks:
                raise FieldProblem(("trial", "analysis", "looks"), "interim looks are implemented for two arms only; "
                                   f"this trial has {len(self.arms) - 1} treatment arms")
            if "mrd_clearance" in self.trial.endpoints:
                raise FieldProblem(("trial", "endpoint"), "the MRD-clearance endpoint is implemented for two arms "
                                   f"only; this trial has {len(self.arms) - 1} treatment arms")
            if a.multiplicity_method == "dunnett" and a.test not in ("logrank", "cox"):
                raise FieldProblem(("trial", "analysis", "multiplicity"),
                                   f"dunnett needs the statistics' joint normal distribution, known here for "
                                   f"logrank and cox; with {a.test} use holm or bonferroni")
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
        """The first treatment arm (the only one in a two-arm trial)."""
        return list(self.arms)[1]

    @property
    def treatment_arms(self) -> list[str]:
        """Every treatment arm, in the file's order (control excluded)."""
        return list(self.arms)[1:]

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
        except RecursionError:
            raise ScenarioError([("", None, "nested too deeply to be a scenario")], source) from None

    def with_simulation(self, *, replicates: int | None = None, seed: int | None = None) -> "Scenario":
        """This scenario with another number of replicates and/or seed (checked
        like the file's: a whole number, replicates at least 1, seed at least 0)."""
        update = {}
        for name, value, low in (("replicates", replicates, 1), ("seed", seed, 0)):
            if value is None:
                continue
            if isinstance(value, bool) or not hasattr(type(value), "__index__"):
                raise TypeError(f"{name} must be a whole number (an int), got {value!r} ({type(value).__name__})")
            value = int(value.__index__())
            if value < low:
                raise ValueError(f"{name} must be at least {low}, got {value}")
            if name == "replicates" and value > MAX_REPLICATES:
                raise ValueError(f"replicates {value:,}: at most {MAX_REPLICATES:,} simulated trials per run "
                                 "(each keeps a row in memory); use fewer")
            update[name] = value
        sim = self.simulation.model_copy(update=update)
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
                message = f"{message} (got {_short(err['input'])})"
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


def _short(value: Any, limit: int = 60) -> str:
    """repr(value), shortened: a problem's message quotes what was written, not a whole file."""
    try:
        text = repr(value)
    except ValueError:          # an integer beyond Python's digit limit for str()
        return "an integer of more than 4,000 digits"
    return text if len(text) <= limit else text[:limit - 5] + "...'" * isinstance(value, str) + "..." * (
        not isinstance(value, str))


def _line_for(loc: tuple, lines: dict) -> int | None:
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get((), None)


def load_scenario(source: str | os.PathLike | Mapping[str, Any] | None = None, *,
                  base_dir: str | os.PathLike | None = None, text: str | None = None,
                  max_bytes: int | None = None) -> Scenario:
    """Load and validate a scenario: a path to a YAML file, or a mapping with
    the same content (as ``yaml.safe_load`` or :meth:`Scenario.to_dict` give),
    or YAML ``text`` (then ``source``, if given, is only the name used in
    messages, e.g. ``"<stdin>"``).

    A file is read only if it is a regular file of at most ``max_bytes``
    (default: the environment variable ``TRIALSIM_MAX_SCENARIO_BYTES``, else
    1 MiB); the YAML limits are those of :mod:`trialsim.loading`. Relative
    paths inside the scenario (a curve's ``table`` file) are read from the
    file's folder, or from ``base_dir`` (default: the current folder) for a
    mapping or text. Raises :class:`ScenarioError` (a ``ValueError``) naming
    the file, line and field of every problem found; a ``TypeError`` for a
    source that is neither a path nor a mapping.
    """
    if text is not None:
        if not isinstance(text, str):
            raise TypeError(f"load_scenario: text must be a str of YAML, not {type(text).__name__}")
        if source is not None and not isinstance(source, (str, os.PathLike)):
            raise TypeError("load_scenario: with text=, source is only the name used in messages (a str)")
        label = str(source) if source is not None else "scenario text"
        return _from_text(text, label, Path(base_dir) if base_dir is not None else Path("."), None)
    if isinstance(source, Mapping):
        return Scenario.from_dict(dict(source), base_dir=base_dir if base_dir is not None else ".",
                                  source="scenario mapping")
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"load_scenario: source must be a path to a YAML file or a mapping "
                        f"(or pass YAML as text=...), not {type(source).__name__}")
    if isinstance(source, str) and "\n" in source:
        raise ValueError("load_scenario: source looks like YAML text, not a file name; "
                         "pass it as load_scenario(text=...)")
    if isinstance(source, str) and len(source) > 4096 and (": " in source or source.lstrip().startswith("{")):
        raise ValueError(f"load_scenario: source is {len(source):,} characters of what looks like YAML text, "
                         "not a file name; pass it as load_scenario(text=...)")
    path = Path(source)
    text = read_text(path, max_bytes=max_bytes)
    return _from_text(text, str(path), path.parent if base_dir is None else Path(base_dir), path.stem)


def _from_text(text: str, source: str, base_dir: Path, default_name: str | None) -> Scenario:
    data, lines = parse_yaml(text, source)
    if not isinstance(data, dict):
        raise ScenarioError([("", lines.get(()), "a scenario is a YAML mapping (key: value lines), "
                                                 f"got {type(data).__name__}")], source)
    if "name" not in data and default_name is not None:
        data = {**data, "name": default_name}
    return Scenario.from_dict(data, base_dir=base_dir, source=source, lines=lines)


def _refs_for_inner_curves(node: Any) -> Any:
    """The curves inside cure/proportional as $refs to their schema (see _CurveSpecBase)."""
    if isinstance(node, dict):
        if _SAME_AS in node:
            return {"$ref": f"#/$defs/{node[_SAME_AS]}"}
        return {k: _refs_for_inner_curves(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_refs_for_inner_curves(v) for v in node]
    return node


# --------------------------------------------------------------------------
# The JSON Schema (`trialsim schema`): pydantic's, with the words of
# trialsim.schema_text, the constraints pydantic does not write, and examples.


def _models_in(annotation: Any) -> list[type]:
    if isinstance(annotation, type) and issubclass(annotation, Strict):
        return [annotation]
    return [m for a in typing.get_args(annotation) for m in _models_in(a)]


def field_paths() -> dict[str, tuple[type, str]]:
    """Every field of a scenario: its path (``population.strata.*.share``, ``*`` for a
    list item or an arm's name) -> (the model class holding it, the field's name)."""
    out: dict[str, tuple[type, str]] = {}

    def walk(model: type, prefix: str) -> None:
        for name, info in model.model_fields.items():
            out[prefix + name] = (model, name)
            many = typing.get_origin(info.annotation) in (list, dict) or any(
                typing.get_origin(a) in (list, dict) for a in typing.get_args(info.annotation))
            for sub in _models_in(info.annotation):
                walk(sub, f"{prefix}{name}.{'*.' if many else ''}")

    walk(Scenario, "")
    return out


def _plain(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:,.12g}" if abs(x) >= 1 else f"{x:.12g}"
    if isinstance(x, int) and not isinstance(x, bool):
        return f"{x:,}"
    # deferred: only the JSON schema's words need json, not reading a scenario (a few ms of start-up)
    import json

    return json.dumps(x)


def _accepted(prop: dict) -> str:
    """What a property's schema accepts, in words: its bounds or choices."""
    options = [o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"]
    if len(options) != 1:
        return ""
    o = options[0]
    if o.get("type") == "array" and isinstance(o.get("items"), dict):
        inner = _accepted(o["items"])
        return f"a list of {inner[0].lower() + inner[1:]}" if inner else ""
    if "const" in o:
        return _plain(o["const"])
    if "enum" in o:
        return "one of " + ", ".join(_plain(v) for v in o["enum"])
    if o.get("type") not in ("number", "integer"):
        return ""
    what = "a whole number" if o["type"] == "integer" else "a number"
    parts = [f"{sign} {_plain(o[key])}" for key, sign in (
        ("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")) if key in o]
    return what + (" " + " and ".join(parts) if parts else "")


def _words(unit: str, text: str, prop: dict | None = None) -> str:
    out = [text]
    if unit != "none":
        out.append(f"Unit: {unit}.")
    if prop is not None:
        if prop.get("default") is not None:
            out.append(f"Default: {_plain(prop['default'])}.")
        accepted = _accepted(prop)
        if accepted:
            out.append(f"Accepted: {accepted}.")
    return " ".join(out)


def _not_null(*keys: str, message: str | None = None) -> dict:
    """Schema: an object in which each of ``keys`` is given and is not null (null is the same as absent).
    ``message``: what editors using yaml-language-server say when it is not (its ``errorMessage``)."""
    out = {"type": "object", "required": list(keys), "properties": {k: {"not": {"type": "null"}} for k in keys}}
    return out | ({"errorMessage": message} if message else {})


def _absent(*keys: str, message: str | None = None) -> dict:
    """Schema: each of ``keys`` is absent or null (``message``: see :func:`_not_null`)."""
    return {"properties": {k: {"type": "null"} | ({"errorMessage": message.format(key=k)} if message else {})
                           for k in keys}}


def _at(path: str, schema: dict) -> dict:
    """Schema: the value at dotted ``path`` is given and matches ``schema`` (``*``: every item of a list)."""
    for key in reversed(path.split(".")):
        schema = {"items": schema} if key == "*" else {"type": "object", "required": [key],
                                                       "properties": {key: schema}}
    return schema


def _everywhere(path: str, schema: dict) -> dict:
    """Schema: the value at dotted ``path``, where it is given, matches ``schema``."""
    for key in reversed(path.split(".")):
        schema = {"items": schema} if key == "*" else {"properties": {key: schema}}
    return schema


#: the tests whose statistics Dunnett's adjustment knows to be jointly normal (spaces allowed, as trialsim reads them)
_DUNNETT_JS_PATTERN = r"^\s*(l\s*o\s*g\s*r\s*a\s*n\s*k|c\s*o\s*x)\s*$"
_LOOKS = {"type": "object", "required": ["looks"], "properties": {"looks": {"type": "array", "minItems": 1}}}
_CLEARANCE_ENDPOINT = {"anyOf": [{"const": "mrd_clearance"}, {"type": "array", "contains": {"const": "mrd_clearance"}}]}
#: each MRD model's own keys: those it needs, and those it takes
_MRD_MODELS = {"lead_time": (("lead_time",), ("lead_time", "dormant_share", "shedding")),
               "prevalence": (("prevalence", "hazard_ratio"), ("prevalence", "hazard_ratio", "onset_rate",
                                                                "clearance_rate", "shedding"))}


def _rules_between_fields(schema: dict) -> None:
    """The rules between fields that a JSON Schema can say (the others: docs/editor.md)."""
    defs = schema["$defs"]
    defs["AccrualSpec"]["oneOf"] = [_not_null("rate"), _not_null("piecewise")]
    defs["AccrualSpec"]["not"] = _not_null("sites", "piecewise")
    defs["DropoutSpec"]["oneOf"] = [_not_null("annual"), _not_null("rate")]
    defs["VisitsSpec"]["oneOf"] = [_not_null("every"), _not_null("schedule")]
    defs["StagingSpec"]["if"] = _not_null("imaging")
    defs["StagingSpec"]["then"] = {"properties": {"imaging_lead": {"anyOf": [{"type": "null"}, {"const": 0}]}},
                                   "errorMessage": "give imaging_lead or imaging, not both"}
    defs["FutilitySpec"]["properties"]["hazard_ratio"]["not"] = {"const": 1}
    analysis = defs["AnalysisSpec"]
    analysis["properties"]["test"].update(pattern=TEST_JS_PATTERN, patternErrorMessage=(
        "unknown test, or its numbers out of range: logrank, fh(rho,gamma) with rho and gamma >= 0, maxcombo, "
        "rmst(horizon) or milestone(time) above 0 months, cox"))
    for model in ("AnalysisSpec", "FutilitySpec"):
        defs[model]["properties"]["spending"].update(pattern=SPENDING_JS_PATTERN, patternErrorMessage=(
            "unknown spending, or gamma out of range: obrien_fleming, pocock, hsd(gamma) with gamma from -50 "
            "to 50, classical_obrien_fleming, classical_pocock"))
    analysis["anyOf"] = [_not_null("events"), _not_null("months")]
    analysis["allOf"] = [
        {"if": _LOOKS, "then": _not_null("events", message="interim looks are at fractions of the events "
                                                            "target: give events")},
        {"if": {**_LOOKS, "required": ["looks", "test"], "properties": {
            **_LOOKS["properties"], "test": {"type": "string", "pattern": _MAXCOMBO_JS_PATTERN}}}, "then": False},
        {"if": _not_null("futility"), "then": {**_LOOKS, "properties": {
            **_LOOKS["properties"], "sided": {"not": {"const": 2}}},
            "errorMessage": "futility bounds apply at interim looks (looks) of a one-sided test"}},
        {"if": _at("stratified", {"const": True}),
         "then": {"not": _at("test", {"type": "string", "pattern": _UNSTRATIFIED_JS_PATTERN})}},
    ]
    defs["TrialSpec"]["if"] = _at("endpoint", _CLEARANCE_ENDPOINT)
    defs["TrialSpec"]["then"] = _not_null("clearance", message="the mrd_clearance endpoint needs clearance: "
                                                               "{at: MONTHS}")
    defs["TrialSpec"]["else"] = _absent("clearance", message="clearance is set but mrd_clearance is not an endpoint")
    arms = schema["properties"]["arms"]
    arms["minProperties"], arms["maxProperties"] = 2, MAX_ARMS
    endpoints = next(o for o in defs["TrialSpec"]["properties"]["endpoint"]["anyOf"] if o.get("type") == "array")
    endpoints.update(minItems=1, uniqueItems=True)
    rules = [
        {"if": _at("trial.endpoint", _CLEARANCE_ENDPOINT), "then": _not_null(
            "screening", "mrd", message="the mrd_clearance endpoint needs a screening block and an mrd block")},
        {"if": _at("trial.analysis.stratified", {"const": True}),
         "then": _everywhere("population.strata", {"minItems": 2})},
        {"if": {"not": _not_null("mrd")}, "then": _everywhere("population.strata.*.mrd", {
            "type": "null", "errorMessage": "per-stratum mrd overrides need a top-level mrd block with a model"})},
        {"if": _at("arms", {"minProperties": 3}), "then": {"allOf": [
            _everywhere("trial.analysis", {"not": _LOOKS, "errorMessage": "interim looks are implemented for "
                                                                         "two arms only"}),
            _everywhere("trial.endpoint", {"not": _CLEARANCE_ENDPOINT, "errorMessage": "the MRD-clearance "
                                           "endpoint is implemented for two arms only"}),
            _everywhere("trial.analysis", {
                "if": _at("multiplicity", {"const": "dunnett"}),
                "then": {"properties": {"test": {"type": "string", "pattern": _DUNNETT_JS_PATTERN}},
                         "errorMessage": "dunnett needs the log-rank or Cox test"},
                "else": True}),
        ]}},
    ]
    for model, (needs, takes) in _MRD_MODELS.items():
        others = [k for k in MrdOverride.model_fields if k not in takes]
        wrong = "{key} belongs to the other MRD model, not " + model
        then: dict = {"allOf": [_everywhere("mrd", _absent(*others, message=wrong)),
                                _everywhere("population.strata.*.mrd", _absent(*others, message=wrong))]}
        for key in needs:      # at the top, or in every stratum's block
            needed = f"the {model} model needs {key}, here or in every stratum's mrd block"
            in_every_stratum = {"type": "object", "required": ["mrd"], "properties": {"mrd": _not_null(key)}}
            then["allOf"].append({"anyOf": [_at("mrd", _not_null(key, message=needed)),
                                            _everywhere("population.strata.*", in_every_stratum)]})
        rules.append({"if": _at("mrd.model", {"const": model}), "then": then})
    schema["allOf"] = rules


def _kind_doc(name: str) -> str:
    return grammar.KINDS[name].doc[:1].upper() + grammar.KINDS[name].doc[1:] + "."


def _describe_curves(defs: dict) -> None:
    """Words on every curve kind and parameter, and which parameters each kind needs."""
    # deferred: the schema's words serve `trialsim schema`, not reading a scenario (start-up)
    from trialsim import schema_text

    for role in ("CurveSpec", "DistributionSpec"):
        for option in defs[role]["anyOf"]:
            name = option.get("title")
            if name is None:                    # a plain number: a fixed time
                option["description"] = _words(*schema_text.CURVES["fixed"]) + " Accepted: a number >= 0."
                continue
            option["description"] = _words(*schema_text.CURVES.get(name, ("none", _kind_doc(name))))
            body = option["properties"][name]
            body["description"] = option["description"]
            kind = grammar.KINDS[name]
            mapping = next((b for b in body.get("anyOf", [body]) if b.get("type") == "object"), None)
            if mapping is None:
                body["description"] = _words(*schema_text.CURVES.get(name, ("none", _kind_doc(name))), body)
                continue
            for param, prop in mapping["properties"].items():
                if f"{name}.{param}" in schema_text.CURVES:
                    prop["description"] = _words(*schema_text.CURVES[f"{name}.{param}"], prop)
            required = [p.name for p in kind.params if p.name not in kind.one_of + kind.optional]
            if name == "table":        # a file, or inline times and survival (both), or both: the loaded form
                mapping["anyOf"] = [{"required": ["file"]}, {"required": ["times", "survival"]}]
                mapping["dependentRequired"] = {"times": ["survival"], "survival": ["times"]}
                required = []
            if required:
                mapping["required"] = required
            if kind.one_of:
                mapping["oneOf"] = [{"required": [k]} for k in kind.one_of]
            if name == "exponential":
                mapping["dependentRequired"] = {"cumulative": ["at"], "at": ["cumulative"]}
            if kind.body == "pair":
                mapping["required"] = ["low", "high"]
                body["anyOf"][0]["description"] = "[low, high], in months"


def json_schema() -> dict:
    """The JSON Schema (Draft 2020-12) of a scenario file, with a description (and
    unit, default and range) on every field, for editors; see docs/editor.md."""
    # deferred: the schema's words serve `trialsim schema`, not reading a scenario (start-up)
    from trialsim import schema_text

    schema = _refs_for_inner_curves(Scenario.model_json_schema())
    defs = schema["$defs"]
    for path, (model, name) in field_paths().items():
        where = schema if model is Scenario else defs[model.__name__]
        prop = where["properties"][name]
        prop["title"] = path.replace("arms.*", "arms.<arm>").replace(".*", "[]")
        if path in schema_text.FIELDS:    # (a field without words fails tests/test_schema_text_unit.py)
            prop["description"] = _words(*schema_text.FIELDS[path], prop)
        if path in schema_text.EXAMPLES:
            prop["examples"] = schema_text.EXAMPLES[path]
    for path, (model, name) in field_paths().items():      # editors show a block's title above its words
        if model is not Scenario:
            defs[model.__name__]["title"] = path.rsplit(".", 1)[0].replace(".*", "")
    _describe_curves(defs)
    _rules_between_fields(schema)
    fields = {k: schema.pop(k) for k in ("type", "properties", "required", "additionalProperties", "allOf",
                                         "$defs")}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_text.SCHEMA_ID.format(version=FORMAT_VERSION),
        "title": schema_text.TITLE.format(version=FORMAT_VERSION),
        "description": schema_text.DESCRIPTION,
        "examples": schema_text.SCENARIO_EXAMPLES,
        **fields,
    }
