"""Cure-mixture trials, the R golden cases (tests/golden/r_survival_*.json),
scipy's multivariate-normal tail of a maximum, and the hypothesis settings
shared by the tests of the kernels beyond the log-rank.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from hypothesis import settings
from scipy import stats

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


TTE = json.loads((GOLDEN / "r_survival_tte.json").read_text())


def simulate_cure(rng, R, n, *, cure_control=0.2, cure_treatment=0.2, hr=1.0, ties=False, censor=(6.0, 48.0)):
    """Cure mixture: a share of each arm never recurs, the rest exponential
    (control median 12); administrative censoring Uniform(censor).  With equal
    cure shares and ``hr = 1`` the arms have the same distribution (the null)."""
    group = rng.random((R, n)) < 0.5
    rate = np.where(group, hr, 1.0) * math.log(2) / 12.0
    t_event = rng.exponential(1.0, (R, n)) / rate
    t_event[rng.random((R, n)) < np.where(group, cure_treatment, cure_control)] = np.inf
    t_cens = rng.uniform(*censor, (R, n))
    time = np.minimum(t_event, t_cens)
    event = t_event <= t_cens
    if ties:
        time = np.round(time)
    return time, event, group


def golden_arrays(case):
    return (np.array(case["time"], float), np.array(case["status"], bool), np.array(case["arm"], bool),
            np.array(case["stratum"], np.int64))


def scipy_max_tail(z_max, corr, two_sided=False):
    mvn = stats.multivariate_normal(np.zeros(len(corr)), corr, abseps=1e-9, releps=1e-9, maxpts=1_000_000)
    if two_sided:
        return 1.0 - mvn.cdf(np.full(len(corr), z_max), lower_limit=np.full(len(corr), -z_max))
    return 1.0 - mvn.cdf(np.full(len(corr), z_max))


PROPERTY_SETTINGS = settings(max_examples=60, deadline=None)
