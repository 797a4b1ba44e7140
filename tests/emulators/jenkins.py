"""A small Jenkins, over real HTTP on 127.0.0.1, for testing clients such as jenkinsapi.

What it answers, and how, follows Jenkins core and the plugins jenkinsapi talks to:

- Basic auth with users and API tokens: bad credentials → 401 ``Invalid password/token for user: X``;
  anonymous requests may read (``anonymous_read``) but every write answers 403.
- Crumbs: ``/crumbIssuer/api/python`` (a Python literal, read by jenkinsapi with ast.literal_eval),
  header ``Jenkins-Crumb``; ``crumbs=False`` answers 404 there, as Jenkins without a crumb issuer.
  API-token requests are exempt (Jenkins ≥ 2.96), but a crumb that is sent must be the right one.
- ``/api/python`` and ``/api/json`` with a ``tree=`` filter; items list ``name``, ``url`` and, for
  jobs only, ``color`` (folders and multibranch projects have none: jenkinsapi recurses into them).
- ``POST createItem?name=`` (root or a folder) needs an XML Content-Type; errors are 400 with the
  message in an ``X-Error`` header and an HTML body, as Jenkins' error page.
- ``GET/POST job/…/config.xml``, ``GET job/…/api/python``, ``POST job/…/build`` → 201 with
  ``Location: <root>/queue/item/<id>/`` and a minimal queue (items wait; nothing runs).
- ``POST /pipeline-model-converter/validate`` (form field ``jenkinsfile``; crumb-exempt; always 200
  text). The verdict is a STAND-IN for Jenkins' real Groovy parser: the text must hold a top-level
  ``pipeline {`` block and balanced braces, with comments and string literals skipped.

Test hooks: ``requests`` (every (method, path) received), ``posts`` (path, headers, body of each
POST), ``inject_status(code, times, retry_after)`` to fail the next requests, and ``add_job`` /
``add_folder`` to set up items.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"
MULTIBRANCH_CLASS = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
_ITEM_CLASSES = {  # config.xml root element -> the _class Jenkins reports
    "flow-definition": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
    "project": "hudson.model.FreeStyleProject",
    FOLDER_CLASS: FOLDER_CLASS,
    MULTIBRANCH_CLASS: MULTIBRANCH_CLASS,
}
_CONTAINERS = {FOLDER_CLASS, MULTIBRANCH_CLASS}
TEST_USER = "ci-bot"  # the one user of JenkinsEmulator() unless `users` is given
TEST_TOKEN = "ci-bot-api-token-0001"
_UNSAFE = "?*/\\%!@#$^&|<>[]:;"
FOLDER_XML = f"<{FOLDER_CLASS} plugin=\"cloudbees-folder\"><properties/></{FOLDER_CLASS}>"
PIPELINE_XML = ("<flow-definition plugin=\"workflow-job\"><definition "
                "class=\"org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition\"><script>pipeline { agent any }"
                "</script></definition></flow-definition>")


def python_literal(value: Any) -> str:
    """What Jenkins' /api/python writes: JSON syntax, but True/False/None."""
    if value is None:
        return "None"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{python_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(python_literal(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__}")


def parse_tree(tree: str) -> dict[str, Any]:
    """`jobs[name,color],url` -> {"jobs": {"name": {}, "color": {}}, "url": {}}; `{0,10}` ranges ignored."""
    tree = re.sub(r"\{[^}]*\}", "", tree)
    result: dict[str, Any] = {}
    stack = [result]
    name = ""
    for char in tree + ",":
        if char in ",[]":
            if name.strip():
                stack[-1][name.strip()] = {}
            if char == "[":
                stack.append(stack[-1][name.strip()])
            elif char == "]" and len(stack) > 1:
                stack.pop()
            name = ""
        else:
            name += char
    return result


def filter_tree(value: Any, tree: dict[str, Any]) -> Any:
    if not tree:
        return value
    if isinstance(value, list):
        return [filter_tree(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: filter_tree(value[k], sub) for k, sub in tree.items() if k in value}
    return value


def lint_jenkinsfile(text: str) -> list[str]:
    """A stand-in for the declarative linter: a top-level `pipeline {` and balanced braces.

    Comments (// and /* */) and string literals ('', "", ''' ''', \"\"\" \"\"\") are skipped, so braces
    inside shell scripts do not count. Returns Jenkins-style messages; empty when the text passes.
    """
    errors: list[str] = []
    depth = 0
    opened: list[tuple[int, int]] = []
    top_level_pipeline = False
    line, column, i = 1, 1, 0
    code = []  # text at depth 0 with strings and comments blanked, to find `pipeline {`

    def advance(n: int) -> None:
        nonlocal i, line, column
        for char in text[i:i + n]:
            if char == "\n":
                line, column = line + 1, 1
            else:
                column += 1
        i += n

    while i < len(text):
        rest = text[i:i + 3]
        if rest.startswith("//"):
            end = text.find("\n", i)
            advance((end if end >= 0 else len(text)) - i)
            continue
        if rest.startswith("/*"):
            end = text.find("*/", i + 2)
            if end < 0:
                errors.append(f"WorkflowScript: {line}: unexpected end of file in a comment @ line {line}, "
                              f"column {column}.")
                break
            advance(end + 2 - i)
            continue
        quote_mark = next((q for q in ("'''", '"""', "'", '"') if text.startswith(q, i)), None)
        if quote_mark:
            start = (line, column)
            j = i + len(quote_mark)
            while j < len(text) and not text.startswith(quote_mark, j):
                j += 2 if text[j] == "\\" else 1
            if j >= len(text):
                errors.append(f"WorkflowScript: {start[0]}: unterminated string literal @ line {start[0]}, "
                              f"column {start[1]}.")
                break
            advance(j + len(quote_mark) - i)
            code.append(" ")
            continue
        char = text[i]
        if char == "{":
            if depth == 0 and re.search(r"(^|[^\w.])pipeline\s*$", "".join(code)):
                top_level_pipeline = True
            opened.append((line, column))
            depth += 1
        elif char == "}":
            if depth == 0:
                errors.append(f"WorkflowScript: {line}: unexpected token: }} @ line {line}, column {column}.")
            else:
                depth -= 1
                opened.pop()
        if depth == 0 and char != "}":
            code.append(char)
        elif depth == 0:
            code.append(" ")
        advance(1)
    for at_line, at_column in opened:
        errors.append(f"WorkflowScript: {at_line}: unclosed block '{{' @ line {at_line}, column {at_column}.")
    if not errors and not top_level_pipeline:
        errors.append("Jenkinsfile content did not contain the 'pipeline' step at top level")
    return errors


@dataclass
class Item:
    full_name: str  # "folder/job"
    config: str
    builds: list[dict[str, Any]] = field(default_factory=list)
    next_build_number: int = 1

    @property
    def name(self) -> str:
        return self.full_name.rsplit("/", 1)[-1]

    @property
    def root(self) -> str:
        try:
            return ET.fromstring(self.config.encode("utf-8")).tag
        except ET.ParseError:
            return ""

    @property
    def is_container(self) -> bool:
        return self.root in _CONTAINERS

    @property
    def item_class(self) -> str:
        return _ITEM_CLASSES.get(self.root, self.root)


class _Answer(Exception):
    """Raised by a handler to send an HTTP error."""

    def __init__(self, status: int, message: str, *, x_error: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.x_error = x_error


class JenkinsEmulator:
    """An in-process Jenkins; `with JenkinsEmulator(...) as jenkins:` gives jenkins.url."""

    def __init__(self, users: dict[str, str] | None = None, *, crumbs: bool = True,
                 anonymous_read: bool = True) -> None:
        self.users = dict(users if users is not None else {TEST_USER: TEST_TOKEN})
        self.crumbs = crumbs
        self.anonymous_read = anonymous_read
        self.items: dict[str, Item] = {}
        self.queue: dict[int, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        self.crumb = hashlib.sha256(f"crumb-{id(self)}-{time.time()}".encode()).hexdigest()
        self._faults: list[tuple[int, float | None]] = []
        self._next_queue_id = 1
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> str:
        emulator = self

        class Handler(_Handler):
            jenkins = emulator

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> JenkinsEmulator:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- test hooks --------------------------------------------------------------------------
    def inject_status(self, code: int, times: int = 1, retry_after: float | None = None) -> None:
        """Answer the next `times` requests with `code` (and a Retry-After header when given)."""
        with self._lock:
            self._faults.extend([(code, retry_after)] * times)

    def add_folder(self, full_name: str) -> None:
        with self._lock:
            self.items[full_name] = Item(full_name, FOLDER_XML)

    def add_job(self, full_name: str, config: str = PIPELINE_XML) -> None:
        with self._lock:
            self.items[full_name] = Item(full_name, config)

    def config(self, full_name: str) -> str:
        return self.items[full_name].config

    def posted(self, path_suffix: str) -> list[bytes]:
        """Bodies of the POSTs whose path ends with path_suffix."""
        return [body for path, _headers, body in self.posts if path.endswith(path_suffix)]

    # -- model -------------------------------------------------------------------------------
    def item_url(self, full_name: str) -> str:
        return self.url + "".join(f"/job/{quote(part, safe='')}" for part in full_name.split("/")) + "/"

    def children(self, parent: str) -> list[Item]:
        prefix = parent + "/" if parent else ""
        return [item for name, item in self.items.items()
                if name.startswith(prefix) and "/" not in name[len(prefix):]]

    def listing(self, parent: str) -> list[dict[str, Any]]:
        rows = []
        for item in self.children(parent):
            row: dict[str, Any] = {"_class": item.item_class, "name": item.name, "url": self.item_url(item.full_name)}
            if not item.is_container:
                row["color"] = "blue" if item.builds else "notbuilt"
            rows.append(row)
        return rows

    def job_info(self, item: Item) -> dict[str, Any]:
        info: dict[str, Any] = {"_class": item.item_class, "name": item.name, "fullName": item.full_name,
                                "displayName": item.name, "fullDisplayName": item.full_name.replace("/", " » "),
                                "url": self.item_url(item.full_name), "description": _description(item.config),
                                "actions": [], "healthReport": []}
        if item.is_container:
            info["jobs"] = self.listing(item.full_name)
            return info
        queued = [q for q in self.queue.values() if q["task"]["name"] == item.name]
        builds = [{"_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun", "number": b["number"],
                   "url": f"{self.item_url(item.full_name)}{b['number']}/"} for b in reversed(item.builds)]
        info.update({"buildable": True, "builds": builds, "color": "blue" if builds else "notbuilt",
                     "firstBuild": builds[-1] if builds else None, "lastBuild": builds[0] if builds else None,
                     "lastCompletedBuild": None, "lastFailedBuild": None, "lastStableBuild": None,
                     "lastSuccessfulBuild": None, "lastUnstableBuild": None, "lastUnsuccessfulBuild": None,
                     "inQueue": bool(queued), "queueItem": queued[0] if queued else None,
                     "keepDependencies": False, "nextBuildNumber": item.next_build_number,
                     "property": [], "concurrentBuild": False, "disabled": False,
                     "downstreamProjects": [], "upstreamProjects": []})
        return info


def _description(config: str) -> str:
    try:
        element = ET.fromstring(config.encode("utf-8")).find("description")
    except ET.ParseError:
        return ""
    return (element.text or "") if element is not None else ""


def _check_name(name: str) -> None:
    if not name.strip():
        raise _Answer(400, "No name is specified", x_error=True)
    for char in name:
        if char in _UNSAFE:
            raise _Answer(400, f"‘{char}’ is an unsafe character", x_error=True)
    if name in (".", ".."):
        raise _Answer(400, f"“{name}” is not an allowed name", x_error=True)


class _Handler(BaseHTTPRequestHandler):
    jenkins: JenkinsEmulator
    protocol_version = "HTTP/1.1"
    server_version = "Jetty(10.0.20)"

    def log_message(self, *_args: object) -> None:
        pass

    # -- plumbing ----------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def _send(self, status: int, body: bytes | str, content_type: str = "text/plain;charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Jenkins", "2.462.3")
        for key, value in (headers or {}).items():
            # Jetty writes header values as UTF-8 bytes (X-Error quotes names in ‘ ’)
            self._headers_buffer.append(f"{key}: {value}\r\n".encode())  # type: ignore[attr-defined]
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, answer: _Answer) -> None:
        page = (f"<html><head><title>Error</title></head><body><h1>Error</h1><p>{_html(answer.message)}</p>"
                "</body></html>")
        self._send(answer.status, page, "text/html;charset=utf-8", {"X-Error": answer.message} if answer.x_error
                   else None)

    def _send_api(self, flavour: str, value: Any, tree: str | None) -> None:
        if tree:
            value = filter_tree(value, parse_tree(tree))
        if flavour == "json":
            self._send(200, json.dumps(value), "application/json;charset=utf-8")
        else:
            self._send(200, python_literal(value), "text/x-python;charset=utf-8")

    def _handle(self, method: str) -> None:
        jenkins = self.jenkins
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with jenkins._lock:
            jenkins.requests.append((method, split.path))
            if method == "POST":
                jenkins.posts.append((split.path, dict(self.headers.items()), body))
            fault = jenkins._faults.pop(0) if jenkins._faults else None
        if fault is not None:
            code, retry_after = fault
            extra = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
            self._send(code, f"HTTP ERROR {code}", headers=extra)
            return
        try:
            user = self._authenticate()
            if method == "POST":
                self._authorise_post(user, split.path)
            elif user is None and not jenkins.anonymous_read and split.path != "/crumbIssuer/api/python":
                raise _Answer(403, "Authentication required")
            with jenkins._lock:
                self._route(method, split.path, parse_qs(split.query), body)
        except _Answer as answer:
            self._error(answer)

    def _authenticate(self) -> str | None:
        header = self.headers.get("Authorization", "")
        if not header:
            return None
        scheme, _, encoded = header.partition(" ")
        try:
            user, _, token = base64.b64decode(encoded).decode("utf-8").partition(":")
        except (ValueError, UnicodeError):
            raise _Answer(400, "Malformed Authorization header") from None
        if scheme.lower() != "basic" or self.jenkins.users.get(user) != token:
            raise _Answer(401, f"Invalid password/token for user: {user}")
        return user

    def _authorise_post(self, user: str | None, path: str) -> None:
        if path == "/pipeline-model-converter/validate":  # crumb-exempt, needs Overall/Read only
            if user is None and not self.jenkins.anonymous_read:
                raise _Answer(403, "Authentication required")
            return
        if user is None:
            raise _Answer(403, "anonymous is missing the Job/Configure permission")
        crumb = self.headers.get("Jenkins-Crumb")
        if crumb is not None and (not self.jenkins.crumbs or crumb != self.jenkins.crumb):
            raise _Answer(403, "No valid crumb was included in the request")

    # -- routes ------------------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
        jenkins = self.jenkins
        parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        names: list[str] = []
        while len(parts) >= 2 and parts[0] == "job":
            names.append(parts[1])
            parts = parts[2:]
        full_name = "/".join(names)
        action = "/".join(parts)
        tree = query.get("tree", [None])[0]
        if full_name and full_name not in jenkins.items:
            raise _Answer(404, "Not Found")
        item = jenkins.items.get(full_name)
        if item is None:
            self._route_root(method, action, query, body, tree)
            return
        if method == "GET" and action in ("api/python", "api/json"):
            self._send_api(action.rsplit("/", 1)[1], jenkins.job_info(item), tree)
        elif action == "config.xml" and method == "GET":
            self._send(200, item.config, "application/xml")
        elif action == "config.xml" and method == "POST":
            self._update_config(item, body)
        elif action == "createItem" and method == "POST" and item.is_container:
            self._create_item(item.full_name, query, body)
        elif action in ("build", "buildWithParameters") and method == "POST" and not item.is_container:
            self._build(item)
        else:
            raise _Answer(404 if method == "GET" else 405, "Not Found")

    def _route_root(self, method: str, action: str, query: dict[str, list[str]], body: bytes,
                    tree: str | None) -> None:
        jenkins = self.jenkins
        if method == "GET" and action in ("api/python", "api/json"):
            root = {"_class": "hudson.model.Hudson", "mode": "NORMAL", "nodeDescription": "the emulator",
                    "numExecutors": 0, "useCrumbs": jenkins.crumbs, "useSecurity": True,
                    "url": jenkins.url + "/", "jobs": jenkins.listing("")}
            self._send_api(action.rsplit("/", 1)[1], root, tree)
        elif method == "GET" and action in ("crumbIssuer/api/python", "crumbIssuer/api/json"):
            if not jenkins.crumbs:
                raise _Answer(404, "Not Found")
            crumb = {"_class": "hudson.security.csrf.DefaultCrumbIssuer", "crumb": jenkins.crumb,
                     "crumbRequestField": "Jenkins-Crumb"}
            self._send_api(action.rsplit("/", 1)[1], crumb, tree)
        elif method == "POST" and action == "createItem":
            self._create_item("", query, body)
        elif method == "POST" and action == "pipeline-model-converter/validate":
            self._validate(body)
        elif method == "GET" and action in ("queue/api/python", "queue/api/json"):
            self._send_api(action.rsplit("/", 1)[1], {"_class": "hudson.model.Queue",
                                                      "items": list(jenkins.queue.values())}, tree)
        elif method == "GET" and re.fullmatch(r"queue/item/\d+/api/(python|json)", action):
            entry = jenkins.queue.get(int(action.split("/")[2]))
            if entry is None:
                raise _Answer(404, "Not Found")
            self._send_api(action.rsplit("/", 1)[1], entry, tree)
        else:
            raise _Answer(404 if method == "GET" else 405, "Not Found")

    def _create_item(self, parent: str, query: dict[str, list[str]], body: bytes) -> None:
        content_type = self.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() not in ("text/xml", "application/xml"):
            raise _Answer(400, "No Content-Type header set", x_error=True)
        name = query.get("name", [""])[0]
        if not name:
            raise _Answer(400, "Query parameter 'name' is required", x_error=True)
        _check_name(name)
        full_name = f"{parent}/{name}" if parent else name
        if full_name in self.jenkins.items:
            raise _Answer(400, f"A job already exists with the name ‘{name}’", x_error=True)
        config = _xml_text(body)
        self.jenkins.items[full_name] = Item(full_name, config)
        self._send(200, b"")

    def _update_config(self, item: Item, body: bytes) -> None:
        config = _xml_text(body)
        new_root = ET.fromstring(config.encode("utf-8")).tag
        if new_root != item.root:  # AbstractItem.updateByXml refuses to change an item's class
            raise _Answer(500, f"Expecting class {item.item_class} but got {_ITEM_CLASSES.get(new_root, new_root)}"
                               " instead")
        item.config = config
        self._send(200, b"")

    def _build(self, item: Item) -> None:
        jenkins = self.jenkins
        queue_id = jenkins._next_queue_id
        jenkins._next_queue_id += 1
        jenkins.queue[queue_id] = {
            "_class": "hudson.model.Queue$WaitingItem", "id": queue_id, "blocked": False, "buildable": False,
            "stuck": False, "actions": [], "params": "", "why": "In the quiet period.",
            "inQueueSince": int(time.time() * 1000), "url": f"queue/item/{queue_id}/", "executable": None,
            "task": {"_class": item.item_class, "name": item.name, "url": jenkins.item_url(item.full_name),
                     "color": "notbuilt"},
        }
        self._send(201, b"", headers={"Location": f"{jenkins.url}/queue/item/{queue_id}/"})

    def _validate(self, body: bytes) -> None:
        jenkinsfile = _form_field(self.headers.get("Content-Type", ""), body, "jenkinsfile")
        if not jenkinsfile:
            self._send(200, "No Jenkinsfile specified")
            return
        errors = lint_jenkinsfile(jenkinsfile)
        if not errors:
            self._send(200, "Jenkinsfile successfully validated.\n")
        else:
            self._send(200, "Errors encountered validating Jenkinsfile:\n" + "\n".join(errors) + "\n")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_text(body: bytes) -> str:
    try:
        ET.fromstring(body)
    except ET.ParseError as exc:
        raise _Answer(400, f"Failed to parse the XML: {exc}", x_error=True) from None
    return body.decode("utf-8")


def _form_field(content_type: str, body: bytes, name: str) -> str | None:
    """A field of an application/x-www-form-urlencoded or multipart/form-data body (curl -F)."""
    if content_type.lower().startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == name:
                payload = part.get_payload(decode=True)
                return payload.decode("utf-8") if isinstance(payload, bytes) else None
        return None
    values = parse_qs(body.decode("utf-8"), keep_blank_values=True).get(name)
    return values[0] if values else None
