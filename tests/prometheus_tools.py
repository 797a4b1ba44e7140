"""Run the real Prometheus tools (promtool, prometheus, amtool) from tests.

Monitoring tests must not trust a hand-written PromQL parser or an imitation of Prometheus'
evaluation: a rule file is right when promtool accepts it, an alert fires when promtool's unit
tests say so, and an SLO query means what the real server answers. This module wraps Debian's
`prometheus` 2.42 (prometheus, promtool) and `prometheus-alertmanager` 0.25 (amtool), installed
by .ci/install-tools.

Missing tools follow tests/conformance/validators.py require_tool: the calling test FAILS when CI
is set (a CI image without the tools must not go green by skipping) and is skipped otherwise,
naming the tool and .ci/install-tools.

Conventions: wherever a rule file is taken, a `pathlib.Path` is a file on disk and a `str` is
the YAML text itself (a one-line `str` naming an existing file is refused, to catch
`str(path)` mistakes). Every check raises AssertionError carrying the tool's own output.

Gotchas found with the 2.42 / 0.25 tools (the tests in test_prometheus_tools.py pin each one):

* OpenMetrics naming: `promtool tsdb create-blocks-from openmetrics` stores the *sample* name
  and ignores `# TYPE` for storage (backfilled blocks carry no metadata, and 2.42 does not check
  that a counter's samples are `<family>_total`). `openmetrics()` still writes the correct form,
  `# TYPE http_requests counter` then `http_requests_total{...}`; the type does not matter to
  rate(), so "unknown" (family name == sample name) is the default.
* Out-of-order samples are silently DROPPED by create-blocks-from (exit code 0), and a sample
  without a timestamp or a file without the final `# EOF` is an error: `openmetrics()` refuses
  timestamps that do not strictly increase.
* Retention is measured from the newest block's max time, not from the wall clock: with the
  default 15d, a block more than 15 days older than the newest backfilled one is deleted at start
  ("Deleting obsolete block"). `backfilled_prometheus` passes --storage.tsdb.retention.time=100y.
* `--storage.tsdb.allow-overlapping-blocks` is not needed: overlapping blocks are always allowed
  since 2.39 (the flag is deprecated). Backfilled blocks are loaded at start without it.
* Lookback delta is 5m: an instant query at t sees the newest sample in (t-5m, t]; querying more
  than 5 minutes after the last backfilled sample returns nothing.
* rate(c[5m]) divides the increase by the window (300 s), extrapolating at most to the series'
  edges: a counter backfilled for only 2 minutes before the query time gives 0.4, not 1, at
  60/min. Backfill at least the window plus one step before every evaluated timestamp.
* scraping_prometheus: the first scrape comes about 5 s after /-/ready (the discovery manager
  hands targets to the scrape manager at most every 5 s, whatever the scrape interval), so
  wait_for_series needs a deadline well above that; 60 s leaves room for a loaded machine.
* `promtool check rules` only parses: `up[5m]` or `"text"` pass as recording rules although the
  server would fail to evaluate them; `check_expressions` is a parse check, not a type check.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from conformance.validators import require_tool

TOOL_TIMEOUT_S = 120  # one promtool/amtool run; they take well under a second on these inputs
READY_DEADLINE_S = 60.0  # generous: a loaded CI machine may take many seconds to open the TSDB
STOP_TIMEOUT_S = 10.0  # SIGTERM, then SIGKILL after this long
CHECK_RECORD_PREFIX = "mlopsgen:check:"

MetricType = Literal["counter", "gauge", "unknown"]

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_CHECK_ERROR = re.compile(r'"' + re.escape(CHECK_RECORD_PREFIX) + r'(\d+)": (.*)')


# ----------------------------------------------------------------------------- tools


def promtool() -> str:
    """Path of promtool (Debian package `prometheus`)."""
    return require_tool("promtool")


def prometheus_binary() -> str:
    """Path of the prometheus server (Debian package `prometheus`)."""
    return require_tool("prometheus")


def amtool() -> str:
    """Path of amtool (Debian package `prometheus-alertmanager`)."""
    return require_tool("amtool")


def _run(cmd: Sequence[str], cwd: Path | None = None) -> tuple[int, str]:
    """Run a tool, returning (exit code, stdout + stderr): promtool prints verdicts on stdout and
    the reasons on stderr, and a failure message needs both."""
    try:
        proc = subprocess.run(list(cmd), cwd=cwd, capture_output=True, timeout=TOOL_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return 124, f"{cmd[0]} timed out after {TOOL_TIMEOUT_S}s"
    out = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    return proc.returncode, out.strip()


# ----------------------------------------------------------------------------- rules


def _rule_text(rules: Path | str | Mapping[str, Any]) -> str:
    """Rule file text from a Path (read), a str (the text) or a mapping (dumped as YAML)."""
    if isinstance(rules, Path):
        return rules.read_text(encoding="utf-8")
    if isinstance(rules, str):
        if "\n" not in rules.strip() and Path(rules.strip()).is_file():
            raise TypeError(f"{rules!r} names a file: pass pathlib.Path({rules!r}); a str is the rule file's text")
        return rules
    return yaml.safe_dump(dict(rules), sort_keys=False)


def rule_file_from_prometheusrule(manifest: Mapping[str, Any]) -> str:
    """The rules file text of a PrometheusRule (monitoring.coreos.com/v1): its `spec` verbatim,
    which is what the Prometheus Operator writes for the server, so an unknown spec or group field
    reaches promtool and is rejected there instead of being dropped here."""
    api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
    if kind != "PrometheusRule" or not str(api_version).startswith("monitoring.coreos.com/"):
        raise ValueError(f"not a PrometheusRule: apiVersion={api_version!r} kind={kind!r}")
    spec = manifest.get("spec")
    if not isinstance(spec, Mapping) or "groups" not in spec:
        raise ValueError("PrometheusRule has no spec.groups")
    return yaml.safe_dump(dict(spec), sort_keys=False)


def check_rules(rules: Path | str | Mapping[str, Any]) -> None:
    """`promtool check rules` on a plain `groups:` rule file; AssertionError with its output."""
    tool = promtool()
    with tempfile.TemporaryDirectory(prefix="mlopsgen-rules-") as tmp:
        path = Path(tmp) / "rules.yml"
        path.write_text(_rule_text(rules), encoding="utf-8")
        code, out = _run([tool, "check", "rules", str(path)])
    if code != 0:
        raise AssertionError(f"promtool check rules rejected the rule file:\n{out}")


def check_expressions(exprs: Mapping[str, str]) -> None:
    """Parse each PromQL expression with promtool, as the recording rule `mlopsgen:check:<n>`.

    promtool has no "parse this expression" command; a recording rule is the thinnest wrapper
    that makes it run Prometheus' own parser. One file holds them all (promtool reports every bad
    rule, not only the first), and the failure names each bad expression by its key."""
    if not exprs:
        return
    keys = list(exprs)
    rules = [{"record": f"{CHECK_RECORD_PREFIX}{n}", "expr": exprs[key]} for n, key in enumerate(keys)]
    tool = promtool()
    with tempfile.TemporaryDirectory(prefix="mlopsgen-exprs-") as tmp:
        path = Path(tmp) / "exprs.yml"
        path.write_text(yaml.safe_dump({"groups": [{"name": "mlopsgen-check", "rules": rules}]}), encoding="utf-8")
        code, out = _run([tool, "check", "rules", str(path)])
    if code == 0:
        return
    named = [f"{keys[int(m.group(1))]!r}: {m.group(2)}\n    expr: {exprs[keys[int(m.group(1))]]}"
             for m in _CHECK_ERROR.finditer(out)]
    detail = "\n".join(named) if named else out  # nothing matched: a file-level error, show it whole
    raise AssertionError(f"promtool rejected PromQL expression(s):\n{detail}")


def test_rules(rule_files: Sequence[Path | str], tests_yaml: Mapping[str, Any]) -> None:
    """`promtool test rules` on a unit-test document (`tests:`, optional `evaluation_interval`,
    default 1m) over the given rule files (Path = file, str = rule file text); AssertionError
    with promtool's output (which lists the expected and the got alerts) on failure."""
    if "rule_files" in tests_yaml:
        raise ValueError("pass the rule files as rule_files=, not inside tests_yaml")
    tool = promtool()
    with tempfile.TemporaryDirectory(prefix="mlopsgen-ruletest-") as tmp:
        paths: list[str] = []
        for n, rules in enumerate(rule_files):
            if isinstance(rules, Path):
                paths.append(str(rules.resolve()))  # the test file lives elsewhere: relative paths would break
            else:
                path = Path(tmp) / f"rules-{n}.yml"
                path.write_text(_rule_text(rules), encoding="utf-8")
                paths.append(str(path))
        document = {"rule_files": paths, "evaluation_interval": "1m", **tests_yaml}
        test_file = Path(tmp) / "tests.yml"
        test_file.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        code, out = _run([tool, "test", "rules", str(test_file)], cwd=Path(tmp))
    if code != 0:
        raise AssertionError(f"promtool test rules failed:\n{out}")


test_rules.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test, when imported into test modules


# ----------------------------------------------------------------------------- OpenMetrics


def _format_number(value: float) -> str:
    """OpenMetrics number: integers without a fraction, NaN and +Inf/-Inf spelled as the format wants."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def openmetrics(series: Mapping[str, Sequence[tuple[float, float]]],
                types: Mapping[str, MetricType] | None = None) -> str:
    """OpenMetrics text (ending in `# EOF`) from {'name{label="v"}': [(unix_seconds, value), ...]}.

    `types` maps a metric name (as in the series keys) to its family type, default "unknown".
    A counter's samples must be named `<family>_total` (or `_created`), and its `# TYPE` line
    names the family without the suffix, as OpenMetrics requires. The series of one family are
    written together under one `# TYPE` line. Timestamps are seconds and must strictly increase
    within a series: create-blocks-from would silently drop the out-of-order ones."""
    types = types or {}
    families: dict[str, tuple[MetricType, list[str]]] = {}
    for key, samples in series.items():
        name = key.split("{", 1)[0].strip()
        if not _METRIC_NAME.fullmatch(name):
            raise ValueError(f"bad metric name in series {key!r}")
        kind: MetricType = types.get(name, "unknown")
        family = name
        if kind == "counter":
            suffix = next((s for s in ("_total", "_created") if name.endswith(s)), None)
            if suffix is None:
                raise ValueError(f"counter sample {name!r} must end in _total (OpenMetrics)")
            family = name[: -len(suffix)]
        known = families.setdefault(family, (kind, []))
        if known[0] != kind:
            raise ValueError(f"family {family!r} given two types: {known[0]} and {kind}")
        previous = -math.inf
        for ts, value in samples:
            if not ts > previous:
                raise ValueError(f"{key}: timestamps must strictly increase ({ts} after {previous})")
            previous = ts
            known[1].append(f"{key.strip()} {_format_number(value)} {_format_number(ts)}")
    lines: list[str] = []
    for family, (kind, samples_lines) in families.items():
        lines.append(f"# TYPE {family} {kind}")
        lines.extend(samples_lines)
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- a real server


def free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1 (racy by nature: _start retries on EADDRINUSE)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (Prometheus closes the TSDB cleanly), SIGKILL if it hangs; always reaped."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def _prometheus(config: Mapping[str, Any], datadir: Path, workdir: Path,
                deadline_s: float = READY_DEADLINE_S) -> Iterator[str]:
    """Run prometheus on 127.0.0.1:<free port> until the block exits; yields the base URL once
    /-/ready answers 200. The log goes to a file, not a pipe, so a chatty server cannot block on
    a full pipe; it is quoted when the server dies or never gets ready."""
    binary = prometheus_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(dict(config), sort_keys=False), encoding="utf-8")
    for attempt in range(3):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = workdir / f"prometheus-{attempt}.log"
        with log.open("wb") as log_handle:
            proc = subprocess.Popen(
                [binary, f"--config.file={config_file}", f"--storage.tsdb.path={datadir}",
                 "--storage.tsdb.retention.time=100y", f"--web.listen-address=127.0.0.1:{port}"],
                stdout=log_handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir)
        try:
            deadline = time.monotonic() + deadline_s
            while proc.poll() is None and not _ready(url):
                if time.monotonic() > deadline:
                    raise AssertionError(f"prometheus not ready after {deadline_s:.0f}s at {url}:\n"
                                         f"{log.read_text('utf-8', 'replace')[-4000:]}")
                time.sleep(0.1)
            if proc.poll() is not None:
                text = log.read_text("utf-8", "replace")
                if "address already in use" in text and attempt < 2:
                    continue  # someone took the port between free_port and the bind
                raise AssertionError(f"prometheus exited with {proc.returncode}:\n{text[-4000:]}")
            yield url
            return
        finally:
            _stop(proc)
    raise AssertionError("unreachable")  # pragma: no cover


@contextlib.contextmanager
def backfilled_prometheus(openmetrics_text: str, tmp_path: Path) -> Iterator[str]:
    """Backfill the OpenMetrics text with `promtool tsdb create-blocks-from openmetrics`, then run
    a Prometheus with no scrape jobs on those blocks; yields its base URL (http://127.0.0.1:N).

    Query it only at fixed timestamps (instant_query's `at`): the data is in the past, and the
    verdict of a test must not depend on the clock. Retention is 100y, so old blocks survive."""
    if not openmetrics_text.rstrip().endswith("# EOF"):
        raise ValueError("OpenMetrics text must end with '# EOF' (promtool refuses it otherwise)")
    root = Path(tempfile.mkdtemp(prefix="backfilled-prometheus-", dir=tmp_path))
    source, datadir = root / "data.om", root / "tsdb"
    source.write_text(openmetrics_text if openmetrics_text.endswith("\n") else openmetrics_text + "\n",
                      encoding="utf-8")
    code, out = _run([promtool(), "tsdb", "create-blocks-from", "openmetrics", str(source), str(datadir)])
    if code != 0:
        raise AssertionError(f"promtool tsdb create-blocks-from openmetrics failed:\n{out}")
    with _prometheus({"global": {"evaluation_interval": "1m"}}, datadir, root) as url:
        yield url


@contextlib.contextmanager
def scraping_prometheus(targets: Sequence[tuple[str, Mapping[str, str]]], tmp_path: Path,
                        scrape_interval: str = "1s", metrics_path: str = "/metrics",
                        job_name: str = "mlopsgen-test") -> Iterator[str]:
    """Prometheus scraping `targets` ("host:port", extra target labels) in one static job.

    The extra labels stand in for what a ServiceMonitor/PodMonitor's relabelling attaches
    (namespace, pod, container, the pod-label-derived ones); honor_labels stays false as in the
    operator's default, so a scraped label that clashes is renamed exported_<name>. This server
    lives in wall-clock time: wait for data with wait_for_series."""
    root = Path(tempfile.mkdtemp(prefix="scraping-prometheus-", dir=tmp_path))
    config = {
        "global": {"scrape_interval": scrape_interval, "scrape_timeout": scrape_interval,
                   "evaluation_interval": scrape_interval},
        "scrape_configs": [{
            "job_name": job_name,
            "metrics_path": metrics_path,
            "static_configs": [{"targets": [target], "labels": dict(labels)} for target, labels in targets],
        }],
    }
    with _prometheus(config, root / "tsdb", root) as url:
        yield url


# ----------------------------------------------------------------------------- queries


def instant_query(url: str, promql: str, at: float) -> list[tuple[dict[str, str], float]]:
    """GET /api/v1/query at the unix time `at`: [(labels, value), ...] of a vector (a scalar is
    [({}, value)]). A refused query raises AssertionError with Prometheus' error text."""
    query = urllib.parse.urlencode({"query": promql, "time": repr(float(at))})
    try:
        with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=30) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as err:  # 400/422: a bad query, with the reason in the JSON body
        raise AssertionError(f"query {promql!r} refused ({err.code}): {err.read().decode('utf-8', 'replace')}") from err
    if body.get("status") != "success":
        raise AssertionError(f"query {promql!r} failed: {body}")
    data = body["data"]
    if data["resultType"] == "vector":
        return [(dict(item["metric"]), float(item["value"][1])) for item in data["result"]]
    if data["resultType"] == "scalar":
        return [({}, float(data["result"][1]))]
    raise AssertionError(f"query {promql!r} returned a {data['resultType']}, not an instant vector or scalar")


def wait_for_series(url: str, promql: str, deadline_s: float = 60.0) -> list[tuple[dict[str, str], float]]:
    """Poll `promql` (at the current time) until it returns something; AssertionError at the
    deadline. A refused query fails at once: waiting would not fix it."""
    deadline = time.monotonic() + deadline_s
    while True:
        result = instant_query(url, promql, time.time())
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"no series for {promql!r} at {url} after {deadline_s:.0f}s")
        time.sleep(0.25)


# ----------------------------------------------------------------------------- Alertmanager


def check_alertmanager_config(yaml_text: str) -> None:
    """`amtool check-config` on the Alertmanager configuration text; AssertionError with its output."""
    tool = amtool()
    with tempfile.TemporaryDirectory(prefix="mlopsgen-am-") as tmp:
        path = Path(tmp) / "alertmanager.yml"
        path.write_text(yaml_text, encoding="utf-8")
        code, out = _run([tool, "check-config", str(path)], cwd=Path(tmp))
    if code != 0:
        raise AssertionError(f"amtool check-config rejected the configuration:\n{out}")
