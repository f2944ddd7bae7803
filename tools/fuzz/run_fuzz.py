"""Run the fuzz tier for a number of examples and count the outcomes.

    .venv/bin/python tools/fuzz/run_fuzz.py                    # 200 scenario files, 100 option sets, 100 calls
    .venv/bin/python tools/fuzz/run_fuzz.py --scenarios 2000 --options 300 --calls 300 --seed 7
    .venv/bin/python tools/fuzz/run_fuzz.py --known-only       # only the failures found before, one by one
    .venv/bin/python tools/fuzz/run_fuzz.py --json fuzz.json   # also write every failure as JSON

The property is the tests' (tests/support/fuzz.py; the test files
tests/test_scenario_fuzz.py, test_cli_fuzz.py and test_api_fuzz.py say it in
words); where the tests stop at the first failure, this script tries every
example and prints, per kind: examples tried, clean exits (status 0, or a
library call that returned), clean refusals (status 2, or the allowed
exception naming the argument), failures; then each distinct failure once,
with an example that shows it. Exit status 1 if anything failed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from tests.support import fuzz  # noqa: E402


class Tally:
    """Outcomes of one kind of example, and one example of each distinct failure."""

    def __init__(self, kind: str):
        self.kind = kind
        self.counts: Counter = Counter()
        self.failures: dict[str, list] = defaultdict(list)
        self.seconds = 0.0
        self.slowest = (0.0, "")
        self.seen: set = set()

    def fresh(self, what: str) -> bool:
        """False for an example tried before (hypothesis may draw one twice)."""
        if what in self.seen:
            return False
        self.seen.add(what)
        return True

    def add(self, what: str, outcome: fuzz.Outcome) -> None:
        self.counts["tried"] += 1
        self.counts[outcome.kind] += 1
        self.seconds += outcome.seconds
        if outcome.seconds > self.slowest[0]:
            self.slowest = (outcome.seconds, what)
        if not outcome.ok:
            self.failures[_signature(outcome.detail)].append((what, outcome.detail))

    def line(self) -> str:
        c = self.counts
        return (f"{self.kind:<22} {c['tried']:>6} tried  {c['exit 0']:>6} clean exits (0)  "
                f"{c['exit 2']:>6} clean refusals (2)  {c['failure']:>5} failures  "
                f"({self.seconds:.0f} s; slowest {self.slowest[0]:.1f} s)")


def _signature(detail: str) -> str:
    """A failure's kind: its first line, with file names and numbers blurred."""
    first = detail.splitlines()[0] if detail else ""
    first = re.sub(r"/tmp/[\w./-]+", "FILE", first)
    first = re.sub(r"\d+(\.\d+)?", "N", first)
    return first[:160]


def _describe_mutant(m: fuzz.Mutant) -> str:
    return repr(m)


def run_scenarios(n: int, tally_v: Tally, tally_r: Tally, known_only: bool, rng_seed: int) -> None:
    def one(mutant):
        if not tally_v.fresh(repr(mutant)):
            return
        for cmd, outcome in fuzz.check_mutant(mutant).items():
            (tally_v if cmd == "validate" else tally_r).add(_describe_mutant(mutant), outcome)

    if n <= 0 and not known_only:
        return
    for name, mutant in fuzz.KNOWN_MUTANTS.items():
        one(mutant)
    for shape in sorted(fuzz.SHAPES):
        outcome = fuzz.check_mutant(fuzz.Mutant(f"shape:{shape}"), commands=("validate",))["validate"]
        tally_v.add(f"shape {shape}", outcome)
    if known_only:
        return

    @seed(rng_seed)
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(mutant=fuzz.mutants())
    def draw(mutant):
        one(mutant)
        _progress(tally_v)

    draw()


def run_options(n: int, tally: Tally, known_only: bool, rng_seed: int) -> None:
    if n <= 0 and not known_only:
        return
    for name, case in fuzz.KNOWN_OPTION_CASES.items():
        tally.add(repr(case), fuzz.check_options(case))
    if known_only:
        return

    @seed(rng_seed)
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=fuzz.option_cases())
    def draw(case):
        if not tally.fresh(repr(case)):
            return
        tally.add(repr(case), fuzz.check_options(case))
        _progress(tally)

    draw()


def run_calls(n: int, tally: Tally, known_only: bool, rng_seed: int) -> None:
    if n <= 0 and not known_only:
        return
    for name, call in fuzz.KNOWN_CALLS.items():
        tally.add(repr(call), fuzz.judge_call(call))
    if known_only:
        return

    @seed(rng_seed)
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(call=fuzz.calls())
    def draw(call):
        if not tally.fresh(repr(call)):
            return
        tally.add(repr(call), fuzz.judge_call(call))
        _progress(tally)

    draw()


def _progress(tally: Tally) -> None:
    if sys.stderr.isatty() and tally.counts["tried"] % 10 == 0:
        print(f"\r{tally.kind}: {tally.counts['tried']} tried, {tally.counts['failure']} failures",
              end="", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", type=int, default=200, help="mutated scenario files drawn (default 200)")
    ap.add_argument("--options", type=int, default=100, help="sets of command-line options drawn (default 100)")
    ap.add_argument("--calls", type=int, default=100, help="library calls drawn (default 100)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the draws (default 1)")
    ap.add_argument("--known-only", action="store_true", help="only the failures found before, one by one")
    ap.add_argument("--json", type=Path, help="write the counts and every failure here")
    args = ap.parse_args(argv)

    import trialsim.engine  # noqa: F401 - the start-up is charged to no example
    import trialsim.sweeps  # noqa: F401

    start = time.perf_counter()
    tallies = [Tally("validate FILE"), Tally("run FILE -n 2"), Tally("command-line options"),
               Tally("library calls")]
    run_scenarios(args.scenarios, tallies[0], tallies[1], args.known_only, args.seed)
    run_options(args.options, tallies[2], args.known_only, args.seed)
    run_calls(args.calls, tallies[3], args.known_only, args.seed)
    if sys.stderr.isatty():
        print(file=sys.stderr)

    total = Counter()
    for t in tallies:
        total.update(t.counts)
    print(f"fuzz tier, seed {args.seed}, {time.perf_counter() - start:.0f} s")
    for t in tallies:
        print("  " + t.line())
    print(f"  {'all':<22} {total['tried']:>6} tried  {total['exit 0']:>6} clean exits (0)  "
          f"{total['exit 2']:>6} clean refusals (2)  {total['failure']:>5} failures")
    for t in tallies:
        if not t.failures:
            continue
        print(f"\n{t.kind}: {sum(len(v) for v in t.failures.values())} failures, {len(t.failures)} kinds")
        for sig, items in sorted(t.failures.items(), key=lambda kv: -len(kv[1])):
            what, detail = items[0]
            print(f"  [{len(items)}x] {sig}")
            print(f"        e.g. {what[:400]}")
    if args.json:
        report = {"seed": args.seed, "counts": {t.kind: dict(t.counts) for t in tallies},
                  "failures": {t.kind: {sig: [{"example": w, "detail": d} for w, d in items]
                                        for sig, items in t.failures.items()} for t in tallies}}
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 1 if total["failure"] else 0


if __name__ == "__main__":
    sys.exit(main())
