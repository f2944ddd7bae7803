"""Benchmark: vectorised log-rank (trialsim.analysis.logrank) vs lifelines.

Simulates R two-arm trials of n patients (exponential event times, random
censoring), times ``logrank`` on the whole padded batch, times lifelines'
``logrank_test`` called once per replicate on a subsample, checks that the
chi-square statistics agree on that subsample, and prints per-replicate times
and the speed ratio against the target (200x by default).

    .venv/bin/python benchmarks/bench_logrank.py [--replicates 10000] [--patients 500]

Another script can ``from bench_logrank import main`` and call
``main([...])``, which returns the figures as a dict.  Exit status 0 on PASS,
1 on FAIL (too slow, or chi2 disagrees with lifelines).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time

import numpy as np

try:
    from trialsim.analysis import logrank
except ImportError:  # run from a checkout without an installed package
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
    from trialsim.analysis import logrank

TARGET_RATIO = 200.0
CHI2_RTOL = 1e-10


def simulate(rng: np.random.Generator, replicates: int, patients: int, *, hazard_ratio: float = 0.75):
    """Two arms 1:1 at random; control median 24 months, treatment hazard
    ratio ``hazard_ratio``; censoring: administrative Uniform(12, 60) months
    and exponential dropout (5% a year)."""
    shape = (replicates, patients)
    group = rng.random(shape) < 0.5
    rate = np.where(group, hazard_ratio, 1.0) * (math.log(2) / 24.0)
    t_event = rng.exponential(1.0, shape) / rate
    t_admin = rng.uniform(12.0, 60.0, shape)
    t_drop = rng.exponential(1.0, shape) / (-math.log(0.95) / 12.0)
    t_cens = np.minimum(t_admin, t_drop)
    time_ = np.minimum(t_event, t_cens)
    event = t_event <= t_cens
    return time_, event, group


def best_of(fn, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replicates", type=int, default=10_000, help="R, replicates in the batch")
    p.add_argument("--patients", type=int, default=500, help="n, patients per replicate")
    p.add_argument(
        "--lifelines-sample",
        type=int,
        default=300,
        help="replicates timed with lifelines (one call each) and checked",
    )
    p.add_argument("--repeats", type=int, default=3, help="timings: best of this many")
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--target", type=float, default=TARGET_RATIO, help="required speed ratio")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    """Run the benchmark, print a report, return the figures."""
    from lifelines.statistics import logrank_test

    args = parse_args(argv)
    R, n = args.replicates, args.patients
    sample = max(1, min(args.lifelines_sample, R))
    rng = np.random.default_rng(args.seed)
    time_, event, group = simulate(rng, R, n)

    # trialsim: the whole batch at once
    logrank(time_[:2], event[:2], group[:2])  # warm-up (imports, first call)
    result = None

    def run_trialsim():
        nonlocal result
        result = logrank(time_, event, group)

    t_trialsim = best_of(run_trialsim, args.repeats)

    # lifelines: one call per replicate on a subsample (inputs split by arm
    # beforehand, so only lifelines itself is timed)
    rows = np.sort(rng.choice(R, sample, replace=False))
    split = [
        (time_[r, group[r]], time_[r, ~group[r]], event[r, group[r]], event[r, ~group[r]])
        for r in rows
    ]
    chi2_ll = np.empty(sample)

    def run_lifelines():
        for i, (t1, t0, e1, e0) in enumerate(split):
            chi2_ll[i] = logrank_test(t1, t0, e1, e0).test_statistic

    t_lifelines = best_of(run_lifelines, args.repeats)

    chi2 = result.chi2[rows]
    rel = np.abs(chi2 - chi2_ll) / np.maximum(np.abs(chi2_ll), 1e-300)
    max_rel = float(rel.max())
    agree = bool(max_rel <= CHI2_RTOL)

    per_rep_trialsim = t_trialsim / R
    per_rep_lifelines = t_lifelines / sample
    ratio = per_rep_lifelines / per_rep_trialsim
    passed = bool(agree and ratio >= args.target)

    figures = {
        "benchmark": "logrank",
        "replicates": R,
        "patients": n,
        "lifelines_sample": sample,
        "repeats": args.repeats,
        "seed": args.seed,
        "trialsim_batch_seconds": t_trialsim,
        "trialsim_per_replicate_us": per_rep_trialsim * 1e6,
        "lifelines_sample_seconds": t_lifelines,
        "lifelines_per_replicate_us": per_rep_lifelines * 1e6,
        "speed_ratio": ratio,
        "target_ratio": args.target,
        "chi2_max_rel_diff": max_rel,
        "chi2_agree": agree,
        "mean_events": float(result.events.mean()),
        "passed": passed,
    }

    print(f"log-rank benchmark: R={R} replicates x n={n} patients (seed {args.seed})")
    print(f"  python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print(f"  mean events per replicate: {figures['mean_events']:.1f}")
    print(
        f"  trialsim.analysis.logrank, whole batch:   {t_trialsim:9.4f} s  "
        f"= {per_rep_trialsim * 1e6:10.2f} us / replicate  (best of {args.repeats})"
    )
    print(
        f"  lifelines logrank_test, {sample} replicates: {t_lifelines:9.4f} s  "
        f"= {per_rep_lifelines * 1e6:10.2f} us / replicate  (best of {args.repeats})"
    )
    print(f"  chi2 vs lifelines on those {sample}: max rel diff {max_rel:.2e} "
          f"({'agree' if agree else 'DISAGREE'}, tolerance {CHI2_RTOL:g})")
    print(f"  speed ratio: {ratio:,.0f}x  (target >= {args.target:g}x)")
    print(f"  {'PASS' if passed else 'FAIL'}")
    return figures


if __name__ == "__main__":
    sys.exit(0 if main()["passed"] else 1)
