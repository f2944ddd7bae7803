"""Unit tier of the scenario format's JSON Schema (`trialsim schema`): the words
of trialsim/schema_text.py cover every field, and the schema accepts exactly
what trialsim's loader accepts, but for the known differences that
docs/editor.md lists (rules between fields, and a few a JSON Schema cannot
say), each of which trialsim refuses.
"""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CONVENTIONAL, CTDNA, ROOT, SCENARIOS
from tests.support import yaml_language_server
from trialsim import schema_text
from trialsim.cli.init import Assay, MrdSource, scenario_text
from trialsim.curves import grammar
from trialsim.loading import parse_yaml
from trialsim.scenario import FORMAT_VERSION, ScenarioError, field_paths, json_schema, load_scenario

DOC = ROOT / "docs" / "editor.md"
SCHEMA = json_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def schema_errors(data) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(data)]


def loader_problem(data, base_dir: Path = SCENARIOS) -> str | None:
    """None when trialsim's loader accepts ``data``, else its message."""
    try:
        load_scenario(data, base_dir=base_dir)
    except ScenarioError as exc:
        return str(exc)
    return None


# --------------------------------------------------------------------------
# Every field has its words, and every entry names a field


def curve_keys() -> set[str]:
    keys = set()
    for kind in grammar.KINDS.values():
        keys.add(kind.name)
        if kind.body in ("mapping", "pair"):
            keys |= {f"{kind.name}.{p.name}" for p in kind.params}
    return keys


def test_unit_every_field_has_an_entry_and_no_entry_is_orphaned():
    fields = set(field_paths())
    assert len(fields) >= 80
    missing = sorted(fields - set(schema_text.FIELDS))
    orphaned = sorted(set(schema_text.FIELDS) - fields)
    assert missing == [], f"fields without a description in trialsim/schema_text.py FIELDS: {missing}"
    assert orphaned == [], f"entries in trialsim/schema_text.py FIELDS that name no field: {orphaned}"
    assert sorted(curve_keys() ^ set(schema_text.CURVES)) == [], "CURVES must cover each curve kind and parameter"
    assert set(schema_text.EXAMPLES) <= fields


def test_unit_every_entry_has_a_known_unit_and_words():
    for key, (unit, text) in {**schema_text.FIELDS, **schema_text.CURVES}.items():
        assert unit in schema_text.UNITS, key
        assert len(text) >= 10 and text.endswith("."), key


def test_unit_every_property_at_every_depth_has_a_description():
    undescribed = []

    def walk(node, where):
        """Every property a value of a scenario can stand at (not the rules between fields)."""
        for name, prop in (node.get("properties") or {}).items():
            if not isinstance(prop.get("description"), str) or len(prop["description"]) < 10:
                undescribed.append(f"{where}.{name}")
            walk(prop, f"{where}.{name}")
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                walk(node[key], f"{where}.{key}")
        for name, sub in (node.get("$defs") or {}).items():
            walk(sub, f"#/$defs/{name}")
        for i, option in enumerate(node.get("anyOf", [])):
            if "required" not in option or "additionalProperties" in option:   # not a rule such as "events or months"
                walk(option, f"{where}.anyOf[{i}]")

    walk(SCHEMA, "#")
    assert undescribed == []
    described = json.dumps(SCHEMA).count('"description"')
    assert described >= 130


@pytest.mark.parametrize("path, words", [
    ("trial.analysis.alpha", ["Unit: share 0-1.", "Default: 0.025.", "Accepted: a number >= 1e-12 and < 1."]),
    ("simulation.replicates", ["Unit: count.", "Default: 1,000.", "<= 1,000,000"]),
    ("screening.visits.every", ["Unit: months.", "Accepted: a number > 0."]),
    ("accrual.rate", ["Unit: patients per month.", "<= 1,000,000"]),
    ("trial.death", ["Default: \"censor\".", "one of \"censor\", \"event\""]),
])
def test_unit_descriptions_say_unit_default_and_range(path, words):
    model, name = field_paths()[path]
    where = SCHEMA if model.__name__ == "Scenario" else SCHEMA["$defs"][model.__name__]
    text = where["properties"][name]["description"]
    for w in words:
        assert w in text, (path, text)


def test_unit_every_field_is_titled_with_its_path():
    for path, (model, name) in field_paths().items():
        where = SCHEMA if model.__name__ == "Scenario" else SCHEMA["$defs"][model.__name__]
        title = where["properties"][name]["title"]
        assert title.replace("[]", "").replace("<arm>.", "") == path.replace(".*", "").replace("*.", ""), path
    assert SCHEMA["$defs"]["StratumSpec"]["properties"]["share"]["title"] == "population.strata[].share"
    assert SCHEMA["$defs"]["ArmSpec"]["properties"]["delay"]["title"] == "arms.<arm>.delay"


def test_unit_curve_parameters_have_units():
    weibull = next(o for o in SCHEMA["$defs"]["CurveSpec"]["anyOf"] if o.get("title") == "weibull")
    props = weibull["properties"]["weibull"]["properties"]
    assert "Unit: months." in props["median"]["description"]
    assert "Accepted: a number > 0." in props["shape"]["description"]
    exponential = next(o for o in SCHEMA["$defs"]["DistributionSpec"]["anyOf"] if o.get("title") == "exponential")
    assert "Unit: per month." in exponential["properties"]["exponential"]["properties"]["rate"]["description"]


# --------------------------------------------------------------------------
# $id, title, description, examples


def test_unit_identifier_title_and_examples():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"] == f"https://trialsim.example/schema/scenario-{FORMAT_VERSION}.json"
    assert SCHEMA["title"] == f"trialsim scenario, format {FORMAT_VERSION}"
    assert "docs/editor.md" in SCHEMA["description"]
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    examples = SCHEMA["examples"]
    assert len(examples) >= 2
    assert any("screening" in e for e in examples) and any("screening" not in e for e in examples)
    for example in examples:
        assert schema_errors(example) == []
        assert loader_problem(example) is None


def test_unit_field_examples_are_accepted_where_they_stand():
    base = yaml.safe_load(CTDNA)
    for path, values in schema_text.EXAMPLES.items():
        for value in values:
            data = put(copy.deepcopy(base), path.replace("*", "0"), value)
            if path == "accrual.piecewise":       # instead of rate and sites
                del data["accrual"]["rate"], data["accrual"]["sites"]
            if value == ["drfs", "mrd_clearance"]:
                data["trial"]["clearance"] = {"at": 6}
            assert schema_errors(data) == [], (path, value)
            assert loader_problem(data) is None, (path, value)


# --------------------------------------------------------------------------
# Every scenario in the repository: both accept


def repository_scenarios() -> list[tuple[str, str, Path]]:
    """(name, YAML text, folder) of every scenario shipped or shown in the repository."""
    out = [(p.relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8"), p.parent)
           for p in sorted(SCENARIOS.glob("*.yaml"))]
    out.append(("trialsim init conventional", scenario_text("conventional"), ROOT))
    for assay in Assay:
        for mrd in MrdSource:
            out.append((f"trialsim init {assay.value} {mrd.value}", scenario_text("screening", assay, mrd), ROOT))
    for doc in sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]:
        for i, block in enumerate(re.findall(r"```ya?ml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)):
            data = yaml.safe_load(block)
            if isinstance(data, dict) and "trial" in data:
                out.append((f"{doc.relative_to(ROOT).as_posix()} block {i + 1}", block, ROOT))
    return out


def test_unit_the_repository_has_scenarios_of_every_kind():
    names = [n for n, _, _ in repository_scenarios()]
    assert sum(n.startswith("scenarios/") for n in names) >= 4
    assert sum(n.startswith("trialsim init") for n in names) == 5
    assert sum(n.startswith("docs/") for n in names) >= 3


@pytest.mark.parametrize("name, text, folder", repository_scenarios(), ids=lambda x: x if isinstance(x, str)
                         and "\n" not in x else "")
def test_unit_every_repository_scenario_is_accepted_by_both(name, text, folder):
    load_scenario(text=text, base_dir=folder, source=name)
    assert schema_errors(parse_yaml(text, name)[0]) == [], name


# --------------------------------------------------------------------------
# Near misses: trialsim refuses them, and so does the schema


def put(data, path: str, value):
    """``data`` with the value at dotted ``path`` (list indices as numbers) set,
    or deleted when ``value`` is DELETE."""
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    node = data
    for k in keys[:-1]:
        node = node.setdefault(k, {}) if isinstance(node, dict) else node[k]
    if value is DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return data


DELETE = object()
CONV = yaml.safe_load(CONVENTIONAL)
SCREEN = yaml.safe_load(CTDNA)
THREE = {**CONV, "arms": {"control": {}, "low": {"hazard_ratio": 0.8}, "high": {"hazard_ratio": 0.7}}}

NEAR_MISSES = [
    # (what, base, path, value)
    ("a boolean for a number", CONV, "trial.analysis.alpha", True),
    ("a boolean for a count", CONV, "trial.enrollment", False),
    ("a quoted number", CONV, "trial.analysis.alpha", "0.025"),
    ("a quoted count", CONV, "trial.enrollment", "500"),
    ("a quoted number in a curve", CONV, "population.strata.0.recurrence", {"exponential": {"median": "24"}}),
    ("an unknown key", CONV, "trial.analysis.alpah", 0.025),
    ("an unknown top-level key", CONV, "trails", {}),
    ("an unknown key in a curve", CONV, "population.strata.0.recurrence", {"exponential": {"medain": 24}}),
    ("a negative count", CONV, "trial.enrollment", -5),
    ("a zero count", SCREEN, "screening.visits.count", 0),
    ("a negative time", SCREEN, "screening.visits.every", -6),
    ("a negative fixed time", SCREEN, "population.strata.1.time_since_diagnosis", -1),
    ("a share above 1", SCREEN, "population.strata.0.share", 1.5),
    ("a probability above 1", SCREEN, "screening.test.sensitivity", 1.2),
    ("failure of 1", SCREEN, "screening.test.failure", 1),
    ("a wrong curve kind", CONV, "population.strata.0.recurrence", {"weibul": {"median": 24, "shape": 1}}),
    ("a distribution where a survival curve goes", CONV, "population.strata.0.recurrence", {"uniform": [1, 2]}),
    ("a number where a survival curve goes", CONV, "population.strata.0.recurrence", 24),
    ("a curve with two kinds", CONV, "population.strata.0.recurrence",
     {"exponential": {"median": 24}, "weibull": {"median": 24, "shape": 1}}),
    ("a curve missing a parameter", CONV, "population.strata.0.recurrence", {"weibull": {"median": 24}}),
    ("a curve with both forms", CONV, "population.strata.0.recurrence", {"exponential": {"rate": 0.1, "median": 7}}),
    ("cumulative without at", CONV, "population.strata.0.recurrence", {"exponential": {"cumulative": 0.2}}),
    ("a table with times only", CONV, "population.strata.0.recurrence", {"table": {"times": [0, 12]}}),
    ("an unknown reference curve", CONV, "population.strata.0.recurrence", {"reference": "pan2017/T9"}),
    ("a cure fraction above 1", CONV, "population.strata.0.recurrence",
     {"cure": {"fraction": 1.5, "curve": {"exponential": {"median": 24}}}}),
    ("a wrong kind inside a cure", CONV, "population.strata.0.recurrence",
     {"cure": {"fraction": 0.5, "curve": {"uniform": [1, 2]}}}),
    ("an integer field given 2.5", CONV, "simulation", {"replicates": 2.5}),
    ("an integer field given 150.5", CONV, "trial.enrollment", 150.5),
    ("sided 3", CONV, "trial.analysis.sided", 3),
    ("sided given as text", CONV, "trial.analysis.sided", "1"),
    ("format 2", CONV, "format", 2),
    ("an unknown endpoint", CONV, "trial.endpoint", "os"),
    ("an endpoint listed twice", CONV, "trial.endpoint", ["drfs", "drfs"]),
    ("an empty list of endpoints", CONV, "trial.endpoint", []),
    ("death neither censor nor event", CONV, "trial.death", "ignore"),
    ("stratified given 1", CONV, "trial.analysis.stratified", 1),
    ("an unknown test", CONV, "trial.analysis.test", "wilcoxon"),
    ("a test without its argument", CONV, "trial.analysis.test", "rmst"),
    ("fh with one argument", CONV, "trial.analysis.test", "fh(0)"),
    ("an unknown spending", CONV, "trial.analysis.spending", "obf"),
    ("a look at fraction 1", CONV, "trial.analysis.looks", [0.5, 1.0]),
    ("alpha 0", CONV, "trial.analysis.alpha", 0),
    ("alpha below 1e-12", CONV, "trial.analysis.alpha", 1e-300),
    ("accrual rate above the limit", CONV, "accrual.rate", 1e300),
    ("eleven arms", CONV, "arms", {f"a{i}": {} for i in range(11)}),
    ("visits with both every and a schedule", SCREEN, "screening.visits", {"every": 3, "schedule": [{"every": 6}]}),
    ("visits with neither every nor a schedule", SCREEN, "screening.visits", {"count": 3}),
    ("an unknown visit anchor", SCREEN, "screening.visits.anchor", "surgery"),
    ("both an imaging lead and an imaging curve", SCREEN, "screening.staging",
     {"imaging_lead": 3, "imaging": {"sensitivity": {"exponential": {"median": 4}}}}),
    ("an unknown staging order", SCREEN, "screening.staging.order", "scan_first"),
    ("confirmation by one test", SCREEN, "screening.confirm", {"tests": 1}),
    ("an unknown screening mode", SCREEN, "screening.mode", "watch"),
    ("shedding of 1", SCREEN, "mrd.shedding", 1),
    ("an unknown analysis population", SCREEN, "trial.population", "per_protocol"),
    ("three arms with an interim look", THREE, "trial.analysis", {"events": 247, "looks": [0.5]}),
    ("three arms with the MRD-clearance endpoint", {**SCREEN, "arms": THREE["arms"]}, "trial",
     {**SCREEN["trial"], "endpoint": "mrd_clearance", "clearance": {"at": 6}}),
    ("three arms, dunnett with the RMST", THREE, "trial.analysis",
     {"events": 247, "test": "rmst(12)", "multiplicity": "dunnett"}),
    ("an unknown multiplicity adjustment", CONV, "trial.analysis.multiplicity", "sidak"),
    ("one arm", CONV, "arms", {"a": {}}),
    ("an arm that is not a mapping", CONV, "arms", {"a": {}, "b": 1}),
    ("both rate and piecewise", CONV, "accrual", {"rate": 10, "piecewise": [{"rate": 10}]}),
    ("neither rate nor piecewise", CONV, "accrual", {}),
    ("sites with piecewise", CONV, "accrual", {"piecewise": [{"rate": 10}], "sites": {"count": 2, "open_over": 1}}),
    ("dropout in both forms", SCREEN, "trial.dropout", {"annual": 0.05, "rate": 0.004}),
    ("dropout in neither form", SCREEN, "trial.dropout", {}),
    ("an analysis with neither events nor months", CONV, "trial.analysis", {"alpha": 0.025}),
    ("futility at hazard ratio 1", CONV, "trial.analysis",
     {"events": 247, "looks": [0.5], "futility": {"hazard_ratio": 1}}),
    ("no strata", CONV, "population.strata", []),
    ("a missing required block", CONV, "trial", DELETE),
    ("a missing stratum name", CONV, "population.strata.0.name", DELETE),
    ("a null where a value is required", CONV, "trial.enrollment", None),
    ("an unknown MRD model", SCREEN, "mrd.model", "lead"),
    ("a name that is not text", CONV, "name", 12),
    ("a uniform with three numbers", SCREEN, "population.strata.0.time_since_diagnosis", {"uniform": [1, 2, 3]}),
]


#: rules between fields that the schema says too (trialsim's message, an example)
RULES_BETWEEN_FIELDS = [
    ("interim looks need events", r"interim looks are at fractions of the events target",
     CONV, "trial.analysis", {"months": 24, "looks": [0.5]}),
    ("no interim looks with maxcombo", r"not defined for maxcombo",
     CONV, "trial.analysis", {"events": 247, "looks": [0.5], "test": "maxcombo"}),
    ("futility needs interim looks", r"futility bounds apply at interim looks",
     CONV, "trial.analysis", {"events": 247, "futility": {"hazard_ratio": 0.7}}),
    ("futility needs a one-sided test", r"futility bounds are implemented for one-sided designs only",
     CONV, "trial.analysis", {"events": 247, "sided": 2, "looks": [0.5], "futility": {"hazard_ratio": 0.7}}),
    ("a stratified test needs two strata", r"a stratified test needs at least two strata",
     CONV, "trial.analysis.stratified", True),
    ("no stratified rmst or milestone", r"a stratified (rmst|milestone) test is not available",
     SCREEN, "trial.analysis", {"events": 30, "test": "rmst(24)", "stratified": True}),
    ("test arguments: rmst and milestone above 0, fh at least 0", r"needs a (horizon|time) above 0 months|"
     r"fh\(rho, gamma\) needs rho >= 0", CONV, "trial.analysis.test", "rmst(0)"),
    ("hsd gamma from -50 to 50", r"hsd\(gamma\) needs gamma between", CONV, "trial.analysis.spending", "hsd(60)"),
    ("the mrd_clearance endpoint and clearance go together", r"the mrd_clearance endpoint needs clearance|"
     r"clearance is set but mrd_clearance is not an endpoint", SCREEN, "trial.clearance", {"at": 6}),
    ("mrd_clearance needs screening and mrd", r"MRD clearance is measured with the screening test|"
     r"MRD clearance needs an mrd block", CONV, "trial", {"enrollment": 500, "endpoint": "mrd_clearance",
                                                         "clearance": {"at": 6}, "analysis": {"months": 12}}),
    ("each MRD model needs its keys", r"the lead_time model needs lead_time|the prevalence model needs",
     SCREEN, "mrd", {"model": "prevalence"}),
    ("keys of the other MRD model", r"belongs to the (prevalence|lead_time) model",
     SCREEN, "mrd", {"model": "lead_time", "lead_time": 6, "prevalence": 0.1}),
    ("per-stratum mrd needs the top-level mrd block", r"per-stratum mrd overrides need a top-level mrd block",
     CONV, "population.strata.0.mrd", {"dormant_share": 0.1}),
]


@pytest.mark.parametrize("what, base, path, value", NEAR_MISSES, ids=[m[0] for m in NEAR_MISSES])
def test_unit_near_misses_are_refused_by_both(what, base, path, value):
    data = put(copy.deepcopy(base), path, value)
    assert loader_problem(data) is not None, what
    assert schema_errors(data), what


#: the other side of those rules: designs both accept
WITHIN_THE_RULES = [
    ("lead_time given in every stratum instead of the top", SCREEN, "mrd",
     {"model": "lead_time"}, {"population.strata.0.mrd": {"lead_time": 6},
                              "population.strata.1.mrd": {"lead_time": 3}}),
    ("a prevalence model with per-stratum prevalence", SCREEN, "mrd",
     {"model": "prevalence", "hazard_ratio": 2}, {"population.strata.0.mrd": {"prevalence": 0.1},
                                                 "population.strata.1.mrd": {"prevalence": 0.05, "onset_rate": 0.01}}),
    ("both endpoints with clearance", SCREEN, "trial.endpoint", ["drfs", "mrd_clearance"],
     {"trial.clearance": {"at": 6, "test": "cmh"}}),
    ("interim looks with futility, one-sided", SCREEN, "trial.analysis",
     {"events": 30, "looks": [0.5], "futility": {"hazard_ratio": 0.8, "spending": "hsd( -2 )"}}, {}),
    ("a stratified Fleming-Harrington test", SCREEN, "trial.analysis", {"events": 30, "test": "fh(-0, 1)",
                                                                       "stratified": True}, {}),
    ("spaces inside names", CONV, "trial.analysis", {"events": 247, "test": " log rank ", "spending": "po cock"}, {}),
    ("hsd at its bound", CONV, "trial.analysis", {"events": 247, "looks": [0.5], "spending": "hsd(-50.0)"}, {}),
    ("empty looks without events", CONV, "trial.analysis", {"months": 24, "looks": []}, {}),
    ("null optional blocks", CONV, "trial.dropout", None, {"mrd": None, "screening": None}),
    ("three arms, dunnett with the default test", THREE, "trial.analysis.multiplicity", "dunnett", {}),
    ("three arms, dunnett with Cox", THREE, "trial.analysis", {"events": 247, "test": "c ox",
                                                               "multiplicity": "dunnett"}, {}),
    ("ten arms", CONV, "arms", {f"a{i}": {} for i in range(10)}, {}),
    ("an imaging curve with a zero imaging lead", SCREEN, "screening.staging",
     {"imaging_lead": 0, "imaging": {"sensitivity": {"fixed": 3}}, "order": "randomise_then_stage"},
     {"trial.population": "eligible", "screening.mode": "surveillance", "screening.confirm": {"tests": 2},
      "mrd.shedding": 0.3}),
    ("two arms with an interim look and dunnett", CONV, "trial.analysis",
     {"events": 247, "looks": [0.5], "multiplicity": "dunnett", "test": "rmst(12)"}, {}),
]


@pytest.mark.parametrize("what, base, path, value, more", WITHIN_THE_RULES, ids=[w[0] for w in WITHIN_THE_RULES])
def test_unit_designs_within_the_rules_are_accepted_by_both(what, base, path, value, more):
    data = put(copy.deepcopy(base), path, value)
    for p, v in more.items():
        data = put(data, p, v)
    assert loader_problem(data) is None, what
    assert schema_errors(data) == [], what


@pytest.mark.parametrize("words, message, base, path, value", RULES_BETWEEN_FIELDS + [
    ("fh at least 0", r"fh\(rho, gamma\) needs rho >= 0", CONV, "trial.analysis.test", "fh(0, -0.5)"),
    ("milestone above 0", r"needs a time above 0", CONV, "trial.analysis.test", "milestone( 0.00 )"),
    ("futility spending hsd within 50", r"hsd\(gamma\) needs gamma between", CONV, "trial.analysis",
     {"events": 247, "looks": [0.5], "futility": {"hazard_ratio": 0.8, "spending": "hsd(-50.5)"}}),
    ("a prevalence key in a stratum under lead_time", r"belongs to the prevalence model", SCREEN,
     "population.strata.1.mrd", {"hazard_ratio": 2}),
    ("lead_time missing in one stratum", r"the lead_time model needs lead_time", SCREEN, "mrd",
     {"model": "lead_time", "dormant_share": 0.01}),
    ("clearance without the endpoint", r"clearance is set but mrd_clearance", SCREEN, "trial.clearance", {"at": 6}),
], ids=[r[0] for r in RULES_BETWEEN_FIELDS] + ["fh", "milestone", "futility hsd", "stratum prevalence key",
                                               "lead_time missing", "clearance alone"])
def test_unit_rules_between_fields_are_refused_by_both(words, message, base, path, value):
    data = put(copy.deepcopy(base), path, value)
    problem = loader_problem(data)
    assert problem is not None and re.search(message, problem), problem
    assert schema_errors(data), words


# --------------------------------------------------------------------------
# Known differences: rules the schema does not say; trialsim refuses each


KNOWN_DIFFERENCES = [
    # (the words in docs/editor.md, the loader's message, an example: base, path, value)
    ("a visit schedule's until increases, and only its last piece omits it", r"until must increase",
     SCREEN, "screening.visits", {"schedule": [{"every": 3, "until": 24}, {"every": 6, "until": 12}]}),
    ("a visit schedule's until increases, and only its last piece omits it", r"every piece but the last needs until",
     SCREEN, "screening.visits", {"schedule": [{"every": 3}, {"every": 6, "until": 12}]}),
    ("stratum shares sum to 1", r"shares must sum to 1", CONV, "population.strata.0.share", 0.5),
    ("stratum names differ", r"stratum name .* is used twice", SCREEN, "population.strata.1.name", "T2N1-3"),
    ("every accrual piece but the last has months", r"every piece but the last needs months",
     CONV, "accrual", {"piecewise": [{"rate": 10}, {"rate": 20}]}),
    ("the last accrual piece has a rate above 0", r"the last piece's rate must be positive",
     CONV, "accrual", {"piecewise": [{"months": 3, "rate": 10}, {"rate": 0}]}),
    ("events at most the enrollment", r"can never be reached with an enrollment", CONV, "trial.analysis.events", 600),
    ("looks strictly increasing", r"information fractions must be strictly increasing",
     CONV, "trial.analysis.looks", [0.6, 0.3]),
    ("every look before the last event", r"every interim look must come before the last event",
     CONV, "trial.analysis.looks", [0.999]),
    ("rules between a curve's parameters", r"\b(PiecewiseExponential|TableCurve|Uniform): |too extreme to compute",
     CONV, "population.strata.0.recurrence", {"piecewise_exponential": {"breaks": [12], "rates": [0.1]}}),
    ("a curve table's file exists and is well formed", r"table\.file: ",
     CONV, "population.strata.0.recurrence", {"table": {"file": "no-such-file.csv"}}),
    ("numbers a float holds", r"must be a finite number|too close to zero|is too large a number|"
     r"must be 0 or further from zero", SCREEN, "screening.max_months", math.inf),
    ("currency of 1 to 12 printable characters", r"currency must be a short code",
     SCREEN, "screening.test.currency", "euros of the European Union"),
]


@pytest.mark.parametrize("words, message, base, path, value", KNOWN_DIFFERENCES,
                         ids=[k[0] for k in KNOWN_DIFFERENCES])
def test_unit_known_differences_are_refused_by_trialsim(words, message, base, path, value):
    data = put(copy.deepcopy(base), path, value)
    assert schema_errors(data) == [], "the schema says this rule now: drop it from the known differences"
    problem = loader_problem(data)
    assert problem is not None and re.search(message, problem), problem


def test_unit_known_differences_of_the_yaml_are_refused_by_trialsim():
    """A duplicate key: a YAML reader keeps the last value (the schema sees one key); trialsim refuses."""
    text = CONVENTIONAL.replace("name: conventional log-rank design", "name: a\nname: b")
    assert schema_errors(yaml.safe_load(text)) == []
    with pytest.raises(ScenarioError, match="appears twice"):
        load_scenario(text=text)


def test_unit_known_differences_of_the_plan_are_refused_by_trialsim():
    # deferred as in the CLI: the plan checks import the engine's simpy model
    from trialsim.limits import SizeLimitError, check_size
    from trialsim.plan_checks import PlanError, check_plan

    data = put(copy.deepcopy(SCREEN), "screening.consent", 0)
    assert schema_errors(data) == [] and loader_problem(data) is None
    with pytest.raises(PlanError, match="consent 0"):
        check_plan(load_scenario(data))
    data = put(copy.deepcopy(SCREEN), "accrual.rate", 1e6)
    data = put(data, "simulation", {"replicates": 1_000_000})
    assert schema_errors(data) == [] and loader_problem(data) is None
    with pytest.raises(SizeLimitError):
        check_size(load_scenario(data))


def test_unit_docs_list_every_known_difference():
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    words = [w for w, *_ in KNOWN_DIFFERENCES] + ["duplicate keys", "plans that cannot work", "runs too large"]
    assert [w for w in words if w not in text] == []
    rules = [w for w, *_ in RULES_BETWEEN_FIELDS if w not in ("test arguments: rmst and milestone above 0, fh at "
                                                                "least 0", "hsd gamma from -50 to 50")]
    assert [w for w in rules if w in text.split("## Known differences")[1]] == [], "listed as known, yet said"


# --------------------------------------------------------------------------
# Drawn mutants: whatever trialsim accepts the schema accepts, and whatever
# the schema accepts trialsim accepts too, or refuses for a known difference.

BASES = [yaml.safe_load(CONVENTIONAL), yaml.safe_load(CTDNA)] + [
    yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(SCENARIOS.glob("*.yaml"))]
VALUES = [True, False, None, "0.5", "text", "logrank", "fh(0, 1)", "rmst(0)", "hsd(-4)", -1, 0, 0.5, 1, 1.0,
          1.5, 2, 2.5, 100, 1e300, 10 ** 400, -0.0, math.inf, 5e-324, [], [0.5], ["drfs", "mrd_clearance"], {},
          {"exponential": {"median": 12}}, {"uniform": [60, 120]}, {"fixed": 3}, {"reference": "pan2017/T1N0"},
          {"model": "prevalence", "prevalence": 0.1, "hazard_ratio": 2}, {"annual": 0.05}, {"at": 6},
          {"every": 6}, {"hazard_ratio": 0.7}, "maxcombo", "rmst(24)", "hsd(60)", "mrd_clearance", "lead_time",
          "prevalence", {"lead_time": 6}, {"prevalence": 0.1}, {"dormant_share": 0.1}, {"events": 30, "looks": [0.5]},
          {"hazard_ratio": 0.8, "spending": "pocock"}]
KNOWN = re.compile("|".join(f"(?:{m})" for _, m, *_ in KNOWN_DIFFERENCES))


def paths_of(node, prefix=()):
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append(prefix + (k,))
            out += paths_of(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append(prefix + (i,))
            out += paths_of(v, prefix + (i,))
    return out


@st.composite
def mutants(draw):
    data = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 2))):
        paths = paths_of(data)
        path = draw(st.sampled_from(paths))
        node = data
        for k in path[:-1]:
            node = node[k]
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add"]))
        if action == "delete":
            del node[path[-1]]
        elif action == "add" and isinstance(node, dict):
            node[draw(st.sampled_from(["extra", "rate", "months", "events", "looks", "futility", "mrd",
                                       "count", "seed", "stratified", "currency", "cost"]))] = copy.deepcopy(
                draw(st.sampled_from(VALUES)))
        else:
            node[path[-1]] = copy.deepcopy(draw(st.sampled_from(VALUES)))
    return data


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(mutants())
def test_unit_drawn_mutants_get_the_same_verdict(data):
    problem = loader_problem(data)
    errors = schema_errors(data)
    if problem is None:
        assert errors == [], f"trialsim accepts, the schema refuses: {errors}"
    elif not errors:
        assert KNOWN.search(problem), f"the schema accepts, trialsim refuses for a reason not listed: {problem}"


# --------------------------------------------------------------------------
# docs/editor.md: the command, the modeline and the VS Code settings


def test_unit_editor_doc_shows_a_working_set_up():
    text = DOC.read_text(encoding="utf-8")
    command = re.search(r"trialsim schema > (\S+)", text)
    assert command, "the doc shows how to write the schema"
    file = command.group(1)
    modeline = re.search(r"^# yaml-language-server: \$schema=(\S+)$", text, re.M)
    assert modeline and Path(modeline.group(1)).name == file
    blocks = [json.loads(b) for b in re.findall(r"```jsonc?\n(.*?)```", text, re.S)]
    settings_ = [b for b in blocks if "yaml.schemas" in b]
    assert len(settings_) == 1, "one settings.json block with yaml.schemas"
    schemas = settings_[0]["yaml.schemas"]
    assert any(Path(target).name == file and globs for target, globs in schemas.items()), schemas
    assert SCHEMA["$id"] in text and "not a download location" in " ".join(text.split())


def test_unit_editor_doc_modeline_works_at_the_top_of_a_scenario():
    text = DOC.read_text(encoding="utf-8")
    modeline = re.search(r"^# yaml-language-server: \$schema=\S+$", text, re.M).group(0)
    scenario = modeline + "\n" + CONVENTIONAL
    load_scenario(text=scenario)
    assert schema_errors(parse_yaml(scenario, "x")[0]) == []


# --------------------------------------------------------------------------
# Drawn test and spending names: the schema's patterns say what trialsim says


@st.composite
def spaced(draw, text: str) -> str:
    """``text`` with spaces (or a tab) put at drawn places."""
    out = []
    for ch in text + "\0":
        out.append(draw(st.sampled_from(["", "", "", " ", "  ", "\t"])))
        out.append(ch)
    return "".join(out[:-1])


NUMBERS = st.builds(lambda sign, whole, frac: sign + whole + frac, st.sampled_from(["", "", "-"]),
                    st.sampled_from(["0", "00", "1", "4", "5", "12", "49", "50", "050", "51", "100"]),
                    st.sampled_from(["", "", ".0", ".00", ".5", ".01", "."]))
CALLS = st.builds(lambda name, args: f"{name}({','.join(args)})",
                  st.sampled_from(["fh", "rmst", "milestone", "hsd", "logrank", "f h"]),
                  st.lists(NUMBERS, min_size=0, max_size=3))
NAMES = st.sampled_from(["logrank", "cox", "maxcombo", "obrien_fleming", "pocock", "classical_pocock",
                         "classical_obrien_fleming", "log-rank", "Cox", "obrienfleming", ""])


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.one_of(NAMES, CALLS).flatmap(spaced), st.sampled_from(["test", "spending"]))
def test_unit_drawn_test_and_spending_names_get_the_same_verdict(text, key):
    data = put(copy.deepcopy(CONV), f"trial.analysis.{key}", text)
    assert (loader_problem(data) is None) == (schema_errors(data) == []), (key, text, loader_problem(data))


# --------------------------------------------------------------------------
# In a real editor's server, where one is installed


def _server_or_skip():
    if yaml_language_server.command() is None:
        pytest.skip("yaml-language-server is not installed (npm install -g yaml-language-server, or set "
                    f"{yaml_language_server.ENV} to its command)")


def _doc_settings() -> dict:
    text = DOC.read_text(encoding="utf-8")
    return next(b for b in map(json.loads, re.findall(r"```jsonc?\n(.*?)```", text, re.S)) if "yaml.schemas" in b)


BAD = """\
name: near misses
accrual: {rate: 20, piecewise: [{rate: 3}]}
population:
  strata: [{name: all, share: 1.5, recurrence: {weibull: {median: 24}}}]
arms:
  control: {}
  treatment: {hazard_ratio: 0.7}
trial:
  enrollment: 150.5
  analysis:
    months: 24
    alpha: "0.025"
    test: rmst(0)
    looks: [0.5]
    sensitivty: 3
"""


def test_unit_the_editor_shows_descriptions_and_problems_through_the_modeline(tmp_path):
    _server_or_skip()
    (tmp_path / "scenario.schema.json").write_text(json.dumps(SCHEMA, indent=2))
    modeline = re.search(r"^# yaml-language-server: \$schema=\S+$", DOC.read_text(encoding="utf-8"), re.M).group(0)
    with yaml_language_server.Server(tmp_path) as server:
        for i, (name, text, _) in enumerate(repository_scenarios()):
            assert server.open(tmp_path / f"good{i}.yaml", modeline + "\n" + text) == [], name
        good = tmp_path / "conventional.yaml"
        lines = (modeline + "\n" + CONVENTIONAL).splitlines()
        assert server.open(good, "\n".join(lines)) == []
        line = next(n for n, text in enumerate(lines, 1) if "analysis:" in text)
        shown = server.hover(good, line, lines[line - 1].index("alpha"))
        assert "trial.analysis.alpha" in shown and "Unit: share 0-1" in shown and "Default: 0.025" in shown, shown
        problems = server.open(tmp_path / "bad.yaml", modeline + "\n" + BAD)
    text = " | ".join(f"{n}: {m}" for n, m in sorted(problems))
    for words in ("above the maximum of 1", "shape", "integer", "number", "sensitivty",
                  "unknown test, or its numbers out of range", "interim looks are at fractions of the events target",
                  "Matches multiple schemas"):
        assert words in text, (words, text)


def test_unit_the_editor_applies_the_schema_through_the_settings(tmp_path):
    _server_or_skip()
    settings = _doc_settings()
    target = next(iter(settings["yaml.schemas"]))
    (tmp_path / target).write_text(json.dumps(SCHEMA, indent=2))
    (tmp_path / "scenarios").mkdir()
    with yaml_language_server.Server(tmp_path, settings) as server:
        good = CONVENTIONAL.replace("  analysis: {events: 247, alpha: 0.025, sided: 1}\n",
                                    "  analysis:\n    events: 247\n    \n")
        assert server.open(tmp_path / "scenarios" / "good.yaml", good) == []
        problems = server.open(tmp_path / "scenarios" / "bad.yaml", BAD)
        assert any("sensitivty" in m for _, m in problems), problems
        line = good.splitlines().index("    events: 247") + 2
        offered = server.completion(tmp_path / "scenarios" / "good.yaml", line, 4)
        elsewhere = server.open(tmp_path / "other.yaml", BAD)       # outside the settings' globs: no schema
    assert {"months", "test", "looks", "alpha"} <= set(offered), offered
    assert not any("sensitivty" in m for _, m in elsewhere), elsewhere
