"""`mlopsgen jenkins apply`: create or update the model's Jenkins job, idempotently.

jenkinsapi (and requests, which it uses) are imported here only, when the command runs; the job's
config.xml comes from generator/integrations/jenkins_job.py. The API token is read from JENKINS_TOKEN and is
never printed: errors are re-worded at the boundary, and scrubbed of the token in any case.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from generator.commands import emit_json
from generator.errors import EXIT_OK, UserError
from generator.integrations.jenkins_job import (
    MULTIBRANCH_ROOT,
    PIPELINE_ROOT,
    RETRAIN_SCRIPT_PATH,
    SCRIPT_PATH,
    JobSettings,
    check_item_name,
    config_xml,
    lint_errors,
    root_tag,
    same_config,
)
from generator.packages import import_for
from generator.spec.intake import load_valid_spec
from generator.spec.normalise import normalise

TIMEOUT_SECONDS = 30
TOKEN_VARIABLE = "JENKINS_TOKEN"
USER_VARIABLE = "JENKINS_USER"
LINT_PATH = "/pipeline-model-converter/validate"


@dataclass(frozen=True)
class Connection:
    url: str  # Jenkins root URL, no trailing slash
    user: str  # "" for anonymous
    token: str

    @property
    def who(self) -> str:
        return f"user {self.user}" if self.user else "anonymous requests"


def run(args: argparse.Namespace) -> int:
    if args.jenkins_command == "apply":
        return apply(args)
    raise UserError(f"unknown jenkins command {args.jenkins_command!r}", "see `mlopsgen jenkins --help`")


def _credentials(args: argparse.Namespace) -> tuple[str, str]:
    token = os.environ.get(TOKEN_VARIABLE, "")
    user = args.user or os.environ.get(USER_VARIABLE, "")
    if token and not user:
        raise UserError(f"{TOKEN_VARIABLE} is set but no Jenkins user is given",
                        f"pass --user or set {USER_VARIABLE} to the user the API token belongs to")
    if user and not token:
        raise UserError(f"no API token for Jenkins user {user}",
                        f"set {TOKEN_VARIABLE} to an API token of that user (User > Security > API Token)")
    return user, token


def _jenkinsfile(args: argparse.Namespace) -> str:
    from generator.render.engine import build  # renders in memory; nothing is written

    for rendered in build(args.spec, args.spec.parent).files:
        if rendered.path == (RETRAIN_SCRIPT_PATH if args.retrain else SCRIPT_PATH):
            return rendered.content
    raise UserError(f"{args.spec} renders no Jenkinsfile", "add jenkins to ci.targets")


def apply(args: argparse.Namespace) -> int:
    spec = normalise(load_valid_spec(args.spec).data, str(args.spec))
    if "jenkins" not in spec.ci.targets:
        raise UserError(f"{args.spec} does not target Jenkins (ci.targets: {', '.join(spec.ci.targets)})",
                        "add jenkins to ci.targets and render the Jenkinsfile first")
    url = args.url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise UserError(f"--url {args.url!r} is not an http(s) URL")
    if not args.repo_url.strip():
        raise UserError("--repo-url is empty", "give the clone URL of the model repository holding the Jenkinsfile")
    if args.retrain and (spec.training is None or spec.training.orchestrator != "jenkins"):
        raise UserError(f"{args.spec} does not retrain on Jenkins", "set training.orchestrator: jenkins")
    name = args.job or (f"{spec.metadata.name}-retrain" if args.retrain else spec.metadata.name)
    check_item_name(name, "job")
    for folder in args.folder:
        check_item_name(folder, "folder")
    user, token = _credentials(args)
    settings = JobSettings(name=name.strip(), folders=tuple(f.strip() for f in args.folder),
                           repo_url=args.repo_url.strip(), branch=spec.ci.default_branch,
                           credentials_id=args.scm_credentials, multibranch=args.multibranch,
                           model=spec.metadata.name, script_path=RETRAIN_SCRIPT_PATH if args.retrain else SCRIPT_PATH)
    jenkinsfile = _jenkinsfile(args) if args.lint else None
    connection = Connection(url, user, token)
    try:
        with _boundary(connection):
            action = _apply(connection, settings, config_xml(settings), jenkinsfile, args.dry_run)
    except UserError as exc:
        raise _scrubbed(exc, token) from None
    job_url = _job_url(url, settings) + "/"
    if args.format == "json":
        emit_json({"job": settings.full_name, "kind": settings.kind, "url": job_url, "action": action,
                   "dry_run": args.dry_run, "lint": "passed" if args.lint else "skipped"})
        return EXIT_OK
    if args.lint:
        print("Jenkinsfile: successfully validated by Jenkins")
    if args.dry_run and action != "unchanged":
        action = "would be " + action
    print(f"{settings.kind} job {settings.full_name}: {action} ({job_url})")
    return EXIT_OK


def _scrubbed(exc: UserError, token: str) -> UserError:
    if not token or (token not in exc.message and token not in exc.hint):
        return exc
    return UserError(exc.message.replace(token, "***"), exc.hint.replace(token, "***"))


def _job_url(base: str, settings: JobSettings) -> str:
    return base + "".join(f"/job/{quote(part, safe='')}" for part in (*settings.folders, settings.name))


def _client(connection: Connection) -> Any:
    jenkins_module = import_for("jenkinsapi.jenkins", package="jenkinsapi", purpose="mlopsgen jenkins")
    # jenkinsapi logs a warning when Jenkins issues no crumbs; keep it off stderr unless logging is set up
    logging.getLogger("jenkinsapi").addHandler(logging.NullHandler())
    return jenkins_module.Jenkins(connection.url, username=connection.user, password=connection.token,
                                  lazy=True, timeout=TIMEOUT_SECONDS, use_crumb=True)


def _http_error(connection: Connection, status: int, what: str, detail: str = "") -> UserError:
    credentials_hint = f"check --user/{USER_VARIABLE} and {TOKEN_VARIABLE} (an API token of that user)"
    if status == 401:
        if connection.user:
            return UserError(f"Jenkins rejected the credentials for user {connection.user}", credentials_hint)
        return UserError(f"Jenkins at {connection.url} requires authentication",
                         f"set {USER_VARIABLE} and {TOKEN_VARIABLE}")
    if status == 403:
        hint = ("the user needs Overall/Read and Job/Read, Create and Configure" if connection.user
                else f"set {USER_VARIABLE} and {TOKEN_VARIABLE}")
        return UserError(f"Jenkins refused {what} to {connection.who} (HTTP 403)", hint)
    message = f"Jenkins at {connection.url} answered HTTP {status} to {what}"
    if detail:
        message += f": {detail}"
    hint = "is --url the root URL of Jenkins?" if status == 404 else ""
    return UserError(message, hint)


def _failed(connection: Connection, response: Any, what: str) -> UserError:
    detail = response.headers.get("X-Error", "")
    with contextlib.suppress(UnicodeError):  # Jetty sends the header's UTF-8 bytes as they are
        detail = detail.encode("latin-1").decode("utf-8")
    return _http_error(connection, int(response.status_code), what, detail)


@contextlib.contextmanager
def _boundary(connection: Connection) -> Iterator[None]:
    """Turn what jenkinsapi and requests raise into UserErrors that name the problem, not the call."""
    requests_exceptions = importlib.import_module("requests.exceptions")
    jenkinsapi_exceptions = importlib.import_module("jenkinsapi.custom_exceptions")
    try:
        yield
    except requests_exceptions.ConnectionError:
        raise UserError(f"cannot reach Jenkins at {connection.url}",
                        "check --url and that this machine can reach the server") from None
    except requests_exceptions.Timeout:
        raise UserError(f"Jenkins at {connection.url} did not answer within {TIMEOUT_SECONDS}s") from None
    except requests_exceptions.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else 0
        raise _http_error(connection, status, "a request") from None
    except requests_exceptions.RequestException as exc:
        raise UserError(f"request to Jenkins at {connection.url} failed: {type(exc).__name__}") from None
    except jenkinsapi_exceptions.JenkinsAPIException as exc:
        status = re.search(r"status=(\d+)", str(exc))
        if status:
            raise _http_error(connection, int(status.group(1)), "the change") from None
        raise UserError(f"Jenkins at {connection.url} gave an answer jenkinsapi cannot use") from None
    except RuntimeError as exc:
        if "crumb" not in str(exc):
            raise
        if "Invalid password/token" in str(exc):
            raise _http_error(connection, 401, "the crumb request") from None
        raise UserError(f"Jenkins at {connection.url} did not issue a CSRF crumb",
                        "check the credentials and the crumb issuer (Manage Jenkins > Security)") from None


def _lint(connection: Connection, jenkins: Any, jenkinsfile: str) -> None:
    response = jenkins.requester.post_url(connection.url + LINT_PATH, data={"jenkinsfile": jenkinsfile})
    if response.status_code != 200:
        raise _failed(connection, response, "the Jenkinsfile linter")
    errors = lint_errors(response.text)
    if errors is not None:
        raise UserError(f"Jenkins rejected the rendered Jenkinsfile:\n{errors}",
                        "fix the spec or the blueprint and render again; nothing was changed in Jenkins")


def _kind_of(xml: str) -> str:
    tag = root_tag(xml)
    return {PIPELINE_ROOT: "Pipeline job", MULTIBRANCH_ROOT: "multibranch project"}.get(tag, tag or "unknown item")


def _check_folders(connection: Connection, jenkins: Any, settings: JobSettings) -> None:
    path = connection.url
    for folder in settings.folders:
        path += f"/job/{quote(folder, safe='')}"
        response = jenkins.requester.get_url(path + "/api/python", params={"tree": "name"})
        if response.status_code == 404:
            raise UserError(f"folder {folder} does not exist in Jenkins at {connection.url}",
                            "create the folder first (mlopsgen creates jobs, not folders)")
        if response.status_code != 200:
            raise _failed(connection, response, f"reading folder {folder}")


def _apply(connection: Connection, settings: JobSettings, desired: str, jenkinsfile: str | None,
           dry_run: bool) -> str:
    jenkins = _client(connection)
    job_url = _job_url(connection.url, settings)
    # a GET first: it tells bad credentials apart (401) before any POST needs a crumb
    response = jenkins.requester.get_url(job_url + "/config.xml")
    if response.status_code not in (200, 404):
        raise _failed(connection, response, f"reading job {settings.full_name}")
    if jenkinsfile is not None:
        _lint(connection, jenkins, jenkinsfile)
    if response.status_code == 404:
        _check_folders(connection, jenkins, settings)
        if not dry_run:
            jenkins.create_job(settings.full_name, desired)
        return "created"
    actual = response.content.decode("utf-8", errors="replace")
    if root_tag(actual) != settings.root_tag:
        raise UserError(f"{settings.full_name} already exists in Jenkins as a {_kind_of(actual)}, "
                        f"not a {settings.kind} job",
                        "delete it in Jenkins, or choose another --job name")
    if same_config(actual, desired):
        return "unchanged"
    if not dry_run:
        # multibranch projects are folders to jenkinsapi, absent from its job list: address them by URL
        job = (jenkins.get_job_by_url(job_url, settings.full_name) if settings.multibranch
               else jenkins.get_job(settings.full_name))
        answer = job.update_config(desired, full_response=True)  # jenkinsapi checks no status here
        if answer.status_code != 200:
            raise _failed(connection, answer, f"updating job {settings.full_name}")
    return "updated"
