"""Blueprints hold loops and conditionals only (issue 11, point 5).

Shell steps, names and suffixes are built in Python as typed values (generator/render/targets/
shell.py, steps.py, gitlab.py, jenkins.py, gitops_names.py, the runtimes) and reach the blueprints
quoted by construction; a
blueprint that joins strings (`~`), builds lists (`{% set xs = xs + [...] %}`), computes numbers or
re-decides which registries use OIDC has taken that job back, so these checks read every tag of
the blueprints mlopsgen renders itself with Jinja's own lexer (blueprints/cookiecutter is a
cookiecutter template, rendered by cookiecutter).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2.lexer import operators

from generator.render.rendering import environment
from generator.render.targets.shell import Arg, Authored, Command, Fragment, command
from generator.render.targets.steps import in_venv

REPO = Path(__file__).resolve().parent.parent
CI_BLUEPRINTS = sorted(p for kind in ("gitlab", "jenkins", "gitops", "airflow", "docker", "scripts")
                       for p in (REPO / "blueprints" / kind).rglob("*.j2"))

# token types of Jinja's lexer that compute rather than choose or repeat
COMPUTING = {"tilde": "`~` (string building)", "add": "`+`", "sub": "`-`", "mul": "`*`", "div": "`/`",
             "floordiv": "`//`", "mod": "`%`", "pow": "`**`", "lbracket": "`[` (a list or a subscript)",
             "lbrace": "`{` (a dict)"}


def tags(path: Path) -> list[tuple[int, str, str]]:
    """(line, token type, value) of every token inside {{ }} and {% %} (comments and text left out)."""
    source = path.read_text(encoding="utf-8")
    inside, out = False, []
    for line, kind, value in environment().lex(source, path.name):
        if kind in ("block_begin", "variable_begin"):
            inside = True
        elif kind in ("block_end", "variable_end"):
            inside = False
        elif inside and kind != "whitespace":
            out.append((line, operators[value] if kind == "operator" else kind, value))
    return out


def test_there_are_ci_blueprints() -> None:
    assert {p.name for p in CI_BLUEPRINTS} >= {"gitlab-ci.yml.j2", "Jenkinsfile.j2", "image-stages.groovy.j2"}


@pytest.mark.parametrize("path", CI_BLUEPRINTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_string_building_or_arithmetic(path: Path) -> None:
    found = [f"line {line}: {COMPUTING[kind]}" for line, kind, _ in tags(path) if kind in COMPUTING]
    assert not found, f"{path.name} computes instead of choosing: " + "; ".join(found)


@pytest.mark.parametrize("path", CI_BLUEPRINTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_set_statements(path: Path) -> None:
    """Not even aliases: a value the blueprint needs comes from the plan under its own name."""
    source = path.read_text(encoding="utf-8")
    tokens = list(environment().lex(source, path.name))
    sets = [line for (line, kind, _), (_, next_kind, value) in zip(tokens, tokens[1:], strict=False)
            if kind == "block_begin" and next_kind == "name" and value == "set"]
    sets += [line for (line, kind, _), (_, _, value) in zip(tokens, tokens[2:], strict=False)
             if kind == "block_begin" and value == "set"]  # `{% set` with whitespace between
    assert not sets, f"{path.name}: {{% set %}} on lines {sorted(set(sets))}"


@pytest.mark.parametrize("path", CI_BLUEPRINTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_registry_kind_comes_from_the_login_plan(path: Path) -> None:
    """Which registries log in with OIDC is registries.py's to say (RegistryLogin.oidc): a blueprint
    reads `registry_login.provider` / `.oidc`, never the spec's provider against a list of its own."""
    tokens = tags(path)
    for i, (line, kind, value) in enumerate(tokens):
        if kind == "name" and value == "provider":
            assert tokens[i - 2][2] == "registry_login", f"{path.name} line {line}: provider not from registry_login"
        if kind == "name" and value == "in" and i + 1 < len(tokens) and tokens[i + 1][1] in ("lparen", "lbracket"):
            raise AssertionError(f"{path.name} line {line}: membership in a tuple written in the blueprint")


# ------------------------------------------------------------------------------ the typed values

def test_spec_values_are_quoted_when_a_command_is_joined() -> None:
    hostile = "x'; rm -rf / #"
    line = command("mlopsgen", "check", Arg(hostile), "--tag", Fragment('"$IMAGE_TAG"'))
    assert line.shell == "mlopsgen check 'x'\"'\"'; rm -rf / #' --tag \"$IMAGE_TAG\""
    assert Authored("pytest -q").yaml == '"pytest -q"'
    assert command("mlopsgen", "check", Arg("mlops.yaml")).yaml == 'mlopsgen check "mlops.yaml"'


def test_a_fixed_word_that_needs_quoting_is_refused() -> None:
    with pytest.raises(ValueError, match="needs quoting"):
        Command(("mlopsgen", "$(id)"))


def test_the_venv_prefix_is_added_in_one_place() -> None:
    step = in_venv("Lint", Authored("ruff check ."))
    assert step.script == ". .venv/bin/activate\nruff check ."
