"""Performance budgets of trialsim, measured, not asserted.

Every budget is timed as whole processes beside a peer measured in the same
run, alternating with it, median of --rounds (start-up: at least 5). These
machines are shared and noisy, so nothing here is a timed test; each line
says PASS or FAIL against its target, and a summary table closes the run.

(a) 10,000 replicates of the conventional design (scenarios/conventional_logrank.yaml:
    HR 0.7, control median 24, 500 patients over 24 months, 247 events,
    one-sided alpha 0.025). Peer: rpact's getSimulationSurvival for the same
    design, `Rscript benchmarks/rpact_conventional.R`, pinned to one core.
    Targets: `trialsim run -w 1` pinned to one core (`taskset -c 0`) <= 0.5 x
    rpact; `trialsim run` with all cores <= 0.35 x rpact.
(b) the log-rank kernel per replicate against lifelines' logrank_test called
    per replicate (benchmarks/bench_logrank.py). Target: >= 200x.
(c) the ctDNA reference scenario (scenarios/ctdna_er_positive.yaml), 1,000
    replicates, one worker pinned to one core. Target: < 1.5 s whole process.
    Peer: the start-up of `python -c "import numpy"` on the same core; the
    summary also sets it beside rpact's time from (a).
(d) 100,000 replicates of the ctDNA scenario, all cores: peak memory of the
    whole process tree (parent and workers, summed RSS sampled from /proc).
    Target: < 1.5 GB.
(e) start-up: `trialsim validate scenarios/ctdna_er_positive.yaml` < 0.3 s,
    beside `python -c pass` and `Rscript -e 'invisible(0)'` in the same loop.
(f) `trialsim report scenarios/ctdna_er_positive.yaml --out <tmp>` with its
    defaults (HTML and PDF, the scenario's replicates), two workers: < 60 s.
    Peer: one `trialsim run` of the same scenario with two workers; the
    numbers of simulated trials each part of the report rests on are printed.

Usage, from the repository root:
    .venv/bin/python benchmarks/run_benchmarks.py [--rounds 3] [--only a,c,e]
        [--skip-memory] [--memory-replicates 100000] [--skip-report] [--report-rounds 1]

Exit status 1 when a measured budget fails, else 0 (a budget whose peer is
missing is skipped, not failed). Another script can ``from run_benchmarks
import main`` and call ``main([...])``, which returns the figures as a dict
(key "summary": the rows of the closing table).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
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
PYTHON = sys.executable
CTDNA = "scenarios/ctdna_er_positive.yaml"
CONVENTIONAL = "scenarios/conventional_logrank.yaml"
RPACT_SCRIPT = "benchmarks/rpact_conventional.R"
RPACT_INSTALL = ("install R and rpact to compare: `apt-get install r-base-core r-cran-rpact` (Debian/Ubuntu), "
                 "or `install.packages(\"rpact\")` in R")

TARGET_A_ONE = 0.5      # trialsim one core / rpact one core
TARGET_A_ALL = 0.35     # trialsim all cores / rpact one core
TARGET_B = 200.0        # log-rank kernel speed-up over lifelines
TARGET_C = 1.5          # seconds, ctDNA 1,000 replicates, one core
TARGET_D = 1.5          # GB, ctDNA 100,000 replicates, peak memory of the process tree
TARGET_E = 0.3          # seconds, `trialsim validate`
TARGET_F = 60.0         # seconds, `trialsim report` with two workers
R_STARTUP_LABEL = "Rscript -e 'invisible(0)'"
SECTIONS = "abcdef"


class Run:
    """One whole process: wall seconds, CPU seconds (user + system, children
    included) and its standard output."""

    def __init__(self, wall: float, cpu: float, stdout: str):
        self.wall, self.cpu, self.stdout = wall, cpu, stdout


def run(cmd: list[str]) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall, cpu, proc.stdout)


def wall(cmd: list[str]) -> float:
    """Wall seconds of one whole process (kept for scripts that import it)."""
    return run(cmd).wall


def alternate(cmds: dict[str, list[str]], rounds: int) -> dict[str, list[Run]]:
    """Run each command once per round, in turn, so drifts in machine load
    hit all of them alike."""
    out: dict[str, list[Run]] = {k: [] for k in cmds}
    for _ in range(rounds):
        for key, cmd in cmds.items():
            out[key].append(run(cmd))
    return out


def med(runs: list[Run], attr: str = "wall") -> float:
    return statistics.median(getattr(r, attr) for r in runs)


def pinned(cmd: list[str], cores: str = "0") -> list[str]:
    """``cmd`` pinned to ``cores`` with taskset, when taskset exists."""
    return ["taskset", "-c", cores] + cmd if shutil.which("taskset") else cmd


def pin_label(cores: str = "0") -> str:
    return f"taskset -c {cores}" if shutil.which("taskset") else "not pinned (no taskset)"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def rpact_available() -> str | None:
    """Path of Rscript when it exists and loads rpact; else None (and say why)."""
    rscript = shutil.which("Rscript")
    if not rscript:
        print(f"    Rscript not found: {RPACT_INSTALL}; the ratios against rpact are skipped")
        return None
    probe = subprocess.run([rscript, "-e", 'quit(status = !requireNamespace("rpact", quietly = TRUE))'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if probe.returncode != 0:
        print(f"    Rscript found but R cannot load rpact: {RPACT_INSTALL}; the ratios against rpact are skipped")
        return None
    return rscript


def bench_a(rounds: int, summary: list) -> dict:
    cores = os.cpu_count() or 1
    base = [TRIALSIM, "run", CONVENTIONAL, "-n", "10000", "--seed", "1", "-f", "json"]
    cmds = {"one": pinned(base + ["-w", "1"]), "all": base}
    print(f"(a) conventional design, 10,000 replicates, whole processes (median of {rounds}, alternating)")
    rscript = rpact_available()
    if rscript:
        cmds["rpact"] = pinned([rscript, RPACT_SCRIPT])
    runs = alternate(cmds, rounds)
    out = {k: med(v) for k, v in runs.items()}
    power = json.loads(runs["one"][0].stdout)
    print(f"    {'trialsim run -w 1, ' + pin_label():44s} {out['one']:7.2f} s  (CPU {med(runs['one'], 'cpu'):.2f} s)")
    print(f"    {f'trialsim run, all cores ({cores})':44s} {out['all']:7.2f} s  (CPU {med(runs['all'], 'cpu'):.2f} s)")
    print(f"    trialsim power {power['power']:.4f} ± {power['power_mcse']:.4f}")
    if "rpact" not in out:
        summary.append(("(a) conventional, 10,000 replicates, one core / all cores",
                        f"{out['one']:.2f} s / {out['all']:.2f} s", "rpact not available",
                        f"<= {TARGET_A_ONE} / {TARGET_A_ALL} x rpact", "SKIP"))
        return out
    r = out["rpact"]
    m = re.search(r"RESULT power=([\d.]+) mc_se=([\d.]+) sim_seconds=([\d.]+) total_seconds=([\d.]+)",
                  runs["rpact"][0].stdout)
    print(f"    {'Rscript rpact_conventional.R, ' + pin_label():44s} {r:7.2f} s  (CPU {med(runs['rpact'], 'cpu'):.2f} s)")
    if m:
        p, se, sim_s, tot_s = (float(x) for x in m.groups())
        out.update(rpact_power=p, rpact_sim_seconds=sim_s)
        print(f"    rpact power {p:.4f} ± {se:.4f}; inside R: simulation {sim_s:.2f} s, with library(rpact) {tot_s:.2f} s")
        gap = abs(power["power"] - p) / (power["power_mcse"] ** 2 + se ** 2) ** 0.5
        print(f"    power gap / SE {gap:.1f} (the two simulate the same design: expect < 3)")
    one, allc = out["one"] / r, out["all"] / r
    print(f"    ratio trialsim/rpact: one core {one:.2f} (target <= {TARGET_A_ONE}: {verdict(one <= TARGET_A_ONE)}), "
          f"all cores {allc:.2f} (target <= {TARGET_A_ALL}: {verdict(allc <= TARGET_A_ALL)})")
    summary.append(("(a) conventional, 10,000 replicates, one core", f"{out['one']:.2f} s",
                    f"rpact {r:.2f} s: ratio {one:.2f}", f"<= {TARGET_A_ONE} x rpact", verdict(one <= TARGET_A_ONE)))
    summary.append((f"(a) the same, all cores ({cores})", f"{out['all']:.2f} s",
                    f"rpact {r:.2f} s: ratio {allc:.2f}", f"<= {TARGET_A_ALL} x rpact", verdict(allc <= TARGET_A_ALL)))
    return out


def bench_b(summary: list) -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_logrank  # noqa: E402 - a sibling script, found through the path set just above

    print("(b) log-rank kernel vs lifelines.logrank_test per replicate")
    res = bench_logrank.main([])
    ratio = res["speed_ratio"]
    summary.append(("(b) log-rank kernel per replicate (R 10,000, n 500)",
                    f"{res['trialsim_per_replicate_us']:.1f} µs",
                    f"lifelines {res['lifelines_per_replicate_us']:,.0f} µs: {ratio:,.0f}x",
                    f">= {TARGET_B:.0f}x", verdict(res["passed"])))
    return res


def bench_c(rounds: int, summary: list, rpact: float | None) -> dict:
    cmds = {"trialsim": pinned([TRIALSIM, "run", CTDNA, "-n", "1000", "--seed", "1", "-w", "1", "-f", "json"]),
            "numpy": pinned([PYTHON, "-c", "import numpy"])}
    runs = alternate(cmds, rounds)
    t, peer = med(runs["trialsim"]), med(runs["numpy"])
    print(f"(c) ctDNA reference scenario, 1,000 replicates, one worker, {pin_label()} (median of {rounds}, alternating)")
    print(f"    trialsim run                  {t:7.2f} s  (CPU {med(runs['trialsim'], 'cpu'):.2f} s)"
          f"   target < {TARGET_C} s: {verdict(t < TARGET_C)}")
    print(f"    python -c 'import numpy'      {peer:7.2f} s  (trialsim = {t / peer:.0f}x that start-up)")
    if rpact is not None:
        print(f"    rpact conventional run of (a) {rpact:7.2f} s  (ratio {t / rpact:.2f})")
    peer_text = f"`import numpy` {peer:.2f} s" + (f"; rpact (a) {rpact:.2f} s" if rpact is not None else "")
    summary.append(("(c) ctDNA, 1,000 replicates, one core", f"{t:.2f} s", peer_text, f"< {TARGET_C} s",
                    verdict(t < TARGET_C)))
    return {"seconds": t, "numpy_import": peer}


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
        except (OSError, IndexError):   # gone, or read half-written
            continue
        children.setdefault(int(parts[1]), []).append(int(entry))
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total


def peak_tree_memory(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak summed RSS (bytes, sampled every 0.1 s) of a whole process tree."""
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    t = time.perf_counter()
    while proc.poll() is None:
        peak = max(peak, tree_rss_bytes(proc.pid))
        time.sleep(0.1)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
    return time.perf_counter() - t, peak


def bench_d(replicates: int, summary: list) -> dict:
    cmd = [TRIALSIM, "run", CTDNA, "-n", str(replicates), "--seed", "1", "-f", "json"]
    peer_secs, peer_peak = peak_tree_memory([PYTHON, "-c", "import numpy, time; time.sleep(0.5)"])
    secs, peak = peak_tree_memory(cmd)
    gb = peak / 1e9
    print(f"(d) ctDNA reference scenario, {replicates:,} replicates, all cores: peak memory {gb:.2f} GB "
          f"(whole process tree) in {secs:.0f} s (target < {TARGET_D} GB: {verdict(gb < TARGET_D)})")
    print(f"    python -c 'import numpy': peak {peer_peak / 1e6:.0f} MB")
    summary.append((f"(d) ctDNA, {replicates:,} replicates, all cores: peak memory", f"{gb:.2f} GB ({secs:.0f} s)",
                    f"`import numpy` {peer_peak / 1e6:.0f} MB", f"< {TARGET_D} GB", verdict(gb < TARGET_D)))
    return {"peak_gb": gb, "seconds": secs}


def bench_e(rounds: int, summary: list) -> dict:
    rounds = max(5, rounds)
    cmds = {"validate": [TRIALSIM, "validate", CTDNA], "python": [PYTHON, "-c", "pass"]}
    rscript = shutil.which("Rscript")
    if rscript:
        cmds["R"] = [rscript, "-e", "invisible(0)"]
    runs = alternate(cmds, rounds)
    t = med(runs["validate"])
    print(f"(e) start-up, whole processes (median of {rounds}, alternating)")
    print(f"    {'trialsim validate ' + CTDNA:52s} {t:6.3f} s  (CPU {med(runs['validate'], 'cpu'):.3f} s)"
          f"   target < {TARGET_E} s: {verdict(t < TARGET_E)}")
    print(f"    {'python -c pass':52s} {med(runs['python']):6.3f} s")
    peer_text = f"`python -c pass` {med(runs['python']):.3f} s"
    if rscript:
        print(f"    {R_STARTUP_LABEL:52s} {med(runs['R']):6.3f} s")
        peer_text += f"; `Rscript -e` {med(runs['R']):.3f} s"
    else:
        print("    Rscript not found: no R start-up beside it")
    summary.append(("(e) start-up: `trialsim validate` ctDNA scenario", f"{t:.3f} s", peer_text,
                    f"< {TARGET_E} s", verdict(t < TARGET_E)))
    return {k: med(v) for k, v in runs.items()}


def _count(text: str) -> int | None:
    m = re.search(r"([\d,]+) simulated trials", text)
    return int(m.group(1).replace(",", "")) if m else None


def report_counts(out: Path) -> list[tuple[str, int, int]]:
    """What each part of the report rests on, read from report.html: (part,
    designs, simulated trials per design). The HTML gives the main run's
    replicates (id "replicates"), the power curves' grids and the type I
    error's and sensitivity analysis' trials in its reproducibility table, and
    one row per input moved in its sensitivity table (ids sens-*-low-power and
    sens-*-high-power, sens-baseline-power)."""
    html = out / "report.html"
    if not html.exists():
        return []
    text = html.read_text(errors="replace")
    parts: list[tuple[str, int, int]] = []
    m = re.search(r'id="replicates" data-value="(\d+)"', text)
    n = int(m.group(1)) if m else None
    if n:
        parts.append(("design", 1, n))
    rows = dict(re.findall(r"<tr><td>([^<]+)</td><td>(.*?)</td></tr>", text, flags=re.S))
    curves = rows.get("power curves", "")
    points = sum(len(seg.split(" over ", 1)[1].split(","))
                 for seg in curves.split(":", 1)[-1].split(";") if " over " in seg)
    if points and n:
        per = _count(curves) or n      # "same seed and replicates at every point"
        parts.append(("power curves (grid points)", points, per))
    null = _count(rows.get("type I error", ""))
    if null:
        parts.append(("type I error (design with no effect)", 1, null))
    sens = _count(rows.get("sensitivity analysis", ""))
    designs = len(re.findall(r'id="sens-[\w-]+-(?:low|high)-power"', text)) + ('id="sens-baseline-power"' in text)
    if sens and designs:
        parts.append(("sensitivity analysis (designs)", designs, sens))
    return parts


def bench_f(rounds: int, summary: list) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="trialsim-bench-report-"))
    try:
        runs: dict[str, list[Run]] = {"report": [], "run": []}
        for k in range(rounds):     # alternating; each report in a fresh folder
            out = tmp / f"report{k}"
            runs["report"].append(run(pinned([TRIALSIM, "report", CTDNA, "--out", str(out), "-w", "2"], "0,1")))
            runs["run"].append(run(pinned([TRIALSIM, "run", CTDNA, "-w", "2", "-f", "json"], "0,1")))
        t, peer = med(runs["report"]), med(runs["run"])
        n = json.loads(runs["run"][0].stdout)["replicates"]
        print(f"(f) trialsim report {CTDNA}, defaults (HTML and PDF), two workers (median of {rounds}, alternating)")
        print(f"    trialsim report      {t:7.1f} s  (CPU {med(runs['report'], 'cpu'):.1f} s)"
              f"   target < {TARGET_F:.0f} s: {verdict(t < TARGET_F)}")
        print(f"    trialsim run ({n:,})  {peer:7.1f} s  (the report costs {t / peer:.1f} such runs)")
        counts = report_counts(out)
        if counts:
            print("    simulated trials each part of the report rests on (from report.html):")
            for part, designs, per in counts:
                print(f"      {part:38s} {designs:3d} x {per:6,} = {designs * per:8,}")
            total = sum(d * p for _, d, p in counts)
            print(f"      {'total':38s}               {total:8,}")
        else:
            print("    report.html gives no counts of simulated trials that this script can read")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    total = sum(d * p for _, d, p in counts)
    summary.append(("(f) `trialsim report` ctDNA scenario, defaults, two workers",
                    f"{t:.1f} s" + (f" ({total:,} simulated trials)" if total else ""),
                    f"one `trialsim run` ({n:,}) {peer:.1f} s", f"< {TARGET_F:.0f} s", verdict(t < TARGET_F)))
    return {"seconds": t, "run_seconds": peer, "counts": counts}


def print_summary(rows: list) -> None:
    print()
    print("| budget | measured | peer, same run | target | |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def as_installed() -> str:
    """Measure trialsim as an installed package runs: its modules compiled to
    bytecode once (as pip compiles a package it installs, and as Python caches
    them on a first run), and the processes timed here free to read that
    cache. With PYTHONDONTWRITEBYTECODE set and no cache, every process would
    compile trialsim's source again (0.2-0.3 s of CPU a start-up here)."""
    import compileall  # deferred: only the timing runs compile

    compileall.compile_dir(str(ROOT / "trialsim"), quiet=1)
    had = os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    return ("bytecode: trialsim compiled" + (" (PYTHONDONTWRITEBYTECODE unset for the timed processes)"
                                             if had is not None else ""))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="rounds of each alternating comparison (median; default 3)")
    ap.add_argument("--only", default=",".join(SECTIONS), help="comma-separated subset of the budgets a-f (default: all)")
    ap.add_argument("--skip-memory", action="store_true", help="skip (d), the 100,000-replicate memory run")
    ap.add_argument("--memory-replicates", type=int, default=100_000)
    ap.add_argument("--skip-report", action="store_true", help="skip (f), the report")
    ap.add_argument("--report-rounds", type=int, default=1, help="rounds of (f) (default 1: it is long)")
    args = ap.parse_args(argv)
    only = {s.strip().lower() for s in args.only.split(",") if s.strip()}
    bad = only - set(SECTIONS)
    if bad or not only:
        ap.error(f"--only: budgets are letters among {','.join(SECTIONS)}, got {args.only!r}")
    if args.rounds < 1 or args.report_rounds < 1:
        ap.error("--rounds and --report-rounds must be at least 1")
    if args.skip_memory:
        only.discard("d")
    if args.skip_report:
        only.discard("f")
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, load average "
          + " ".join(f"{x:.1f}" for x in os.getloadavg()) + "; " + as_installed())
    summary: list = []
    res: dict = {}
    if "a" in only:
        res["a"] = bench_a(args.rounds, summary)
    if "b" in only:
        res["b"] = bench_b(summary)
    if "c" in only:
        res["c"] = bench_c(args.rounds, summary, res.get("a", {}).get("rpact"))
    if "d" in only:
        res["d"] = bench_d(args.memory_replicates, summary)
    if "e" in only:
        res["e"] = bench_e(args.rounds, summary)
    if "f" in only:
        res["f"] = bench_f(args.report_rounds, summary)
    print_summary(summary)
    res["summary"] = summary
    return res


if __name__ == "__main__":
    results = main()
    sys.exit(1 if any(row[-1] == "FAIL" for row in results["summary"]) else 0)
