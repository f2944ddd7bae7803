"""Unit tier of trialsim/cohort.py: a subset of survivors gathered lazily is
the subset gathered at once, and the uniform columns a population reads."""

from __future__ import annotations

import numpy as np
import pytest

from trialsim import load_scenario
from trialsim.cohort import (N_UNIFORMS, U_CONSENT, U_DEATH, U_REC, U_STRATUM, U_TSD, Survivors, draw_survivors,
                             uniforms_read)
from trialsim.engine import TrialModel

FIELDS = tuple(Survivors.__dataclass_fields__)


def _population(text: str):
    return TrialModel.from_scenario(load_scenario(text=text)).population


CONVENTIONAL = """\
name: conventional
accrual: {rate: 20}
population:
  strata: [{name: all, share: 1, recurrence: {exponential: {median: 24}}}]
arms: {control: {}, treatment: {hazard_ratio: 0.7}}
trial: {enrollment: 40, analysis: {events: 20}}
"""


def test_unit_take_lazily_is_take_field_by_field():
    """take_lazily(idx) holds what take(idx) holds (integer or boolean index),
    gathers a field only when it is read, and takes again like take."""
    s = draw_survivors(_population(CONVENTIONAL), np.random.default_rng(3).random((50, N_UNIFORMS)))
    mask = np.random.default_rng(4).random(50) < 0.4
    for idx in (np.flatnonzero(mask), mask):
        lazy, eager = s.take_lazily(idx), s.take(idx)
        assert isinstance(lazy, Survivors) and len(lazy) == len(eager) == mask.sum()
        assert "tsd" not in vars(lazy)
        np.testing.assert_array_equal(lazy.tsd, eager.tsd)
        assert "tsd" in vars(lazy) and "t_death" not in vars(lazy)
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(lazy, name), getattr(eager, name), err_msg=name)
        again = lazy.take([0, 2])
        assert type(again) is Survivors
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(again, name), getattr(eager, name)[[0, 2]], err_msg=name)
        with pytest.raises(AttributeError):
            lazy.not_a_field


def test_unit_uniforms_read_names_the_columns_a_population_needs():
    """One stratum with a fixed time since diagnosis and no death or MRD needs
    only the recurrence draw (and consent when asked); several strata, a
    drawn time since diagnosis and other-cause death each add their column."""
    one = uniforms_read(_population(CONVENTIONAL), consent=False)
    assert [k for k in range(N_UNIFORMS) if one[k]] == [U_REC]
    assert uniforms_read(_population(CONVENTIONAL))[U_CONSENT]
    more = CONVENTIONAL.replace(
        "strata: [{name: all, share: 1, recurrence: {exponential: {median: 24}}}]",
        "strata: [{name: a, share: 0.5, recurrence: {exponential: {median: 24}}},\n"
        "            {name: b, share: 0.5, time_since_diagnosis: {uniform: [0, 12]},"
        " recurrence: {exponential: {median: 30}}}]\n"
        "  other_cause_death: {exponential: {rate: 0.001}}")
    read = uniforms_read(_population(more), consent=False)
    assert [k for k in range(N_UNIFORMS) if read[k]] == [U_STRATUM, U_TSD, U_REC, U_DEATH]
