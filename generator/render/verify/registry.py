"""Which verifier checks which syntax. Adding a Syntax means one verifier module and one line here;
tests/test_verifiers.py fails until every Syntax has an entry."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from generator.artifacts import Syntax
from generator.render.verify.base import Verifier
from generator.render.verify.dockerfile import DockerfileVerifier
from generator.render.verify.gitlab_ci import GitLabCIVerifier
from generator.render.verify.groovy import GroovyVerifier
from generator.render.verify.ignore_file import NothingToCheck
from generator.render.verify.kubernetes import KubernetesVerifier
from generator.render.verify.python import PythonVerifier
from generator.render.verify.shell import ShellVerifier

VERIFIERS: Mapping[Syntax, Verifier] = MappingProxyType({
    Syntax.GITLAB_CI: GitLabCIVerifier(),
    Syntax.YAML: KubernetesVerifier(),
    Syntax.JENKINSFILE: GroovyVerifier(),
    Syntax.DOCKERFILE: DockerfileVerifier(),
    Syntax.IGNORE_FILE: NothingToCheck(),
    Syntax.SHELL: ShellVerifier(),
    Syntax.PYTHON: PythonVerifier(),
})
