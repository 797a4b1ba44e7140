"""Every third-party module imported under generator/ or tests/ is declared in pyproject.toml.

A module that is only installed by accident (by hand, or as another package's dependency) passes
every test on one machine and breaks on the next: here the import itself is not enough, its
distribution must be named in [project] dependencies or in one of the optional extras. Imports are
read from the source (ast), including importlib.import_module / import_for / importorskip with a
literal name, so lazily imported clients count too.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the test extra installs tomli on 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
SCANNED = ("generator", "tests")
DYNAMIC_IMPORTERS = {"import_module", "import_for", "importorskip", "find_spec"}
# modules a file imports that another environment provides, with where that environment is declared
ELSEWHERE = {("tests/conformance/airflow_dagbag.py", "airflow"):
             "runs in the Airflow venv .tools/airflow, pinned in .ci/install-tools and .ci/airflow-constraints.txt"}


def imported_modules(paths: Iterable[Path]) -> Iterator[tuple[str, Path, int]]:
    """(top-level module, file, line) of every absolute import in these files."""
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield alias.name.split(".")[0], path, node.lineno
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield node.module.split(".")[0], path, node.lineno
            elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in DYNAMIC_IMPORTERS:
                    yield node.args[0].value.split(".")[0], path, node.lineno


def local_modules() -> set[str]:
    """The project's own top-level names: the package, and the tests' helper modules and packages."""
    names = {"generator"}
    for entry in (REPO / "tests").rglob("*"):
        if entry.suffix == ".py":
            names.add(entry.stem)
        elif entry.is_dir() and (entry / "__init__.py").exists():
            names.add(entry.name)
    return names


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_distributions() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return {normalise(re.split(r"[\s<>=!~;\[(]", req, maxsplit=1)[0]) for req in requirements}


def undeclared(imports: Iterable[tuple[str, Path, int]], declared: set[str], local: set[str],
               distributions: dict[str, list[str]]) -> list[str]:
    problems = []
    for module, path, line in imports:
        if module in local or module in sys.stdlib_module_names or module == "__future__":
            continue
        if path.is_relative_to(REPO) and (path.relative_to(REPO).as_posix(), module) in ELSEWHERE:
            continue
        owners = {normalise(d) for d in distributions.get(module, [])}
        # not installed here (a conditional import, tomli on 3.10): then declared under its own name
        if not owners & declared and not (not owners and normalise(module) in declared):
            where = f"{path.relative_to(REPO)}:{line}"
            found = f"installed from {', '.join(sorted(owners))}" if owners else "not installed here"
            problems.append(f"{where}: imports {module} ({found}), which pyproject.toml does not declare")
    return sorted(set(problems))


def scanned_files() -> list[Path]:
    return sorted(p for folder in SCANNED for p in (REPO / folder).rglob("*.py"))


def test_every_third_party_import_is_declared() -> None:
    problems = undeclared(imported_modules(scanned_files()), declared_distributions(), local_modules(),
                          importlib.metadata.packages_distributions())
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("source", "expected"), [
    ("import requests\n", "imports requests (installed from requests), which pyproject.toml does not declare"),
    ("from gitlab import Gitlab\n", "imports gitlab (installed from python-gitlab), which pyproject.toml does "
                                    "not declare"),
    ("import importlib\nimportlib.import_module('nosuchmodule.sub')\n",
     "imports nosuchmodule (not installed here), which pyproject.toml does not declare"),
])
def test_an_undeclared_import_is_reported(tmp_path: Path, source: str, expected: str) -> None:
    module = REPO / "tests" / "_probe_undeclared.py"  # inside the repository, so the location is relative
    module.write_text(source, encoding="utf-8")
    try:
        problems = undeclared(imported_modules([module]), {"pytest"}, set(),
                              importlib.metadata.packages_distributions())
    finally:
        module.unlink()
    assert [p.split(": ", 1)[1] for p in problems] == [expected]


def test_stdlib_local_and_declared_imports_pass(tmp_path: Path) -> None:
    module = REPO / "tests" / "_probe_declared.py"
    module.write_text("import json\nimport yaml\nimport conftest\nfrom generator import cli\n", encoding="utf-8")
    try:
        problems = undeclared(imported_modules([module]), declared_distributions(), local_modules(),
                              importlib.metadata.packages_distributions())
    finally:
        module.unlink()
    assert problems == []


def test_ci_runs_exactly_the_readme_test_command_in_a_fresh_virtualenv() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.+?)\n```", section)
    assert len(commands) == 2, commands
    install_and_render, test = commands
    run = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert run[-1] == test
    for command in commands:
        assert command.startswith("python3 -m venv --clear .venv && . .venv/bin/activate && "), command
    assert "mlopsgen render examples/" in install_and_render and "python -m pytest" in test
