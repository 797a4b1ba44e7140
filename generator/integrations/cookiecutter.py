"""`mlopsgen init`: check the answers, then let cookiecutter scaffold a model repository from
blueprints/cookiecutter. The template's post-generation hook renders the pipelines with mlopsgen
itself, so no blueprint exists twice.

Every answer is checked here, before cookiecutter runs: an invalid answer writes nothing.
cookiecutter is imported only inside `scaffold` (render, validate and check never import it).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from generator import __version__
from generator.errors import UserError
from generator.packages import MissingPackage
from generator.resources import blueprints_dir
from generator.runtimes import key_of, spec_names
from generator.spec.strategies import STRATEGIES_BY_RUNTIME

DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
IMAGE = re.compile(r"^[a-z0-9]([a-z0-9._/:-]*[a-z0-9])?$")
GITOPS_REPO = re.compile(r"^(https://|ssh://|git@)[^\s'\"`$\\]+$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
STRATEGIES = ("default", "rolling", "canary", "shadow", "blueGreen")
JINJA_MARKERS = ("{{", "{%", "{#", "}}", "%}", "#}")


def template_dir() -> Path:
    return blueprints_dir() / "cookiecutter"


def questions() -> dict[str, Any]:
    """The template's prompts and defaults (cookiecutter.json): the first item of a list is the default."""
    loaded: dict[str, Any] = json.loads((template_dir() / "cookiecutter.json").read_text("utf-8"))
    return loaded


def answerable() -> list[str]:
    return [k for k in questions() if not k.startswith("_")]


def parse_answers(pairs: list[str]) -> dict[str, str]:
    """key=value arguments -> answers; unknown keys and malformed pairs are refused."""
    known = answerable()
    answers: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"answer {pair!r} is not key=value",
                            f"for example: name=fraud-detector; keys: {', '.join(known)}")
        if key not in known:
            raise UserError(f"unknown answer {key!r}", f"the template asks for: {', '.join(known)}")
        answers[key] = value
    return answers


def _default(key: str) -> str:
    value = questions()[key]
    return str(value[0] if isinstance(value, list) else value)


def validate_answers(answers: dict[str, str]) -> None:
    """Refuse, with a hint, what would not render: all problems at once, nothing written."""
    problems: list[str] = []
    spec = questions()
    for key, value in answers.items():
        default = spec.get(key)
        if isinstance(default, list) and value not in [str(v) for v in default]:
            problems.append(f"{key}={value!r} is not one of: {', '.join(str(v) for v in default)}")
        if CONTROL.search(value):
            problems.append(f"{key} contains control characters")
        if "endraw" in value and any(m in value for m in JINJA_MARKERS):
            problems.append(f"{key} contains Jinja markup cookiecutter would evaluate")
    for key in ("name", "team"):
        if key in answers:
            value = answers[key]
            if not DNS_LABEL.match(value) or len(value) > 40:
                problems.append(f"{key}={value!r} is not a DNS-1123 label of at most 40 characters "
                                "(lower-case letters, digits and '-', starting with a letter, not ending with '-')")
    package = answers.get("name", _default("name")).replace("-", "_")
    hidden = _shadowed(package)
    if hidden:
        problems.append(f"name={answers.get('name')!r} makes the model's package {package}, which would hide "
                        f"{hidden} in the repository's virtualenv (choose another name, e.g. with a team prefix)")
    if "image" in answers and (not IMAGE.match(answers["image"]) or len(answers["image"]) > 255):
        problems.append(f"image={answers['image']!r} is not an image repository without a tag "
                        "(lower-case, e.g. registry.example.com/team/model)")
    if "gitops_repo" in answers and not GITOPS_REPO.match(answers["gitops_repo"]):
        problems.append(f"gitops_repo={answers['gitops_repo']!r} is not a git URL (https://, ssh:// or git@)")
    if "description" in answers and len(answers["description"]) > 500:
        problems.append("description is longer than 500 characters")
    runtime = answers.get("runtime", _default("runtime"))
    strategy = answers.get("strategy", _default("strategy"))
    runtime_key = key_of(runtime, None) if runtime in spec_names() else None
    if runtime_key and strategy != "default" and strategy in STRATEGIES:
        allowed = STRATEGIES_BY_RUNTIME[runtime_key]
        if strategy not in allowed:
            problems.append(f"strategy={strategy} cannot be carried out by runtime={runtime} "
                            f"(it can do: {', '.join(sorted(allowed))})")
    if problems:
        raise UserError("invalid answers; nothing was written:\n  " + "\n  ".join(problems),
                        "fix the answers (mlopsgen init --help lists them); every other field can be changed "
                        "later in mlops.yaml")


def _shadowed(package: str) -> str | None:
    """What an installed package of this name would hide: the scaffold installs its model package
    (src/<name with '_'>) next to mlopsgen, so `json` or `generator` would break every job."""
    if package in sys.stdlib_module_names:
        return f"Python's standard-library module {package}"
    if package in _mlopsgen_modules():
        return f"the module {package} that mlopsgen (or a package it needs) is imported as"
    return None


def _mlopsgen_modules() -> set[str]:
    """mlopsgen's own top-level package and those of the distributions it requires."""
    from importlib.metadata import PackageNotFoundError, packages_distributions, requires

    modules = {"generator"}
    try:
        required = [r for r in requires("mlopsgen") or [] if "extra ==" not in r]  # not the test extra's
        wanted = {re.split(r"[\s;<>=!~\[(]", r, maxsplit=1)[0].lower().replace("_", "-") for r in required}
    except PackageNotFoundError:  # run from a source tree that was never installed
        return modules
    for module, dists in packages_distributions().items():
        if any(d.lower().replace("_", "-") in wanted for d in dists):
            modules.add(module)
    return modules


def _literal(value: str) -> str:
    """The answer as a Jinja template that renders to exactly itself."""
    if any(marker in value for marker in JINJA_MARKERS):
        return "{% raw %}" + value + "{% endraw %}"
    return value


def _installed_version(package: str, known_release: str) -> str:
    """The version of a tool the new repository pins (pytest, ruff): the one installed here, so
    the scaffold's tests and lint were seen to pass with it; else a known release."""
    try:
        from importlib.metadata import version

        return version(package)
    except Exception:  # noqa: BLE001 - the tool is optional here: pin a known release
        return known_release


def scaffold(answers: dict[str, str], output_dir: Path, no_input: bool, overwrite: bool = False) -> Path:
    """Scaffold one repository under output_dir; returns its path."""
    validate_answers(answers)
    name = answers.get("name", _default("name"))
    target = output_dir / name
    if target.exists() and not overwrite:
        raise UserError(f"{target} already exists; nothing was written", "choose another name or -o DIR")
    import jinja2

    try:
        from cookiecutter.exceptions import (  # type: ignore[import-untyped]
            CookiecutterException,
            FailedHookException,
        )
        from cookiecutter.main import cookiecutter  # type: ignore[import-untyped]
    except ImportError:
        raise MissingPackage("cookiecutter", "mlopsgen init",
                             "python3 -m pip install --force-reinstall mlopsgen (cookiecutter is one of its "
                             "dependencies)") from None
    # cookiecutter renders every answer as a Jinja template: answers are data, never templates
    context: dict[str, Any] = {k: _literal(v) for k, v in answers.items()}
    context.update(_mlopsgen_version=__version__, _pytest_version=_installed_version("pytest", "8.3.4"),
                   _ruff_version=_installed_version("ruff", "0.8.4"),
                   _mlopsgen_pythonpath=str(Path(__file__).resolve().parents[2]))
    try:
        created = cookiecutter(str(template_dir()), no_input=no_input, extra_context=context,
                               output_dir=str(output_dir), overwrite_if_exists=overwrite)
    except FailedHookException as exc:
        raise UserError(f"rendering the new repository failed; nothing was kept ({exc})",
                        "the messages above say which answer the spec refused") from exc
    except (CookiecutterException, jinja2.TemplateError) as exc:
        raise UserError(f"cookiecutter failed; nothing was kept: {exc}") from exc
    # answers typed at the prompts are checked by the template's pre-generation hook
    return Path(created)
