"""A million replicates on a Dask cluster with bounded memory, measured, not asserted.

Starts a distributed.LocalCluster on this machine (2 worker processes, 1
thread each) and runs `trialsim run scenarios/ctdna_er_positive.yaml -n N
--seed 1 --scheduler ADDRESS -f json` as a whole process against it: the
client. Every 0.1 s the resident set size (VmRSS in /proc/PID/status) of the
client and of each worker process is sampled. Printed: the wall time of the
client process, the client's peak RSS, the workers' peak RSS, the CPU time
the workers spent on the run (user + system, from /proc/PID/stat; per
replicate too), and the run's power with its Monte Carlo SE.

The client keeps the per-replicate table (one row per simulated trial: the
summary's medians and `--out` need it) and nothing else: no patient-level
data, no finished futures, a window of three chunks per worker thread in
flight, each finished chunk copied into the table's arrays (allocated once,
at the first chunk) and dropped. So its peak is a
fixed overhead (Python, numpy, Dask's client) plus the table, whose size is
printed beside it (bytes per replicate measured on a small run in this
process), and the peak less the table stays nearly flat from N/10 to N.
The second run (--compare, default N/10) shows it.

The client's memory depends on the number of rows and columns of that table,
not on what a replicate costs the workers: --small-trial runs the scenario
with 6 patients randomised and the analysis at 3 events instead, the same 100
columns and the same chunks (63 replicates each) at a fraction of the
workers' time (1.46 ms of CPU a replicate on a loaded machine). --scenario runs another scenario file.

These machines are shared and noisy: wall times are single runs.

Usage, from the repository root:
    .venv/bin/python benchmarks/bench_dask.py [--replicates 1000000] [--compare 100000]
        [--scenario scenarios/ctdna_er_positive.yaml] [--small-trial]
Another script can ``from bench_dask import main`` and call ``main([...])``,
which returns the figures as a dict.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TRIALSIM = str(BIN / "trialsim") if (BIN / "trialsim").exists() else shutil.which("trialsim")
SCENARIO = "scenarios/ctdna_er_positive.yaml"
MB = 1024 * 1024


def rss(pid: int) -> int:
    """Resident set size of a process in bytes (0 once it has ended)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


class Sampler:
    """Peak RSS of some processes, sampled every ``every`` seconds in a thread."""

    def __init__(self, pids: dict[str, int], every: float = 0.1):
        self.pids, self.every = pids, every
        self.peak = {name: 0 for name in pids}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                self.peak[name] = max(self.peak[name], rss(pid))
            self.samples += 1
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (0 once it has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime, stime


def small_trial(scenario: str, folder: str) -> str:
    """The scenario with 6 patients randomised and the analysis at 3 events,
    written to ``folder``: the same columns and chunks, cheap replicates."""
    import yaml  # deferred: only --small-trial writes a scenario

    import trialsim

    data = trialsim.load_scenario(ROOT / scenario).to_dict()
    data["trial"]["enrollment"] = 6
    data["trial"]["analysis"]["events"] = 3
    path = Path(folder) / ("small_trial_" + Path(scenario).name)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def table_bytes_per_replicate(scenario: str) -> float:
    """Bytes of the per-replicate table (and counts by visit) per simulated trial of the scenario."""
    import numpy as np  # deferred: only this measurement needs numpy and the engine in this process

    import trialsim

    res = trialsim.simulate(trialsim.load_scenario(ROOT / scenario), replicates=40, seed=1, workers=1)
    n = sum(np.asarray(v).nbytes for v in res.table.values())
    n += sum(v.nbytes for v in (res.by_visit or {}).values())
    return n / 40


def one_run(address: str, workers: dict[str, int], replicates: int, scenario: str = SCENARIO) -> dict:
    cmd = [TRIALSIM, "run", scenario, "-n", str(replicates), "--seed", "1", "--scheduler", address, "-f", "json"]
    cpu0 = sum(cpu_seconds(pid) for pid in workers.values())
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with Sampler({"client": proc.pid, **workers}) as sampler:
        out, err = proc.communicate()
    seconds = time.perf_counter() - t
    worker_cpu = sum(cpu_seconds(pid) for pid in workers.values()) - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"trialsim run failed ({proc.returncode}):\n{err}")
    s = json.loads(out)
    s = s.get("summary", s)
    worker_peak = max(sampler.peak[w] for w in workers)
    return {"replicates": replicates, "seconds": seconds, "client_peak": sampler.peak["client"],
            "worker_peak": worker_peak, "worker_cpu": worker_cpu, "worker_peaks": {w: sampler.peak[w] for w in workers},
            "power": s["power"], "power_mcse": s["power_mcse"], "samples": sampler.samples}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=1_000_000, help="simulated trials (default 1,000,000)")
    ap.add_argument("--compare", type=int, default=None,
                    help="a second, smaller run for the client's memory (default: a tenth; 0: none)")
    ap.add_argument("--scenario", default=SCENARIO, help=f"scenario file (default {SCENARIO})")
    ap.add_argument("--small-trial", action="store_true",
                    help="the scenario with 6 randomised and 3 events: its columns and chunks, cheap replicates")
    args = ap.parse_args(argv)
    compare = args.replicates // 10 if args.compare is None else args.compare
    import distributed  # deferred: Dask is optional (trialsim[dask]); --help never needs it

    with tempfile.TemporaryDirectory() as tmp:
        scenario = small_trial(args.scenario, tmp) if args.small_trial else args.scenario
        return _measure(args.replicates, compare, scenario, distributed)


def _measure(replicates: int, compare: int, scenario: str, distributed) -> dict:
    per_rep = table_bytes_per_replicate(scenario)
    sizes = [n for n in (compare, replicates) if n > 0]
    figures = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        workers = {f"worker {i + 1}": pid for i, pid in enumerate(pids.values())}
        print(f"LocalCluster {cluster.scheduler_address}: 2 worker processes x 1 thread (pids "
              f"{', '.join(str(p) for p in workers.values())}); {scenario}, seed 1; RSS sampled every 0.1 s")
        for n in sizes:
            r = one_run(cluster.scheduler_address, workers, n, scenario)
            r["table_bytes"] = per_rep * n
            figures.append(r)
            print(f"  {n:>9,} replicates: {r['seconds']:8.1f} s wall (client process); client peak RSS "
                  f"{r['client_peak'] / MB:7.1f} MB (per-replicate table {r['table_bytes'] / MB:6.1f} MB, "
                  f"peak less table {(r['client_peak'] - r['table_bytes']) / MB:6.1f} MB); worker peak RSS "
                  f"{r['worker_peak'] / MB:6.1f} MB; workers' CPU {r['worker_cpu']:,.0f} s "
                  f"({1000 * r['worker_cpu'] / n:.2f} ms per replicate); power {r['power']:.4f} ± {r['power_mcse']:.4f} (MCSE)")
    if len(figures) == 2:
        a, b = figures
        print(f"  client peak, {b['replicates']:,} vs {a['replicates']:,}: x{b['client_peak'] / a['client_peak']:.2f} "
              f"for x{b['replicates'] / a['replicates']:.0f} the replicates; less the table: "
              f"x{(b['client_peak'] - b['table_bytes']) / (a['client_peak'] - a['table_bytes']):.2f}")
    print(f"  per-replicate table: {per_rep:,.0f} bytes per simulated trial (measured on 40 here)")
    return {"scenario": scenario, "bytes_per_replicate": per_rep, "runs": figures}


if __name__ == "__main__":
    main()
