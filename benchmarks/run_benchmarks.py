"""Performance budgets of trialsim, measured, not asserted.

Prints figures and ratios against a peer measured in the same run; these
machines are shared and noisy, so nothing here is a timed test.

(a) 10,000 replicates of the conventional design (HR 0.7, control median 24,
    500 patients over 24 months, 247 events, one-sided alpha 0.025) as a whole
    `trialsim run` process, against rpact's getSimulationSurvival for the same
    design as a whole `Rscript` process, run alternately. Target: ratio <= 1.
(b) the log-rank kernel per replicate against lifelines' logrank_test called
    per replicate. Target: >= 200x.
(c) the ctDNA reference scenario at 1,000 replicates on one core (one worker,
    pinned with taskset when available). Target: < 10 s.
(d) 100,000 replicates of the ctDNA scenario: peak memory of the whole process
    tree (parent and workers, summed RSS sampled from /proc). Target: < 1.5 GB.

Usage, from the repository root:
    .venv/bin/python benchmarks/run_benchmarks.py [--rounds 3] [--skip-memory] [--memory-replicates 100000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TRIALSIM = str(BIN / "trialsim") if (BIN / "trialsim").exists() else shutil.which("trialsim")


def wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def tree_rss_bytes(pid: int) -> int:
    """Summed resident memory of a process and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/statm") as f:
                rss[int(entry)] = int(f.read().split()[1]) * page
        except OSError:
            continue
        children.setdefault(int(parts[1]), []).append(int(entry))
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total


def peak_tree_memory(cmd: list[str]) -> tuple[float, int]:
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    t = time.perf_counter()
    while proc.poll() is None:
        peak = max(peak, tree_rss_bytes(proc.pid))
        time.sleep(0.1)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
    return time.perf_counter() - t, peak


def bench_a(rounds: int) -> dict:
    scenario = "scenarios/conventional_logrank.yaml"
    rscript = shutil.which("Rscript")
    ours = {"default": [], "1": []}
    theirs = []
    for _ in range(rounds):  # alternate, so drifts in machine load hit both
        ours["default"].append(wall([TRIALSIM, "run", scenario, "-n", "10000", "--seed", "1", "-f", "json"]))
        ours["1"].append(wall([TRIALSIM, "run", scenario, "-n", "10000", "--seed", "1", "-f", "json", "-w", "1"]))
        if rscript:
            theirs.append(wall([rscript, "benchmarks/rpact_conventional.R"]))
    out = {k: statistics.median(v) for k, v in ours.items()}
    print("(a) conventional design, 10,000 replicates, whole processes (median of "
          f"{rounds}, alternating)")
    print(f"    trialsim run, all cores ({os.cpu_count()})   {out['default']:7.2f} s")
    print(f"    trialsim run, --workers 1       {out['1']:7.2f} s")
    if theirs:
        r = statistics.median(theirs)
        print(f"    Rscript rpact getSimulationSurvival {r:7.2f} s")
        print(f"    ratio trialsim/rpact: all cores {out['default'] / r:.2f}, one worker {out['1'] / r:.2f}"
              f"   (target <= 1: {'PASS' if out['default'] / r <= 1 else 'FAIL'})")
        out["rpact"] = r
    else:
        print("    Rscript not found: install r-base-core and r-cran-rpact to compare")
    return out


def bench_b() -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_logrank

    print("(b) log-rank kernel vs lifelines.logrank_test per replicate")
    return bench_logrank.main([])


def bench_c(rounds: int) -> dict:
    cmd = [TRIALSIM, "run", "scenarios/ctdna_er_positive.yaml", "-n", "1000", "--seed", "1", "-w", "1", "-f", "json"]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0"] + cmd
    times = [wall(cmd) for _ in range(rounds)]
    t = statistics.median(times)
    print(f"(c) ctDNA reference scenario, 1,000 replicates, one core: {t:.2f} s whole process "
          f"(median of {rounds}; target < 10 s: {'PASS' if t < 10 else 'FAIL'})")
    return {"seconds": t}


def bench_d(replicates: int) -> dict:
    cmd = [TRIALSIM, "run", "scenarios/ctdna_er_positive.yaml", "-n", str(replicates), "--seed", "1", "-f", "json"]
    secs, peak = peak_tree_memory(cmd)
    gb = peak / 1e9
    print(f"(d) ctDNA reference scenario, {replicates:,} replicates, all cores: peak memory {gb:.2f} GB "
          f"(whole process tree) in {secs:.0f} s (target < 1.5 GB: {'PASS' if gb < 1.5 else 'FAIL'})")
    return {"peak_gb": gb, "seconds": secs}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--memory-replicates", type=int, default=100_000)
    args = ap.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    res = {"a": bench_a(args.rounds), "b": bench_b(), "c": bench_c(args.rounds)}
    if not args.skip_memory:
        res["d"] = bench_d(args.memory_replicates)
    return res


if __name__ == "__main__":
    main()
