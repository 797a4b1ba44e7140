"""Jenkins through jenkinsapi: create or update one job from its config.xml, idempotently.

jenkinsapi (and requests, which it uses) are imported here only, when a job is applied; the job's
config.xml comes from generator/integrations/jenkins_job.py. What the libraries raise is turned
into UserErrors at this boundary, by exception class and HTTP status, and every message is
scrubbed of the API token before it leaves this module.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import field
from typing import Any
from urllib.parse import quote

from generator.errors import UserError
from generator.frozen import frozen
from generator.integrations.jenkins_job import (
    MULTIBRANCH_ROOT,
    PIPELINE_ROOT,
    JobSettings,
    config_xml,
    lint_errors,
    root_tag,
    same_config,
)
from generator.packages import import_for

TIMEOUT_SECONDS = 30
TOKEN_VARIABLE = "JENKINS_TOKEN"
USER_VARIABLE = "JENKINS_USER"
LINT_PATH = "/pipeline-model-converter/validate"


@frozen
class Connection:
    url: str  # Jenkins root URL, no trailing slash
    user: str  # "" for anonymous
    token: str = field(repr=False)

    @property
    def who(self) -> str:
        return f"user {self.user}" if self.user else "anonymous requests"


def apply_job(connection: Connection, settings: JobSettings, jenkinsfile: str | None, dry_run: bool) -> str:
    """Create or update the job; "created", "updated" or "unchanged" (what would be done, on a dry run).

    With a Jenkinsfile, Jenkins' declarative linter checks it before anything is changed. Every
    error is a UserError with the token replaced by ***."""
    answers = _LastAnswer()
    try:
        with _boundary(connection, answers):
            return _apply(connection, _client(connection, answers), settings, config_xml(settings), jenkinsfile,
                          dry_run)
    except UserError as exc:
        raise _scrubbed(exc, connection.token) from None


def job_url(base: str, settings: JobSettings) -> str:
    """The job's URL under the Jenkins root base, without a trailing slash."""
    return base + "".join(f"/job/{quote(part, safe='')}" for part in (*settings.folders, settings.name))


def _scrubbed(exc: UserError, token: str) -> UserError:
    if not token or (token not in exc.message and token not in exc.hint):
        return exc
    return UserError(exc.message.replace(token, "***"), exc.hint.replace(token, "***"))


class _LastAnswer:
    """The HTTP status of the last answer jenkinsapi received.

    jenkinsapi's *_and_confirm_status raise a JenkinsAPIException right after the answer they
    refuse, and its CrumbRequester a RuntimeError right after the crumb issuer's; neither carries
    the response. A requests response hook on jenkinsapi's session keeps its status instead."""

    def __init__(self) -> None:
        self.status: int | None = None

    def record(self, response: Any, *_args: Any, **_kwargs: Any) -> None:
        self.status = int(response.status_code)

    def failed(self) -> int | None:
        """The last status when it was an error (jenkinsapi accepts 200 only), else None."""
        return self.status if self.status is not None and self.status != 200 else None


def _client(connection: Connection, answers: _LastAnswer) -> Any:
    jenkins_module = import_for("jenkinsapi.jenkins", package="jenkinsapi", purpose="mlopsgen jenkins")
    # jenkinsapi logs a warning when Jenkins issues no crumbs; keep it off stderr unless logging is set up
    logging.getLogger("jenkinsapi").addHandler(logging.NullHandler())
    jenkins = jenkins_module.Jenkins(connection.url, username=connection.user, password=connection.token,
                                     lazy=True, timeout=TIMEOUT_SECONDS, use_crumb=True)
    jenkins.requester.session.hooks["response"].append(answers.record)
    return jenkins


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


def _is_crumb_failure(exc: RuntimeError) -> bool:
    """True for the RuntimeError jenkinsapi's CrumbRequester raises when the crumb issuer refuses.

    The one place this module reads an exception's text: jenkinsapi raises a bare RuntimeError
    ("Failed to fetch crumb: <body>"), with no class or attribute of its own to tell it apart
    from any other RuntimeError."""
    return "crumb" in str(exc)


@contextlib.contextmanager
def _boundary(connection: Connection, answers: _LastAnswer) -> Iterator[None]:
    """Turn what jenkinsapi and requests raise into UserErrors that name the problem, not the call."""
    requests_exceptions = import_for("requests.exceptions", package="requests", purpose="mlopsgen jenkins")
    jenkinsapi_exceptions = import_for("jenkinsapi.custom_exceptions", package="jenkinsapi",
                                       purpose="mlopsgen jenkins")
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
    except jenkinsapi_exceptions.JenkinsAPIException:
        status = answers.failed()
        if status is not None:
            raise _http_error(connection, status, "the change") from None
        raise UserError(f"Jenkins at {connection.url} gave an answer jenkinsapi cannot use") from None
    except RuntimeError as exc:
        if not _is_crumb_failure(exc):
            raise
        if answers.failed() == 401:
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


def _apply(connection: Connection, jenkins: Any, settings: JobSettings, desired: str, jenkinsfile: str | None,
           dry_run: bool) -> str:
    url = job_url(connection.url, settings)
    # a GET first: it tells bad credentials apart (401) before any POST needs a crumb
    response = jenkins.requester.get_url(url + "/config.xml")
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
        job = (jenkins.get_job_by_url(url, settings.full_name) if settings.multibranch
               else jenkins.get_job(settings.full_name))
        answer = job.update_config(desired, full_response=True)  # jenkinsapi checks no status here
        if answer.status_code != 200:
            raise _failed(connection, answer, f"updating job {settings.full_name}")
    return "updated"
