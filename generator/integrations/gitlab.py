"""GitLab through python-gitlab: a branch snapshot from one tree listing, one atomic commit for
all changes (commits API actions), one merge request per source branch, CI lint.

python-gitlab is imported here only, so render/validate/check never load it. Its errors are
turned into BackendError at this boundary, with the token removed from every message.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from generator.deliver.backends import BackendError, BranchHead, BranchSnapshot, ConflictError, MergeRequest
from generator.deliver.schedules import Schedule, ScheduleForbidden, WantedSchedule
from generator.deliver.writer import WRITES, Action, Change
from generator.integrations.rate_limit import RateLimitPacer
from generator.packages import import_for

TREE_PAGE = 100
_RE2_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")  # RE2 reads a backslash before ASCII punctuation as literal
# the commits API's answers when the branch changed under us (see GitLab's files/base_service)
CONFLICTS = ("has changed since you started editing it", "A file with this name already exists",
             "A file with this name doesn't exist")


def connect(url: str, token: str, *, job_token: bool = False, timeout: float = 30.0,
            pacer: RateLimitPacer | None = None) -> Any:
    """A python-gitlab client that retries 5xx and dropped connections with backoff, and obeys
    429 Too Many Requests (waits Retry-After, else until RateLimit-Reset): python-gitlab does
    both; MLOPSGEN_GITLAB_RETRIES (default 6) bounds the attempts per request. With a pacer
    (shared by a fleet's clients), requests also wait for the rate limit's window instead of
    running into 429s (generator/integrations/rate_limit.py)."""
    import_for("gitlab", package="python-gitlab", purpose="committing through GitLab")
    import gitlab

    retries = int(os.environ.get("MLOPSGEN_GITLAB_RETRIES", "6"))

    class Client(gitlab.Gitlab):
        """python-gitlab's default of 10 retries backs off for minutes; a fleet moves on sooner."""

        def http_request(self, *args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("max_retries", retries)
            if pacer is None:
                return super().http_request(*args, **kwargs)
            pacer.acquire()
            response = None
            try:
                response = super().http_request(*args, **kwargs)
                return response
            finally:
                pacer.release(getattr(response, "headers", None))

    kwargs: dict[str, Any] = {"job_token": token} if job_token else {"private_token": token}
    return Client(url, timeout=timeout, retry_transient_errors=True, keep_base_url=True, **kwargs)


@contextmanager
def translated_errors(what: str, secret: str) -> Iterator[None]:
    import gitlab.exceptions as gle
    import requests

    def clean(text: object) -> str:
        return str(text).replace(secret, "***") if secret else str(text)

    try:
        yield
    except gle.GitlabAuthenticationError:
        raise BackendError(f"{what}: GitLab rejected the token (401); check GITLAB_TOKEN") from None
    except gle.GitlabError as exc:
        code = getattr(exc, "response_code", None)
        message = clean(getattr(exc, "error_message", exc))
        if code == 404:
            raise BackendError(f"{what}: not found, or not visible with this token (404: {message})") from None
        if code == 400 and any(text in message for text in CONFLICTS):
            raise ConflictError(f"{what}: {message}") from None
        if code == 403:
            raise BackendError(f"{what}: forbidden (403: {message})") from None
        raise BackendError(f"{what}: GitLab answered {code}: {message}") from None
    except requests.exceptions.RequestException as exc:
        raise BackendError(f"{what}: cannot reach GitLab ({type(exc).__name__})") from None


@dataclass
class TreeSnapshot:
    commit: str | None
    blobs: dict[str, str]
    reader: Callable[[str], bytes | None]
    contents: dict[str, bytes] = field(default_factory=dict)

    def blob(self, path: str) -> str | None:
        return self.blobs.get(path)

    def read(self, path: str) -> bytes | None:
        if path not in self.blobs:
            return None
        if path not in self.contents:
            data = self.reader(path)
            if data is None:
                return None
            self.contents[path] = data
        return self.contents[path]


@dataclass
class GitLabRepository:
    project: Any  # gitlab.v4.objects.Project
    secret: str  # the token, kept only to scrub it from messages
    known_default_branch: str | None = None  # for a lazy project, which has no attributes yet
    lint_offered: bool | None = None
    path: str = ""

    @property
    def name(self) -> str:
        return self.path or str(self.project.path_with_namespace)

    @property
    def default_branch(self) -> str:
        return self.known_default_branch or str(self.project.default_branch or "main")

    @classmethod
    def open(cls, client: Any, path: str, secret: str) -> GitLabRepository:
        with translated_errors(f"project {path}", secret):
            return cls(client.projects.get(path), secret)

    @classmethod
    def lazy(cls, client: Any, path: str, secret: str, default_branch: str) -> GitLabRepository:
        """A project handle without a request: python-gitlab addresses it by its path."""
        return cls(client.projects.get(path, lazy=True), secret, default_branch, path=path)

    def snapshot(self, branch: str) -> TreeSnapshot:
        with translated_errors(f"{self.name}: branch {branch}", self.secret):
            import gitlab.exceptions as gle

            try:
                head = self.project.branches.get(branch).commit["id"]
            except gle.GitlabGetError as exc:
                if exc.response_code == 404 and "Project" not in str(exc.error_message):
                    return TreeSnapshot(None, {}, lambda _p: None)  # a new or empty repository
                raise
            return self.snapshot_at(head)

    def heads(self, *branches: str) -> dict[str, BranchHead]:
        """One branch listing filtered by an anchored RE2 alternation (the branches API's regex
        parameter: gitlabhq app/finders/branches_finder.rb matches each name against it)."""
        pattern = "^(?:" + "|".join(_RE2_PUNCTUATION.sub(r"\\\g<0>", b) for b in branches) + ")$"
        with translated_errors(f"{self.name}: branches {', '.join(branches)}", self.secret):
            listed = self.project.branches.list(regex=pattern, get_all=True, per_page=TREE_PAGE)
        found = {}
        for item in listed:
            if item.name in branches:
                found[str(item.name)] = BranchHead(str(item.commit["id"]), str(item.commit.get("message") or ""))
        return found

    def snapshot_at(self, commit: str, known: dict[str, bytes] | None = None) -> TreeSnapshot:
        with translated_errors(f"{self.name}: tree of {commit[:12]}", self.secret):
            items = self.project.repository_tree(ref=commit, recursive=True, get_all=True, per_page=TREE_PAGE)
        blobs = {item["path"]: item["id"] for item in items if item["type"] == "blob"}
        return TreeSnapshot(commit, blobs, lambda path: self._raw(path, commit), dict(known or {}))

    def read_file(self, path: str, ref: str) -> tuple[bytes, str] | None:
        """(content, commit id of ref) of one file, or None when it does not exist."""
        import gitlab.exceptions as gle

        with translated_errors(f"{self.name}: {path}", self.secret):
            try:
                f = self.project.files.get(file_path=path, ref=ref)
            except gle.GitlabGetError as exc:
                if exc.response_code == 404:
                    return None
                raise
        return base64.b64decode(f.content), str(f.commit_id)

    def _raw(self, path: str, ref: str) -> bytes | None:
        found = self.read_file(path, ref)
        return None if found is None else found[0]

    def commit(self, *, branch: str, base: BranchSnapshot, message: str, changes: list[Change],
               replace_branch: bool = False) -> str:
        actions = []
        for change in changes:
            if change.action not in WRITES:
                continue
            action: dict[str, Any] = {"action": change.action.value, "file_path": change.path}
            if change.action is not Action.DELETE:
                action.update(content=base64.b64encode(change.data).decode(), encoding="base64")
                if change.executable:
                    action["execute_filemode"] = True
            if change.action is not Action.CREATE and base.commit and not replace_branch:
                action["last_commit_id"] = base.commit  # optimistic lock: fails if changed since
            actions.append(action)
        payload: dict[str, Any] = {"branch": branch, "commit_message": message, "actions": actions}
        if replace_branch:
            payload.update(force=True, **({"start_sha": base.commit} if base.commit else {}))
        with translated_errors(f"{self.name}: commit to {branch}", self.secret):
            created = self.project.commits.create(payload)
        return str(created.id)

    def lint_ci(self, content: str, ref: str) -> list[str] | None:
        if self.lint_offered is False:
            return None
        import gitlab.exceptions as gle

        with translated_errors(f"{self.name}: CI lint", self.secret):
            try:
                result = self.project.ci_lint.create({"content": content, "ref": ref})
            except gle.GitlabCreateError as exc:
                if exc.response_code == 404:  # the server does not offer it: do not ask again
                    self.lint_offered = False
                    return None
                raise
        self.lint_offered = True
        return [] if result.valid else [str(e) for e in result.errors]

    def upsert_merge_request(self, *, source: str, target: str, title: str, description: str) -> MergeRequest:
        import gitlab.exceptions as gle

        data = {"source_branch": source, "target_branch": target, "title": title, "description": description,
                "remove_source_branch": True}
        with translated_errors(f"{self.name}: merge request", self.secret):
            try:
                mr = self.project.mergerequests.create(data)
                return MergeRequest(f"!{mr.iid}", str(mr.web_url), created=True)
            except gle.GitlabCreateError as exc:
                existing = re.search(r"!(\d+)", str(exc.error_message)) if exc.response_code == 409 else None
                if existing is None:
                    raise
            iid = int(existing.group(1))  # the open one for this branch: update it, never a duplicate
            updated = self.project.mergerequests.update(iid, {"title": title, "description": description})
            return MergeRequest(f"!{iid}", str(updated.get("web_url", "")), created=False)

    # ---- pipeline schedules: the retraining cron (generator.deliver.schedules) ----------------------------

    def list_schedules(self) -> list[Schedule]:
        with self._schedule_errors("list the pipeline schedules"):
            items = self.project.pipelineschedules.list(get_all=True, per_page=SCHEDULE_PAGE)
        return [_schedule(item.attributes) for item in items]

    def create_schedule(self, want: WantedSchedule) -> Schedule:
        data = {"description": want.description, "ref": want.ref, "cron": want.cron,
                "cron_timezone": want.cron_timezone, "active": want.active}
        with self._schedule_errors(f"create the pipeline schedule '{want.description}'"):
            created = self.project.pipelineschedules.create(data)
        return _schedule(created.attributes)

    def update_schedule(self, schedule_id: int, changes: dict[str, object]) -> Schedule:
        with self._schedule_errors(f"update pipeline schedule #{schedule_id}"):
            data = self.project.pipelineschedules.update(schedule_id, dict(changes))
        return _schedule(data)

    def take_schedule_ownership(self, schedule_id: int) -> Schedule:
        with self._schedule_errors(f"take ownership of pipeline schedule #{schedule_id}"):
            schedule = self.project.pipelineschedules.get(schedule_id, lazy=True)
            schedule.take_ownership()
        return _schedule(schedule.attributes)

    def delete_schedule(self, schedule_id: int) -> None:
        with self._schedule_errors(f"delete pipeline schedule #{schedule_id}"):
            self.project.pipelineschedules.delete(schedule_id)

    @contextmanager
    def _schedule_errors(self, what: str) -> Iterator[None]:
        """translated_errors, plus: a refusal is a ScheduleForbidden (403, or the 400 GitLab's save
        service answers when the token may not schedule that ref), model errors read plainly."""
        import gitlab.exceptions as gle

        with translated_errors(f"{self.name}: {what}", self.secret):
            try:
                yield
            except gle.GitlabError as exc:
                code = getattr(exc, "response_code", None)
                message = _plain(getattr(exc, "error_message", exc))
                if self.secret:
                    message = message.replace(self.secret, "***")
                if code == 403 or (code == 400 and "not authorized" in message):
                    raise ScheduleForbidden(f"{self.name}: cannot {what}: GitLab refused ({code}: {message})",
                                            code) from None
                if code == 400:
                    raise BackendError(f"{self.name}: cannot {what}: GitLab answered 400: {message}") from None
                raise


SCHEDULE_PAGE = 100


def _schedule(attrs: dict[str, Any]) -> Schedule:
    owner = attrs.get("owner") or {}
    return Schedule(int(attrs["id"]), str(attrs.get("description") or ""), str(attrs.get("ref") or ""),
                    str(attrs.get("cron") or ""), str(attrs.get("cron_timezone") or ""), attrs.get("active") is True,
                    str(owner.get("username") or "") if isinstance(owner, dict) else "")


def _plain(message: object) -> str:
    """GitLab's model errors ({"cron": [" is invalid syntax"]}) as text."""
    if isinstance(message, dict):
        return "; ".join(f"{key} {' '.join(str(v).strip() for v in (vals if isinstance(vals, list) else [vals]))}"
                         for key, vals in message.items())
    if isinstance(message, list):
        return "; ".join(str(m) for m in message)
    return str(message)
