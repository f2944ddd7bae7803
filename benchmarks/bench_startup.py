"""Benchmark: start-up of ``trialsim validate`` as a whole process.

Times ``trialsim validate FILE`` (the console script in this interpreter's
folder, else ``python -m trialsim``) on each reference scenario
(scenarios/*.yaml), and in the same loop, as baselines measured in the same
minutes, ``python -c pass`` (the interpreter alone), ``python -c "from
pydantic import BaseModel"`` (the one dependency validation cannot do
without: the scenario model is pydantic's) and ``python -c "import numpy"``
(which validation does not import; its start-up for comparison). Prints the
median wall time of each over the rounds, the median CPU time (user +
system, less disturbed by other processes on a busy machine) and the ratios
to pydantic's import, and PASS when the median wall time of every scenario
is under the target (0.3 s by default).

Python writes no bytecode when PYTHONDONTWRITEBYTECODE is set, and then
compiles trialsim again in every process: run ``python -m compileall -q
trialsim`` once and the benchmark without that variable, as a user's
installed trialsim runs.

    .venv/bin/python benchmarks/bench_startup.py [--rounds 7] [--target 0.3]

Exit status 0 on PASS, 1 when a scenario is over the target (on a machine
busy with other work the figures are high for every command alike: compare
the ratios).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _command() -> list[str]:
    script = Path(sys.executable).with_name("trialsim")
    return [str(script)] if script.exists() else [sys.executable, "-m", "trialsim"]


def _timed(args: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one run of ``args``; it must succeed."""
    before = os.times()
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = os.times()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="runs of each command (median over them)")
    parser.add_argument("--target", type=float, default=0.3, help="seconds the median wall time of validate stays under")
    args = parser.parse_args(argv)

    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("note: PYTHONDONTWRITEBYTECODE is set: every process compiles trialsim again (see the module's help)")
    scenarios = sorted((ROOT / "scenarios").glob("*.yaml"))
    commands = {"python -c pass": [sys.executable, "-c", "pass"],
                "import pydantic": [sys.executable, "-c", "from pydantic import BaseModel"],
                "import numpy": [sys.executable, "-c", "import numpy"]}
    commands.update({f"validate {p.name}": [*_command(), "validate", str(p.relative_to(ROOT))] for p in scenarios})
    _timed(commands[f"validate {scenarios[0].name}"])        # warm the file cache and the bytecode
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(args.rounds):
        for name, command in commands.items():
            times[name].append(_timed(command))

    figures = {name: {"wall": statistics.median(w for w, _ in runs), "cpu": statistics.median(c for _, c in runs)}
               for name, runs in times.items()}
    base, pydantic = figures["python -c pass"], figures["import pydantic"]
    print(f"{'command':40s} {'wall s':>8s} {'/ pydantic':>10s} {'cpu s':>8s} {'/ pydantic':>10s}   "
          f"(medians of {args.rounds})")
    for name, f in figures.items():
        print(f"{name:40s} {f['wall']:8.3f} {f['wall'] / pydantic['wall']:10.2f} {f['cpu']:8.3f} "
              f"{f['cpu'] / max(pydantic['cpu'], 1e-9):10.2f}")
    slow = [name for name in figures if name.startswith("validate") and figures[name]["wall"] >= args.target]
    print(f"\ninterpreter alone {base['wall']:.3f} s, import pydantic {pydantic['wall']:.3f} s, import numpy "
          f"{figures['import numpy']['wall']:.3f} s; target for validate: under {args.target:g} s")
    print("PASS" if not slow else f"FAIL: {', '.join(slow)}")
    figures["passed"] = not slow
    return figures


if __name__ == "__main__":
    sys.exit(0 if main()["passed"] else 1)
