"""Allocation to several arms: exact ratios in permuted blocks, the two-arm
assignment unchanged."""

import numpy as np

from trialsim.intervention import allocation_pattern, assign_arms, assign_arms_padded


def test_unit_three_arm_blocks_hold_the_ratio():
    u = np.random.default_rng(11).random(400)
    arms = assign_arms(u, 2, 1, 1)
    blocks = arms.reshape(100, 4)
    assert np.all((blocks == 0).sum(axis=1) == 2)
    assert np.all((blocks == 1).sum(axis=1) == 1) and np.all((blocks == 2).sum(axis=1) == 1)
    padded = assign_arms_padded(u.reshape(4, 100), 2, 1, 1)
    for r in range(4):
        np.testing.assert_array_equal(padded[r], assign_arms(u.reshape(4, 100)[r], 2, 1, 1))


def test_unit_two_arm_assignment_is_the_treatment_indicator():
    u = np.random.default_rng(12).random(300)
    arms = assign_arms(u, 1, 2)
    assert set(np.unique(arms)) == {0, 1} and arms.sum() == 200
    np.testing.assert_array_equal(allocation_pattern(1, 2), [0, 1, 1])
    # simple randomisation: the treatment arms take the low end of [0, 1), in order
    arms = assign_arms(np.array([0.05, 0.15, 0.35, 0.9]), 0.5, 0.25, 0.25)
    np.testing.assert_array_equal(arms, [1, 1, 2, 0])
    np.testing.assert_array_equal(assign_arms(np.array([0.1, 0.5, 0.9]), 1.5, 1.5), [1, 0, 0])


def test_unit_an_incomplete_last_block_keeps_the_allocation():
    """2:1 with 3m + 1 and 3m + 2 patients: every patient of the incomplete
    last block is allocated to treatment with probability 2/3 (within four
    Monte Carlo SE over 30,000 trials); before, the first of them always went
    to control."""
    rng = np.random.default_rng(21)
    n_trials = 30_000
    se = np.sqrt(2 / 9 / n_trials)
    for n in (19, 20):
        arms = assign_arms_padded(rng.random((n_trials, n)), 1, 2)
        for pos in range(18, n):
            assert abs(arms[:, pos].mean() - 2 / 3) < 4 * se, (n, pos, arms[:, pos].mean())
        assert np.all((arms[:, :18] == 1).sum(axis=1) == 12)        # complete blocks stay exact
    # the padded form: padding (>= 1) after each row's patients changes nothing for them
    u = rng.random((3, 10))
    padded = np.where(np.arange(10) < np.array([[4], [7], [10]]), u, 2.0)
    out = assign_arms_padded(padded, 1, 1, 1)
    for r, n in enumerate((4, 7, 10)):
        np.testing.assert_array_equal(out[r, :n], assign_arms(u[r, :n], 1, 1, 1))


def test_unit_apply_arm_without_windows_gives_the_same_recurrences():
    """windows=False (the caller reads no MRD window): the same recurrence times,
    the windows left None, for an arm with a hazard ratio only."""
    from trialsim import load_scenario
    from trialsim.cohort import N_UNIFORMS, draw_survivors
    from trialsim.engine import TrialModel
    from trialsim.intervention import ArmModel, apply_arm

    text = ("name: c\naccrual: {rate: 20}\npopulation:\n"
            "  strata: [{name: all, share: 1, time_since_diagnosis: {uniform: [0, 24]},"
            " recurrence: {weibull: {scale: 30, shape: 1.4}}}]\n"
            "arms: {control: {}, treatment: {hazard_ratio: 0.7}}\n"
            "trial: {enrollment: 40, analysis: {events: 20}}\n")
    pop = TrialModel.from_scenario(load_scenario(text=text)).population
    rng = np.random.default_rng(8)
    s = draw_survivors(pop, rng.random((300, N_UNIFORMS)))
    since = rng.uniform(0, 3, 300)
    arm = ArmModel("treatment", 1.0, 0.0, 0.7, 1.5)
    full = apply_arm(pop, s, since, arm, rng.random(300))
    bare = apply_arm(pop, s.take_lazily(np.arange(300)), since, arm, rng.random(300), windows=False)
    np.testing.assert_array_equal(bare.t_rec, full.t_rec)
    assert bare.mrd_start is None and bare.mrd_end is None and full.mrd_start is not None
    assert not np.array_equal(full.t_rec, s.t_rec)      # the arm's effect changed recurrences
