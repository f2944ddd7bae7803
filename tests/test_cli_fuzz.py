"""Fuzz tier of command-line options: bad values of -n, --seed, -w, --format,
--vary, --target-power, --solve and --out, alone or two and three together,
given to `trialsim run`, `sweep` and `size` on the conventional reference
design (tests/support/fuzz.py draws them).

The property: exit status 0 or 2, no traceback, no exception escaping, in
bounded time (run and sweep 20 s, size 60 s; scaled by TRIALSIM_FUZZ_TIMEOUT)
and memory; a value that cannot be right (``-n 0``, ``--out ""``, a --vary
of a hundred million values) is refused with status 2 and a message naming
the option (``error: ...`` from trialsim, or the option parser's own
``Invalid value for '--replicates'``); a set of good values runs.

The default suite tries the failures found before and 40 drawn cases (a fixed
sequence); `make verify` draws 300 more at random (TRIALSIM_FUZZ_EXAMPLES
overrides both).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import given, settings

from tests.support.fuzz import (  # noqa: F401 (warm_imports: an autouse fixture)
    FUZZ,
    KNOWN_OPTION_CASES,
    REFERENCE_FOR_OPTIONS,
    Invocation,
    check_options,
    invoke,
    judge_output,
    limit_child_memory,
    option_cases,
    warm_imports,
    with_examples,
)

CI_EXAMPLES = int(os.environ.get("TRIALSIM_FUZZ_EXAMPLES", "40"))
LONG_EXAMPLES = int(os.environ.get("TRIALSIM_FUZZ_EXAMPLES", "300"))


@settings(max_examples=CI_EXAMPLES, derandomize=True, **FUZZ)
@with_examples(KNOWN_OPTION_CASES.values())
@given(case=option_cases())
def test_fuzz_bad_options_exit_2_naming_the_option(case):
    outcome = check_options(case)
    assert outcome.ok, f"{case!r}: {outcome.detail}"


@pytest.mark.slow
@settings(max_examples=LONG_EXAMPLES, **FUZZ)
@given(case=option_cases())
def test_fuzz_slow_many_bad_options_exit_2_naming_the_option(case):
    outcome = check_options(case)
    assert outcome.ok, f"{case!r}: {outcome.detail}"


@pytest.mark.parametrize("args,option", [
    (["run", REFERENCE_FOR_OPTIONS, "-n", "99999999999999999999999"], ("--replicates", "-n")),
    (["run", REFERENCE_FOR_OPTIONS, "-n", "2", "-w", "1", "--seed", "1", "--out", ""], ("--out", "-o")),
    (["run", REFERENCE_FOR_OPTIONS, "--seed", "-1"], ("--seed",)),
])
def test_fuzz_real_processes_refuse_bad_options(tmp_path, args, option):
    proc = subprocess.run([sys.executable, "-m", "trialsim.cli", *args], capture_output=True, text=True,
                          errors="replace", timeout=60, cwd=tmp_path, preexec_fn=limit_child_memory())
    inv = Invocation(args, option=option[0], names=option, must_refuse=True)
    outcome = judge_output(inv, proc.returncode, proc.stdout, proc.stderr, 0.0, tmp_path)
    assert outcome.ok and outcome.kind == "exit 2", f"trialsim {' '.join(args)}: {outcome.detail}"
    assert not any(tmp_path.iterdir()), "a refused command left files behind"


KM_TABLE = "time,survival\n0,1\n6,0.9\n12,0.8\n18,0.7\n24,0.6\n30,0.5\n36,0.45\n48,0.4\n"


@pytest.mark.parametrize("args,option", [
    (["--breaks", "nan"], "--breaks"), (["--breaks", "inf,12"], "--breaks"), (["--breaks", "-1"], "--breaks"),
    (["--breaks", "abc"], "--breaks"), (["--breaks", ""], "--breaks"), (["--breaks", "12,12"], "--breaks"),
    (["--n-at-risk", "nan"], "--n-at-risk"), (["--n-at-risk", "inf"], "--n-at-risk"),
    (["--n-at-risk", "1e300"], "--n-at-risk"), (["--n-at-risk", "0"], "--n-at-risk"),
    (["--n-at-risk", "-5"], "--n-at-risk"), (["--time-unit", "fortnights"], "--time-unit"),
    (["--model", "gompertz"], "--model"), (["--out", "curve.txt"], "--out"), (["--out", ""], "--out"),
])
def test_fuzz_bad_curves_fit_options_exit_2_naming_the_option(tmp_path, args, option):
    """`trialsim curves fit` refuses a bad option at once, naming it (no fit is tried)."""
    (tmp_path / "km.csv").write_text(KM_TABLE)
    inv = Invocation(["curves", "fit", str(tmp_path / "km.csv"), *args], option=option, names=(option,),
                     must_refuse=True)
    outcome = invoke(inv, tmp_path)
    assert outcome.ok and outcome.kind == "exit 2", f"trialsim curves fit {' '.join(args)}: {outcome.detail}"


DEGENERATE_DATA = {
    "every event at one time": "time,event\n" + "12,1\n" * 50,
    "one distinct time": "time,event\n" + "12,1\n12,0\n" * 25,
    "a curve that drops to zero at once": "time,survival\n0,1\n12,0\n",
    "a curve that drops to zero at once, with numbers at risk": "time,survival,at_risk\n0,1,40\n12,0,0\n",
    "two distinct times": "time,event\n" + "12,1\n" * 25 + "24,1\n" * 25,
    "every patient censored": "time,event\n" + "12,0\n" * 50,
    "times of 1e-300": "time,event\n" + "".join(f"{(i + 1) * 1e-300},1\n" for i in range(30)),
    "times of 1e300": "time,event\n" + "".join(f"{(i + 1) * 1e300},1\n" for i in range(30)),
    "a curve flat at 1": "time,survival\n0,1\n12,1\n24,1\n",
    "one patient": "time,event\n12,1\n",
}


@pytest.mark.parametrize("content", DEGENERATE_DATA.values(), ids=list(DEGENERATE_DATA))
def test_fuzz_degenerate_data_to_curves_fit_end_cleanly(tmp_path, content):
    """`trialsim curves fit` on degenerate data: a fit (exit 0, where fits at a
    bound of their parameters are said on stderr and not chosen silently) or one
    message naming the file (exit 2); never a traceback."""
    data = tmp_path / "data.csv"
    data.write_text(content)
    inv = Invocation(["curves", "fit", str(data), "--out", str(tmp_path / "curve.yaml")], file=str(data),
                     seconds=60.0)
    outcome = invoke(inv, tmp_path)
    assert outcome.ok, outcome.detail
