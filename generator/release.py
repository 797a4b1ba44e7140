"""Release state in a GitOps tree: which image runs in each environment, and its history.

`overlays/<env>/release.yaml` is the kustomize patch Argo CD applies; `release-history.yaml`
beside it records every promotion and rollback, so a rollback can name the last known-good
image. The logic works on file contents; a ReleaseStore says where they live (a directory, or
a branch of a repository reached through a backend).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from generator.errors import UserError
from generator.writer import write_atomically

RELEASE_FILE = "release.yaml"
HISTORY_FILE = "release-history.yaml"
IMAGE_PATH = "/spec/predictor/containers/0/image"
TRAFFIC_PATH = "/spec/predictor/canaryTrafficPercent"
IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", re.ASCII)  # the OCI distribution spec's tag


@dataclass(frozen=True)
class Release:
    action: str  # promote | rollback
    image: str
    traffic: int
    replaces: str  # the image that served before
    rolled_back: str = ""  # on rollback: the image that was taken out


@dataclass(frozen=True)
class Outcome:
    env: str
    release: Release
    changed: bool
    files: dict[str, bytes]  # path (relative to the GitOps directory) -> new content

    @property
    def message(self) -> str:
        r = self.release
        if r.action == "rollback":
            return f"roll back {self.env}: {r.rolled_back} -> last known-good {r.image}"
        return f"promote {r.image} to {self.env} ({r.traffic}%), replacing {r.replaces}"


class ReleaseStore(Protocol):
    def read(self, path: str) -> bytes | None:
        """A file relative to the model's GitOps directory."""
        ...

    def environments(self) -> list[str]:
        ...


@dataclass(frozen=True)
class DirectoryStore:
    root: Path

    def read(self, path: str) -> bytes | None:
        try:
            return (self.root / path).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def environments(self) -> list[str]:
        overlays = self.root / "overlays"
        return sorted(p.name for p in overlays.glob("*") if (p / RELEASE_FILE).is_file()) if overlays.is_dir() else []

    def write(self, outcome: Outcome) -> None:
        for path, data in sorted(outcome.files.items()):
            write_atomically(self.root / path, data)


def _load(store: ReleaseStore, env: str) -> tuple[str, int, list[Release]]:
    release_path, history_path = f"overlays/{env}/{RELEASE_FILE}", f"overlays/{env}/{HISTORY_FILE}"
    release = store.read(release_path)
    if release is None:
        known = store.environments()
        raise UserError(f"no environment '{env}' (no overlays/{env}/{RELEASE_FILE})",
                        f"known environments: {', '.join(known)}" if known else
                        "run `mlopsgen render` first, and point --dir at the model's GitOps directory")
    try:
        ops: Any = yaml.safe_load(release)
        image = next(op["value"] for op in ops if op.get("path") == IMAGE_PATH)
        traffic = next((op["value"] for op in ops if op.get("path") == TRAFFIC_PATH), 100)
    except (yaml.YAMLError, TypeError, AttributeError, StopIteration, KeyError):
        raise UserError(f"{release_path} is not a release file written by mlopsgen",
                        "restore it from git history") from None
    raw_history = store.read(history_path)
    try:
        raw: Any = yaml.safe_load(raw_history) if raw_history else {}
        entries = [Release(**entry) for entry in (raw or {}).get("releases", [])]
    except (yaml.YAMLError, TypeError, AttributeError):
        raise UserError(f"{history_path} is damaged", "restore it from git history") from None
    return str(image), int(traffic), entries


def promote(store: ReleaseStore, env: str, tag: str, traffic: int) -> Outcome:
    if not 1 <= traffic <= 100:
        raise UserError(f"--traffic {traffic} is outside 1..100")
    if not IMAGE_TAG.fullmatch(tag):
        raise UserError(f"{tag!r} is not an image tag",
                        "a tag is up to 128 letters, digits, '.', '_' or '-', not starting with '.' or '-'")
    image, old_traffic, entries = _load(store, env)
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    new_image = f"{repository}:{tag}"
    if (new_image, traffic) == (image, old_traffic):
        return Outcome(env, Release("promote", new_image, traffic, image), changed=False, files={})
    # during a canary the previous step's image is the new one: what it replaces stays the same
    continuing = entries and entries[-1].image == new_image and old_traffic < 100
    replaces = entries[-1].replaces if continuing else image
    release = Release("promote", new_image, traffic, replaces)
    return Outcome(env, release, changed=True, files=_files(env, release, [*entries, release]))


def rollback(store: ReleaseStore, env: str) -> Outcome:
    image, _traffic, entries = _load(store, env)
    bad = {e.rolled_back for e in entries if e.rolled_back} | {image}
    good = next((e.image for e in reversed(entries) if e.traffic == 100 and e.image not in bad), None)
    if good is None:
        good = next((e.replaces for e in entries if e.replaces not in bad), None)
    if good is None:
        raise UserError(f"{env} has no earlier known-good version to roll back to",
                        f"history: overlays/{env}/{HISTORY_FILE}")
    release = Release("rollback", good, 100, image, rolled_back=image)
    return Outcome(env, release, changed=True, files=_files(env, release, [*entries, release]))


def _files(env: str, release: Release, entries: list[Release]) -> dict[str, bytes]:
    ops: list[dict[str, Any]] = [{"op": "replace", "path": IMAGE_PATH, "value": release.image}]
    if release.traffic < 100:
        ops.append({"op": "add", "path": TRAFFIC_PATH, "value": release.traffic})
    header = (f"# Release state of {env}: written by `mlopsgen {release.action}`, applied by Argo CD.\n"
              f"# History: {HISTORY_FILE}. Change it with mlopsgen promote / rollback, not by hand.\n")
    patch = header + yaml.safe_dump(ops, sort_keys=False, default_flow_style=False)
    log = (f"# Every promotion and rollback of {env}, oldest first.\n"
           + yaml.safe_dump({"releases": [asdict(e) for e in entries]}, sort_keys=False))
    return {f"overlays/{env}/{RELEASE_FILE}": patch.encode("utf-8"),
            f"overlays/{env}/{HISTORY_FILE}": log.encode("utf-8")}
