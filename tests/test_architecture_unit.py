"""Unit tier of the package's architecture (docs/architecture.md): no import
cycles, and imports inside functions only where they keep start-up fast,
each with its reason in a comment."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "trialsim"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.Module):
    """Every import statement, with whether it sits inside a function;
    imports under ``if TYPE_CHECKING:`` never run and are skipped."""
    out = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub, in_function)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                out.append((child, in_function))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return out


def _targets(module: str, node) -> set[str]:
    """The trialsim modules an import statement loads."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            pkg = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                pkg = pkg.rpartition(".")[0]
            base = f"{pkg}.{base}" if base else pkg
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    found = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name.startswith("trialsim"):
            found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = set().union(*(_targets(name, n) for n, _ in _imports(tree))) - {name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def strong(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_unit_no_import_cycles():
    """Counting every import, those inside functions too: a cycle held
    together by a function-level import is still a cycle."""
    assert _cycles(_graph()) == []


def test_unit_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_unit_every_import_inside_a_function_says_why():
    """An import inside a function is there to keep start-up fast (or to load
    an optional dependency); a comment on its line or the line above says so."""
    silent = []
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        found = _imports(ast.parse(text))
        import_lines = {i for node, _ in found for i in range(node.lineno, node.end_lineno + 1)}
        for node, in_function in found:
            if not in_function:
                continue
            # A block of imports shares the comment above its first line.
            first = node.lineno
            while first - 1 in import_lines:
                first -= 1
            said = any("#" in lines[i - 1] for i in range(first, node.end_lineno + 1))
            above = lines[first - 2].strip() if first > 1 else ""
            if not said and not above.startswith("#"):
                silent.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert silent == [], "imports inside functions without a reason:\n" + "\n".join(silent)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_unit_every_module_says_what_it_is(module):
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"{module} has no module docstring"


# Test files that check a concern across modules rather than one module.
CROSS_CUTTING = {"api", "architecture", "docs"}
TIERS = ("unit", "theory", "peer", "regression", "fuzz", "fault", "published")


def test_unit_test_files_mirror_modules_and_name_their_tier():
    """tests/test_<module path with _>_<tier>.py: the module it tests and its
    validation tier, so that a reader finds a module's tests, and a tier's."""
    stems = {name.replace(".", "_").removeprefix("trialsim_") for name in MODULES if name != "trialsim"}
    wrong = []
    for path in sorted((PACKAGE.parent / "tests").glob("test_*.py")):
        body, _, tier = path.stem.removeprefix("test_").rpartition("_")
        if tier not in TIERS or not (body in stems or body in CROSS_CUTTING):
            wrong.append(path.name)
    assert wrong == [], f"test files not named test_<module>_<tier>.py: {wrong}"


def test_unit_no_two_public_classes_share_a_name():
    """One name, one concept: a public class name is defined once in the package."""
    seen: dict[str, list[str]] = {}
    for name, path in MODULES.items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                seen.setdefault(node.name, []).append(name)
    assert {k: v for k, v in seen.items() if len(v) > 1} == {}


# The layers of docs/architecture.md, top to bottom: a module imports only
# from layers below its own (and from its own package).
LAYERS = [
    ("__main__",),
    ("cli",),
    ("report",),
    ("sweeps",),
    ("engine", "population_plot"),
    ("results",),
    ("companions",),
    ("des", "followup"),
    ("intervention", "screening"),
    ("cohort",),
    ("plan_checks",),
    ("limits",),
    ("scenario",),
    ("schema_text",),
    ("curves",),
    ("loading",),
    ("analysis", "design", "figures", "atomic", "montecarlo", "processes", "cluster", "version"),
]


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "trialsim"


def test_unit_every_module_has_a_layer():
    placed = {u for layer in LAYERS for u in layer}
    assert {_unit(m) for m in MODULES} - {"trialsim"} == placed


def test_unit_imports_point_down_the_layers():
    """The arrows of docs/architecture.md: the package's facade (trialsim/__init__)
    may name anything; every other import goes to a lower layer."""
    rank = {u: i for i, layer in enumerate(LAYERS) for u in layer}
    upward = []
    for source, targets in _graph().items():
        for target in targets:
            a, b = _unit(source), _unit(target)
            if a == b or a == "trialsim":
                continue
            if b == "trialsim" or rank[b] <= rank[a]:
                upward.append(f"{source} -> {target}")
    assert upward == []
