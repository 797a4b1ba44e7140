"""Job and stage names of one generated pipeline, each claimed once at plan time.

A pipeline file defines each job (GitLab) or stage (Jenkins) under a name that must be unique in
that file: GitLab reads a second `name:` key as a duplicate, Jenkins refuses a second stage of the
same name. The CI targets therefore name everything their blueprints define, through one
`UniqueNames` per kind and file, and the blueprints write only names taken from the plan. A name
asked for twice (a bug in mlopsgen's naming, never the spec's fault) stops the build at plan time,
naming both claimants, instead of surfacing as an invalid artifact after rendering.
"""

from __future__ import annotations


class NameClash(RuntimeError):
    """Two parts of one generated pipeline were given the same name."""


class UniqueNames:
    """Every name of one kind in one generated file, with what each one names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # for messages: ".gitlab-ci.yml job", "Jenkinsfile stage", ...
        self._owners: dict[str, str] = {}

    def claim(self, name: str, owner: str) -> str:
        """Reserve `name` for `owner` and return it; a name already claimed is a NameClash."""
        if name in self._owners:
            raise NameClash(f"{self.kind} name {name!r} was planned twice: for {self._owners[name]} and for {owner}")
        self._owners[name] = owner
        return name

    def reserve(self, names: tuple[str, ...] | list[str], owner: str) -> None:
        """Keep names nothing may be called (keywords of the file format, templates)."""
        for name in names:
            self.claim(name, owner)

    def __contains__(self, name: object) -> bool:
        return name in self._owners

    def __len__(self) -> int:
        return len(self._owners)
