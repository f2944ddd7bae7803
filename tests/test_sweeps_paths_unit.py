"""Dotted paths into a scenario and the values of a --vary (trialsim/sweeps/paths.py).

Unit tier: paths, list and range values, integer fields, refusals with a
reason, paths checked against the base scenario, get_path and set_path.
"""

from __future__ import annotations

import pytest

from trialsim.sweeps import (
    SweepError,
    get_path,
    make_vary,
    parse_path,
    parse_values,
    parse_vary,
    set_path,
)


def test_unit_parse_path_indices_become_integers():
    assert parse_path("population.strata.0.mrd.prevalence") == ("population", "strata", 0, "mrd", "prevalence")
    for bad in ("", "trial..enrollment", ".trial"):
        with pytest.raises(SweepError):
            parse_path(bad)


def test_unit_list_and_range_values():
    assert parse_values("0.2,0.3,0.4") == (0.2, 0.3, 0.4)
    assert parse_values("0.2:0.6:5") == (0.2, 0.3, 0.4, 0.5, 0.6)        # both ends, no 0.30000000000000004
    assert parse_values("0.2:0.6:5", current=0.7) == (0.2, 0.3, 0.4, 0.5, 0.6)
    assert parse_values("5:5:1") == (5,)
    assert parse_values("logrank,fh(0,1)") == ("logrank", "fh(0,1)")   # commas inside brackets stay
    assert parse_values("true,false", current=False) == (True, False)


def test_unit_integer_fields_stay_integers():
    assert parse_values("100:200:3", current=150) == (100, 150, 200)
    assert all(type(v) is int for v in parse_values("100:200:3", current=150))
    assert parse_values("100:200:4", current=150) == (100, 133, 167, 200)  # ranges round to whole numbers
    assert parse_values("100,200.0", current=150) == (100, 200)
    with pytest.raises(SweepError, match="whole numbers"):
        parse_values("150.5", current=150)
    # a float field keeps floats even when written as integers
    assert all(type(v) is float for v in parse_values("1,2", current=0.7))


@pytest.mark.parametrize("text,needle", [
    ("0.2:0.6", "START:STOP:COUNT"),
    ("0.2:0.6:0", "COUNT"),
    ("0.2:0.6:1", "COUNT >= 2"),
    ("a:b:3", "must be numbers"),
    ("0.2,,0.3", "empty value"),
    ("0.2,0.2", "appears twice"),
    ("nan", "finite"),
])
def test_unit_bad_values_are_refused_with_a_reason(text, needle):
    with pytest.raises(SweepError, match=needle):
        parse_values(text)


def test_unit_paths_are_checked_against_the_scenario(conventional, ctdna):
    v = parse_vary("trial.enrollment=300:500:3", conventional)
    assert v.keys == ("trial", "enrollment") and v.values == (300, 400, 500)
    assert make_vary("arms.treatment.hazard_ratio", [0.6, 0.8], conventional).values == (0.6, 0.8)
    with pytest.raises(SweepError, match="did you mean 'treatment'"):
        parse_vary("arms.treatmnt.hazard_ratio=0.6,0.7", conventional)
    with pytest.raises(SweepError, match="no population.strata.3"):
        parse_vary("population.strata.3.share=0.5", ctdna)
    with pytest.raises(SweepError, match="is a value"):
        parse_vary("trial.enrollment.size=3", conventional)
    with pytest.raises(SweepError, match="PATH=VALUES"):
        parse_vary("trial.enrollment", conventional)
    with pytest.raises(SweepError, match="--seed"):
        parse_vary("simulation.seed=1,2", conventional)
    # a stratum by name, and a key the base scenario leaves unset
    assert parse_vary("population.strata.T1N0.share=0.4", ctdna).keys[2] == "T1N0"
    assert parse_vary("screening.max_screened=1000,2000", ctdna).values == (1000, 2000)


def test_unit_set_path_copies_and_creates_blocks():
    d = {"trial": {"enrollment": 10}, "population": {"strata": [{"name": "a", "share": 1}]}}
    e = set_path(d, ("trial", "dropout", "annual"), 0.1)
    assert e["trial"]["dropout"] == {"annual": 0.1} and "dropout" not in d["trial"]
    assert set_path(d, ("population", "strata", "a", "share"), 0.5)["population"]["strata"][0]["share"] == 0.5


def test_unit_get_path_reads_by_index_or_name_and_refuses_what_is_not_there(ctdna):
    d = ctdna.to_dict()
    assert get_path(d, "population.strata.0.share") == d["population"]["strata"][0]["share"]
    assert get_path(d, "population.strata.T1N0.share") == get_path(d, ("population", "strata", "T1N0", "share"))
    assert get_path(d, "arms.treatment.eradication") == ctdna.arms["treatment"].eradication
    assert get_path(d, "trial") == d["trial"]                   # a block, not only a value
    with pytest.raises(SweepError, match="did you mean 'treatment'"):
        get_path(d, "arms.treatmnt.eradication")
    with pytest.raises(SweepError, match="not set"):
        get_path(d, "trial.nonesuch")
    with pytest.raises(ValueError):                             # what callers catching ValueError expect
        get_path(d, "population.strata.9.share")


def test_unit_set_path_takes_a_dotted_path_too():
    d = {"trial": {"enrollment": 10}, "population": {"strata": [{"name": "a", "share": 1}]}}
    assert set_path(d, "population.strata.a.share", 0.5) == set_path(d, ("population", "strata", "a", "share"), 0.5)
    assert get_path(set_path(d, "trial.enrollment", 20), "trial.enrollment") == 20 and d["trial"]["enrollment"] == 10
