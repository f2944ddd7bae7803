"""Fuzz tier of scenario files: whatever a file holds, `trialsim validate` and
`trialsim run` end with exit status 0 or 2, in bounded time and memory.

Hypothesis draws *mutants* of the four reference scenarios
(tests/support/fuzz.py): a key deleted, renamed, added or written twice, a
value replaced by one of another type (boolean, text, list, mapping, null) or
by a number at an extreme (huge integers, 1e308, -1, 0, nan, inf, 5e-324, the
reference value times 10**k), curves and test names at the edge of what the
model can use, YAML shapes (aliases, a recursive alias, a billion laughs, deep
nesting, complex keys, tags such as !!python/object, NUL bytes, bytes that are
not UTF-8, empty files, a bare scalar, a list). Each mutant is written to a
file and given to `trialsim validate FILE` and `trialsim run FILE -n 2 --seed 1
-w 1` (in this process, with typer's CliRunner). The property:

* exit status 0 or 2, no traceback, no exception escaping, no code run from the YAML;
* status 2 comes with exactly one line on stderr starting with ``error: `` that names the file;
* no raw control characters printed (a name holding escape sequences is shown escaped);
* a file that puts a boolean, a collection or a number the model cannot use
  (nan, infinite, subnormal) where a number belongs is refused by validate;
* a run never shows nobody randomised, no event or a nan without a warning;
* each command ends within its time limit (validate 10 s, run 20 s; scaled by
  TRIALSIM_FUZZ_TIMEOUT) and allocates at most 2 GB more.

The default suite tries the failures found before (one ``@example`` each) and
60 drawn mutants (a fixed sequence, so CI is reproducible); `make verify`
(``-m slow``) draws 2,000 more at random. TRIALSIM_FUZZ_EXAMPLES overrides
both counts. tools/fuzz/run_fuzz.py runs the same property and counts the
outcomes instead of stopping at the first failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings

from tests.support.fuzz import (  # noqa: F401 (warm_imports: an autouse fixture)
    FUZZ,
    KNOWN_MUTANTS,
    SHAPES,
    VALIDATE_SECONDS,
    Invocation,
    Mutant,
    check_mutant,
    invoke,
    judge_output,
    limit_child_memory,
    mutants,
    warm_imports,
    with_examples,
)

CI_EXAMPLES = int(os.environ.get("TRIALSIM_FUZZ_EXAMPLES", "60"))
LONG_EXAMPLES = int(os.environ.get("TRIALSIM_FUZZ_EXAMPLES", "2000"))


def assert_clean(outcomes: dict, mutant: Mutant) -> None:
    bad = {cmd: o.detail for cmd, o in outcomes.items() if not o.ok}
    assert not bad, f"{mutant!r}:\n" + "\n".join(f"  trialsim {cmd}: {d}" for cmd, d in bad.items())


@settings(max_examples=CI_EXAMPLES, derandomize=True, **FUZZ)
@with_examples(KNOWN_MUTANTS.values())
@given(mutant=mutants())
def test_fuzz_mutated_scenarios_exit_0_or_2(mutant):
    assert_clean(check_mutant(mutant), mutant)


@pytest.mark.slow
@settings(max_examples=LONG_EXAMPLES, **FUZZ)
@given(mutant=mutants())
def test_fuzz_slow_many_mutated_scenarios_exit_0_or_2(mutant):
    assert_clean(check_mutant(mutant), mutant)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_fuzz_every_odd_file_shape_is_refused_or_read(shape):
    mutant = Mutant(f"shape:{shape}")
    assert_clean(check_mutant(mutant, commands=("validate",)), mutant)


def _special(tmp_path: Path, kind: str) -> str:
    if kind == "fifo":
        os.mkfifo(tmp_path / "pipe.yaml")
        return str(tmp_path / "pipe.yaml")
    if kind == "folder":
        return str(tmp_path)
    if kind == "symlink loop":
        (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
        return str(tmp_path / "loop.yaml")
    if kind == "missing":
        return str(tmp_path / "missing.yaml")
    if kind == "NUL in the name":
        return str(tmp_path / "a\x00b.yaml")
    if kind == "name too long":
        return str(tmp_path / ("x" * 300 + ".yaml"))
    if kind == "empty name":
        return ""
    return kind


SPECIAL_FILES = ["/dev/zero", "/dev/urandom", "/dev/null", "fifo", "folder", "symlink loop", "missing",
                 "NUL in the name", "name too long", "empty name"]


@pytest.mark.parametrize("kind", SPECIAL_FILES)
def test_fuzz_files_that_are_not_scenario_files_are_refused(tmp_path, kind):
    """Devices, pipes, folders and impossible names: exit 2 at once, naming the file."""
    path = _special(tmp_path, kind)
    # a name the option parser itself refuses (a NUL byte) gets its message, naming the argument 'scenario'
    outcome = invoke(Invocation(["validate", path], file=path or None, option="scenario",
                                names=("scenario", path or "."),
                                must_refuse=True, seconds=VALIDATE_SECONDS), tmp_path)
    assert outcome.ok, f"trialsim validate {path!r}: {outcome.detail}"


SUBPROCESS_CASES = {
    "recursive alias": Mutant("shape:recursive alias"),
    "NUL byte": KNOWN_MUTANTS["NUL byte"],
    "not UTF-8": KNOWN_MUTANTS["not UTF-8"],
    "python tag": Mutant("shape:python object"),
    "empty file": Mutant("shape:empty"),
    "a boolean for events": KNOWN_MUTANTS["events: true"],
}


@pytest.mark.parametrize("name", sorted(SUBPROCESS_CASES))
def test_fuzz_real_processes_exit_2_with_one_message(tmp_path, name):
    """The same property on the real command (exit status and stderr of a process)."""
    path = tmp_path / "scenario.yaml"
    path.write_bytes(SUBPROCESS_CASES[name].content())
    for args in (["validate", str(path)], ["run", str(path), "-n", "2", "--seed", "1", "-w", "1"]):
        proc = subprocess.run([sys.executable, "-m", "trialsim.cli", *args], capture_output=True, text=True,
                              errors="replace", timeout=60, cwd=tmp_path, preexec_fn=limit_child_memory())
        inv = Invocation(args, file=str(path), must_refuse=True)
        outcome = judge_output(inv, proc.returncode, proc.stdout, proc.stderr, 0.0, tmp_path)
        assert outcome.ok and outcome.kind == "exit 2", f"trialsim {' '.join(args)}: {outcome.detail}"
