"""Regression tier: pinned outputs of the four reference scenarios.

Not theory: these numbers are what trialsim produced for seed 20261203 and
120 replicates when they were stored (``tools/regression/make_reference_results.py``
regenerates them). A change meant to leave behaviour alone must leave every
number identical; a change meant to alter results regenerates the file and
says so in its commit.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = json.loads((ROOT / "tests" / "golden" / "reference_results.json").read_text())

_spec = importlib.util.spec_from_file_location(
    "make_reference_results", ROOT / "tools" / "regression" / "make_reference_results.py")
_maker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_maker)


@pytest.fixture(scope="module")
def current():
    assert (_maker.REPLICATES, _maker.SEED) == (GOLDEN["replicates"], GOLDEN["seed"])
    return _maker.reference_results()


@pytest.mark.parametrize("name", sorted(GOLDEN["results"]))
def test_reference_scenario_results_are_unchanged(current, name):
    assert current[name] == GOLDEN["results"][name]
