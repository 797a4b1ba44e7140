"""What a fleet run needs from GitLab: the projects of a group, and each target's repository
through one python-gitlab client per worker thread (generator/deliver/fleet.py stays host-neutral)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from generator.deliver.fleet import FleetRepository, Target
from generator.integrations.gitlab import GitLabRepository


def group_projects(client: Any, group: str) -> list[Target]:
    listed = client.groups.get(group, lazy=True).projects.list(include_subgroups=True, archived=False,
                                                               get_all=True, per_page=100)
    return [Target(p.path_with_namespace, p.default_branch) for p in listed if p.default_branch]


@dataclass
class GitLabRepositories:
    """FleetRun.open_repository for GitLab: a target without a branch is opened (one request, for its
    default branch); one with a branch is addressed lazily (no request)."""

    client_factory: Callable[[], Any]  # one client per worker thread
    secret: str
    _local: threading.local = field(default_factory=threading.local)

    def _client(self) -> Any:
        if not hasattr(self._local, "client"):
            self._local.client = self.client_factory()
        return self._local.client

    def __call__(self, target: Target) -> tuple[FleetRepository, str]:
        if target.branch is None:
            repo = GitLabRepository.open(self._client(), target.project, self.secret)
            return repo, repo.default_branch
        return GitLabRepository.lazy(self._client(), target.project, self.secret, target.branch), target.branch
