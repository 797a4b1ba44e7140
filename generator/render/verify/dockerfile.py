"""A Dockerfile: every instruction is one Docker knows, and every base image is pinned to a tag
(hadolint runs in the conformance tests; this is what must never reach a user)."""

from __future__ import annotations

from collections.abc import Iterator

from generator.artifacts import RenderedFile
from generator.frozen import frozen
from generator.render.verify.base import VerificationContext

DOCKERFILE_INSTRUCTIONS = {"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
                           "LABEL", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}


@frozen
class DockerfileVerifier:
    def check(self, file: RenderedFile, context: VerificationContext) -> Iterator[str]:
        continued = False
        for number, raw in enumerate(file.content.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if not continued:
                word = line.split(None, 1)[0].upper()
                if word not in DOCKERFILE_INSTRUCTIONS:
                    yield f"line {number}: '{word}' is not a Dockerfile instruction"
                if word == "FROM" and (":latest" in line or ":" not in line.split()[1]):
                    yield f"line {number}: base image is not pinned"
            continued = line.endswith("\\")
