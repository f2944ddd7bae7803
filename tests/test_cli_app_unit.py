"""Unit tier for the `trialsim` app (trialsim/cli/app.py and the package's
layout): the installed command as a user runs it, the list of commands, the
import arrows between the command modules, and a light start-up for
`trialsim --help` and `trialsim validate`."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import click
import typer

from tests.conftest import CONVENTIONAL, CTDNA, ROOT, write
from trialsim.cli import app

CLI = ROOT / "trialsim" / "cli"
COMMAND_MODULES = ("run", "curves", "sweeps", "init", "report")
# What `--help` and `validate` must not load: each costs a noticeable part of a second.
HEAVY = ("trialsim.engine", "pandas", "matplotlib", "simpy", "lifelines", "reportlab")


def test_unit_console_script_runs_as_a_process(tmp_path):
    """The installed command itself, as a user runs it: bad input gives status 2, no traceback."""
    exe = ROOT / ".venv" / "bin" / "trialsim"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "trialsim.cli"]
    bad = write(tmp_path, CONVENTIONAL.replace("share: 1", "share: 2"))
    proc = subprocess.run(cmd + ["run", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "population.strata.0.share" in proc.stderr and "Traceback" not in proc.stderr


def test_unit_python_m_trialsim_cli_is_the_same_command(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "trialsim.cli", "validate", str(write(tmp_path, CTDNA))],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert ": valid: " in proc.stdout


def test_unit_help_lists_every_command_in_order():
    group = typer.main.get_command(app)
    assert group.list_commands(click.Context(group)) == [
        "run", "validate", "schema", "sweep", "size", "init", "report", "curves"]


def _imported_modules(path) -> set[str]:
    """Every module a file imports, relative imports resolved within trialsim.cli."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(["trialsim", "cli"][: 2 - (node.level - 1)] + ([base] if base else []))
            names.add(base)
            if base == "trialsim.cli":     # `from trialsim.cli import app` imports the submodule trialsim.cli.app
                names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_unit_only_the_package_init_imports_the_app():
    files = sorted(CLI.glob("*.py"))
    assert {p.stem for p in files} >= {"__init__", "app", "common", *COMMAND_MODULES}
    importers = sorted(p.name for p in files if "trialsim.cli.app" in _imported_modules(p))
    assert importers == ["__init__.py"]


def test_unit_command_modules_import_only_common_of_the_cli():
    """Arrows: app -> command modules -> common; no command module imports another, nor common the commands."""
    for stem in (*COMMAND_MODULES, "common"):
        cli_imports = {m for m in _imported_modules(CLI / f"{stem}.py") if m.startswith("trialsim.cli.")}
        allowed = set() if stem == "common" else {"trialsim.cli.common"}
        assert cli_imports <= allowed, (stem, cli_imports - allowed)


def _loaded_after(args: list[str]) -> dict:
    """Run `trialsim ARGS` in a fresh interpreter; which heavy modules did it load?"""
    code = (
        "import json, sys\n"
        "from typer.testing import CliRunner\n"
        "from trialsim.cli import app\n"
        f"res = CliRunner().invoke(app, {args!r})\n"
        f"print(json.dumps({{'exit_code': res.exit_code, 'loaded': [m for m in {HEAVY!r} if m in sys.modules]}}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_unit_validate_and_help_start_without_the_heavy_modules(tmp_path):
    for args in (["validate", str(write(tmp_path, CTDNA))], ["--help"]):
        seen = _loaded_after(args)
        assert seen == {"exit_code": 0, "loaded": []}, (args, seen)


def test_unit_version_names_trialsim_python_numpy_and_the_format():
    import platform
    from importlib import metadata

    from typer.testing import CliRunner

    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0
    assert res.output.splitlines() == [
        "trialsim " + metadata.version("trialsim"), f"Python {platform.python_version()}",
        f"numpy {metadata.version('numpy')}", "scenario format 1"]


def test_unit_python_m_trialsim_is_the_command():
    proc = subprocess.run([sys.executable, "-m", "trialsim", "--version"], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout.startswith("trialsim "), proc.stderr


def test_unit_shell_completion_is_offered():
    from typer.testing import CliRunner

    res = CliRunner().invoke(app, ["--help"])
    assert "--install-completion" in res.output and "--show-completion" in res.output


def _commands(group, prefix=()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if hasattr(cmd, "list_commands"):     # a group (typer vendors its own click classes)
            yield from _commands(cmd, prefix + (name,))
        else:
            yield prefix + (name,), cmd


def test_unit_every_command_shows_examples_that_parse():
    """Each command's help ends with one or two examples, and each example is
    a command line its parser accepts (options and arguments exist)."""
    import shlex

    root = typer.main.get_command(app)
    seen = 0
    for path, cmd in _commands(root):
        assert cmd.epilog and "Examples" in cmd.epilog, path
        lines = [ln.strip() for ln in cmd.epilog.split("\n\n")[1:] if ln.strip()]
        assert 1 <= len(lines) <= 2, path
        for line in lines:
            # a shell redirection is not an argument; a pipe feeds the last command (`cat f | trialsim run -`)
            words = shlex.split(line.split(" > ")[0].split(" | ")[-1])
            assert words[0] == "trialsim" and tuple(words[1:1 + len(path)]) == path, line
            cmd.make_context(" ".join(path), words[1 + len(path):], resilient_parsing=False)
            seen += 1
    assert seen >= 10


# --------------------------------------------------------------------------
# `trialsim validate FILE` from the console script: without typer, as the typer command


def _console(args: list[str], stdin: str | None = None, cwd=ROOT) -> dict:
    """Run the console script's function (trialsim.cli.main) with ``args`` in a fresh
    interpreter: exit status, stdout, stderr, and which of the modules validate
    does not need it loaded."""
    heavy = (*HEAVY, "scipy", "typer", "numpy")
    code = (
        "import json, sys\n"
        "from trialsim.cli import main\n"
        f"sys.argv = ['trialsim', *{args!r}]\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        f"    print(json.dumps([m for m in {heavy!r} if m in sys.modules]), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, input=stdin, cwd=cwd)
    *err, loaded = proc.stderr.splitlines()
    return {"exit_code": proc.returncode, "stdout": proc.stdout, "stderr": "".join(f"{e}\n" for e in err),
            "loaded": json.loads(loaded)}


def test_unit_console_validate_loads_neither_the_simulator_nor_typer(tmp_path):
    """`trialsim validate FILE` loads no simpy, scipy, pandas, matplotlib,
    lifelines or engine, and not typer either (trialsim.cli.main checks the file
    itself), nor numpy (the curves are built and evaluated at single times in
    plain Python)."""
    for text in (CTDNA, CONVENTIONAL):
        seen = _console(["validate", str(write(tmp_path, text))])
        assert (seen["exit_code"], seen["loaded"]) == (0, []), seen
        assert ": valid: " in seen["stdout"]
    seen = _console(["validate", "-"], stdin=CONVENTIONAL)
    assert (seen["exit_code"], seen["loaded"]) == (0, []), seen


def test_unit_console_validate_of_the_shipped_scenarios_loads_no_numpy():
    """Every shipped scenario (the start-up budget's ctdna_er_positive.yaml among
    them) validates without importing numpy (about 0.1 s of start-up)."""
    for path in sorted((ROOT / "scenarios").rglob("*.yaml")):
        seen = _console(["validate", str(path)])
        assert (seen["exit_code"], seen["loaded"]) == (0, []), (path.name, seen)


def test_unit_console_validate_prints_what_the_typer_command_prints(tmp_path):
    """Output, messages and exit status of `trialsim validate FILE` without
    typer are those of the typer command: a valid file, warnings, a refused
    file, a missing file, a name to escape, standard input."""
    from typer.testing import CliRunner

    ctdna = (ROOT / "scenarios" / "ctdna_er_positive.yaml").read_text()
    files = {
        "valid": CTDNA,
        "warnings": ctdna.replace("time_since_diagnosis: {uniform: [60, 120]}", "time_since_diagnosis: 0"),
        "refused": CONVENTIONAL.replace("share: 1", "share: 2"),
        "escaped": CONVENTIONAL.replace("name:", 'name: "a\\x1b[31mb"\nold_name:', 1),
        "not yaml": "a: [1, 2\n",
    }
    cases = [["validate", str(write(tmp_path, text, f"{i}.yaml"))] for i, text in enumerate(files.values())]
    cases.append(["validate", str(tmp_path / "missing.yaml")])
    for args in cases:
        alone = _console(args)
        typed = CliRunner().invoke(app, args)
        assert (alone["exit_code"], alone["stdout"], alone["stderr"]) == (
            typed.exit_code, typed.stdout, typed.stderr), args
    assert "warning: stratum " in _console(cases[1])["stderr"]
    alone = _console(["validate", "-"], stdin=files["refused"])
    typed = CliRunner().invoke(app, ["validate", "-"], input=files["refused"])
    assert (alone["exit_code"], alone["stdout"], alone["stderr"]) == (typed.exit_code, typed.stdout, typed.stderr)
    assert alone["exit_code"] == 2 and alone["stderr"].startswith("error: <stdin>:")


def test_unit_only_validate_and_one_file_skip_typer():
    """Any other command line -- an option, a second argument, shell completion -- goes to the typer app."""
    import trialsim.cli as cli

    assert cli._validate_alone(["validate", "s.yaml"]) and cli._validate_alone(["validate", "-"])
    for args in (["validate"], ["validate", "--help"], ["validate", "-h"], ["validate", "a", "b"],
                 ["validate", "--", "a"], ["run", "a"], ["--version"], ["curves", "validate"]):
        assert not cli._validate_alone(args), args
    assert _console(["validate", "--help"])["loaded"] == ["typer"]


def test_unit_validate_takes_one_argument_and_no_option():
    """trialsim.cli.main reads `validate FILE` as the typer command would: the
    command has the one argument and no option but --help. (A new option or
    argument of validate means revisiting trialsim.cli._validate_alone.)"""
    command = typer.main.get_command(app).commands["validate"]
    assert [(p.name, p.param_type_name) for p in command.params] == [("scenario", "argument")]
    assert command.params[0].required and command.params[0].nargs == 1


def test_unit_the_package_name_app_stays_the_typer_app():
    """trialsim.cli.app is the typer app (loaded on first use), also once its module is imported."""
    import importlib

    import trialsim.cli

    module = importlib.import_module("trialsim.cli.app")
    assert isinstance(trialsim.cli.app, typer.Typer) and module.app is trialsim.cli.app
    assert sys.modules["trialsim.cli.app"] is module
