"""Benchmark: vectorised log-rank (trialsim.analysis.logrank) vs lifelines.

Simulates R two-arm trials of n patients (exponential event times, random
censoring), times ``logrank`` on the whole padded batch, times lifelines'
``logrank_test`` called once per replicate on a subsample, checks that the
chi-square statistics agree on that subsample, and prints per-replicate times
and the speed ratio against the target (200x by default).

Then (unless ``--skip-kernels``) it times every other kernel of
trialsim.analysis on the same batch -- stratified log-rank, FH(0,1),
MaxCombo, RMST, milestone survival, Cox (Breslow and Efron), Fisher's exact
test and CMH -- against its per-replicate equivalent where one exists
(lifelines' FH ``logrank_test``, ``CoxPHFitter``, ``KaplanMeierFitter`` with
``restricted_mean_survival_time``, scipy's ``multivariate_normal.cdf`` for the
MaxCombo p-value, ``scipy.stats.fisher_exact``), on a subsample.  Those
figures are printed, not asserted: PASS/FAIL is the log-rank's alone.

    .venv/bin/python benchmarks/bench_logrank.py [--replicates 10000] [--patients 500] [--skip-kernels]

Another script can ``from bench_logrank import main`` and call
``main([...])``, which returns the figures as a dict (the kernels' under
``"kernels"``).  Exit status 0 on PASS, 1 on FAIL (too slow, or chi2
disagrees with lifelines).
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
    from trialsim import analysis
except ImportError:  # run from a checkout without an installed package
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
    from trialsim import analysis
logrank = analysis.logrank

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
    p.add_argument("--skip-kernels", action="store_true", help="time the log-rank only")
    p.add_argument(
        "--peer-sample",
        type=int,
        default=100,
        help="replicates timed with the per-replicate peers of the other kernels",
    )
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
    if not args.skip_kernels:
        figures["kernels"] = bench_kernels(time_, event, group, rng, args)
    return figures


def _per_replicate_peers(time_, event, group, rows):
    """Per-replicate equivalents (None where there is none), each a function
    timing one call per replicate in ``rows``."""
    import pandas as pd
    import warnings
    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.statistics import logrank_test
    from lifelines.utils import restricted_mean_survival_time
    from scipy import stats

    split = [(time_[r, group[r]], time_[r, ~group[r]], event[r, group[r]], event[r, ~group[r]]) for r in rows]
    frames = [pd.DataFrame({"T": time_[r], "E": event[r].astype(int), "x": group[r].astype(float)}) for r in rows]

    def fh():
        for t1, t0, e1, e0 in split:
            logrank_test(t1, t0, e1, e0, weightings="fleming-harrington", p=0, q=1)

    def km_rmst():
        for t1, t0, e1, e0 in split:
            for t, e in ((t1, e1), (t0, e0)):
                restricted_mean_survival_time(KaplanMeierFitter().fit(t, e), t=36.0)

    def km_milestone():
        for t1, t0, e1, e0 in split:
            for t, e in ((t1, e1), (t0, e0)):
                kmf = KaplanMeierFitter().fit(t, e)
                kmf.survival_function_at_times(24.0)
                kmf._cumulative_sq_.loc[:24.0]

    def coxph():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for df in frames:
                CoxPHFitter().fit(df, "T", "E")

    return {"fh(0,1)": ("lifelines logrank_test(weightings='fleming-harrington')", fh),
            "rmst(36)": ("lifelines KaplanMeierFitter + restricted_mean_survival_time, 2 arms", km_rmst),
            "milestone(24)": ("lifelines KaplanMeierFitter, 2 arms", km_milestone),
            "cox_efron": ("lifelines CoxPHFitter (Efron)", coxph),
            "_stats": stats}


def bench_kernels(time_, event, group, rng, args) -> dict:
    """Time every kernel on the whole batch and its peer per replicate."""
    R, n = time_.shape
    strata = rng.integers(0, 3, time_.shape)
    kernels = {
        "logrank+strata(3)": lambda: analysis.logrank(time_, event, group, strata=strata),
        "fh(0,1)": lambda: analysis.weighted_logrank(time_, event, group, rho=0, gamma=1),
        "maxcombo": lambda: analysis.maxcombo(time_, event, group),
        "rmst(36)": lambda: analysis.rmst_difference(time_, event, group, horizon=36.0),
        "milestone(24)": lambda: analysis.milestone_difference(time_, event, group, at=24.0),
        "cox_breslow": lambda: analysis.cox(time_, event, group),
        "cox_efron": lambda: analysis.cox(time_, event, group, ties="efron"),
    }
    s_t = rng.binomial(100, 0.35, R)
    s_c = rng.binomial(100, 0.25, R)
    k_t = rng.binomial(40, 0.35, (R, 3))
    k_c = rng.binomial(40, 0.25, (R, 3))
    kernels["fisher_exact"] = lambda: analysis.fisher_exact(s_t, 100, s_c, 100, alternative="two-sided")
    kernels["cmh(3 strata)"] = lambda: analysis.cmh(k_t, 40, k_c, 40)

    sample = max(1, min(args.peer_sample, R))
    rows = np.sort(rng.choice(R, sample, replace=False))
    peers = _per_replicate_peers(time_, event, group, rows)
    stats = peers.pop("_stats")
    results = {}

    mc_rows = rows[:10]  # scipy takes ~1 s a replicate on the singular default correlation

    def maxcombo_scipy():
        for r in mc_rows:
            mvn = stats.multivariate_normal(np.zeros(4), mc.correlation[r], allow_singular=True)
            mvn.cdf(np.full(4, mc.z_max[r]))

    def fisher_scipy():
        for r in rows:
            stats.fisher_exact([[s_t[r], 100 - s_t[r]], [s_c[r], 100 - s_c[r]]])

    mc = analysis.maxcombo(time_[:2], event[:2], group[:2])  # warm-up
    print(f"other kernels, whole batch of R={R} (best of {args.repeats}) vs per-replicate peers "
          f"on {sample} replicates (best of {args.repeats}):")
    for name, fn in kernels.items():
        t = best_of(fn, args.repeats)
        row = {"batch_seconds": t, "per_replicate_us": t / R * 1e6}
        peer = peers.get(name)
        n_peer = sample
        if name == "maxcombo":
            mc = fn()
            peer = ("scipy multivariate_normal.cdf (p-value only)", maxcombo_scipy)
            n_peer = mc_rows.size
        elif name == "fisher_exact":
            peer = ("scipy.stats.fisher_exact", fisher_scipy)
        line = f"  {name:18s} {t:8.3f} s = {t / R * 1e6:9.2f} us / replicate"
        if peer is not None:
            label, pfn = peer
            tp = best_of(pfn, 1 if name == "maxcombo" else args.repeats) / n_peer
            row.update(peer=label, peer_per_replicate_us=tp * 1e6, speed_ratio=tp / (t / R))
            line += f"   | {label}: {tp * 1e6:10.1f} us / replicate, ratio {tp / (t / R):,.0f}x"
        print(line)
        results[name] = row
    return results


if __name__ == "__main__":
    sys.exit(0 if main()["passed"] else 1)
