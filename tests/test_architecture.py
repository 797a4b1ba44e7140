"""The package's shape, as ARCHITECTURE.md draws it: stages import only earlier stages, no module
imports itself back through others, and no module grows past about 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

from test_layering import imported_modules

REPO = Path(__file__).resolve().parent.parent
# earlier first; a module may import modules of its own rank or an earlier one
RANKS: tuple[tuple[str, ...], ...] = (
    ("generator", "generator.errors", "generator.resources", "generator.packages", "generator.artifacts",
     "generator.schemas", "generator.model"),
    ("generator.runtimes",),
    ("generator.spec",),
    ("generator.render",),
    ("generator.ct",),
    ("generator.deliver",),
    ("generator.integrations",),
    ("generator.cli.parser", "generator.cli.arguments", "generator.cli.completion"),  # the grammar
    ("generator.commands",),
    ("generator.cli", "generator.__main__"),  # main: dispatches to the commands
)
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted((REPO / "generator").rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def rank_of(module: str) -> int:
    """The rank of the longest prefix that names the module or a package holding it."""
    best, best_length = -1, -1
    for rank, prefixes in enumerate(RANKS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = rank, len(prefix)
    return best


def _import_time_nodes(tree: ast.AST) -> list[ast.AST]:
    """The statements that run when the module is imported: everything outside function bodies."""
    nodes, todo = [], list(ast.iter_child_nodes(tree))
    while todo:
        node = todo.pop()
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            nodes.append(node)
            todo += ast.iter_child_nodes(node)
    return nodes


def _internal_imports(path: Path, modules: dict[str, Path], top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = _import_time_nodes(tree) if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if not isinstance(node, (ast.Import, ast.ImportFrom, ast.Call)):
            continue
        for name, _ in imported_modules(node):
            while name and name not in modules:  # `from generator.x import y`: y may be a name in x
                name = name.rpartition(".")[0]
            if name.startswith("generator"):
                found.add(name)
        if isinstance(node, ast.ImportFrom) and node.module in modules:  # `from package import module`
            found |= {f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in modules}
    return found


def test_every_module_has_a_stage() -> None:
    assert [module for module in _modules() if rank_of(module) < 0] == []


def test_no_stage_imports_a_later_one() -> None:
    modules = _modules()
    backwards = [f"{module} (stage {rank_of(module)}) imports {imported} (stage {rank_of(imported)})"
                 for module, path in modules.items()
                 for imported in sorted(_internal_imports(path, modules, top_level_only=False))
                 if rank_of(imported) > rank_of(module)]
    assert backwards == []


def cycles_in(graph: dict[str, set[str]]) -> list[str]:
    """Every back edge of a depth-first walk, as the cycle it closes."""
    cycles: list[str] = []
    state = dict.fromkeys(graph, 0)  # 0 unseen, 1 on the current path, 2 done

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for imported in sorted(graph[module]):
            if state[imported] == 1:
                cycles.append(" -> ".join([*trail[trail.index(imported):], imported]))
            elif state[imported] == 0:
                visit(imported, [*trail, imported])
        state[module] = 2

    for module in graph:
        if state[module] == 0:
            visit(module, [module])
    return cycles


def test_cycles_are_found() -> None:
    assert cycles_in({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a -> b -> c -> a"]
    assert cycles_in({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    """Imports that run at import time (module level, not inside functions); a package's
    __init__ counts as the package, which `from package import module` imports too."""
    modules = _modules()
    graph = {module: _internal_imports(path, modules, top_level_only=True) - {module}
             for module, path in modules.items()}
    assert cycles_in(graph) == []


def test_no_module_is_over_400_lines() -> None:
    long = [f"{path.relative_to(REPO)}: {n}" for path in _modules().values()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert long == []


def test_the_wheel_lists_every_package() -> None:
    """pyproject.toml names the packages one by one (blueprints/ and schemas/ are mapped in): a new
    package left out would be missing from the wheel."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    packages = {".".join(p.relative_to(REPO).parent.parts) for p in (REPO / "generator").rglob("__init__.py")}
    assert packages <= listed
