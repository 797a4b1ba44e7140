"""Each third-party client library is imported in its integration module only.

python-gitlab, jenkinsapi and requests raise their own exceptions and carry credentials: keeping
each behind one module of generator/integrations/ keeps the translation of its errors (and the
scrubbing of tokens) in one place, and render/validate/check free of them. Imports are read with
the ast module, so `import x`, `from x import y`, and the string literals given to
importlib.import_module(...) and generator.packages.import_for(...) all count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
INTEGRATIONS = "generator/integrations/"

# library (top-level module name) -> where it may be imported: a module, or a directory ending in /
ALLOWED = {
    "gitlab": ("generator/integrations/gitlab.py",),
    "jenkinsapi": ("generator/integrations/jenkins.py",),
    "cookiecutter": ("generator/integrations/cookiecutter.py",),
    "requests": (INTEGRATIONS,),
}
DYNAMIC_IMPORTERS = ("import_module", "import_for")  # importlib.import_module, generator.packages.import_for


def _called_name(node: ast.Call) -> str:
    function = node.func
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else ""


def imported_modules(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """(dotted module name, line) for every import in the tree, dynamic ones with a literal name too."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
        elif isinstance(node, ast.Call) and _called_name(node) in DYNAMIC_IMPORTERS and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield first.value, node.lineno


def allowed(library: str, relative: str) -> bool:
    return any(relative.startswith(place) if place.endswith("/") else relative == place
               for place in ALLOWED[library])


def violations(base: Path = REPO) -> list[str]:
    """"generator/...py:LINE imports MODULE" for every import of a library outside its place."""
    found = []
    for path in sorted((base / "generator").rglob("*.py")):
        relative = path.relative_to(base).as_posix()
        for module, line in imported_modules(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            library = module.split(".")[0]
            if library in ALLOWED and not allowed(library, relative):
                found.append(f"{relative}:{line} imports {module}")
    return found


def test_each_client_library_is_imported_only_in_its_integration_module() -> None:
    assert violations() == []


@pytest.mark.parametrize(("source", "module"), [
    ("import requests\n", "requests"),
    ("from gitlab.exceptions import GitlabError\n", "gitlab.exceptions"),
    ("import importlib\nimportlib.import_module('jenkinsapi.jenkins')\n", "jenkinsapi.jenkins"),
    ("from generator.packages import import_for\nimport_for('gitlab', package='python-gitlab', purpose='x')\n",
     "gitlab"),
])
def test_every_kind_of_import_is_seen(source: str, module: str) -> None:
    assert module in [name for name, _ in imported_modules(ast.parse(source))]


def test_a_misplaced_import_is_reported(tmp_path: Path) -> None:
    (tmp_path / "generator" / "render").mkdir(parents=True)
    (tmp_path / "generator" / "render" / "fetch.py").write_text("import requests\n", encoding="utf-8")
    assert allowed("requests", "generator/integrations/prometheus.py")
    assert not allowed("jenkinsapi", "generator/commands/jenkins.py")
    (tmp_path / "generator" / "integrations").mkdir()
    (tmp_path / "generator" / "integrations" / "gitlab.py").write_text("import gitlab\nimport requests\n",
                                                                       encoding="utf-8")
    assert violations(tmp_path) == ["generator/render/fetch.py:1 imports requests"]
