"""Opening repositories from command-line options: the local default or GitLab with a token
from the environment. The token is read here and goes nowhere but the client's header."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.deliver.backends import BackendError, Repository
from generator.errors import UserError
from generator.frozen import frozen

if TYPE_CHECKING:
    from generator.integrations.rate_limit import RateLimitPacer


@frozen
class GitLabAccess:
    url: str
    token: str
    job_token: bool

    @classmethod
    def from_environment(cls, url: str) -> GitLabAccess:
        if not url.startswith(("https://", "http://")):
            raise UserError(f"--gitlab-url {url!r} is not an http(s) URL", "for example https://gitlab.com")
        token = os.environ.get("GITLAB_TOKEN", "")
        if token:
            return cls(url.rstrip("/"), token, job_token=False)
        token = os.environ.get("CI_JOB_TOKEN", "")
        if token:
            return cls(url.rstrip("/"), token, job_token=True)
        raise UserError("no GitLab token: set GITLAB_TOKEN (a project or group access token with api scope)",
                        "in a GitLab pipeline, store it as a masked CI/CD variable; CI_JOB_TOKEN is used when "
                        "GITLAB_TOKEN is unset, but GitLab lets job tokens commit only where the project allows it")

    def client(self, pacer: RateLimitPacer | None = None) -> Any:
        from generator.integrations.gitlab import connect

        return connect(self.url, self.token, job_token=self.job_token, pacer=pacer)

    def scrub(self, text: str) -> str:
        return text.replace(self.token, "***")


def open_gitlab(access: GitLabAccess, project: str, client: Any | None = None, *,
                branch: str | None = None) -> Repository:
    """With a branch named, the project is addressed by path without a request of its own."""
    from generator.integrations.gitlab import GitLabRepository

    if branch:
        return GitLabRepository.lazy(client or access.client(), project, access.token, default_branch=branch)
    try:
        return GitLabRepository.open(client or access.client(), project, access.token)
    except BackendError as exc:
        raise UserError(access.scrub(str(exc))) from None


def open_local(path: Path) -> Repository:
    from generator.deliver.backends.local import LocalRepository

    try:
        top = subprocess.run(["git", "-C", str(path), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, check=False)
    except FileNotFoundError:
        raise UserError("git is not installed; the local backend needs it") from None
    if top.returncode:
        raise UserError(f"{path} is not in a git repository",
                        "run `git init` there, or pass --gitlab-url and --project to sync through GitLab")
    root = Path(top.stdout.strip())
    if root.resolve() != path.resolve():
        raise UserError(f"the spec must be at the root of its repository ({root}), not in {path}",
                        "move mlops.yaml to the repository root")
    return LocalRepository(root)


def checked_out_blob(path: Path) -> str | None:
    """The blob id of a file as the commit checked out around it holds it; None outside a git
    checkout, or when that commit does not hold the file."""
    try:
        found = subprocess.run(["git", "-C", str(path.parent), "rev-parse", "--verify", "--quiet",
                                f"HEAD:./{path.name}"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return None
    return found.stdout.strip() or None if found.returncode == 0 else None
