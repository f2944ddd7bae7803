"""Unit tier: trialsim.report.assumptions, every value of a scenario file with its unit and source."""

from __future__ import annotations

import pytest

from tests.conftest import SCENARIOS
from trialsim.report import ScenarioFile, assumptions_table
from trialsim.report.assumptions import _leaves


@pytest.mark.parametrize("name", ["ctdna_er_positive", "dtc_bone_marrow", "zest_like_tnbc", "conventional_logrank"])
def test_unit_assumptions_table_has_every_value_of_the_file(name):
    sf = ScenarioFile.read(SCENARIOS / f"{name}.yaml")
    table, notes = assumptions_table(sf)
    shown = [r for i, r in enumerate(table.rows) if i not in table.groups and i not in table.muted]
    assert len(shown) == len(list(_leaves(sf.data, ())))
    assert all(len(r) == 4 for r in shown)
    # Nearly every value of the reference scenarios is commented with its source.
    commented = sum(1 for r in shown if r[3])
    assert commented >= 0.6 * len(shown), (commented, len(shown))


def _comment_block(text: str, anchor: str) -> str:
    """The comment at the end of the line holding ``anchor`` and the comment
    lines aligned under it, read independently of trialsim's reader."""
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if anchor in line)
    col = lines[i].index(" #") + 1
    parts = [lines[i][col + 1:].strip()]
    for line in lines[i + 1:]:
        if line.strip().startswith("#") and len(line) - len(line.lstrip()) == col:
            parts.append(line.strip()[1:].strip())
        else:
            break
    return " ".join(parts)


def _comment_above(text: str, anchor: str) -> str:
    """The comment-only lines right above the line holding ``anchor``, joined."""
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if anchor in line)
    parts = []
    for line in reversed(lines[:i]):
        if not line.strip().startswith("#"):
            break
        parts.insert(0, line.strip()[1:].strip())
    return " ".join(parts)


def test_unit_assumptions_show_the_sources_the_file_gives():
    path = SCENARIOS / "ctdna_er_positive.yaml"
    text = path.read_text()
    sf = ScenarioFile.read(path)
    table, notes = assumptions_table(sf)
    by_label = {}
    group = None
    for i, r in enumerate(table.rows):
        if i in table.groups:
            group = r[0]
        else:
            by_label[(group, r[0])] = r
    sens = by_label[("Screening", "test.sensitivity")]
    assert sens[1].text == "0.88" and sens[2] == "probability per test"
    assert sens[3] == _comment_block(text, "sensitivity: 0.88")          # with its continuation lines
    assert len(sens[3]) > len(text.split("sensitivity: 0.88")[1].splitlines()[0])
    lead = by_label[("MRD model", "lead_time")]
    assert lead[1].text == "Weibull, median 10.5, shape 1.4"
    assert lead[3] == _comment_above(text, "lead_time: {weibull")         # the comment block above it
    rec = by_label[("Population: stratum T2N0 (4 of 6)", "recurrence")]
    assert rec[1].text == "reference curve pan2017/T2N0"
    assert rec[3] == _comment_block(text, "recurrence: {reference: pan2017/T2N0}")
    first_stratum = next(line for line in text.splitlines() if line.strip().startswith("- name:"))
    assert notes == [f"On the strata: {_comment_above(text, first_stratum)}"]
    assert by_label[("Accrual", "rate")][2] == "survivors per month"
