"""How the cost of a simulation scales, measured, not asserted: Markdown tables for the README.

1. Time per replicate against survivors screened per trial. The ctDNA
   reference scenario (scenarios/ctdna_er_positive.yaml) with its accrual
   rate, enrolment and analysis events all multiplied by one factor, so each
   trial screens about 1k, 3k, 10k, 30k or 100k survivors over about the same
   calendar time (the factor comes from the survivors the unscaled scenario
   screens, measured first). Simulated in this process with one worker (no
   start-up counted); each point's replicates are chosen from short pilots
   so that it takes about --seconds of CPU, or given by --point-replicates.
   Columns: survivors screened and patients randomised per trial
   (measured), replicates, wall and CPU
   seconds of the run, the per-run cost (a run of one replicate: building the
   model, summarising), and the marginal microseconds per screened survivor
   ((run - one-replicate run) / (replicates - 1) / screened per trial; wall
   and CPU), each against the smallest point's.
2. Time per replicate against replicates. The ctDNA scenario at 1k, 10k and
   100k replicates (1M with --max-replicates 1000000: long), each a whole
   `trialsim run` process with all cores (start-up included); columns: wall
   seconds, CPU seconds (all its processes), milliseconds per replicate (wall
   and CPU) and each against the smallest point's, peak memory of the process
   tree (summed RSS sampled from /proc every 0.1 s).

A cost is "at most linear" when its CPU cost per unit grows by no more than
--noise (default 1.3x, the spread of timings on a shared machine) from the
smallest point to any larger one; CPU time is the judge because other load
on a shared machine stretches wall time far more (the wall-time growth is
printed beside it).

Usage, from the repository root:
    .venv/bin/python benchmarks/bench_scaling.py [--seconds 4] [--rounds 1]
        [--screened 1000,3000,10000,30000,100000] [--point-replicates 400,300,70,50,10]
        [--replicates 1000,10000,100000,1000000] [--max-replicates 100000]
        [--skip-screened] [--skip-replicates]

Another script can ``from bench_scaling import main`` and call ``main([...])``,
which returns the rows of both tables as a dict.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trialsim
from run_benchmarks import as_installed, tree_rss_bytes   # this script's folder is on sys.path when run

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TRIALSIM = str(BIN / "trialsim") if (BIN / "trialsim").exists() else shutil.which("trialsim")
CTDNA = "scenarios/ctdna_er_positive.yaml"
SEED = 1


def scaled(base: dict, factor: float) -> trialsim.Scenario:
    """The scenario with accrual rate, enrolment and analysis events times ``factor``."""
    data = json.loads(json.dumps(base))           # deep copy of plain data
    data["accrual"]["rate"] = base["accrual"]["rate"] * factor
    data["trial"]["enrollment"] = max(4, round(base["trial"]["enrollment"] * factor))
    analysis = data["trial"].get("analysis", {})
    if "events" in analysis:
        analysis["events"] = max(2, round(base["trial"]["analysis"]["events"] * factor))
    return trialsim.load_scenario(data)


def timed(scenario: trialsim.Scenario, replicates: int) -> tuple[float, float, dict]:
    """Wall and CPU seconds of one in-process simulation with one worker, and its summary."""
    c, t = time.process_time(), time.perf_counter()
    result = trialsim.simulate(scenario, replicates=replicates, seed=SEED, workers=1)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return wall, cpu, result.summary()


def growth(rows: list[dict], noise: float) -> str:
    """Whether cost per unit stays flat, judged on CPU time (which other load on
    the machine disturbs less than wall time), with the wall-time growth beside it."""
    cpu, wall = max(r["ratio_cpu"] for r in rows), max(r["ratio_wall"] for r in rows)
    verdict = "at most linear" if cpu <= noise else "more than linear"
    return (f"{verdict}: cost per unit at most {cpu:.2f}x the smallest point's in CPU time "
            f"({wall:.2f}x in wall time; noise allowance {noise}x)")


def replicates_for(scenario: trialsim.Scenario, seconds: float) -> int:
    """Replicates that take about ``seconds`` of CPU beyond the per-run cost:
    pilots of 1, 2, 4, ... replicates, doubled until one takes a quarter of
    that; the cost of a replicate is the difference of the last two pilots."""
    reps, prev = 1, timed(scenario, 1)[1]
    while True:
        reps *= 2
        cpu = timed(scenario, reps)[1]
        per = max(cpu - prev, 1e-9) / (reps // 2)
        if cpu >= seconds / 4 or reps >= 100_000:
            return int(min(100_000, max(3, round(seconds / per))))
        prev = cpu


def by_screened(targets: list[int], seconds: float, rounds: int, noise: float,
                fixed: list[int] | None = None) -> list[dict]:
    scenario = trialsim.load_scenario(ROOT / CTDNA)
    base = scenario.to_dict()
    timed(scenario, 2)                                     # warm-up: imports, first calls
    _, _, s = timed(scenario, 20)
    base_screened = s["screened"]["mean"]
    print("## Time per replicate against survivors screened per trial\n")
    print(f"ctDNA reference scenario, accrual rate, enrolment and analysis events scaled together "
          f"(unscaled: {base_screened:,.0f} screened per trial); one worker, in process (no start-up), "
          f"seed {SEED}, median of {rounds}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores. "
          f"Per-run cost: a run of one replicate. µs per screened survivor: the marginal cost, "
          f"(time of the run of all replicates - time of one) / (replicates - 1) / screened per trial; "
          f"ratio: against the smallest point's.\n")
    print("| screened per trial | randomised per trial | replicates | wall s | CPU s | per-run cost, CPU s "
          "| µs per screened survivor (wall) | ratio (wall) | µs (CPU) | ratio (CPU) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows: list[dict] = []
    for k, target in enumerate(targets):
        sc = scaled(base, target / base_screened)
        reps = fixed[k] if fixed else replicates_for(sc, seconds)
        ones, runs = [], []
        for _ in range(rounds):
            ones.append(timed(sc, 1))
            runs.append(timed(sc, reps))
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        summ = runs[0][2]
        screened = summ["screened"]["mean"]
        marginal_wall = statistics.median((r[0] - o[0]) / (reps - 1) for r, o in zip(runs, ones))
        marginal_cpu = statistics.median((r[1] - o[1]) / (reps - 1) for r, o in zip(runs, ones))
        row = {"target": target, "screened": screened, "randomized": summ["randomized"]["mean"],
               "replicates": reps, "wall": wall, "cpu": cpu, "one_cpu": statistics.median(o[1] for o in ones),
               "us_wall": marginal_wall / screened * 1e6, "us_cpu": marginal_cpu / screened * 1e6}
        row["ratio_wall"] = row["us_wall"] / rows[0]["us_wall"] if rows else 1.0
        row["ratio_cpu"] = row["us_cpu"] / rows[0]["us_cpu"] if rows else 1.0
        rows.append(row)
        print(f"| {screened:,.0f} | {row['randomized']:,.0f} | {reps:,} | {wall:.2f} | {cpu:.2f} | {row['one_cpu']:.2f} "
              f"| {row['us_wall']:.2f} | {row['ratio_wall']:.2f} | {row['us_cpu']:.2f} | {row['ratio_cpu']:.2f} |",
              flush=True)
    print(f"\nCost per screened survivor: {growth(rows, noise)}.\n")
    return rows


class Tree:
    """A whole process: wall and CPU seconds (it and its children), peak RSS of
    its process tree; ``error``: the last line of its standard error when it
    failed (a run over trialsim's size limits exits 2 with one message)."""

    def __init__(self, cmd: list[str]):
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, text=True)
            peak = 0
            while proc.poll() is None:
                peak = max(peak, tree_rss_bytes(proc.pid))
                time.sleep(0.1)
            self.wall = time.perf_counter() - t
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            out.seek(0)
            err.seek(0)
            self.stdout = out.read()
            lines = [line.strip() for line in err.read().splitlines() if line.strip()]
        self.error = None if proc.returncode == 0 else (lines[-1] if lines else f"exit status {proc.returncode}")
        self.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        self.peak = peak


def by_replicates(points: list[int], rounds: int, noise: float) -> list[dict]:
    print("## Time per replicate against replicates\n")
    print(f"ctDNA reference scenario, whole `trialsim run -n N --seed {SEED} -f json` processes with all "
          f"{os.cpu_count()} cores (start-up included), median of {rounds}; load average "
          f"{os.getloadavg()[0]:.1f}.\n")
    print("| replicates | wall s | CPU s | ms per replicate (wall) | ratio (wall) | ms (CPU) | ratio (CPU) "
          "| peak memory (process tree) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows: list[dict] = []
    for n in points:
        runs = []
        for _ in range(rounds):
            runs.append(Tree([TRIALSIM, "run", CTDNA, "-n", str(n), "--seed", str(SEED), "-f", "json"]))
            if runs[-1].error:
                break
        if runs[-1].error:
            print(f"| {n:,} | not run: `trialsim run` refused it: {runs[-1].error} | | | | | | |", flush=True)
            continue
        wall = statistics.median(r.wall for r in runs)
        cpu = statistics.median(r.cpu for r in runs)
        peak = max(r.peak for r in runs)
        row = {"replicates": n, "wall": wall, "cpu": cpu, "ms_wall": wall / n * 1e3, "ms_cpu": cpu / n * 1e3,
               "peak_gb": peak / 1e9}
        row["ratio_wall"] = row["ms_wall"] / rows[0]["ms_wall"] if rows else 1.0
        row["ratio_cpu"] = row["ms_cpu"] / rows[0]["ms_cpu"] if rows else 1.0
        rows.append(row)
        print(f"| {n:,} | {wall:.1f} | {cpu:.1f} | {row['ms_wall']:.2f} | {row['ratio_wall']:.2f} "
              f"| {row['ms_cpu']:.2f} | {row['ratio_cpu']:.2f} | {peak / 1e9:.2f} GB |", flush=True)
    if rows:
        print(f"\nCost per replicate: {growth(rows, noise)}.\n")
    return rows


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--screened", default="1000,3000,10000,30000,100000",
                    help="survivors screened per trial, comma-separated (default 1k,3k,10k,30k,100k)")
    ap.add_argument("--seconds", type=float, default=4.0, help="aimed wall seconds per screened point (default 4)")
    ap.add_argument("--point-replicates", default=None,
                    help="replicates of each screened point, comma-separated, one per --screened value "
                         "(default: chosen by pilots to take about --seconds of CPU)")
    ap.add_argument("--replicates", default="1000,10000,100000,1000000",
                    help="replicate counts of the second table (those above --max-replicates are left out)")
    ap.add_argument("--max-replicates", type=int, default=100_000,
                    help="largest replicate count run (default 100,000; 1,000,000 takes long)")
    ap.add_argument("--rounds", type=int, default=1, help="runs per point (median; default 1)")
    ap.add_argument("--noise", type=float, default=1.3, help="growth of cost per unit still called flat (default 1.3)")
    ap.add_argument("--skip-screened", action="store_true")
    ap.add_argument("--skip-replicates", action="store_true")
    args = ap.parse_args(argv)
    try:
        targets = [int(float(x)) for x in args.screened.split(",") if x.strip()]
        points = [int(float(x)) for x in args.replicates.split(",") if x.strip()]
        fixed = [int(x) for x in args.point_replicates.split(",")] if args.point_replicates else None
    except ValueError:
        ap.error("--screened and --replicates take comma-separated numbers")
    points = [n for n in points if n <= args.max_replicates]
    if args.rounds < 1 or args.seconds <= 0 or not targets or not points:
        ap.error("--rounds >= 1, --seconds > 0, and at least one point in each table")
    if fixed is not None and (len(fixed) != len(targets) or min(fixed) < 2):
        ap.error("--point-replicates: one count of at least 2 per --screened value")
    print(f"trialsim {trialsim.__version__}, python {sys.version.split()[0]}, {os.cpu_count()} cores; "
          f"{as_installed()}\n")
    out: dict = {}
    if not args.skip_screened:
        out["screened"] = by_screened(targets, args.seconds, args.rounds, args.noise, fixed)
    if not args.skip_replicates:
        out["replicates"] = by_replicates(points, args.rounds, args.noise)
    return out


if __name__ == "__main__":
    main()
