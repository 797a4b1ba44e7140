"""A small GitLab (REST API v4), over real HTTP on 127.0.0.1, backed by real bare git repositories.

Clients such as python-gitlab talk to it unmodified. What it answers, and how, follows GitLab:

- Auth: ``PRIVATE-TOKEN`` / ``JOB-TOKEN`` headers, ``Authorization: Bearer``, ``?private_token=``.
  Unknown token → 401 ``{"message":"401 Unauthorized"}``. Anonymous: projects are private, so reads
  answer 404 ``404 Project Not Found`` and writes 401. Role "reporter" may read; pushes answer 403.
- Routing on the RAW path, one segment per ``/``, each then URL-decoded: ``group%2Fproject`` and
  ``path%2Fto%2Ffile`` are single segments, as python-gitlab sends them.
- Errors: parameter errors 400 ``{"error": …}``; service errors 400 ``{"message": …}``; 404s
  ``{"message": "404 <What> Not Found"}``; MR conflicts 409/422 with an *array* message.
- Offset pagination (``per_page`` default 20, max 100) with ``X-Page``/``X-Next-Page``/``X-Total``…
  and ``Link: <…>; rel="next"``; the tree also does keyset pagination (``page_token`` = last id).
- ``POST …/repository/commits`` checks in GitLab's order (push right, parameters, start_sha, start
  branch, existing target branch, ``last_commit_id`` conflicts, then the actions in order) and is
  atomic: the new tree is built on a temporary index and the branch moved with
  ``git update-ref <ref> <new> <old>``, so a concurrent push makes it fail instead of being lost.

Test hooks: ``create_project``, ``commit_directly``, ``head``, ``repo_path``, ``requests`` (every
(method, raw path with query) received) and ``inject(Fault(...))`` for 429/500/502/dropped
connections/concurrent pushes. ``ci_lint_enabled`` switches ``POST …/ci/lint`` off (404).
``rate_limit = RateLimit(limit, period)`` throttles as GitLab.com does (RateLimit-* headers on
every answer, 429 with Retry-After over the limit).

Pipeline schedules (``…/pipeline_schedules``, see the section below) follow GitLab's API, its
``Ci::PipelineSchedulePolicy`` and the model's validations; ``pipeline_schedules(project)`` shows
a project's store, ``add_pipeline_schedule`` makes one as if someone had made it in the UI.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import math
import os
import re
import subprocess
import tempfile
import threading
import time
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode
from zoneinfo import ZoneInfo, available_timezones

import yaml

from emulators.server import DispatchingHandler, LoopbackServer

API = "/api/v4"
ZERO_SHA = "0" * 40
PUSH_ROLES = {"owner", "maintainer", "developer"}
FAULT_KINDS = {"429", "500", "502", "drop", "concurrent_commit"}
FORBIDDEN_PUSH = "403 Forbidden - You are not allowed to push into this branch"
_GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_LITERAL_PATHSPECS": "1",
            "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}


class ApiError(Exception):
    """An HTTP error answer: status and JSON body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status, body)
        self.status, self.body = status, body


def _not_found(what: str = "") -> ApiError:
    return ApiError(404, {"message": f"404 {what} Not Found" if what else "404 Not Found"})


def _bad_param(text: str) -> ApiError:  # Grape parameter validation
    return ApiError(400, {"error": text})


def _service_error(text: str) -> ApiError:  # service-layer errors (commits, branches)
    return ApiError(400, {"message": text})


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes", "on")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Fault:
    """A failure to inject. Eligible requests: index >= ``at`` (0-based, since the last reset) and,
    if ``match`` = (method or "*", regex searched in the raw path with query), matching ones.
    It fires on the first ``times`` eligible requests; ``fired`` counts them."""

    kind: str  # "429" | "500" | "502" | "drop" | "concurrent_commit"
    at: int | None = None
    match: tuple[str, str] | None = None
    times: int = 1
    retry_after: int = 0
    callback: Callable[[], object] | None = None  # concurrent_commit: called before handling
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if self.kind == "concurrent_commit" and self.callback is None:
            raise ValueError("a concurrent_commit fault needs a callback")

    def applies(self, method: str, raw_path: str, index: int) -> bool:
        if self.fired >= self.times or (self.at is not None and index < self.at):
            return False
        if self.match is not None:
            want, pattern = self.match
            return want in ("*", method) and re.search(pattern, raw_path) is not None
        return True


@dataclass
class RateLimit:
    """GitLab's throttle_authenticated_api (Rack::Attack): at most ``limit`` requests per user in each
    fixed window of ``period`` seconds, windows aligned to the epoch (Rack::Attack counts under the
    key ``time // period``), throttled requests counted too (``RateLimit-Observed`` passes the limit).
    Every answer carries the RateLimit-* headers, as GitLab does with
    ``rate_limiting_headers_for_unthrottled_requests`` (gitlab MR 209485); a request over the limit
    gets 429 ``Retry later`` with ``Retry-After`` (whole seconds to the window's end) instead of an
    answer. GitLab.com: 2,000 authenticated API requests a minute."""

    limit: int
    period: float = 60.0
    window: int = -1
    observed: int = 0
    throttled: int = 0  # 429s answered

    def count(self, now: float) -> tuple[bool, dict[str, str]]:
        """(allowed, headers) for one more request at `now` (epoch seconds)."""
        window = int(now // self.period)
        if window != self.window:
            self.window, self.observed = window, 0
        self.observed += 1
        reset = (window + 1) * self.period
        allowed = self.observed <= self.limit
        self.throttled += not allowed
        headers = {"RateLimit-Name": "throttle_authenticated_api", "RateLimit-Limit": str(self.limit),
                   "RateLimit-Observed": str(self.observed),
                   "RateLimit-Remaining": str(max(self.limit - self.observed, 0)),
                   "RateLimit-Reset": str(math.ceil(reset)),
                   "RateLimit-ResetTime": email.utils.formatdate(math.ceil(reset), usegmt=True)}
        if not allowed:
            headers["Retry-After"] = str(max(math.ceil(reset - now), 1))
        return allowed, headers


class _Repo:
    """A bare git repository, driven through git plumbing."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def run(self, *args: str, data: bytes | None = None, env: dict[str, str] | None = None,
            check: bool = True) -> bytes | None:
        proc = subprocess.run(["git", f"--git-dir={self.path}", *args], input=data, capture_output=True,
                              env={**os.environ, **_GIT_ENV, **(env or {})})
        if proc.returncode:
            if check:
                raise RuntimeError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace')}")
            return None
        return proc.stdout

    def out(self, *args: str, env: dict[str, str] | None = None) -> str:
        return (self.run(*args, env=env, check=False) or b"").decode("utf-8", "surrogateescape").strip()

    def resolve(self, ref: str | None) -> str | None:
        """The commit a branch, tag or sha names, or None."""
        if not ref or ref.startswith("-"):
            return None
        return self.out("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}") or None

    def branch_head(self, branch: str | None) -> str | None:
        return self.resolve(f"refs/heads/{branch}") if branch else None

    def branches(self) -> list[tuple[str, str]]:
        lines = self.out("for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads").splitlines()
        return [tuple(line.rsplit(" ", 1)) for line in lines]  # type: ignore[misc]

    def write_blob(self, data: bytes) -> str:
        """Write a loose blob object directly (what `git hash-object -w` does, without a process)."""
        raw = b"blob %d\0" % len(data) + data
        sha = hashlib.sha1(raw).hexdigest()
        obj = self.path / "objects" / sha[:2] / sha[2:]
        if not obj.exists():
            obj.parent.mkdir(exist_ok=True)
            tmp = obj.with_name(f"tmp-{threading.get_ident()}-{sha[2:]}")
            tmp.write_bytes(zlib.compress(raw))
            os.replace(tmp, obj)
        return sha

    def read_files(self, commit: str | None) -> dict[str, tuple[str, str]]:
        """path -> (mode, object id) of every non-tree entry of a commit."""
        if commit is None:
            return {}
        files = {}
        for entry in (self.run("ls-tree", "-r", "-z", "--full-tree", commit) or b"").split(b"\0"):
            if entry:
                meta, path = entry.decode("utf-8", "surrogateescape").split("\t", 1)
                mode, _, sha = meta.split()
                files[path] = (mode, sha)
        return files

    def tree_items(self, commit: str, path: str, recursive: bool) -> list[dict[str, str]] | None:
        treeish = f"{commit}:{path}" if path else commit
        raw = self.run("ls-tree", "-z", *(["-r", "-t"] if recursive else []), treeish, check=False)
        if raw is None:
            return None
        items = []
        for entry in raw.split(b"\0"):
            if entry:
                meta, rel = entry.decode("utf-8", "surrogateescape").split("\t", 1)
                mode, kind, sha = meta.split()
                items.append({"id": sha, "name": rel.rsplit("/", 1)[-1], "type": kind,
                              "path": f"{path}/{rel}" if path else rel, "mode": mode.rjust(6, "0")})
        order = {"tree": 0, "blob": 1, "commit": 2}
        return sorted(items, key=lambda item: order[item["type"]])  # stable: git order inside each kind

    def entry(self, commit: str, path: str) -> tuple[str, str, str] | None:
        """(mode, type, id) of one path in a commit."""
        for line in (self.run("ls-tree", "-z", commit, "--", path) or b"").split(b"\0"):
            meta, _, name = line.decode("utf-8", "surrogateescape").partition("\t")
            if line and name == path:
                mode, kind, sha = meta.split()
                return mode, kind, sha
        return None

    def last_commit_for(self, commit: str, path: str) -> str | None:
        return self.out("log", "-1", "--format=%H", commit, "--", path) or None

    def write_commit(self, files: dict[str, tuple[str, str]], parent: str | None, message: str,
                     author: tuple[str, str]) -> str:
        with tempfile.TemporaryDirectory() as tmp:
            env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
            info = b"".join(f"{mode} {sha}\t{path}".encode("utf-8", "surrogateescape") + b"\0"
                            for path, (mode, sha) in sorted(files.items()))
            self.run("update-index", "-z", "--index-info", data=info, env=env)
            tree = self.out("write-tree", env=env)
        env = {"GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1],
               "GIT_COMMITTER_NAME": author[0], "GIT_COMMITTER_EMAIL": author[1]}
        parents = ["-p", parent] if parent else []
        sha = self.run("commit-tree", tree, *parents, "-F", "-", data=message.encode(), env=env) or b""
        return sha.decode().strip()

    def update_ref(self, branch: str, new: str, old: str | None) -> bool:
        """Compare-and-swap: moves the branch only if it still points at `old` (None: must not exist)."""
        return self.run("update-ref", f"refs/heads/{branch}", new, old or ZERO_SHA, check=False) is not None

    def commits(self, *revs: str, walk: bool = True) -> list[dict[str, Any]]:
        fmt = "%H%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%B%x1e"
        raw = self.run("log", *([] if walk else ["--no-walk=unsorted"]), f"--format={fmt}", *revs, check=False)
        result = []
        for record in (raw or b"").decode("utf-8", "replace").split("\x1e"):
            if record.strip():
                sha, parents, an, ae, ad, cn, ce, cd, message = record.lstrip("\n").split("\x1f")
                result.append({"id": sha, "parent_ids": parents.split(), "author_name": an, "author_email": ae,
                               "authored_date": ad, "committer_name": cn, "committer_email": ce,
                               "committed_date": cd, "message": message})
        return result

    def stats(self, sha: str) -> dict[str, int]:
        additions = deletions = 0
        for line in self.out("diff-tree", "--numstat", "-r", "--root", "--no-commit-id", sha).splitlines():
            added, deleted, _ = line.split("\t", 2)
            additions += int(added) if added.isdigit() else 0
            deletions += int(deleted) if deleted.isdigit() else 0
        return {"additions": additions, "deletions": deletions, "total": additions + deletions}


@dataclass
class _Project:
    id: int
    path_with_namespace: str
    default_branch: str
    repo: _Repo
    merge_requests: list[dict[str, Any]] = field(default_factory=list)
    pipeline_schedules: list[dict[str, Any]] = field(default_factory=list)

    @property
    def namespace(self) -> str:
        return self.path_with_namespace.rsplit("/", 1)[0]


@dataclass
class _Ctx:
    method: str
    path: str  # raw path, without the query
    query: dict[str, str]
    params: dict[str, Any]  # query + body, as Grape merges them
    user: dict[str, Any] | None

    @property
    def can_push(self) -> bool:
        return self.user is not None and self.user["role"] in PUSH_ROLES


def _parse_form(raw: bytes) -> dict[str, Any]:
    """Rack-style form parameters: ``actions[][action]=…`` / ``actions[0][file_path]=…`` / ``labels[]=…``."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True):
        nested = re.fullmatch(r"(\w+)\[(\d*)\]\[(\w+)\]", key)
        if nested:
            name, index, sub = nested.groups()
            items = out.setdefault(name, [])
            if index:
                items.extend({} for _ in range(int(index) + 1 - len(items)))
                items[int(index)][sub] = value
            else:
                if not items or sub in items[-1]:
                    items.append({})
                items[-1][sub] = value
        elif key.endswith("[]"):
            out.setdefault(key[:-2], []).append(value)
        else:
            out[key] = value
    return out


class _CiLoader(yaml.SafeLoader):
    """SafeLoader that accepts GitLab's custom tags (``!reference [...]``) as plain values."""


def _any_tag(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_CiLoader.add_multi_constructor("!", _any_tag)
CI_RESERVED = {"default", "include", "stages", "variables", "workflow", "image", "services", "cache",
               "before_script", "after_script", "types"}


def lint_ci(content: str) -> dict[str, Any]:
    """A stand-in for GitLab's CI config validation: YAML, job keywords, stages and needs."""
    errors: list[str] = []
    doc: Any = None
    if not content.strip():
        errors.append("Please provide content of .gitlab-ci.yml")
    else:
        try:
            doc = yaml.load(content, Loader=_CiLoader)  # noqa: S506 - SafeLoader subclass
        except yaml.YAMLError as exc:
            errors.append("(<unknown>): " + " ".join(str(exc).split()))
    if not errors and not isinstance(doc, dict):
        errors.append("Invalid configuration format")
    if not errors:
        jobs = {str(k): v for k, v in doc.items() if k not in CI_RESERVED and not str(k).startswith(".")}
        stages = [".pre", *(doc.get("stages") or ["build", "test", "deploy"]), ".post"]
        for name, job in jobs.items():
            if not isinstance(job, dict):
                errors.append(f"jobs:{name} config should be a hash")
                continue
            if not any(key in job for key in ("script", "run", "trigger", "extends")):
                errors.append(f"jobs:{name} config should implement the script:, run:, or trigger: keyword")
            if "stage" in job and job["stage"] not in stages:
                errors.append(f"jobs:{name} chosen stage {job['stage']} does not exist; "
                              f"available stages are {', '.join(map(str, stages))}")
            needs = job.get("needs") if isinstance(job.get("needs"), list) else []
            for need in needs:
                target = need if isinstance(need, str) else None
                if isinstance(need, dict) and "job" in need and not need.get("optional") and "project" not in need:
                    target = need["job"]
                if target is not None and target not in jobs:
                    errors.append(f"jobs:{name}:needs config contains unknown job: {target}")
    valid = not errors
    merged = yaml.safe_dump(doc, sort_keys=False) if valid else None
    return {"valid": valid, "errors": errors, "warnings": [], "merged_yaml": merged, "includes": []}


class _Handler(DispatchingHandler):
    emulator: GitLabEmulator

    do_HEAD = do_POST = do_PUT = do_DELETE = DispatchingHandler.do_GET  # noqa: N815


class GitLabEmulator(LoopbackServer):
    """A GitLab API v4 on 127.0.0.1: ``with GitLabEmulator(tmp_path) as gl: url = gl.url``."""

    handler = _Handler
    thread_name = "gitlab-emulator"

    def __init__(self, root: Path, tokens: dict[str, str] | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.tokens = dict(tokens if tokens is not None else {"test-token": "maintainer"})
        self.ci_lint_enabled = True
        self.empty_actions = "reject"  # "reject": 400 "actions is required" (GitLab 2025); "commit": empty commit
        self.requests: list[tuple[str, str]] = []
        self.rate_limit: RateLimit | None = None  # set one to throttle as GitLab does
        self.url = ""
        self._faults: list[Fault] = []
        self._projects: dict[int, _Project] = {}
        self._groups: dict[str, int] = {}
        self._mr_ids = 0
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._routes = [
            ("GET", "version", self._version), ("GET", "user", self._current_user),
            ("GET", "groups/:group", self._get_group), ("GET", "groups/:group/projects", self._group_projects),
            ("GET", "projects/:pid", self._get_project),
            ("GET", "projects/:pid/repository/tree", self._tree),
            ("GET HEAD", "projects/:pid/repository/files/:file_path", self._file),
            ("GET", "projects/:pid/repository/files/:file_path/raw", self._file_raw),
            ("GET", "projects/:pid/repository/commits", self._list_commits),
            ("POST", "projects/:pid/repository/commits", self._create_commit),
            ("GET", "projects/:pid/repository/commits/:sha", self._get_commit),
            ("GET", "projects/:pid/repository/branches", self._list_branches),
            ("POST", "projects/:pid/repository/branches", self._create_branch),
            ("GET", "projects/:pid/repository/branches/:branch", self._get_branch),
            ("GET", "projects/:pid/merge_requests", self._list_mrs),
            ("POST", "projects/:pid/merge_requests", self._create_mr),
            ("GET", "projects/:pid/merge_requests/:iid", self._get_mr),
            ("PUT", "projects/:pid/merge_requests/:iid", self._update_mr),
            ("POST", "projects/:pid/ci/lint", self._ci_lint),
        ]
        self._routes += [
            ("GET", "projects/:pid/pipeline_schedules", self._list_schedules),
            ("POST", "projects/:pid/pipeline_schedules", self._create_schedule),
            ("GET", "projects/:pid/pipeline_schedules/:schedule_id", self._get_schedule),
            ("PUT", "projects/:pid/pipeline_schedules/:schedule_id", self._update_schedule),
            ("DELETE", "projects/:pid/pipeline_schedules/:schedule_id", self._delete_schedule),
            ("POST", "projects/:pid/pipeline_schedules/:schedule_id/take_ownership", self._take_schedule_ownership),
        ]
        self._schedule_ids = 0
        # "full": GitLab 16.x and later store a short ref expanded (main -> refs/heads/main);
        # "as-given": older versions store the ref as it was sent
        self.schedule_refs = "full"

    # ---- test hooks ------------------------------------------------------------------------------

    def create_project(self, path_with_namespace: str, *, default_branch: str = "main",
                       files: dict[str, bytes] | None = None) -> int:
        """A private project with a bare repo: an initial commit of `files`, or empty when None."""
        if "/" not in path_with_namespace:
            raise ValueError("a project path needs a group: 'group/project'")
        with self._lock:
            if any(p.path_with_namespace == path_with_namespace for p in self._projects.values()):
                raise ValueError(f"project {path_with_namespace} already exists")
            project_id = len(self._projects) + 1
            repo = _Repo(self.root / f"{path_with_namespace}.git")
            repo.path.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["git", "init", "--bare", "-q", str(repo.path)], check=True, capture_output=True,
                           env={**os.environ, **_GIT_ENV})
            repo.run("symbolic-ref", "HEAD", f"refs/heads/{default_branch}")
            self._projects[project_id] = _Project(project_id, path_with_namespace, default_branch, repo)
            parts = path_with_namespace.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                self._groups.setdefault("/".join(parts[:depth]), len(self._groups) + 1)
        if files is not None:
            self.commit_directly(project_id, default_branch, dict(files), "Initial commit")
        return project_id

    def repo_path(self, project: int | str) -> Path:
        return self._lookup(project).repo.path

    def head(self, project: int | str, branch: str) -> str | None:
        return self._lookup(project).repo.branch_head(branch)

    def commit_directly(self, project: int | str, branch: str, files: dict[str, bytes | None], message: str) -> str:
        """Someone else pushes: write (bytes/str) or delete (None) files on `branch` (created from the
        default branch if missing). Returns the new commit id."""
        proj = self._lookup(project)
        repo = proj.repo
        old = repo.branch_head(branch)
        base = old or repo.branch_head(proj.default_branch)
        tree = repo.read_files(base)
        for path, content in files.items():
            if content is None:
                tree.pop(path, None)
            else:
                data = content.encode() if isinstance(content, str) else content
                tree[path] = (tree.get(path, ("100644", ""))[0], repo.write_blob(data))
        sha = repo.write_commit(tree, base, message, ("Someone Else", "someone.else@example.com"))
        if not repo.update_ref(branch, sha, old):
            raise RuntimeError(f"{branch} moved while committing directly")
        return sha

    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def reset_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # ---- HTTP plumbing ---------------------------------------------------------------------------

    def _dispatch(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        method, raw = handler.command, handler.path
        with self._lock:
            index = len(self.requests)
            self.requests.append((method, raw))
            fault = next((f for f in self._faults if f.applies(method, raw, index)), None)
            if fault is not None:
                fault.fired += 1
            allowed, limit_headers = self.rate_limit.count(time.time()) if self.rate_limit else (True, {})
        if not allowed:
            self._send(handler, 429, b"Retry later\n", {"Content-Type": "text/plain", **limit_headers})
            return
        headers: dict[str, str] = {}
        if fault is not None and fault.kind == "drop":
            handler.close_connection = True  # no answer at all: the socket is closed
            return
        if fault is not None and fault.kind == "concurrent_commit":
            assert fault.callback is not None
            fault.callback()
            fault = None
        if fault is None:
            try:
                status, payload, headers = self._handle(method, raw, handler.headers, body)
            except ApiError as exc:
                status, payload = exc.status, exc.body
            except Exception:  # a bug in the emulator: answer as GitLab would, keep the trace visible
                traceback.print_exc()
                status, payload = 500, {"message": "500 Internal Server Error"}
        elif fault.kind == "429":
            reset = int(time.time()) + fault.retry_after
            status, payload = 429, b"Retry later\n"
            headers = {"Content-Type": "text/plain", "Retry-After": str(fault.retry_after),
                       "RateLimit-Name": "throttle_authenticated_api", "RateLimit-Limit": "600",
                       "RateLimit-Observed": "601", "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset),
                       "RateLimit-ResetTime": email.utils.formatdate(reset, usegmt=True)}
        elif fault.kind == "500":
            status, payload = 500, {"message": "500 Internal Server Error"}
        else:  # 502 from the proxy in front of GitLab
            status, payload = 502, b"<html><body><h1>502 Bad Gateway</h1></body></html>\n"
            headers = {"Content-Type": "text/html"}
        self._send(handler, status, payload, {**limit_headers, **headers})

    @staticmethod
    def _send(handler: _Handler, status: int, payload: Any, headers: dict[str, str]) -> None:
        if payload is None:
            data = b""
        elif isinstance(payload, bytes):
            data = payload
        else:
            data = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json", **headers}
        handler.send_response(status)
        for name, value in headers.items():  # UTF-8 bytes through http.server's latin-1 encoding
            handler.send_header(name, str(value).encode("utf-8").decode("latin-1"))
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)

    def _handle(self, method: str, raw: str, headers: Any, body: bytes) -> tuple[int, Any, dict[str, str]]:
        path, _, query_string = raw.partition("?")
        query = dict(parse_qsl(query_string, keep_blank_values=True))
        user = self._authenticate(headers, query)
        if not path.startswith(API + "/"):
            raise _not_found()
        segments = [unquote(s) for s in path[len(API) + 1:].split("/")]
        for methods, pattern, func in self._routes:
            params = self._match(pattern, segments)
            if method not in methods.split() or params is None:
                continue
            if method in ("POST", "PUT", "DELETE") and user is None:
                raise ApiError(401, {"message": "401 Unauthorized"})
            parsed: Any = {}
            if body:
                ctype = headers.get("Content-Type", "")
                try:
                    parsed = json.loads(body) if "json" in ctype else _parse_form(body)
                except ValueError:
                    raise _bad_param("The request body is invalid") from None
            ctx = _Ctx(method, path, query, {**query, **(parsed if isinstance(parsed, dict) else {})}, user)
            if "pid" in params:
                params["project"] = self._visible_project(ctx, params.pop("pid"))
            result = func(ctx, **params)
            return result if isinstance(result, tuple) else (201 if method == "POST" else 200, result, {})
        raise _not_found()

    @staticmethod
    def _match(pattern: str, segments: list[str]) -> dict[str, str] | None:
        parts = pattern.split("/")
        if len(parts) != len(segments):
            return None
        params = {}
        for part, seg in zip(parts, segments, strict=True):
            if part.startswith(":") and seg:
                params[part[1:]] = seg
            elif part != seg:
                return None
        return params

    def _authenticate(self, headers: Any, query: dict[str, str]) -> dict[str, Any] | None:
        auth = headers.get("Authorization") or ""
        token = (headers.get("PRIVATE-TOKEN") or headers.get("JOB-TOKEN")
                 or (auth[7:].strip() if auth.lower().startswith("bearer ") else None)
                 or query.get("private_token") or query.get("job_token") or query.get("access_token"))
        if not token:
            return None
        if token not in self.tokens:
            raise ApiError(401, {"message": "401 Unauthorized"})
        role, number = self.tokens[token], list(self.tokens).index(token) + 1
        return {"id": number, "username": f"{role}{number}", "name": f"Emulated {role.title()} {number}",
                "email": f"{role}{number}@example.com", "state": "active", "role": role}

    def _lookup(self, project: int | str) -> _Project:
        key = str(project)
        for proj in self._projects.values():
            if str(proj.id) == key or proj.path_with_namespace == key:
                return proj
        raise KeyError(f"no project {project!r}")

    def _visible_project(self, ctx: _Ctx, ident: str) -> _Project:
        try:
            proj = self._lookup(ident)
        except KeyError:
            proj = None
        if proj is None or ctx.user is None:  # private: invisible to anonymous users
            raise _not_found("Project")
        return proj

    def _paginate(self, ctx: _Ctx, items: list[Any]) -> tuple[int, list[Any], dict[str, str]]:
        try:
            per_page = min(max(int(ctx.query.get("per_page") or 20), 1), 100)
            page = max(int(ctx.query.get("page") or 1), 1)
        except ValueError:
            raise _bad_param("per_page is invalid, page is invalid") from None
        total = len(items)
        pages = max((total + per_page - 1) // per_page, 1)
        headers = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(total),
                   "X-Total-Pages": str(pages), "X-Next-Page": str(page + 1) if page < pages else "",
                   "X-Prev-Page": str(page - 1) if 1 < page <= pages + 1 else ""}
        links = {"next": page + 1 if page < pages else None, "prev": page - 1 if page > 1 else None,
                 "first": 1, "last": pages}
        headers["Link"] = ", ".join(f'<{self._url_with(ctx, page=str(n))}>; rel="{rel}"'
                                    for rel, n in links.items() if n is not None)
        return 200, items[(page - 1) * per_page: page * per_page], headers

    def _url_with(self, ctx: _Ctx, **changes: str) -> str:
        return f"{self.url}{ctx.path}?{urlencode({**ctx.query, **changes})}"

    # ---- users, groups, projects -------------------------------------------------------------------

    def _version(self, ctx: _Ctx) -> dict[str, Any]:
        if ctx.user is None:
            raise ApiError(401, {"message": "401 Unauthorized"})
        return {"version": "17.0.0", "revision": "emulator", "enterprise": False}

    def _current_user(self, ctx: _Ctx) -> dict[str, Any]:
        if ctx.user is None:
            raise ApiError(401, {"message": "401 Unauthorized"})
        user = {k: v for k, v in ctx.user.items() if k != "role"}
        return {**user, "is_admin": False, "web_url": f"{self.url}/{user['username']}"}

    def _group(self, ctx: _Ctx, ident: str) -> tuple[str, int]:
        for full_path, group_id in self._groups.items():
            if ctx.user is not None and ident in (full_path, str(group_id)):
                return full_path, group_id
        raise _not_found("Group")

    def _group_entity(self, full_path: str) -> dict[str, Any]:
        parent = full_path.rsplit("/", 1)[0] if "/" in full_path else None
        name = full_path.rsplit("/", 1)[-1]
        return {"id": self._groups[full_path], "name": name, "path": name, "full_name": full_path.replace("/", " / "),
                "full_path": full_path, "parent_id": self._groups.get(parent) if parent else None,
                "visibility": "private", "web_url": f"{self.url}/groups/{full_path}"}

    def _get_group(self, ctx: _Ctx, group: str) -> dict[str, Any]:
        return self._group_entity(self._group(ctx, group)[0])

    def _group_projects(self, ctx: _Ctx, group: str) -> tuple[int, list[Any], dict[str, str]]:
        full_path, _ = self._group(ctx, group)
        deep = _truthy(ctx.query.get("include_subgroups"))
        found = [p for p in self._projects.values()
                 if p.namespace == full_path or (deep and p.namespace.startswith(full_path + "/"))]
        found.sort(key=lambda p: -p.id)  # GitLab's default: created_at desc
        return self._paginate(ctx, [self._project_entity(p) for p in found])

    def _project_entity(self, proj: _Project) -> dict[str, Any]:
        web_url = f"{self.url}/{proj.path_with_namespace}"
        name = proj.path_with_namespace.rsplit("/", 1)[-1]
        return {"id": proj.id, "name": name, "path": name, "path_with_namespace": proj.path_with_namespace,
                "name_with_namespace": proj.path_with_namespace.replace("/", " / "), "description": None,
                "default_branch": proj.default_branch, "visibility": "private", "archived": False,
                "web_url": web_url, "http_url_to_repo": f"{web_url}.git",
                "ssh_url_to_repo": f"git@127.0.0.1:{proj.path_with_namespace}.git",
                "empty_repo": not proj.repo.branches(),
                "namespace": {**self._group_entity(proj.namespace), "kind": "group"}}

    def _get_project(self, ctx: _Ctx, project: _Project) -> dict[str, Any]:
        return self._project_entity(project)

    # ---- repository: tree, files, commits, branches ----------------------------------------------

    def _tree(self, ctx: _Ctx, project: _Project) -> tuple[int, list[Any], dict[str, str]]:
        commit = project.repo.resolve(ctx.query.get("ref") or project.default_branch)
        if commit is None:
            raise _not_found("Tree")
        recursive = _truthy(ctx.query.get("recursive"))
        items = project.repo.tree_items(commit, ctx.query.get("path", "").strip("/"), recursive)
        if items is None:
            raise _not_found("invalid revision or path")
        mode = ctx.query.get("pagination") or "legacy"
        if mode == "none":
            if not recursive:
                raise _bad_param("pagination none is only supported with recursive=true")
            return 200, items, {}
        if mode != "keyset":
            return self._paginate(ctx, items)
        per_page = min(max(int(ctx.query.get("per_page") or 20), 1), 100)
        start, token = 0, ctx.query.get("page_token")
        if token:
            ids = [item["id"] for item in items]
            if token not in ids:
                raise _bad_param("page_token is invalid")
            start = ids.index(token) + 1
        page = items[start:start + per_page]
        headers = {}
        if len(page) == per_page:  # keyset: only a "next" link, and only when the page is full
            headers["Link"] = f'<{self._url_with(ctx, page_token=page[-1]["id"])}>; rel="next"'
        return 200, page, headers

    def _file_meta(self, ctx: _Ctx, project: _Project, file_path: str, ref: str | None) -> tuple[dict[str, Any], bytes]:
        if ".." in file_path.split("/"):
            raise _bad_param("file_path should be a valid file path")
        if not ref:
            raise _bad_param("ref is missing")
        repo = project.repo
        commit = repo.resolve(ref)
        if commit is None:
            raise _not_found("Commit")
        entry = repo.entry(commit, file_path)
        if entry is None or entry[1] != "blob":
            raise _not_found("File")
        data = repo.run("cat-file", "blob", entry[2]) or b""
        meta = {"file_name": file_path.rsplit("/", 1)[-1], "file_path": file_path, "size": len(data),
                "encoding": "base64", "content_sha256": hashlib.sha256(data).hexdigest(), "ref": ref,
                "blob_id": entry[2], "commit_id": commit, "last_commit_id": repo.last_commit_for(commit, file_path),
                "execute_filemode": entry[0] == "100755"}
        return meta, data

    @staticmethod
    def _file_headers(meta: dict[str, Any]) -> dict[str, str]:
        def header(key: str) -> str:
            return "X-Gitlab-" + "-".join(part.title() for part in key.split("_"))
        return {header(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in meta.items()}

    def _file(self, ctx: _Ctx, project: _Project, file_path: str) -> tuple[int, Any, dict[str, str]]:
        meta, data = self._file_meta(ctx, project, file_path, ctx.query.get("ref"))
        if ctx.method == "HEAD":
            return 200, None, self._file_headers(meta)
        return 200, {**meta, "content": base64.b64encode(data).decode()}, self._file_headers(meta)

    def _file_raw(self, ctx: _Ctx, project: _Project, file_path: str) -> tuple[int, Any, dict[str, str]]:
        meta, data = self._file_meta(ctx, project, file_path, ctx.query.get("ref") or project.default_branch)
        return 200, data, {**self._file_headers(meta), "Content-Type": "text/plain; charset=utf-8"}

    def _commit_entity(self, project: _Project, info: dict[str, Any], stats: bool = False) -> dict[str, Any]:
        def ms(date: str) -> str:  # git's strict ISO-8601 plus GitLab's milliseconds
            return date[:19] + ".000" + date[19:]
        entity = {"id": info["id"], "short_id": info["id"][:8], "created_at": ms(info["committed_date"]),
                  "parent_ids": info["parent_ids"], "title": info["message"].split("\n", 1)[0],
                  "message": info["message"], "author_name": info["author_name"],
                  "author_email": info["author_email"], "authored_date": ms(info["authored_date"]),
                  "committer_name": info["committer_name"], "committer_email": info["committer_email"],
                  "committed_date": ms(info["committed_date"]), "trailers": {}, "extended_trailers": {},
                  "web_url": f"{self.url}/{project.path_with_namespace}/-/commit/{info['id']}"}
        if stats:
            entity["stats"] = project.repo.stats(info["id"])
        return entity

    def _list_commits(self, ctx: _Ctx, project: _Project) -> tuple[int, list[Any], dict[str, str]]:
        commit = project.repo.resolve(ctx.query.get("ref_name") or project.default_branch)
        path = ["--", ctx.query["path"]] if ctx.query.get("path") else []
        infos = project.repo.commits(commit, *path) if commit else []
        return self._paginate(ctx, [self._commit_entity(project, info) for info in infos])

    def _get_commit(self, ctx: _Ctx, project: _Project, sha: str) -> dict[str, Any]:
        commit = project.repo.resolve(sha)
        if commit is None:
            raise _not_found("Commit")
        entity = self._commit_entity(project, project.repo.commits(commit, walk=False)[0],
                                     stats=_truthy(ctx.query.get("stats", "true")))
        return {**entity, "status": None}

    def _create_commit(self, ctx: _Ctx, project: _Project) -> dict[str, Any]:
        p, repo = ctx.params, project.repo
        if not ctx.can_push:  # 1. push right
            raise ApiError(403, {"message": FORBIDDEN_PUSH})
        missing = [k for k in ("branch", "commit_message", "actions") if p.get(k) in (None, "")]  # 2. parameters
        if missing:
            raise _bad_param(", ".join(f"{k} is missing" for k in missing))
        if p.get("start_branch") and p.get("start_sha"):
            raise _bad_param("start_branch, start_sha are mutually exclusive")
        actions = p["actions"]
        if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
            raise _bad_param("actions is invalid")
        for i, action in enumerate(actions):
            if action.get("action") not in ("create", "update", "move", "delete", "chmod"):
                raise _bad_param(f"actions[{i}][action] does not have a valid value")
            if not action.get("file_path"):
                raise _bad_param(f"actions[{i}][file_path] is missing")
            if action.get("encoding", "text") not in ("text", "base64"):
                raise _bad_param(f"actions[{i}][encoding] does not have a valid value")
            if action["action"] == "update" and action.get("content") is None:
                raise _bad_param(f"actions[{i}][content] is missing")
        if not actions and self.empty_actions == "reject":
            raise ApiError(400, {"message": "400 Bad request - actions is required"})
        branch, start_sha = str(p["branch"]), p.get("start_sha")
        start_branch = p.get("start_branch") or (None if start_sha else branch)
        if start_sha:  # 3. start_sha
            if not re.fullmatch(r"[0-9a-fA-F]{7,40}", str(start_sha)):
                raise _service_error(f"Invalid start_sha '{start_sha}'")
            base = repo.resolve(str(start_sha))
            if base is None:
                raise _service_error(f"Cannot find start_sha '{start_sha}'")
        else:  # 4. the start branch must exist (except in an empty repository)
            base = repo.branch_head(start_branch)
            if base is None and repo.branches():
                raise _service_error("You can only create or edit files when you are on a branch")
        current = base if start_branch == branch else repo.branch_head(branch)
        if (start_sha or start_branch != branch) and current and not _truthy(p.get("force")):  # 5.
            raise _service_error(f"A branch called '{branch}' already exists. "
                                 "Switch to that branch in order to make changes")
        for action in actions:  # 6. last_commit_id conflicts, against the start branch
            if action.get("last_commit_id") and action["action"] != "create" and base:
                path = action.get("previous_path") or action["file_path"]
                known = repo.resolve(str(action["last_commit_id"]))
                if known and repo.last_commit_for(base, path) != repo.last_commit_for(known, path):
                    raise _service_error(f"The file has changed since you started editing it: {path}")
        files = repo.read_files(base)
        for action in actions:  # 7. the actions, in order
            self._apply(repo, files, action)
        author = (p.get("author_name") or ctx.user["name"], p.get("author_email") or ctx.user["email"])  # type: ignore[index]
        sha = repo.write_commit(files, base, str(p["commit_message"]), author)
        if not repo.update_ref(branch, sha, current):  # someone pushed meanwhile: fail, never overwrite
            where = actions[0]["file_path"] if actions else branch
            raise _service_error(f"The file has changed since you started editing it: {where}")
        entity = self._commit_entity(project, repo.commits(sha, walk=False)[0], stats=_truthy(p.get("stats", True)))
        return {**entity, "status": None}

    @staticmethod
    def _apply(repo: _Repo, files: dict[str, tuple[str, str]], action: dict[str, Any]) -> None:
        kind, path = action["action"], str(action["file_path"])
        previous = str(action.get("previous_path") or path)
        if ".." in path.split("/") or ".." in previous.split("/"):
            raise _service_error("Path cannot include directory traversal")

        def blob() -> str:
            content = action.get("content")
            if content is None and kind == "move":
                return files[previous][1]
            text = str(content or "")
            data = base64.b64decode(text) if action.get("encoding") == "base64" else text.encode()
            return repo.write_blob(data)

        if kind in ("update", "delete", "chmod") and path not in files or kind == "move" and previous not in files:
            raise _service_error("A file with this name doesn't exist")
        if kind == "create" or (kind == "move" and previous != path):
            parents = ["/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 1)]
            if path in files or any(parent in files for parent in parents):
                raise _service_error("A file with this name already exists")
            if any(other.startswith(path + "/") for other in files):
                raise _service_error("A directory with this name already exists")
        if kind == "create":
            files[path] = ("100755" if _truthy(action.get("execute_filemode")) else "100644", blob())
        elif kind == "update":
            files[path] = (files[path][0], blob())
        elif kind == "delete":
            del files[path]
        elif kind == "chmod":
            files[path] = ("100755" if _truthy(action.get("execute_filemode")) else "100644", files[path][1])
        else:  # move
            mode, sha = files[previous][0], blob()
            del files[previous]
            files[path] = (mode, sha)

    def _branch_entity(self, ctx: _Ctx, project: _Project, name: str, sha: str) -> dict[str, Any]:
        info = project.repo.commits(sha, walk=False)[0]
        return {"name": name, "commit": self._commit_entity(project, info), "merged": False, "protected": False,
                "developers_can_push": False, "developers_can_merge": False, "can_push": ctx.can_push,
                "default": name == project.default_branch,
                "web_url": f"{self.url}/{project.path_with_namespace}/-/tree/{name}"}

    def _list_branches(self, ctx: _Ctx, project: _Project) -> tuple[int, list[Any], dict[str, str]]:
        """search and regex as gitlabhq app/finders/{git_refs,branches}_finder.rb apply them: search
        case-insensitive, with ^ (prefix), $ (suffix) and * (anything) as its only operators; regex an
        unanchored RE2 match (Python's re agrees with RE2 on the patterns clients send)."""
        names = project.repo.branches()
        search = ctx.query.get("search", "")
        if search:
            quoted = re.escape(search.lower())
            if any(op in search for op in "^$*"):
                quoted = quoted.replace("\\^", "^", 1).replace("\\*", ".*?").replace("\\$", "$", 1)
            names = [(n, s) for n, s in names if re.search(quoted, n.lower())]
        if ctx.query.get("regex"):
            try:
                pattern = re.compile(ctx.query["regex"])
            except re.error:
                raise _bad_param("regex is invalid") from None
            names = [(n, s) for n, s in names if pattern.search(n)]
        status, page, headers = self._paginate(ctx, names)
        return status, [self._branch_entity(ctx, project, n, s) for n, s in page], headers

    def _get_branch(self, ctx: _Ctx, project: _Project, branch: str) -> dict[str, Any]:
        sha = project.repo.branch_head(branch)
        if sha is None:
            raise _not_found("Branch")
        return self._branch_entity(ctx, project, branch, sha)

    def _create_branch(self, ctx: _Ctx, project: _Project) -> dict[str, Any]:
        if not ctx.can_push:
            raise ApiError(403, {"message": "403 Forbidden"})
        missing = [k for k in ("branch", "ref") if not ctx.params.get(k)]
        if missing:
            raise _bad_param(", ".join(f"{k} is missing" for k in missing))
        name, ref, repo = str(ctx.params["branch"]), str(ctx.params["ref"]), project.repo
        if name.startswith("-") or repo.run("check-ref-format", f"refs/heads/{name}", check=False) is None:
            raise _service_error("Branch name is invalid")
        if repo.branch_head(name):
            raise _service_error("Branch already exists")
        sha = repo.resolve(ref)
        if sha is None:
            raise _service_error(f"Failed to create branch '{name}': invalid reference name '{ref}'")
        if not repo.update_ref(name, sha, None):
            raise _service_error("Branch already exists")
        return self._branch_entity(ctx, project, name, sha)

    # ---- merge requests ---------------------------------------------------------------------------

    @staticmethod
    def _labels(value: Any) -> list[str]:
        items = value if isinstance(value, list) else str(value or "").split(",")
        return [str(label).strip() for label in items if str(label).strip()]

    def _find_mr(self, project: _Project, iid: str) -> dict[str, Any]:
        for mr in project.merge_requests:
            if str(mr["iid"]) == iid:
                return mr
        raise _not_found("Merge Request")

    def _check_duplicate(self, project: _Project, mr: dict[str, Any]) -> None:
        for other in project.merge_requests:
            same = all(other[k] == mr[k] for k in ("source_branch", "target_branch"))
            if same and other["iid"] != mr["iid"] and other["state"] == "opened":
                text = f"Another open merge request already exists for this source branch: !{other['iid']}"
                raise ApiError(409, {"message": [text]})

    def _create_mr(self, ctx: _Ctx, project: _Project) -> dict[str, Any]:
        p = ctx.params
        if not ctx.can_push:
            raise ApiError(403, {"message": "403 Forbidden"})
        missing = [k for k in ("source_branch", "target_branch", "title") if not p.get(k)]
        if missing:
            raise _bad_param(", ".join(f"{k} is missing" for k in missing))
        if p["source_branch"] == p["target_branch"]:
            raise ApiError(422, {"message": ["You can't use same project/branch for source and target"]})
        with self._lock:
            now = _now()
            iid = max((m["iid"] for m in project.merge_requests), default=0) + 1
            mr = {"id": self._mr_ids + 1, "iid": iid, "project_id": project.id, "title": str(p["title"]),
                  "description": p.get("description") or "", "state": "opened", "created_at": now, "updated_at": now,
                  "merged_at": None, "closed_at": None, "source_branch": p["source_branch"],
                  "target_branch": p["target_branch"], "source_project_id": project.id,
                  "target_project_id": project.id, "labels": self._labels(p.get("labels")), "draft": False,
                  "work_in_progress": False, "merge_status": "can_be_merged",
                  "force_remove_source_branch": _truthy(p.get("remove_source_branch")),
                  "author": {k: ctx.user[k] for k in ("id", "username", "name")},  # type: ignore[index]
                  "references": {"short": f"!{iid}", "full": f"{project.path_with_namespace}!{iid}"},
                  "web_url": f"{self.url}/{project.path_with_namespace}/-/merge_requests/{iid}"}
            self._check_duplicate(project, mr)
            self._mr_ids += 1
            project.merge_requests.append(mr)
        return self._mr_entity(project, mr)

    def _mr_entity(self, project: _Project, mr: dict[str, Any]) -> dict[str, Any]:
        return {**mr, "sha": project.repo.branch_head(mr["source_branch"])}

    def _list_mrs(self, ctx: _Ctx, project: _Project) -> tuple[int, list[Any], dict[str, str]]:
        q = ctx.query
        state = q.get("state") or "all"
        found = [mr for mr in reversed(project.merge_requests)
                 if state in ("all", mr["state"])
                 and q.get("source_branch", mr["source_branch"]) == mr["source_branch"]
                 and q.get("target_branch", mr["target_branch"]) == mr["target_branch"]]
        return self._paginate(ctx, [self._mr_entity(project, mr) for mr in found])

    def _get_mr(self, ctx: _Ctx, project: _Project, iid: str) -> dict[str, Any]:
        return self._mr_entity(project, self._find_mr(project, iid))

    def _update_mr(self, ctx: _Ctx, project: _Project, iid: str) -> dict[str, Any]:
        p = ctx.params
        if not ctx.can_push:
            raise ApiError(403, {"message": "403 Forbidden"})
        with self._lock:
            mr = self._find_mr(project, iid)
            changes: dict[str, Any] = {k: p[k] for k in ("title", "description", "target_branch") if k in p}
            if "labels" in p:
                changes["labels"] = self._labels(p["labels"])
            labels = changes.get("labels", mr["labels"])
            changes["labels"] = [lb for lb in labels if lb not in self._labels(p.get("remove_labels"))]
            changes["labels"] += [lb for lb in self._labels(p.get("add_labels")) if lb not in changes["labels"]]
            if "remove_source_branch" in p:
                changes["force_remove_source_branch"] = _truthy(p["remove_source_branch"])
            event = p.get("state_event")
            if event == "close" and mr["state"] == "opened":
                changes.update(state="closed", closed_at=_now())
            elif event == "reopen" and mr["state"] == "closed":
                changes.update(state="opened", closed_at=None)
            self._check_duplicate(project, {**mr, **changes})
            mr.update(changes, updated_at=_now())
        return self._mr_entity(project, mr)

    # ---- CI lint ----------------------------------------------------------------------------------

    def _ci_lint(self, ctx: _Ctx, project: _Project) -> tuple[int, dict[str, Any], dict[str, str]]:
        if not self.ci_lint_enabled:
            raise _not_found()
        if "content" not in ctx.params:
            raise _bad_param("content is missing")
        return 200, lint_ci(str(ctx.params["content"])), {}

    # ---- pipeline schedules -----------------------------------------------------------------------
    # GitLab's lib/api/ci/pipeline_schedules.rb, Ci::PipelineSchedules::{Create,Update}Service,
    # Ci::PipelineSchedule (validations) and Ci::PipelineSchedulePolicy:
    # - list and get need Reporter (list: 403 below it; get: 404 "Pipeline Schedule Not Found");
    # - create needs Developer (403 below it); update only by the schedule's owner (403 for everyone
    #   else, Maintainers included: they take ownership first); delete and take ownership need
    #   Maintainer, or the owner. A protected ref keeps Developers from creating or editing a
    #   schedule for it: the service's 400 {"message": {"base": [...]}}. The emulator does not model
    #   branch protection for pushes, but here it treats the default branch as GitLab protects it
    #   by default (push and merge: Maintainers), so a Developer token cannot schedule it.
    # - Grape parameter errors: 400 {"error": "cron is missing"}; model errors: 400
    #   {"message": {"cron": [" is invalid syntax"]}}; a short ref is expanded to refs/heads/… or
    #   refs/tags/… ({"ref": ["is ambiguous"]} when it names both or neither); create 201,
    #   get/update 200, delete 204 without a body; take ownership 201 (200 when already the owner).
    # - Cron: five fields (numbers, names, ranges, steps, lists) or @hourly/@daily/…; time zones:
    #   IANA names (ActiveSupport's "Pacific Time (US & Canada)" style is not emulated).

    def pipeline_schedules(self, project: int | str) -> list[dict[str, Any]]:
        """The project's schedules as stored (copies), oldest first."""
        with self._lock:
            return [json.loads(json.dumps(s)) for s in self._lookup(project).pipeline_schedules]

    def add_pipeline_schedule(self, project: int | str, *, description: str, ref: str, cron: str,
                              cron_timezone: str = "UTC", active: bool = True, owner_token: str | None = None) -> int:
        """A schedule someone made (stored as given, unvalidated), owned by owner_token's user
        (default: the first token). Returns its id."""
        proj = self._lookup(project)
        token = owner_token or next(iter(self.tokens))
        user = self._authenticate({"PRIVATE-TOKEN": token}, {})
        assert user is not None
        with self._lock:
            self._schedule_ids += 1
            now = _now()
            fields = _parse_cron(cron)
            schedule = {"id": self._schedule_ids, "description": description, "ref": ref, "cron": cron,
                        "cron_timezone": cron_timezone, "active": active, "created_at": now, "updated_at": now,
                        "next_run_at": _next_run(fields, cron_timezone) if fields else None,
                        "owner": self._user_basic(user)}
            proj.pipeline_schedules.append(schedule)
            return self._schedule_ids

    def _user_basic(self, user: dict[str, Any]) -> dict[str, Any]:
        return {"id": user["id"], "username": user["username"], "name": user["name"], "state": "active",
                "avatar_url": None, "web_url": f"{self.url}/{user['username']}"}

    @staticmethod
    def _rank(ctx: _Ctx) -> int:
        return ROLE_RANK.get(ctx.user["role"], 0) if ctx.user else 0

    @staticmethod
    def _owns(ctx: _Ctx, schedule: dict[str, Any]) -> bool:
        return ctx.user is not None and schedule["owner"]["id"] == ctx.user["id"]

    def _may_admin_schedule(self, ctx: _Ctx, schedule: dict[str, Any]) -> bool:
        rank = self._rank(ctx)
        return rank >= ROLE_RANK["maintainer"] or (self._owns(ctx, schedule) and rank >= ROLE_RANK["developer"])

    def _schedule_entity(self, ctx: _Ctx, schedule: dict[str, Any], details: bool = False) -> dict[str, Any]:
        keys = ("id", "description", "ref", "cron", "cron_timezone", "next_run_at", "active", "created_at",
                "updated_at", "owner")
        entity = {k: json.loads(json.dumps(schedule[k])) for k in keys}
        privileged = self._may_admin_schedule(ctx, schedule)
        if privileged:
            entity["inputs"] = []
        if details:
            entity["last_pipeline"] = None
            if privileged:
                entity["variables"] = []
        return entity

    def _find_schedule(self, ctx: _Ctx, project: _Project, schedule_id: str) -> dict[str, Any]:
        if not re.fullmatch(r"-?\d+", schedule_id):
            raise _bad_param("pipeline_schedule_id is invalid")
        for schedule in project.pipeline_schedules:
            if schedule["id"] == int(schedule_id) and self._rank(ctx) >= ROLE_RANK["reporter"]:
                return schedule
        raise _not_found("Pipeline Schedule")

    @staticmethod
    def _schedule_params(ctx: _Ctx, *, creating: bool) -> dict[str, Any]:
        """Grape's declared parameters: types and presence; every error at once, comma-joined."""
        p, out, errors = ctx.params, {}, []
        for key in ("description", "ref", "cron", "cron_timezone"):
            if key in p and p[key] is not None:
                out[key] = str(p[key])
            elif creating and key != "cron_timezone":
                errors.append(f"{key} is missing")
        if creating and out.get("ref") == "":
            errors.append("ref is empty")
        if "active" in p:
            value = p["active"]
            if value in (True, False) or str(value).lower() in ("true", "false", "1", "0"):
                out["active"] = value is True or str(value).lower() in ("true", "1")
            else:
                errors.append("active is invalid")
        if errors:
            raise _bad_param(", ".join(errors))
        if creating:
            out.setdefault("cron_timezone", "UTC")
            out.setdefault("active", True)
        return out

    def _save_schedule(self, ctx: _Ctx, project: _Project, schedule: dict[str, Any], changes: dict[str, Any],
                       verb: str) -> dict[str, Any]:
        """The save service on the schedule with its new attributes: the permission on its ref,
        the ref's expansion, then the model's validations. Returns the attributes to store."""
        candidate = {**schedule, **changes}
        ref = str(candidate["ref"])
        branch = ref[len("refs/heads/"):] if ref.startswith("refs/heads/") else ref
        if branch == project.default_branch and self._rank(ctx) < ROLE_RANK["maintainer"]:
            raise ApiError(400, {"message": {"base": [f"The current user is not authorized to {verb} "
                                                      "the pipeline schedule"]}})
        if self.schedule_refs == "full" and not re.match(r"refs/(heads|tags)/\S", ref):
            is_branch = project.repo.branch_head(ref) is not None
            is_tag = project.repo.resolve(f"refs/tags/{ref}") is not None if ref else False
            if is_branch == is_tag:  # both, or neither: GitLab cannot expand it
                raise ApiError(400, {"message": {"ref": ["is ambiguous"]}})
            candidate["ref"] = f"refs/heads/{ref}" if is_branch else f"refs/tags/{ref}"
        candidate["cron"] = str(candidate["cron"]).strip()
        errors: dict[str, list[str]] = {}
        fields = _parse_cron(candidate["cron"])
        zone_ok = _valid_timezone(str(candidate["cron_timezone"]))
        if fields is None or not zone_ok:
            errors["cron"] = [" is invalid syntax"] + ([] if candidate["cron"] else ["can't be blank"])
        if not zone_ok:
            errors["cron_timezone"] = [" is invalid syntax"]
        if not str(candidate["ref"]):
            errors["ref"] = ["can't be blank"]
        if not str(candidate["description"]).strip():
            errors["description"] = ["can't be blank"]
        if errors:
            raise ApiError(400, {"message": errors})
        assert fields is not None
        candidate["next_run_at"] = _next_run(fields, str(candidate["cron_timezone"]))
        candidate["updated_at"] = _now()
        return candidate

    def _list_schedules(self, ctx: _Ctx, project: _Project) -> tuple[int, list[Any], dict[str, str]]:
        scope = ctx.query.get("scope")
        if scope is not None and scope not in ("active", "inactive"):
            raise _bad_param("scope does not have a valid value")
        if self._rank(ctx) < ROLE_RANK["reporter"]:
            raise ApiError(403, {"message": "403 Forbidden"})
        with self._lock:
            found = [s for s in sorted(project.pipeline_schedules, key=lambda s: -s["id"])
                     if scope is None or s["active"] is (scope == "active")]
            return self._paginate(ctx, [self._schedule_entity(ctx, s) for s in found])

    def _get_schedule(self, ctx: _Ctx, project: _Project, schedule_id: str) -> dict[str, Any]:
        with self._lock:
            return self._schedule_entity(ctx, self._find_schedule(ctx, project, schedule_id), details=True)

    def _create_schedule(self, ctx: _Ctx, project: _Project) -> dict[str, Any]:
        params = self._schedule_params(ctx, creating=True)
        if self._rank(ctx) < ROLE_RANK["developer"]:
            raise ApiError(403, {"message": "403 Forbidden"})
        assert ctx.user is not None
        with self._lock:
            now = _now()
            fresh = {"id": 0, "created_at": now, "owner": self._user_basic(ctx.user)}
            schedule = self._save_schedule(ctx, project, fresh, params, "create")
            self._schedule_ids += 1
            schedule["id"] = self._schedule_ids
            project.pipeline_schedules.append(schedule)
            return self._schedule_entity(ctx, schedule, details=True)

    def _update_schedule(self, ctx: _Ctx, project: _Project, schedule_id: str) -> dict[str, Any]:
        params = self._schedule_params(ctx, creating=False)
        with self._lock:
            schedule = self._find_schedule(ctx, project, schedule_id)
            if not (self._owns(ctx, schedule) and self._rank(ctx) >= ROLE_RANK["developer"]):
                raise ApiError(403, {"message": "403 Forbidden"})
            schedule.update(self._save_schedule(ctx, project, schedule, params, "update"))
            return self._schedule_entity(ctx, schedule, details=True)

    def _delete_schedule(self, ctx: _Ctx, project: _Project, schedule_id: str) -> tuple[int, None, dict[str, str]]:
        with self._lock:
            schedule = self._find_schedule(ctx, project, schedule_id)
            if not self._may_admin_schedule(ctx, schedule):
                raise ApiError(403, {"message": "403 Forbidden"})
            project.pipeline_schedules.remove(schedule)
        return 204, None, {}

    def _take_schedule_ownership(self, ctx: _Ctx, project: _Project,
                                 schedule_id: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            schedule = self._find_schedule(ctx, project, schedule_id)
            if not self._may_admin_schedule(ctx, schedule):
                raise ApiError(403, {"message": "403 Forbidden"})
            if self._owns(ctx, schedule):
                return 200, self._schedule_entity(ctx, schedule, details=True), {}
            assert ctx.user is not None
            schedule.update(owner=self._user_basic(ctx.user), updated_at=_now())
            return 201, self._schedule_entity(ctx, schedule, details=True), {}


ROLE_RANK = {"guest": 10, "reporter": 20, "developer": 30, "maintainer": 40, "owner": 50}
CRON_ALIASES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
                "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
_CRON_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_CRON_NAMES: tuple[dict[str, int], ...] = (
    {}, {}, {}, {m: i + 1 for i, m in enumerate(_MONTHS)}, {d: i for i, d in enumerate(_WEEKDAYS)})
_TIMEZONES: set[str] = set()


@dataclass(frozen=True)
class _Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day-of-month is "*"
    any_weekday: bool


def _parse_cron(text: str) -> _Cron | None:
    """Five cron fields (or an @alias), as GitLab's Fugit-based parser reads them; None if invalid."""
    fields = CRON_ALIASES.get(text.strip().lower(), text).split()
    if len(fields) != 5:
        return None
    sets: list[frozenset[int]] = []
    for field_text, (low, high), names in zip(fields, _CRON_BOUNDS, _CRON_NAMES, strict=True):
        values: set[int] = set()
        for part in field_text.lower().split(","):
            match = re.fullmatch(r"(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(\d+))?", part)
            if match is None:
                return None
            span, step = match.group(1), int(match.group(2) or 1)
            try:
                ends = [low, high] if span == "*" else [names[x] if x in names else int(x) for x in span.split("-")]
            except ValueError:
                return None
            first, last = ends[0], ends[-1]
            if len(ends) == 1 and match.group(2):  # "5/10": from 5 to the end, every 10
                last = high
            if step < 1 or not low <= first <= last <= high:
                return None
            values.update(range(first, last + 1, step))
        sets.append(frozenset(values))
    weekdays = frozenset(d % 7 for d in sets[4])
    return _Cron(sets[0], sets[1], sets[2], sets[3], weekdays, fields[2].startswith("*"), fields[4].startswith("*"))


def _valid_timezone(name: str) -> bool:
    if not _TIMEZONES:
        _TIMEZONES.update(available_timezones() or {"UTC", "Etc/UTC"})
    return name in _TIMEZONES


def _next_run(cron: _Cron, zone_name: str, now: datetime | None = None) -> str | None:
    """The next minute the cron names, in its time zone, as GitLab's next_run_at (UTC, ms)."""
    from datetime import timedelta

    zone = ZoneInfo(zone_name)
    start = (now or datetime.now(timezone.utc)).astimezone(zone).replace(second=0, microsecond=0)
    start += timedelta(minutes=1)
    day = start.date()
    for _ in range(366 * 8):  # a 29 February on a given weekday can be years away
        day_ok = day.day in cron.days
        weekday_ok = (day.weekday() + 1) % 7 in cron.weekdays
        matches = (day_ok or weekday_ok) if not (cron.any_day or cron.any_weekday) else (day_ok and weekday_ok)
        if day.month in cron.months and matches:
            for hour in sorted(cron.hours):
                for minute in sorted(cron.minutes):
                    at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                    if at >= start:
                        utc = at.astimezone(timezone.utc)
                        return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        day += timedelta(days=1)
    return None
