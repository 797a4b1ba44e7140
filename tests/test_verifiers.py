"""generator.render.verify: one verifier per syntax behind a registry. Every Syntax has an entry, and
each verifier rejects a broken file with its own message (tests/test_stages.py checks the same through
verify(); tests/test_verify_core_kinds.py checks core Kubernetes kinds against kubernetes-validate)."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from generator.artifacts import RenderedFile, Syntax
from generator.errors import VerificationError
from generator.render.verify import verify
from generator.render.verify.base import VerificationContext
from generator.render.verify.registry import VERIFIERS
from generator.render.verify.shell import parsed_part

NO_OTHER_FILES = VerificationContext(rendered_paths=frozenset())


def _problems(path: str, content: str, syntax: Syntax,
              context: VerificationContext = NO_OTHER_FILES) -> list[str]:
    return list(VERIFIERS[syntax].check(RenderedFile(path, content, syntax, "test.origin"), context))


def test_every_syntax_has_a_verifier() -> None:
    assert set(VERIFIERS) == set(Syntax)


@pytest.mark.parametrize(("path", "content", "syntax", "problems"), [
    (".gitlab-ci.yml", "stages: [test]\njob:\n  stage: deploy\n  script: [x]\n  extends: .base\n  needs: [nope]\n",
     Syntax.GITLAB_CI, ["job 'job' uses stage 'deploy', which is not in stages",
                        "job 'job' extends '.base', which does not exist",
                        "job 'job' needs 'nope', which does not exist"]),
    (".gitlab-ci.yml", "a: 1\n---\nb: 2\n", Syntax.GITLAB_CI, ["a .gitlab-ci.yml must be one YAML mapping"]),
    (".gitlab-ci.yml", "job: {script: [x]}\njob: {script: [y]}\n", Syntax.GITLAB_CI,
     ["duplicate key 'job' on line 2"]),
    ("k/patch.yaml", "- op: add\n  path: /spec\n- op: frobnicate\n  path: /spec\n", Syntax.YAML,
     ["patch operation 1 is not a JSON patch operation"]),
    ("k/object.yaml", "- 1\n---\n[a]\n---\nkind: 3\n", Syntax.YAML,
     ["patch operation 0 is not a JSON patch operation", "patch operation 0 is not a JSON patch operation",
      "a Kubernetes manifest must be a mapping with apiVersion and kind"]),
    ("k/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                             "resources: [missing.yaml]\n", Syntax.YAML,
     ["kustomization refers to 'missing.yaml', which is not rendered"]),
    ("Jenkinsfile", "pipeline {\n  stages {\n    stage('x') { steps { sh 'y' }\n  }\n", Syntax.JENKINSFILE,
     ["line 2: '{' is never closed"]),  # the innermost unclosed one
    ("Jenkinsfile", "pipeline {\n  sh 'a\n'\n}\n", Syntax.JENKINSFILE, ["line 2: newline inside a string"]),
    ("Jenkinsfile", "pipeline {\n  sh 'a \\\n b\n'\n}\n", Syntax.JENKINSFILE,
     ["line 3: newline inside a string"]),  # an escaped newline continues the string and counts as a line
    ("Jenkinsfile", "pipeline {\n  sh '''\n", Syntax.JENKINSFILE, ["line 2: unterminated triple-quoted string"]),
    ("Jenkinsfile", "// {\npipeline { ] }\n", Syntax.JENKINSFILE, ["line 2: unbalanced ']'"]),
    ("Dockerfile", "FROM python:latest\nRUNN true \\\n  RUNN\n", Syntax.DOCKERFILE,
     ["line 1: base image is not pinned", "line 2: 'RUNN' is not a Dockerfile instruction"]),
    ("x.sh", "#!/bin/bash\nif true; then\n", Syntax.SHELL, None),  # bash's own message follows "bash -n: "
    ("dags/x.py", "def f(:\n    pass\n", Syntax.PYTHON, None),
])
def test_each_verifier_rejects_a_broken_file_with_its_message(path: str, content: str, syntax: Syntax,
                                                               problems: list[str] | None) -> None:
    found = _problems(path, content, syntax)
    if problems is not None:
        assert found == problems
    elif syntax is Syntax.SHELL:
        assert len(found) == 1 and found[0].startswith("bash -n: "), found
    else:
        assert len(found) == 1 and found[0].startswith("line 1: "), found


@pytest.mark.parametrize(("path", "content", "syntax"), [
    (".gitlab-ci.yml", "stages: [test]\n.base: {image: python:3.11}\njob:\n  extends: .base\n  script: [x]\n",
     Syntax.GITLAB_CI),
    ("k/history.yaml", "releases: [{version: 1}]\n", Syntax.YAML),  # plain data, not a Kubernetes object
    ("Jenkinsfile", "pipeline { agent any\n  stages { stage('x') { steps { sh \"echo '}'\" } } } }\n",
     Syntax.JENKINSFILE),
    ("Dockerfile", "# syntax\nFROM python:3.11-slim\nRUN pip install \\\n    x\n", Syntax.DOCKERFILE),
    ("x.sh", "#!/bin/bash\nset -euo pipefail\necho ok\n", Syntax.SHELL),
    ("dags/x.py", "print('ok')\n", Syntax.PYTHON),
    (".dockerignore", "{[( not a pattern anything checks\n'\n", Syntax.IGNORE_FILE),
])
def test_each_verifier_accepts_a_sound_file(path: str, content: str, syntax: Syntax) -> None:
    assert _problems(path, content, syntax) == []


def test_kustomization_references_are_checked_against_the_other_rendered_files() -> None:
    kustomization = ("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                     "resources: [../../base, dashboard.yaml]\npatches: [{path: patch.yaml}]\n")
    rendered = VerificationContext(rendered_paths=frozenset({
        "deploy/base/kustomization.yaml", "deploy/overlays/prod/dashboard.yaml"}))
    assert _problems("deploy/overlays/prod/kustomization.yaml", kustomization, Syntax.YAML, rendered) == [
        "kustomization refers to 'patch.yaml', which is not rendered"]


def test_verify_reports_every_failure_in_file_order() -> None:
    files = [RenderedFile("Dockerfile", "FROM python\n", Syntax.DOCKERFILE, "build"),
             RenderedFile(".dockerignore", "anything\n", Syntax.IGNORE_FILE, "build"),
             RenderedFile("Jenkinsfile", "pipeline {\n", Syntax.JENKINSFILE, "ci")]
    with pytest.raises(VerificationError) as caught:
        verify(files)
    assert caught.value.message == (
        "rendered artifacts failed verification; nothing was written:\n"
        "  Dockerfile (from spec field 'build'): line 1: base image is not pinned\n"
        "  Jenkinsfile (from spec field 'ci'): line 1: '{' is never closed")


def test_shell_scripts_of_one_render_are_parsed_side_by_side_and_judged_each_alone() -> None:
    """One bash -n per script, started together: a broken script is named, a sound one is not, and a
    long script that bash stops reading at its first error still gets bash's complaint."""
    good = RenderedFile("ok.sh", "#!/bin/bash\necho fine\n", Syntax.SHELL, "ci")
    bad = RenderedFile("bad.sh", "#!/bin/bash\nif true; then\n", Syntax.SHELL, "ci")
    long_bad = RenderedFile("long.sh", "#!/bin/bash\nfi\n" + "echo padding\n" * 20_000, Syntax.SHELL, "ci")
    with pytest.raises(VerificationError) as raised:
        verify([good, bad, long_bad])
    message = raised.value.message
    assert "bad.sh (from spec field 'ci'): bash -n: " in message and "long.sh" in message
    assert "ok.sh" not in message


@pytest.mark.parametrize("value", ["plain", "", "it's", "two words", "a\nb", "$(reboot)", "`id`", "x'; rm -rf / #",
                                   "'", "\\", "; fi", "\"unbalanced", "${x:?}"])
def test_a_quoted_value_is_outside_the_part_bash_judges(value: str) -> None:
    """The `sh` filter's assignments before the body are inert: scripts that differ only there share
    one verdict, whatever the value (and a value that is not one quoted word is judged with the rest)."""
    body = "set -euo pipefail\necho \"$model\"\n"
    script = f"#!/usr/bin/env bash\n# about {value!r}\nmodel={shlex.quote(value)}\n\n{body}"
    assert parsed_part(script) == body
    assert _problems("x.sh", script, Syntax.SHELL) == []


@pytest.mark.parametrize("prefix", ["model='open\n", "model=$(date)\n", "model=a b\n", "model=\"x\"\n",
                                    "alias fi=true\n", "model=x\\\n", "model='a'\"\n"])
def test_anything_else_before_the_body_is_judged_with_it(prefix: str) -> None:
    script = f"#!/usr/bin/env bash\n{prefix}echo ok\n"
    assert parsed_part(script).startswith(prefix.split("\n")[0])


def test_a_refused_body_is_reported_with_the_whole_scripts_line_numbers() -> None:
    script = "#!/bin/bash\nmodel='a'\nmodel2='b'\nif true; then\n"
    found = _problems("x.sh", script, Syntax.SHELL)
    assert len(found) == 1 and "line 5" in found[0], found


def test_every_golden_script_gets_the_verdict_bash_gives_the_whole_of_it() -> None:
    scripts = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*/rendered/**/*.sh"))
    assert scripts
    for path in scripts:
        text = path.read_text(encoding="utf-8")
        whole = subprocess.run(["bash", "-n"], input=text.encode(), capture_output=True, check=False)
        part = subprocess.run(["bash", "-n"], input=parsed_part(text).encode(), capture_output=True, check=False)
        assert whole.returncode == part.returncode == 0, path
        assert "set -euo pipefail" in parsed_part(text).splitlines()[0], path  # the values are all before it
    bodies = {parsed_part(p.read_text(encoding="utf-8")) for p in scripts if p.name == "mlopsgen-release.sh"}
    assert len(bodies) == 1  # one bash -n for every model's release script


GOLDEN_YAML = sorted(p for p in (Path(__file__).resolve().parent.parent / "examples").glob("*/rendered/**/*")
                     if p.suffix in (".yaml", ".yml") and p.is_file())
TRICKY_YAML = """
plain: text
quoted: "01"
numbers: [1, 0x1f, 0o17, 1_000, 1.5, .inf, -.nan]
flags: [yes, no, true, Off, ~, null]
when: 2026-12-04
stamp: 2026-12-04T10:00:00Z
base: &base {a: 1, b: [x, y]}
merged:
  <<: *base
  c: 3
alias: *base
---
- second document
"""


@pytest.mark.parametrize("text", [*(p.read_text(encoding="utf-8") for p in GOLDEN_YAML), TRICKY_YAML],
                         ids=[*(p.relative_to(p.parents[2]).as_posix() for p in GOLDEN_YAML), "tricky"])
def test_rendered_yaml_is_read_exactly_as_pyyamls_safe_loader_reads_it(text: str) -> None:
    from generator.render.verify.yaml_documents import yaml_documents

    expected = list(yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    got = list(yaml_documents(text))
    assert got == expected
    assert [type(d) for d in got] == [type(d) for d in expected]


def test_a_remembered_plain_scalar_resolves_as_it_did_the_first_time() -> None:
    from generator.render.verify.yaml_documents import yaml_documents

    expected = repr(list(yaml.load_all(TRICKY_YAML, Loader=yaml.SafeLoader)))  # repr: True is not 1
    assert repr(list(yaml_documents(TRICKY_YAML))) == expected
    assert repr(list(yaml_documents(TRICKY_YAML))) == expected  # now from what the loader remembered


SPEC_FILES = sorted({*(Path(__file__).resolve().parent / "specs").rglob("*.yaml"),
                     *(Path(__file__).resolve().parent.parent / "examples").glob("*/mlops.yaml")})


@pytest.mark.parametrize("path", SPEC_FILES, ids=[p.relative_to(p.parents[1]).as_posix() for p in SPEC_FILES])
def test_a_spec_is_read_as_pyyamls_safe_loader_reads_it(path: Path) -> None:
    from generator.errors import SpecError, UserError
    from generator.spec.loader import load_spec

    try:
        expected = repr(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValueError, UnicodeDecodeError):
        return  # not YAML: the loader's own errors are tested in test_invalid_specs
    try:
        loaded = load_spec(path)
    except (SpecError, UserError):
        return  # refused before construction (empty, a list, a repeated key, ...)
    assert repr(loaded.data) == expected
