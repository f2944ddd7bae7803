"""Unit tier: trialsim.report.scenario_file, the YAML comment reader of the report."""

from __future__ import annotations

from tests.conftest import write
from trialsim.report import ScenarioFile, read_comments, split_comment

COMMENTED = """\
# Header line one
#   indented source line
#
# second paragraph

name: x                       # the name
description: >
  free text with a # that is not a comment
accrual:
  rate: 20                    # patients per month: first line
                              # and its continuation
  sites: {count: 5, open_over: 2}   # flow mapping comment
# A comment block about the population,
# on two lines
population:
  strata:
    # About all strata
    - name: all
      share: 1                # single stratum
      recurrence: {exponential: {median: 24}}
arms:
  control: {}
  treatment: {hazard_ratio: 0.7, allocation: 1}
trial:
  enrollment: 100
  analysis:
    # Above events
    events: 50                # after
    test: "logrank"           # quoted value, then a comment
"""


def test_unit_split_comment_respects_quotes_and_hashes_inside_words():
    assert split_comment('  test: "fh(0, 1)"  # two') == ('  test: "fh(0, 1)"', "two", 20)
    assert split_comment("  name: 'a # b'  # c")[1] == "c"
    assert split_comment("  name: issue#4") == ("  name: issue#4", None, None)
    assert split_comment("# whole line")[1] == "whole line"


def test_unit_read_comments_header_trailing_continuation_preceding(tmp_path):
    header, trailing, preceding = read_comments(COMMENTED)
    assert header.splitlines() == ["Header line one", "indented source line", "", "second paragraph"]
    lines = COMMENTED.splitlines()
    n = {key: i + 1 for i, line in enumerate(lines) for key in [line.strip().split(":")[0].lstrip("- ")]}
    assert trailing[n["rate"]] == "patients per month: first line and its continuation"
    assert trailing[n["sites"]] == "flow mapping comment"
    assert preceding[n["population"]] == "A comment block about the population, on two lines"
    assert preceding[n["events"]] == "Above events"
    assert trailing[n["test"]] == "quoted value, then a comment"
    assert not any("not a comment" in c for c in trailing.values())   # block scalar text
    sf = ScenarioFile.read(write(tmp_path, COMMENTED))
    assert sf.comment(("trial", "analysis", "events")) == "Above events after"
    assert sf.comment(("accrual", "sites", "count")) == "flow mapping comment"
    assert sf.comment(("arms", "control")) is None
