"""Dockerfile and .dockerignore for the serving image."""

from __future__ import annotations

from generator.artifacts import PlannedArtifact, Syntax
from generator.frozen import frozen
from generator.model import Spec


@frozen
class Docker:
    name: str = "docker"

    def plan(self, spec: Spec) -> list[PlannedArtifact]:
        probe = (f"import urllib.request; urllib.request.urlopen("
                 f"'http://127.0.0.1:{spec.serving.port}{spec.serving.health_path}', timeout=4)")
        return [
            PlannedArtifact("Dockerfile", "docker/Dockerfile.j2", Syntax.DOCKERFILE, "build",
                            {"healthcheck": ["python", "-c", probe]}),
            PlannedArtifact(".dockerignore", "docker/dockerignore.j2", Syntax.IGNORE_FILE, "build"),
        ]
