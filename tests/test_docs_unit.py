"""Docs examples run as tests: every ```python block in README.md and docs/
runs (from the repository root), and every ```yaml block that is a scenario
(has population and trial) loads and validates."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import ROOT
from trialsim import Scenario

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks(lang):
    for path in DOCS:
        for i, m in enumerate(BLOCK.finditer(path.read_text())):
            if m.group(1) == lang:
                yield pytest.param(path, m.group(2), id=f"{path.name}-{i}")


@pytest.mark.parametrize("path,code", list(blocks("python")))
def test_unit_docs_python_examples_run(path, code, monkeypatch):
    monkeypatch.chdir(ROOT)
    exec(compile(code, str(path), "exec"), {"__name__": "__docs__"})


SCENARIO_BLOCKS = [p for p in blocks("yaml")
                   if isinstance(d := yaml.safe_load(p.values[1]), dict) and {"population", "trial"} <= set(d)]


@pytest.mark.parametrize("path,text", SCENARIO_BLOCKS)
def test_unit_docs_scenario_examples_validate(path, text):
    Scenario.from_dict(yaml.safe_load(text), base_dir=ROOT)


def test_unit_docs_have_examples():
    assert list(blocks("python")), "no python examples found in the docs"
