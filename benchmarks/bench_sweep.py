"""Performance of sweeps and the sample-size search, measured, not asserted.

(g) a 10-point power curve of the ctDNA reference scenario
    (`--vary arms.treatment.eradication=0:0.45:10`), 1,000 replicates a point,
    all cores, as a whole `trialsim sweep` process. Target: < 60 s.
(h) `trialsim size scenarios/conventional_logrank.yaml` (10,000 replicates at
    the answer, solving trial.enrollment, and again trial.analysis.events) as a
    whole process, against one whole `trialsim run` of the design at the answer
    (the answer.yaml it writes, same replicates and seed), run alternately.
    Target: ratio <= 3.

These machines are shared and noisy: figures are medians of --rounds runs.

Usage, from the repository root:
    .venv/bin/python benchmarks/bench_sweep.py [--rounds 3] [--skip-curve]
Another script can ``from bench_sweep import main`` and call ``main([...])``,
which returns the figures as a dict.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TRIALSIM = str(BIN / "trialsim") if (BIN / "trialsim").exists() else shutil.which("trialsim")


def wall(cmd: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return time.perf_counter() - t, proc.stdout


def bench_curve(rounds: int) -> dict:
    cmd = [TRIALSIM, "sweep", "scenarios/ctdna_er_positive.yaml", "--vary", "arms.treatment.eradication=0:0.45:10",
           "-n", "1000", "--seed", "1", "-f", "json"]
    times, rows = [], None
    for _ in range(rounds):
        t, out = wall(cmd)
        times.append(t)
        rows = json.loads(out)
    t = statistics.median(times)
    powers = ", ".join(f"{r['power']:.3f}" for r in rows)
    print(f"(g) ctDNA power curve, 10 points x 1,000 replicates, all cores ({os.cpu_count()}): {t:.1f} s whole "
          f"process (median of {rounds}; target < 60 s: {'PASS' if t < 60 else 'FAIL'})")
    print(f"    powers along eradication 0..0.45: {powers}")
    return {"seconds": t, "times": times, "powers": [r["power"] for r in rows]}


def bench_size(rounds: int, solve: str) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench_size_"))
    try:
        size_cmd = [TRIALSIM, "size", "scenarios/conventional_logrank.yaml", "--solve", solve, "--seed", "1",
                    "-f", "json", "--out", str(tmp)]
        run_cmd = [TRIALSIM, "run", str(tmp / "answer.yaml"), "-f", "json"]
        sizes, runs, answer = [], [], None
        for _ in range(rounds):   # alternate, so drifts in machine load hit both
            t, out = wall(size_cmd)
            sizes.append(t)
            answer = json.loads(out)
            t, out = wall(run_cmd)
            runs.append(t)
            assert json.loads(out)["power"] == answer["power"], "the run at the answer must reproduce its power"
        s, r = statistics.median(sizes), statistics.median(runs)
        ratio = s / r
        print(f"(h) trialsim size, conventional design, solve {solve}: answer {answer['value']} "
              f"(power {answer['power']:.4f} ± {answer['power_mcse']:.4f}; "
              f"{answer['simulated_trials']:,} trials simulated = "
              f"{answer['simulated_trials'] / answer['replicates']:.1f}x the run at the answer)")
        print(f"    size {s:.2f} s, run at the answer {r:.2f} s (whole processes, median of {rounds}, alternating): "
              f"ratio {ratio:.2f} (target <= 3: {'PASS' if ratio <= 3 else 'FAIL'})")
        return {"solve": solve, "value": answer["value"], "size_seconds": s, "run_seconds": r, "ratio": ratio,
                "simulated_over_answer": answer["simulated_trials"] / answer["replicates"],
                "size_times": sizes, "run_times": runs}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip-curve", action="store_true", help="skip (e), the longest")
    args = ap.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    res = {}
    if not args.skip_curve:
        res["e"] = bench_curve(args.rounds)
    res["f_enrollment"] = bench_size(args.rounds, "trial.enrollment")
    res["f_events"] = bench_size(args.rounds, "trial.analysis.events")
    return res


if __name__ == "__main__":
    main()
