"""The textbook log-rank by a loop over event times, two-arm exponential
trials, and the hand-worked example: shared by the log-rank, risk-set and
result tests.
"""

from __future__ import annotations

import math

import numpy as np

from trialsim.analysis import LogrankResult


def reference_logrank(time, event, group):
    """Plain, loop-per-event-time log-rank sums for ONE replicate.

    The textbook definition, written independently of the vectorised kernel:
    returns (D, O1, E1, V) with the (n - d)/(n - 1) tie correction and the
    censored at a tied time counted at risk.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    group = np.asarray(group, dtype=bool)
    o1 = e1 = v = 0.0
    d_total = 0
    for t in sorted(set(time[event].tolist())):
        at_risk = time >= t
        n = int(at_risk.sum())
        n1 = int((at_risk & group).sum())
        here = (time == t) & event
        d = int(here.sum())
        d_total += d
        o1 += int((here & group).sum())
        e1 += d * n1 / n
        if n > 1:
            v += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    return d_total, o1, e1, v


def assert_results_equal(a: LogrankResult, b: LogrankResult):
    for name in ("z", "observed", "expected", "variance", "events", "hazard_ratio"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def simulate_two_arm(rng, R, n, *, hr=1.0, p_treat=0.5, censor_max=30.0, ties=False):
    """Exponential times (control median 10), uniform administrative censoring."""
    group = rng.random((R, n)) < p_treat
    rate = np.where(group, hr, 1.0) * math.log(2) / 10.0
    t_event = rng.exponential(1.0, (R, n)) / rate
    t_cens = rng.uniform(0.0, censor_max, (R, n))
    time = np.minimum(t_event, t_cens)
    event = t_event <= t_cens
    if ties:
        time = np.round(time)
    return time, event, group


# Hand-worked example.  Control (group 0): times 1 (event), 2 (event),
# 3 (censored), 4 (event); treatment (group 1): 2 (event), 3 (event),
# 5 (censored).  At each event time t: n at risk (time >= t), n1 treated at
# risk, d events; E1 += d*n1/n; V += d*(n1/n)*(1-n1/n)*(n-d)/(n-1).
#   t=1: n=7, n1=3, d=1:  E1 += 3/7;  V += (3/7)(4/7)(6/6) = 12/49
#   t=2: n=6, n1=3, d=2 (one per arm, a tie):
#                          E1 += 2*3/6 = 1;  V += 2*(1/2)(1/2)*(4/5) = 2/5
#   t=3: n=4 (the control censored at 3 is still at risk), n1=2, d=1:
#                          E1 += 1/2;  V += 1/4
#   t=4: n=2, n1=1, d=1:  E1 += 1/2;  V += 1/4
# O1 = 2 (t=2, t=3), O0 = 3, D = 5; E1 = 17/7, E0 = 5 - 17/7 = 18/7;
# V = 12/49 + 2/5 + 1/2 = 561/490;  z = (E1 - O1)/sqrt(V) = (3/7)/sqrt(561/490)
# chi2 = (9/49)/(561/490) = 90/561;  HR = exp((O1 - E1)/V) = exp(-210/561).
HAND_TIME = [1, 2, 3, 4, 2, 3, 5]


HAND_EVENT = [1, 1, 0, 1, 1, 1, 0]


HAND_GROUP = [0, 0, 0, 0, 1, 1, 1]
