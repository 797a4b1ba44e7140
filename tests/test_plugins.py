"""The two plugin kinds are closed over their registries: the schema, the scaffold's choices and
the code name exactly the runtimes of generator/runtimes and the CI targets of
generator/render/targets/ci.py, and a plugin's name appears in code only in its own modules."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path

from generator.render.targets.ci import CI_TARGETS, ci_target_names
from generator.runtimes import REGISTRY, modes, spec_names

REPO = Path(__file__).resolve().parent.parent
GENERATOR = REPO / "generator"
SCHEMA = json.loads((REPO / "schemas" / "mlops.schema.json").read_text(encoding="utf-8"))
COOKIECUTTER = json.loads((REPO / "blueprints" / "cookiecutter" / "cookiecutter.json").read_text(encoding="utf-8"))


def test_schema_runtime_enum_is_the_registry() -> None:
    serving = SCHEMA["properties"]["serving"]["properties"]
    assert serving["runtime"]["enum"] == list(spec_names())
    assert serving["runtime"]["default"] == REGISTRY[0].spec_name
    with_modes = [name for name in spec_names() if modes(name)]
    assert serving["deploymentMode"]["enum"] == [mode for name in with_modes for mode in modes(name)]
    assert serving["deploymentMode"]["default"] == modes(with_modes[0])[0]


def test_schema_ci_target_enum_is_the_registry() -> None:
    ci = SCHEMA["properties"]["ci"]["properties"]
    assert ci["targets"]["items"]["enum"] == list(ci_target_names())
    orchestrator = SCHEMA["properties"]["training"]["properties"]["orchestrator"]
    assert orchestrator["enum"] == [*ci_target_names(), "airflow"]


def test_scaffold_choices_are_the_registries() -> None:
    assert COOKIECUTTER["runtime"] == list(spec_names())
    assert COOKIECUTTER["ci"] == [*ci_target_names(), "both"]


def _code_words(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every identifier and string constant in a module; docstrings and the keys of
    subscripts (a spec field such as ci.jenkins.credentials.gitlab is not a plugin's name) left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    keys = {id(node.slice) for node in ast.walk(tree) if isinstance(node, ast.Subscript)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings | keys:
            yield node.lineno, node.value
        elif isinstance(node, ast.Name):
            yield node.lineno, node.id
        elif isinstance(node, ast.Attribute):
            yield node.lineno, node.attr
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.alias)):
            yield node.lineno, node.name


# (module, plugin name) -> why the module may say it. Keep this short: each entry is a plugin's
# knowledge living outside the plugin.
KNOWN_EXCEPTIONS = {
    # the spec stage cannot import the CI targets (they are render's): Jenkins' hashed cron field H
    # is checked where the spec's schedule is, against the orchestrator's name
    ("generator/spec/rules.py", "jenkins"): "the orchestrator's cron dialect",
}


def _mentions(name: str, word: re.Pattern[str], allowed: set[Path]) -> list[str]:
    found = []
    for path in sorted(GENERATOR.rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        if path in allowed or (relative, name) in KNOWN_EXCEPTIONS:
            continue
        found += [f"{relative}:{line}: {text!r}" for line, text in _code_words(path) if word.search(text)]
    return found


def test_a_runtime_is_named_only_in_its_own_module() -> None:
    """Its module, and the registry that lists it."""
    runtimes = GENERATOR / "runtimes"
    for name in spec_names():
        own = {runtimes / f"{name}.py", runtimes / "__init__.py"}
        found = _mentions(name, re.compile(re.escape(name), re.IGNORECASE), own)
        assert not found, f"the {name} runtime is named outside generator/runtimes/{name}.py:\n" + "\n".join(found)


def test_a_ci_target_is_named_only_in_its_own_modules() -> None:
    """The CI systems are also hosts (the GitLab API, the Jenkins job) and a container registry
    (GitLab's): those live in generator/integrations and the commands that reach them. Everywhere
    else, in the stages, a CI target's name is its module's business."""
    targets = GENERATOR / "render" / "targets"
    stages = [GENERATOR / stage for stage in ("spec", "render", "deliver", "ct", "runtimes")]
    # registry providers are named after their registry: GitLab's container registry is not its CI
    other_meaning = {targets / "registries.py"}
    for target in CI_TARGETS:
        own = {path for path in targets.glob(f"{target.name}*.py")} | {targets / "ci.py"} | other_meaning
        outside = {path for path in GENERATOR.rglob("*.py") if not any(stage in path.parents for stage in stages)}
        found = _mentions(target.name, re.compile(rf"^{re.escape(target.name)}$"), own | outside)
        assert not found, f"the {target.name} CI target is named outside its modules:\n" + "\n".join(found)


def test_every_ci_target_syntax_has_a_verifier() -> None:
    from generator.render.verify.registry import VERIFIERS

    for target in CI_TARGETS:
        assert target.syntaxes and all(syntax in VERIFIERS for syntax in target.syntaxes), target.name


def test_a_plugin_name_in_code_is_seen_but_not_in_docstrings(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('"""Mentions kserve in prose."""\nX = {"a": 1}["jenkins"]\nif runtime == "kserve-raw":\n'
                      '    pass\nseldon_thing = 1\n', encoding="utf-8")
    assert sorted(text for _, text in _code_words(module) if re.search("kserve|seldon|jenkins", text)) == \
        ["kserve-raw", "seldon_thing"]


def test_every_runtime_says_what_its_controller_creates_and_where_upstream_decides_it() -> None:
    from generator.spec.intake import load_valid_spec
    from generator.spec.normalise import normalise

    spec = normalise(load_valid_spec(REPO / "examples" / "fraud-detector" / "mlops.yaml").data, "mlops.yaml")
    for runtime in REGISTRY:
        created = runtime.controller_objects(spec)
        assert created, runtime.key
        for made in created:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+ \S+\.go( \w+)?", made.source), (runtime.key, made)
            assert spec.name in made.name, (runtime.key, made)


def test_schema_exporter_enum_is_the_registry() -> None:
    """monitoring.exporter names the scaffolded server's exporter and every runtime's own, and each
    runtime's default is one of them."""
    from generator.runtimes import EXPORTERS, default_exporter

    monitoring = SCHEMA["properties"]["monitoring"]["properties"]
    assert monitoring["exporter"]["enum"] == list(EXPORTERS)
    assert all(default_exporter(runtime) in EXPORTERS for runtime in REGISTRY)
