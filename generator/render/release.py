"""Release state in a GitOps tree: which image runs in each environment, and its history.

`overlays/<env>/release.yaml` is the kustomize patch Argo CD applies; `release-history.yaml`
beside it records every promotion and rollback, so a rollback can name the last known-good
image. The logic works on file contents; a ReleaseStore says where they live (a directory, or
a branch of a repository reached through a backend).
"""

from __future__ import annotations

import re
from dataclasses import asdict
from functools import lru_cache
from typing import Any, Protocol

import yaml

from generator.errors import UserError
from generator.frozen import frozen
from generator.runtimes import BY_KEY, able, labels, runtime_named
from generator.runtimes.release_state import ReleaseState
from generator.yaml_data import Loader  # libyaml's SafeLoader

try:  # libyaml's emitter: the same text as PyYAML's pure-Python one for these files, several times faster
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]

HISTORY_FILE = "release-history.yaml"
IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", re.ASCII)  # the OCI distribution spec's tag


@frozen
class Release:
    action: str  # promote | rollback
    image: str
    traffic: int  # the new image's share: 100 once fully promoted
    replaces: str  # the image that served before
    rolled_back: str = ""  # on rollback: the image that was taken out
    shadow: bool = False


@frozen
class Outcome:
    env: str
    release: Release
    changed: bool
    files: dict[str, bytes]  # path (relative to the GitOps directory) -> new content
    continues: bool = False  # the first step of a two-step rollback: roll back again once applied

    @property
    def message(self) -> str:
        r = self.release
        if r.action == "rollback" and self.continues:
            return f"roll back {self.env}: traffic back to last known-good {r.image}, {r.rolled_back} still named"
        if r.action == "rollback":
            return f"roll back {self.env}: {r.rolled_back} -> last known-good {r.image}"
        share = "shadow" if r.shadow else f"{r.traffic}%"
        return f"promote {r.image} to {self.env} ({share}), replacing {r.replaces}"


class ReleaseStore(Protocol):
    def read(self, path: str) -> bytes | None:
        """A file relative to the model's GitOps directory."""
        ...

    def environments(self) -> list[str]:
        ...


@frozen
class History:
    runtime: str
    current: ReleaseState
    releases: list[Release]


def _load(store: ReleaseStore, env: str) -> History:
    history_path = f"overlays/{env}/{HISTORY_FILE}"
    raw_history = store.read(history_path)
    if raw_history is None:
        known = store.environments()
        raise UserError(f"no environment '{env}' (no overlays/{env}/{HISTORY_FILE})",
                        f"known environments: {', '.join(known)}" if known else
                        "run `mlopsgen render` first, and point --dir at the model's GitOps directory")
    try:
        raw: Any = yaml.load(raw_history, Loader=Loader)
        runtime = str(raw["runtime"])
        if runtime not in BY_KEY:
            raise KeyError(runtime)
        current = ReleaseState(**raw["current"])
        releases = [Release(**entry) for entry in raw.get("releases") or []]
    except (yaml.YAMLError, TypeError, KeyError, AttributeError):
        raise UserError(f"{history_path} is not a release history written by mlopsgen",
                        "restore it from git history") from None
    return History(runtime, current, releases)


def promote(store: ReleaseStore, env: str, tag: str, traffic: int, shadow: bool = False) -> Outcome:
    if not 0 <= traffic <= 100:
        raise UserError(f"--traffic {traffic} is outside 0..100")
    if not IMAGE_TAG.fullmatch(tag):
        raise UserError(f"{tag!r} is not an image tag",
                        "a tag is up to 128 letters, digits, '.', '_' or '-', not starting with '.' or '-'")
    history = _load(store, env)
    runtime, current = history.runtime, history.current
    # mid-way through a two-step rollback the version serving is the one rolled back to
    state = ReleaseState(current.rollback_to) if current.rollback_to else current
    can = runtime_named(runtime).capabilities
    if can.controller_driven and (traffic < 100 or shadow):
        raise UserError(f"{env} runs on {runtime}: Argo Rollouts carries out the steps itself",
                        "promote with --traffic 100 (the default)")
    if shadow and not can.shadow:
        raise UserError(f"{runtime} cannot mirror traffic",
                        f"shadow deployments need the {labels(able('shadow'))} runtime")
    if traffic == 0 and not shadow and not can.preview:
        raise UserError(f"{runtime} has no 0 % preview", f"a blue-green preview needs {labels(able('preview'))}")
    repository = state.stable.rsplit(":", 1)[0] if ":" in state.stable.rsplit("/", 1)[-1] else state.stable
    image = f"{repository}:{tag}"
    if traffic == 100 and not shadow:
        new = ReleaseState(image)
    else:
        new = ReleaseState(state.stable, image, 0 if shadow else traffic, shadow)
    release = Release("promote", image, traffic, state.stable, shadow=shadow)
    if new == current:
        return Outcome(env, release, changed=False, files={})
    return Outcome(env, release, changed=True, files=_files(env, runtime, new, [*history.releases, release]))


def rollback(store: ReleaseStore, env: str) -> Outcome:
    history = _load(store, env)
    state = history.current
    if state.rollback_to:  # the second step: the spec follows the traffic back (recorded in the first)
        new = ReleaseState(state.rollback_to, pinned=True)
        release = Release("rollback", state.rollback_to, 100, state.stable, rolled_back=state.stable)
        return Outcome(env, release, changed=True, files=_files(env, history.runtime, new, history.releases))
    if state.candidate:  # a canary, shadow or preview in progress: drop the candidate
        release = Release("rollback", state.stable, 100, state.candidate, rolled_back=state.candidate)
        new = ReleaseState(state.stable, pinned=True)
    else:
        bad = {e.rolled_back for e in history.releases if e.rolled_back} | {state.stable}
        fully = [e for e in history.releases if e.traffic == 100 and not e.shadow]
        good = next((e.image for e in reversed(fully) if e.image not in bad), None)
        if good is None:
            good = next((e.replaces for e in reversed(history.releases) if e.replaces not in bad), None)
        if good is None:
            raise UserError(f"{env} has no earlier known-good version to roll back to",
                            f"history: overlays/{env}/{HISTORY_FILE}")
        release = Release("rollback", good, 100, state.stable, rolled_back=state.stable)
        # two steps where the failed version has all traffic as the latest revision; when the traffic
        # is pinned on an earlier revision (after a rolled-back canary), one step replaces it
        if runtime_named(history.runtime).capabilities.two_step_rollback and not state.pinned:
            new = ReleaseState(state.stable, pinned=True, rollback_to=good)
            return Outcome(env, release, changed=True, continues=True,
                           files=_files(env, history.runtime, new, [*history.releases, release]))
        new = ReleaseState(good)
    return Outcome(env, release, changed=True,
                   files=_files(env, history.runtime, new, [*history.releases, release]))


def history_text(env: str, runtime: str, state: ReleaseState, releases: list[Release]) -> str:
    return _history_text(env, runtime, state, tuple(releases))


# Both are pure functions of frozen values, and every model of a fleet starts each environment
# from the same state: remembered (PyYAML's representer is most of what rendering them costs).
@lru_cache(maxsize=256)
def _history_text(env: str, runtime: str, state: ReleaseState, releases: tuple[Release, ...]) -> str:
    body = {"runtime": runtime, "current": asdict(state), "releases": [asdict(e) for e in releases]}
    return (f"# Releases of {env}, oldest first, and what runs now. Written by mlopsgen promote / rollback.\n"
            + yaml.dump(body, Dumper=_Dumper, sort_keys=False))


def release_texts(env: str, runtime: str, state: ReleaseState) -> dict[str, str]:
    """Each release file of the environment (by file name), for a release state."""
    return dict(_release_texts(env, runtime, state))


@lru_cache(maxsize=256)
def _release_texts(env: str, runtime: str, state: ReleaseState) -> tuple[tuple[str, str], ...]:
    header = (f"# Release state of {env}: written by `mlopsgen promote` / `rollback`, applied by Argo CD.\n"
              f"# History: {HISTORY_FILE}. Change it with mlopsgen promote / rollback, not by hand.\n")
    return tuple((file, header + yaml.dump(ops, Dumper=_Dumper, sort_keys=False, default_flow_style=False))
                 for file, ops in runtime_named(runtime).release_ops(state).items())


def _files(env: str, runtime: str, state: ReleaseState, releases: list[Release]) -> dict[str, bytes]:
    texts = release_texts(env, runtime, state)
    files = {f"overlays/{env}/{file}": text.encode("utf-8") for file, text in texts.items()}
    files[f"overlays/{env}/{HISTORY_FILE}"] = history_text(env, runtime, state, releases).encode("utf-8")
    return files
