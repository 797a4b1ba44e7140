"""Release state in a GitOps directory: which image runs in each environment, and its history.

`overlays/<env>/release.yaml` is the kustomize patch Argo CD applies; `release-history.yaml`
beside it records every promotion and rollback, so a rollback can name the last known-good image.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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


def _overlay(gitops_dir: Path, env: str) -> Path:
    overlay = gitops_dir / "overlays" / env
    if not (overlay / RELEASE_FILE).is_file():
        known = sorted(p.name for p in (gitops_dir / "overlays").glob("*") if (p / RELEASE_FILE).is_file()) \
            if (gitops_dir / "overlays").is_dir() else []
        raise UserError(f"no environment '{env}' in {gitops_dir} (no overlays/{env}/{RELEASE_FILE})",
                        f"known environments: {', '.join(known)}" if known else
                        "run `mlopsgen render` first, and point --dir at the model's GitOps directory")
    return overlay


def current_image(overlay: Path) -> tuple[str, int]:
    try:
        ops = yaml.safe_load((overlay / RELEASE_FILE).read_text(encoding="utf-8"))
        image = next(op["value"] for op in ops if op.get("path") == IMAGE_PATH)
        traffic = next((op["value"] for op in ops if op.get("path") == TRAFFIC_PATH), 100)
    except (OSError, yaml.YAMLError, TypeError, AttributeError, StopIteration, KeyError):
        raise UserError(f"{overlay / RELEASE_FILE} is not a release file written by mlopsgen",
                        "restore it from git history") from None
    return str(image), int(traffic)


def history(overlay: Path) -> list[Release]:
    path = overlay / HISTORY_FILE
    if not path.is_file():
        return []
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return [Release(**entry) for entry in raw.get("releases", [])]
    except (yaml.YAMLError, TypeError, AttributeError):
        raise UserError(f"{path} is damaged", "restore it from git history") from None


def promote(gitops_dir: Path, env: str, tag: str, traffic: int) -> Outcome:
    if not 1 <= traffic <= 100:
        raise UserError(f"--traffic {traffic} is outside 1..100")
    if not IMAGE_TAG.fullmatch(tag):
        raise UserError(f"{tag!r} is not an image tag",
                        "a tag is up to 128 letters, digits, '.', '_' or '-', not starting with '.' or '-'")
    overlay = _overlay(gitops_dir, env)
    image, old_traffic = current_image(overlay)
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    new_image = f"{repository}:{tag}"
    if (new_image, traffic) == (image, old_traffic):
        return Outcome(env, Release("promote", new_image, traffic, image), changed=False)
    entries = history(overlay)
    # during a canary the previous step's image is the new one: what it replaces stays the same
    replaces = entries[-1].replaces if entries and entries[-1].image == new_image and old_traffic < 100 else image
    release = Release("promote", new_image, traffic, replaces)
    _write(overlay, env, release, [*entries, release])
    return Outcome(env, release, changed=True)


def rollback(gitops_dir: Path, env: str) -> Outcome:
    overlay = _overlay(gitops_dir, env)
    image, traffic = current_image(overlay)
    entries = history(overlay)
    bad = {e.rolled_back for e in entries if e.rolled_back} | {image}
    good = next((e.image for e in reversed(entries) if e.traffic == 100 and e.image not in bad), None)
    if good is None:
        good = next((e.replaces for e in entries if e.replaces not in bad), None)
    if good is None:
        raise UserError(f"{env} has no earlier known-good version to roll back to",
                        f"history: {overlay / HISTORY_FILE}")
    release = Release("rollback", good, 100, image, rolled_back=image)
    _write(overlay, env, release, [*entries, release])
    return Outcome(env, release, changed=True)


def _write(overlay: Path, env: str, release: Release, entries: list[Release]) -> None:
    ops: list[dict[str, Any]] = [{"op": "replace", "path": IMAGE_PATH, "value": release.image}]
    if release.traffic < 100:
        ops.append({"op": "add", "path": TRAFFIC_PATH, "value": release.traffic})
    header = (f"# Release state of {env}: written by `mlopsgen {release.action}`, applied by Argo CD.\n"
              f"# History: {HISTORY_FILE}. Change it with mlopsgen promote / rollback, not by hand.\n")
    patch = header + yaml.safe_dump(ops, sort_keys=False, default_flow_style=False)
    log = (f"# Every promotion and rollback of {env}, oldest first.\n"
           + yaml.safe_dump({"releases": [asdict(e) for e in entries]}, sort_keys=False))
    write_atomically(overlay / HISTORY_FILE, log.encode("utf-8"))
    write_atomically(overlay / RELEASE_FILE, patch.encode("utf-8"))
