"""Unit tier of reading and validating a scenario (trialsim/loading.py and the
numeric fields of trialsim/scenario.py): whatever a file holds, the result is
the scenario or one ScenarioError naming the problem, the file and, where
known, the line and field -- in bounded time and memory, never a traceback."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import CONVENTIONAL, CTDNA, SCENARIOS, write
import trialsim.loading as loading
from trialsim import ScenarioError, load_scenario
from trialsim.cli import app
from trialsim.curves import CurveSpecError
from trialsim.curves.plots import _load_yaml, is_scenario_file
from trialsim.loading import (
    DEFAULT_MAX_BYTES,
    MAX_ALIAS_NODES,
    MAX_BYTES_ENV,
    MAX_DEPTH,
    parse_yaml,
    printable,
)
from trialsim.scenario import json_schema
from trialsim.sweeps.errors import SweepError
from trialsim.sweeps.paths import parse_values

runner = CliRunner()


def refused(tmp_path: Path, text: str, *, binary: bool = False, **kwargs) -> str:
    """The message of the ScenarioError that loading ``text`` from a file raises."""
    path = tmp_path / "s.yaml"
    if binary:
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    else:
        path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, **kwargs)
    message = str(info.value)
    assert message.startswith(str(path)), message
    return message


def with_line(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# --------------------------------------------------------------------------
# YAML shapes


def test_unit_recursive_alias_is_refused_with_its_line(tmp_path):
    message = refused(tmp_path, "name: x\nloop: &l [*l]\n")
    assert "s.yaml:2: loop.0: a recursive alias" in message


def test_unit_recursive_alias_in_a_mapping_is_refused(tmp_path):
    assert "recursive alias" in refused(tmp_path, "a: &a {b: *a}\n")


def test_unit_deep_nesting_is_refused_not_a_recursion_error(tmp_path):
    message = refused(tmp_path, "a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert f"s.yaml:1: nested more than {MAX_DEPTH} levels deep" in message


def test_unit_nesting_just_within_the_limit_is_read():
    data, _ = parse_yaml("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))
    depth = 0
    while isinstance(data, list) and data:
        data, depth = data[0], depth + 1
    assert depth == MAX_DEPTH - 2


def test_unit_deep_nesting_through_aliases_is_refused(tmp_path):
    # each alias adds 60 levels: the composed file is shallow, its expansion is not
    lines = ["a0: &a0 " + "[" * 60 + "1" + "]" * 60]
    lines += [f"a{i}: &a{i} " + "[" * 60 + f"*a{i - 1}" + "]" * 60 for i in range(1, 4)]
    message = refused(tmp_path, "\n".join(lines) + "\n")
    assert "levels deep (through aliases)" in message and "s.yaml:2: a1." in message


def test_unit_complex_key_is_refused(tmp_path):
    message = refused(tmp_path, "name: x\n? [a, b]\n: 1\n")
    assert "s.yaml:2:" in message and "complex keys" in message


def test_unit_nul_byte_is_refused_with_its_line(tmp_path):
    message = refused(tmp_path, b"name: x\ndescription: a\x00b\n", binary=True)
    assert "s.yaml:2: contains a NUL byte" in message


def test_unit_other_control_character_is_refused_with_its_line(tmp_path):
    message = refused(tmp_path, b"name: x\n\ndescription: a\x07b\n", binary=True)
    assert "s.yaml:3: not valid YAML" in message and "\\x07" in message


def test_unit_non_utf8_is_refused_with_its_line(tmp_path):
    message = refused(tmp_path, b"name: x\ndescription: caf\xe9\n", binary=True)
    assert "s.yaml:2: is not UTF-8 text" in message


def test_unit_integer_of_5000_digits_is_refused_by_length(tmp_path):
    text = CONVENTIONAL + "simulation: {seed: " + "9" * 5000 + "}\n"
    message = refused(tmp_path, text)
    assert "s.yaml:11: simulation.seed: a number of 5,000 characters" in message


def test_unit_a_5000_digit_key_is_refused(tmp_path):
    assert "s.yaml:1: a key of 5,000 digits" in refused(tmp_path, "? " + "9" * 5000 + "\n: 1\n")


BILLION_LAUGHS = "\n".join(
    ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]) + "\n"


def test_unit_billion_laughs_is_refused_in_bounded_time_and_memory(tmp_path):
    """It ran for minutes and ended in a MemoryError at 5.9 GB; now refused at once."""
    path = write(tmp_path, BILLION_LAUGHS)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss     # KiB on Linux
    start = time.process_time()        # CPU time: what the load costs, however busy the machine
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    elapsed = time.process_time() - start
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert f"aliases expand to more than {MAX_ALIAS_NODES:,} values" in str(info.value)
    assert "scenario.yaml:6: a5." in str(info.value)   # the line where the alias is used
    assert elapsed < 2.0, elapsed                      # about 0.3 s
    assert grown < 200 * 1024, grown                   # the process's peak memory grew by less than 200 MB


def test_unit_aliases_within_the_budget_are_read(tmp_path):
    # an anchored curve reused by a second stratum: ordinary YAML, read as before
    text = with_line(CONVENTIONAL, "  strata: [{name: all, share: 1, recurrence: {exponential: {median: 24}}}]",
                     "  strata:\n    - {name: a, share: 0.5, recurrence: &c {exponential: {median: 24}}}\n"
                     "    - {name: b, share: 0.5, recurrence: *c}")
    sc = load_scenario(write(tmp_path, text))
    assert [s.recurrence.root for s in sc.population.strata] == [{"exponential": {"median": 24.0}}] * 2


def test_unit_duplicate_key_still_refused(tmp_path):
    assert "s.yaml:2: name: key 'name' appears twice" in refused(tmp_path, "name: a\nname: b\n")


def test_unit_parser_errors_never_escape(tmp_path, monkeypatch):
    """Whatever the YAML library raises while reading becomes a ScenarioError naming the file."""
    path = write(tmp_path, CONVENTIONAL)
    for error in (RecursionError("deep"), MemoryError(), ValueError("bad"), OverflowError("big"),
                  UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), yaml.YAMLError("odd")):
        def boom(self, node, error=error):
            raise error
        monkeypatch.setattr(loading._Loader, "construct_document", boom)
        with pytest.raises(ScenarioError, match=r"^.*scenario\.yaml: not (readable|valid YAML)"):
            load_scenario(path)


def _parsed(text: str) -> tuple:
    """What parse_yaml gives for ``text``: ("ok", data and lines) or ("error", the message)."""
    try:
        return "ok", repr(parse_yaml(text, "s.yaml"))
    except ScenarioError as exc:
        return "error", str(exc)


#: texts on which libyaml and the Python parser disagree, or nearly: each must read as the Python parser reads it
YAML_EDGES = [
    "a: [?x]\n", "a: {?x: 1}\n", "a: !foo 1\n", "a: !\n", "a: 1\n\t\n", "a: 1\t\n", "a: 1\r\nb: 2\r\n", "a: 1\rb: 2\r",
    "a: x\u2028y\nb: 2\n", "a: 1\x85b: 2\n", "\ufeffa: 1\n", "\ufeff\ufeffa: 1\n", "a: |#\n  x\n", "a: >-#\n  x\n",
    "---\n", "\n---", "a: 1\n---\nb: 2\n", "%YAML 1.1\n---\na: 1\n", "a: [1, 2\n", "a: b: c\n", "a:\n  b: 1\n c: 2\n",
    "a: &x {b: 1}\nc: *x\n", "a: [a:b, :c]\n", "a: \"\\x41\\N\\_\"\n", "<<: {a: 1}\nb: 2\n", "- a\n- b\n", "", "# only\n",
]


def test_unit_libyaml_and_the_python_parser_read_alike(monkeypatch):
    """libyaml composes the text when it can (trialsim.loading._compose_fast); the
    result -- data, lines, or the message of a refusal -- is the Python parser's,
    on the shipped scenarios, on texts where the two parsers differ, and on
    random edits of the scenarios (characters inserted, deleted, replaced)."""
    texts = [p.read_text() for p in sorted(SCENARIOS.glob("*.yaml"))]
    cases = texts + YAML_EDGES
    rng = np.random.default_rng(20261203)
    pieces = list("ab1 :-,[]{}#&*|>'\"%@`.~=_/()+e0?!\t\r\n") + [
        "---", "...", "- ", ": ", "  ", "\n  ", "\n- ", "&a ", "*a", "<<: ", "\u00e9", "\ufeff", "\u2028", "\x85"]
    for _ in range(300):
        text = texts[rng.integers(len(texts))]
        start = int(rng.integers(len(text)))
        text = text[start:start + 600]
        for _ in range(int(rng.integers(1, 4))):
            at, piece = int(rng.integers(len(text) + 1)), pieces[rng.integers(len(pieces))]
            text = [text[:at] + piece + text[at:], text[:at] + text[at + 1:], text[:at] + piece + text[at + 1:]][
                rng.integers(3)]
        cases.append(text)
    fast = [_parsed(t) for t in cases]
    monkeypatch.setattr(loading, "_compose_fast", lambda text, source: (None, {}))
    python = [_parsed(t) for t in cases]
    assert [c for c, f, p in zip(cases, fast, python) if f != p] == []
    assert sum(kind == "ok" for kind, _ in python) >= 40       # the edits leave many texts readable


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml: the Python parser reads every file")
def test_unit_libyaml_composes_the_shipped_scenarios():
    for path in sorted(SCENARIOS.glob("*.yaml")):
        node, lines = loading._compose_fast(path.read_text(), str(path))
        assert node is not None and lines[("name",)] >= 1, path


def test_unit_numbers_with_an_exponent_and_no_point_are_numbers(tmp_path):
    text = with_line(CONVENTIONAL, "alpha: 0.025", "alpha: 25e-3")
    text = with_line(text, "events: 247", "events: 2E2")
    sc = load_scenario(write(tmp_path, text))
    assert sc.trial.analysis.alpha == 0.025 and sc.trial.analysis.events == 200
    assert isinstance(sc.trial.analysis.events, int)


# --------------------------------------------------------------------------
# What is read: regular files of bounded size


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_unit_devices_are_refused_without_reading(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    start = time.perf_counter()
    with pytest.raises(ScenarioError, match=f"^{device}: is not a regular file"):
        load_scenario(device)
    assert time.perf_counter() - start < 2.0


def test_unit_named_pipe_is_refused_without_hanging(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    # a subprocess: were the pipe opened for reading, the test would fail by the timeout, not hang
    res = subprocess.run([str(Path(sys.executable).parent / "trialsim"), "validate", str(fifo)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    assert res.stdout == "" and res.stderr == \
        f"error: {fifo}: is not a regular file (a pipe, a device or a socket): give a scenario file\n"


def test_unit_folder_is_refused(tmp_path):
    with pytest.raises(ScenarioError, match="is a folder"):
        load_scenario(tmp_path)


def test_unit_missing_file_is_refused(tmp_path):
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "nothing.yaml")


def test_unit_oversize_file_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.delenv(MAX_BYTES_ENV, raising=False)
    text = CONVENTIONAL + "#" * DEFAULT_MAX_BYTES + "\n"
    message = refused(tmp_path, text)
    assert "more than the limit of 1 MiB" in message and MAX_BYTES_ENV in message


def test_unit_size_limit_is_an_argument_and_an_environment_variable(tmp_path, monkeypatch):
    path = write(tmp_path, CONVENTIONAL)
    size = path.stat().st_size
    monkeypatch.delenv(MAX_BYTES_ENV, raising=False)
    assert load_scenario(path, max_bytes=size).trial.enrollment == 500
    with pytest.raises(ScenarioError, match=f"is {size:,} bytes, more than the limit of {size - 1:,} bytes"):
        load_scenario(path, max_bytes=size - 1)
    monkeypatch.setenv(MAX_BYTES_ENV, str(size - 1))
    with pytest.raises(ScenarioError, match="more than the limit"):
        load_scenario(path)
    assert load_scenario(path, max_bytes=size).trial.enrollment == 500     # the argument wins
    monkeypatch.setenv(MAX_BYTES_ENV, "lots")
    with pytest.raises(ScenarioError, match=f"{MAX_BYTES_ENV} must be a positive whole number"):
        load_scenario(path)
    with pytest.raises(ValueError, match="max_bytes must be a positive integer"):
        load_scenario(path, max_bytes=0)


def test_unit_text_argument_reads_yaml_text(tmp_path):
    sc = load_scenario(text=CONVENTIONAL)
    assert sc.trial.enrollment == 500
    with pytest.raises(ScenarioError, match=r"^<stdin>:9: trial.enrollment: must be a whole number"):
        load_scenario("<stdin>", text=with_line(CONVENTIONAL, "enrollment: 500", "enrollment: 500.5"))


def test_unit_yaml_text_given_as_a_path_says_to_use_text():
    with pytest.raises(ValueError, match=r"load_scenario\(text=\.\.\.\)"):
        load_scenario(CONVENTIONAL)


# --------------------------------------------------------------------------
# Numbers the model cannot use


BAD_NUMBERS = [
    ("median: 24}", "median: .inf}", "median must be a finite number"),
    ("median: 24}", "median: 5e-324}", "median must be 0 or further from zero than 2.23e-308"),
    ("median: 24}", "median: 1e400}", "median must be a finite number"),
    ("alpha: 0.025", "alpha: 1e-300", "trial.analysis.alpha: must be at least 1e-12"),
    ("alpha: 0.025", "alpha: 0", "trial.analysis.alpha: must be at least 1e-12"),
    ("alpha: 0.025", "alpha: .nan", "trial.analysis.alpha: must be a finite number"),
    ("sided: 1}", "sided: 1, test: rmst(0)}", "trial.analysis.test: rmst(horizon) needs a horizon above 0"),
    ("sided: 1}", "sided: 1, test: \"fh(-1, 0)\"}", "trial.analysis.test: fh(rho, gamma) needs rho >= 0"),
    ("sided: 1}", "sided: 1, test: \"fh(0, -1)\"}", "trial.analysis.test: fh(rho, gamma) needs rho >= 0"),
    ("sided: 1}", "sided: 1, test: milestone(-5)}", "trial.analysis.test: milestone(time) needs a time above 0"),
    ("sided: 1}", "sided: 1, test: milestone(0)}", "trial.analysis.test: milestone(time) needs a time above 0"),
    ("sided: 1}", "sided: 1, looks: [0.5], spending: hsd(-1000)}",
     "trial.analysis.spending: hsd(gamma) needs gamma between -50 and 50"),
    ("rate: 20.8333}", "rate: .inf}", "accrual.rate: must be a finite number"),
    ("rate: 20.8333}", "rate: 1e300}", "accrual.rate: Input should be less than or equal to 1000000"),
    ("hazard_ratio: 0.7}", "hazard_ratio: 4e-320}", "arms.treatment.hazard_ratio: is too close to zero"),
    ("median: 24}", "median: 24, shape: 1e-12}", "too extreme to compute with"),
]


@pytest.mark.parametrize("old, new, expected", BAD_NUMBERS, ids=[b[1] for b in BAD_NUMBERS])
def test_unit_unusable_number_is_refused_at_validation(tmp_path, old, new, expected):
    text = with_line(CONVENTIONAL, old, new)
    if "shape" in new:
        text = text.replace("exponential", "weibull")
    message = refused(tmp_path, text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if new in row)
    assert f"s.yaml:{line}:" in message and expected in message, message


def line_of(text: str, words: str) -> int:
    return next(i for i, row in enumerate(text.splitlines(), 1) if words in row)


def test_unit_unusable_numbers_in_the_ctdna_scenario(tmp_path):
    for old, new, expected in [
            ("dormant_share: 0.01", "dormant_share: 1e-310", "mrd.dormant_share: is too close to zero"),
            ("max_months: 36", "max_months: .inf", "screening.max_months: must be a finite number"),
            ("time_since_diagnosis: 84", "time_since_diagnosis: -.inf",
             "population.strata.1.time_since_diagnosis.value: value must be a finite number"),
            ("dropout: {annual: 0.05}", "dropout: {rate: .nan}", "trial.dropout.rate: must be a finite number"),
            ("turnaround: 0.5", "turnaround: 1e-320", "screening.test.turnaround.value: value must be 0 or further"),
            ("cumulative: 0.13, at: 240", "cumulative: 0.13, at: .inf", ".exponential.at: at must be a finite")]:
        text = with_line(CTDNA, old, new)
        message = refused(tmp_path, text)
        assert f"s.yaml:{line_of(text, new)}: " in message and expected in message, message


def test_unit_test_parameters_that_work_are_accepted(tmp_path):
    for test in ("rmst(12)", "milestone(6.5)", "\"fh(0, 1)\"", "\"fh(1, 0)\""):
        text = with_line(CONVENTIONAL, "sided: 1}", f"sided: 1, test: {test}}}")
        assert load_scenario(write(tmp_path, text)).trial.analysis.test == test.strip('"').replace(" ", "")


# --------------------------------------------------------------------------
# Strict types


BOOLEANS = [
    ("events: 247", "events: true", "trial.analysis.events: must be a whole number, not true or false"),
    ("sided: 1}", "sided: true}", "trial.analysis.sided: must be a whole number, not true or false"),
    ("control: {}", "control: {allocation: true}", "arms.control.allocation: must be a number, not true or false"),
    ("median: 24}", "median: yes}", "median must be a number, not true or false"),
    ("{exponential: {median: 24}}", "{exponential: {rate: true}}", "rate must be a number, not true or false"),
    ("enrollment: 500", "enrollment: false", "trial.enrollment: must be a whole number, not true or false"),
    ("sided: 1}", "sided: 1, stratified: 1}", "trial.analysis.stratified: must be true or false"),
]


@pytest.mark.parametrize("old, new, expected", BOOLEANS, ids=[b[1] for b in BOOLEANS])
def test_unit_boolean_is_not_a_number(tmp_path, old, new, expected):
    message = refused(tmp_path, with_line(CONVENTIONAL, old, new))
    assert expected in message, message


def test_unit_boolean_specificity_is_refused(tmp_path):
    text = with_line(CTDNA, "specificity: 0.998", "specificity: true")
    message = refused(tmp_path, text)
    assert f"s.yaml:{line_of(text, 'specificity')}: screening.test.specificity: must be a number, not true or " \
           "false" in message


STRINGS = [
    ("alpha: 0.025", "alpha: \"0.025\"", "trial.analysis.alpha: must be a number written without quotes"),
    ("enrollment: 500", "enrollment: \"500\"", "trial.enrollment: must be a whole number written without quotes"),
    ("median: 24}", "median: \"24\"}", "median must be a number written without quotes"),
    ("rate: 20.8333}", "rate: '20.8333'}", "accrual.rate: must be a number written without quotes"),
    ("sided: 1}", "sided: \"2\"}", "trial.analysis.sided: must be a whole number written without quotes"),
]


@pytest.mark.parametrize("old, new, expected", STRINGS, ids=[s[1] for s in STRINGS])
def test_unit_string_is_not_a_number(tmp_path, old, new, expected):
    message = refused(tmp_path, with_line(CONVENTIONAL, old, new))
    assert expected in message, message


def test_unit_integers_are_whole_numbers(tmp_path):
    message = refused(tmp_path, with_line(CONVENTIONAL, "enrollment: 500", "enrollment: 150.5"))
    assert "s.yaml:9: trial.enrollment: must be a whole number (got 150.5)" in message
    for written in ("500.0", "5e2", "5.0e+2"):
        sc = load_scenario(write(tmp_path, with_line(CONVENTIONAL, "enrollment: 500", f"enrollment: {written}")))
        assert sc.trial.enrollment == 500 and type(sc.trial.enrollment) is int


def test_unit_mappings_follow_the_same_types():
    data = yaml.safe_load(CONVENTIONAL)
    data["trial"]["analysis"]["events"] = True
    with pytest.raises(ScenarioError, match="trial.analysis.events: must be a whole number, not true or false"):
        load_scenario(data)


# --------------------------------------------------------------------------
# The JSON schema says the same


def _schema_errors(data) -> list[str]:
    validator = jsonschema.Draft202012Validator(json_schema())
    return [e.message for e in validator.iter_errors(data)]


def test_unit_every_shipped_scenario_validates_and_matches_the_schema():
    paths = sorted(SCENARIOS.glob("*.yaml"))
    assert len(paths) >= 4
    for path in paths:
        load_scenario(path)
        assert _schema_errors(yaml.safe_load(path.read_text())) == [], path


@pytest.mark.parametrize("old, new, expected", BOOLEANS + STRINGS + [
    ("enrollment: 500", "enrollment: 150.5", ""), ("alpha: 0.025", "alpha: 1e-300", ""),
    ("rate: 20.8333}", "rate: 1e300}", "")], ids=lambda x: x if " " not in x else None)
def test_unit_the_schema_refuses_what_the_loader_refuses(tmp_path, old, new, expected):
    text = with_line(CONVENTIONAL, old, new)
    with pytest.raises(ScenarioError):
        load_scenario(write(tmp_path, text))
    assert _schema_errors(parse_yaml(text)[0]), new


def test_unit_the_schema_accepts_whole_numbers_written_with_a_point():
    assert _schema_errors(parse_yaml(with_line(CONVENTIONAL, "enrollment: 500", "enrollment: 500.0"))[0]) == []


# --------------------------------------------------------------------------
# The command line: exit 2, one line, no traceback; text printed escaped


def _validate(path) -> tuple[int, str]:
    res = runner.invoke(app, ["validate", str(path)])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.output


@pytest.mark.parametrize("content", [
    "loop: &l [*l]\n", "a: " + "[" * 5000 + "]" * 5000 + "\n", "? [a, b]\n: 1\n", "name: a\x00b\n",
    "seed: " + "9" * 5000 + "\n", BILLION_LAUGHS,
    with_line(CONVENTIONAL, "events: 247", "events: true"),
    with_line(CONVENTIONAL, "median: 24}", "median: .inf}"),
], ids=["recursive-alias", "deep", "complex-key", "nul", "digits", "laughs", "bool-events", "inf-median"])
def test_unit_cli_validate_exits_2_with_one_line(tmp_path, content):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    code, output = _validate(path)
    assert code == 2, output
    assert output.startswith(f"error: {path}") and output.count("\n") == 1, output
    assert "Traceback" not in output


def test_unit_cli_validate_refuses_a_device(tmp_path):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    code, output = _validate("/dev/zero")
    assert code == 2
    assert output == "error: /dev/zero: is not a regular file (a pipe, a device or a socket): give a scenario file\n"


def test_unit_printable_escapes_control_characters():
    assert printable("a\x1b[2Jb\x07c\u202ed\x9b") == "a\\x1b[2Jb\\x07c\\u202ed\\x9b"
    assert printable("two\nlines\tand é, ü, 日本") == "two\\x0alines\\x09and é, ü, 日本"
    assert printable("two\nlines", newlines=True) == "two\nlines"


def test_unit_cli_echoes_scenario_text_escaped(tmp_path):
    text = with_line(CONVENTIONAL, "name: conventional log-rank design", 'name: "evil\\e[2J\\e]0;title\\a"')
    code, output = _validate(write(tmp_path, text))
    assert code == 0, output
    assert "\x1b" not in output and "\x07" not in output and "evil\\x1b[2J\\x1b]0;title\\x07" in output
    res = runner.invoke(app, ["run", str(tmp_path / "scenario.yaml"), "-n", "4", "--seed", "1", "-w", "1"])
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.output and res.output.startswith("evil\\x1b[2J")


def test_unit_cli_error_quoting_a_key_is_escaped(tmp_path):
    text = CONVENTIONAL + '"bad\\e[31mkey": 1\n'
    code, output = _validate(write(tmp_path, text))
    assert code == 2 and "\x1b" not in output and "unknown key 'bad\\x1b[31mkey'" in output, output


def test_unit_results_json_keeps_the_name_as_written(tmp_path):
    """Escaping is for the terminal: the JSON output holds the name itself (JSON escapes it)."""
    text = with_line(CONVENTIONAL, "name: conventional log-rank design", 'name: "a\\e[2Jb"')
    res = runner.invoke(app, ["run", str(write(tmp_path, text)), "-n", "4", "--seed", "1", "-w", "1",
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["scenario"] == "a\x1b[2Jb"


def test_unit_docs_describe_the_limits():
    doc = (SCENARIOS.parent / "docs" / "scenario-format.md").read_text()
    for words in (MAX_BYTES_ENV, "1 MiB", f"{MAX_DEPTH} levels", f"{MAX_ALIAS_NODES:,}", "1e-12", "150.5"):
        assert words in doc, words


def test_unit_curve_files_and_vary_values_are_read_with_the_same_limits(tmp_path):
    """`trialsim curves plot FILE` and `--vary key=[...]` read YAML through the same reader."""
    big = write(tmp_path, "#" * (DEFAULT_MAX_BYTES + 1) + "\n", "curve.yaml")
    with pytest.raises(CurveSpecError, match="more than the limit of 1 MiB"):
        _load_yaml(big)
    laughs = write(tmp_path, BILLION_LAUGHS, "laughs.yaml")
    with pytest.raises(CurveSpecError, match="aliases expand"):
        is_scenario_file(laughs)
    with pytest.raises(SweepError, match="nested more than"):
        parse_values("[" * 5000)
    assert parse_values("[1e-3, 2]") == ([0.001, 2],)


def test_unit_read_stream_reads_at_most_the_limit_plus_one_byte():
    import io

    from trialsim.loading import read_stream

    class Counting(io.BytesIO):
        asked: list = []

        def read(self, n=-1):
            self.asked.append(n)
            return super().read(n)

    stream = Counting(b"x" * 10_000)
    with pytest.raises(ScenarioError, match=r"^<stdin>: is larger than the limit of 100 bytes"):
        read_stream(stream, max_bytes=100)
    assert stream.asked == [101]
    assert read_stream(io.BytesIO("name: é\n".encode()), max_bytes=100) == "name: é\n"
    assert read_stream(io.StringIO("name: a\n"), "piped") == "name: a\n"
    with pytest.raises(ScenarioError, match=r"^piped:1: is not UTF-8 text"):
        read_stream(io.BytesIO(b"\xff\n"), "piped")
    with pytest.raises(ScenarioError, match="standard input is empty"):
        read_stream(io.BytesIO(b""))


# --------------------------------------------------------------------------
# Paths the file system cannot hold


LONG_NAME = "x" * 300                                  # one name over 255 bytes
LONG_PATH = "/tmp/" + "/".join(["d" * 200] * 25)       # every name allowed, the whole over 4,096 bytes


@pytest.mark.parametrize("path, needle", [
    (f"/tmp/{LONG_NAME}.yaml", "a name in the path is 305 bytes long; file and folder names may have at most 255"),
    ("/tmp/" + "é" * 130 + ".yaml", "a name in the path is 265 bytes long"),     # bytes, not characters
    (LONG_PATH + ".yaml", "the path is 5,034 bytes long; paths may have at most 4,095 bytes"),
    ("a\x00b.yaml", "a file name cannot contain a NUL byte"),
])
def test_unit_a_path_too_long_is_one_scenario_error(path, needle):
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert needle in message and ": cannot be read: " in message and len(message.splitlines()) == 1, message
    assert len(message) < 700, "a very long path is shortened in the message"
    if "\x00" in path:
        return          # no command line can hold a NUL byte
    res = CliRunner().invoke(app, ["validate", path])
    assert res.exit_code == 2, res.output
    assert needle in res.stderr and res.stderr.count("error: ") == 1 and "Traceback" not in res.output


def test_unit_path_length_problem_is_none_for_usable_paths():
    assert loading.path_length_problem("/tmp/" + "x" * 255) is None
    assert loading.path_length_problem("/tmp/" + "/".join(["d" * 200] * 19)) is None
    assert "255 bytes" in loading.path_length_problem("/tmp/" + "x" * 256)
    # room: an output written through a temporary that adds 23 bytes to its name
    assert loading.path_length_problem("/tmp/" + "x" * 232, room=23) is None
    assert "at most 232 bytes" in loading.path_length_problem("/tmp/" + "x" * 233, room=23)


def test_unit_a_long_source_is_a_path_too_long_unless_it_looks_like_yaml():
    with pytest.raises(ScenarioError, match="a name in the path is 5,000 bytes long"):
        load_scenario("x" * 5000)
    with pytest.raises(ValueError, match="looks like YAML text"):
        load_scenario(CONVENTIONAL)
    one_line = "{" + ", ".join(f"k{i}: {i}" for i in range(700)) + "}"
    with pytest.raises(ValueError, match="characters of what looks like YAML text, not a file name"):
        load_scenario(one_line)


def test_unit_numbers_the_engine_cannot_use_are_refused_at_validation(tmp_path):
    """An arm's hazard ratio above 1e12 (recurrence times underflow) and
    max_screened above 2**53 (no longer an exact count) are refused with the
    file, line and field, not at run time."""
    with pytest.raises(ScenarioError, match=r"arms\.treatment\.hazard_ratio: .*1000000000000"):
        load_scenario(write(tmp_path, CTDNA.replace("hazard_ratio: 0.7}", "hazard_ratio: 1e15}")))
    assert load_scenario(write(tmp_path, CTDNA.replace("hazard_ratio: 0.7}", "hazard_ratio: 1e12}")))
    text = CTDNA.replace("max_months: 36", f"max_months: 36\n  max_screened: {2 ** 64}")
    with pytest.raises(ScenarioError, match=r"screening\.max_screened: .*9007199254740992"):
        load_scenario(write(tmp_path, text))
