"""Fuzz tier of the library: bad arguments to simulate, replay,
load_scenario, sweep, find_sample_size and Scenario.with_simulation (numbers
of the wrong type, booleans, numpy scalars, negative, zero, nan, inf, absurdly
large, text where a path or a mapping belongs; tests/support/fuzz.py draws
them, one or two at a time, the other arguments valid).

The property: every call returns when its arguments are acceptable (numpy
integers count as integers) with the result they ask for (the number of
replicates asked for, a provenance that serialises and replays to the same
summary), or raises trialsim.ScenarioError, ValueError or TypeError whose
message names the bad argument; never another exception, within 20 s (60 s
for find_sample_size; scaled by TRIALSIM_FUZZ_TIMEOUT) and 2 GB.

The default suite tries the failures found before and 40 drawn calls (a fixed
sequence); `make verify` draws 300 more at random (TRIALSIM_FUZZ_EXAMPLES
overrides both).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings

from tests.support.fuzz import FUZZ, KNOWN_CALLS, calls, judge_call, warm_imports, with_examples  # noqa: F401 (warm_imports: an autouse fixture)

CI_EXAMPLES = int(os.environ.get("TRIALSIM_FUZZ_EXAMPLES", "40"))
LONG_EXAMPLES = int(os.environ.get("TRIALSIM_FUZZ_EXAMPLES", "300"))


@settings(max_examples=CI_EXAMPLES, derandomize=True, **FUZZ)
@with_examples(KNOWN_CALLS.values())
@given(call=calls())
def test_fuzz_bad_library_arguments_raise_naming_them(call):
    outcome = judge_call(call)
    assert outcome.ok, f"{call!r}: {outcome.detail}"


@pytest.mark.slow
@settings(max_examples=LONG_EXAMPLES, **FUZZ)
@given(call=calls())
def test_fuzz_slow_many_bad_library_arguments_raise_naming_them(call):
    outcome = judge_call(call)
    assert outcome.ok, f"{call!r}: {outcome.detail}"
