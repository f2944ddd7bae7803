"""The grid of a sweep (trialsim/sweeps/grid.py).

Unit tier: every combination, the first path slowest; each point
re-validated, with the --vary and the field named.
"""

from __future__ import annotations

import pytest

from trialsim.sweeps import SweepError, build_grid, parse_vary


def test_unit_grid_is_every_combination_first_path_slowest(ctdna):
    grid = build_grid(ctdna, [parse_vary("arms.treatment.eradication=0.1,0.5", ctdna),
                              parse_vary("screening.test.sensitivity=0.8:0.9:3", ctdna)])
    assert [g.values["arms.treatment.eradication"] for g in grid] == [0.1, 0.1, 0.1, 0.5, 0.5, 0.5]
    assert [g.values["screening.test.sensitivity"] for g in grid] == [0.8, 0.85, 0.9] * 2
    assert grid[4].scenario.arms["treatment"].eradication == 0.5
    assert grid[4].scenario.screening.test.sensitivity == 0.85
    assert [g.index for g in grid] == list(range(6))


def test_unit_each_grid_point_is_revalidated_with_the_vary_and_field_named(conventional):
    with pytest.raises(SweepError) as e:
        build_grid(conventional, [parse_vary("trial.enrollment=100,600", conventional)])
    msg = str(e.value)
    assert msg.startswith("--vary trial.enrollment=100,600") and "trial.analysis.events" in msg
    with pytest.raises(SweepError, match="did you mean 'enrollment'"):
        build_grid(conventional, [parse_vary("trial.enrolment=100,200", conventional)])


def test_unit_out_of_range_value_names_the_field(ctdna):
    with pytest.raises(SweepError) as e:
        build_grid(ctdna, [parse_vary("screening.test.sensitivity=0.9,1.2", ctdna)])
    assert "--vary screening.test.sensitivity=0.9,1.2" in str(e.value)
    assert "screening.test.sensitivity: " in str(e.value) and "1.2" in str(e.value)


def test_unit_a_grid_point_too_large_names_its_vary_in_short(conventional):
    from trialsim.sweeps.grid import check_grid_size

    grid = build_grid(conventional, [parse_vary("trial.enrollment=300,1e308", conventional)])
    with pytest.raises(SweepError) as info:
        check_grid_size(grid, 2)
    assert str(info.value).startswith("--vary trial.enrollment: at trial.enrollment=1e+308: trial.enrollment: an "
                                      "enrollment of 1e+308 patients per simulated trial exceeds the limit")
