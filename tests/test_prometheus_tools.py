"""The harness of tests/prometheus_tools.py against the real promtool, prometheus and amtool:
each helper accepts what the tool accepts and fails naming what the tool says, and the servers
answer what was backfilled or scraped. Also pins the tools' behaviours the harness relies on
(retention from the newest block, dropped out-of-order samples, amtool 0.25 without url_file)."""

from __future__ import annotations

import http.server
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import prometheus_tools as pt
import pytest
from conformance import validators
from conformance.validators import find_tool, in_ci

T0 = 1767225600  # 2026-01-01T00:00:00Z: every backfilled sample and query time is fixed, never the clock

GOOD_RULES = """\
groups:
- name: example
  rules:
  - alert: X
    expr: x > 1
    for: 1m
    labels: {severity: page}
    annotations: {summary: "x is {{ $value }}"}
"""


def test_tools_are_installed_under_ci() -> None:
    """Under CI a missing tool must fail the monitoring tests, never skip them: the CI image
    installs all three with .ci/install-tools."""
    if not in_ci():
        pytest.skip("CI is not set: missing tools only skip the tests here")
    assert all(find_tool(tool) for tool in ("promtool", "prometheus", "amtool"))


def test_missing_tool_fails_under_ci_and_skips_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    """The policy of validators.require_tool(), applied to a tool that cannot be found."""
    monkeypatch.setattr(validators, "find_tool", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="promtool is not installed"):
        pt.promtool()
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match=r"promtool not installed \(install with .ci/install-tools\)"):
        pt.promtool()


def test_check_rules_accepts_good_and_names_the_error_of_bad() -> None:
    pt.check_rules(GOOD_RULES)
    with pytest.raises(AssertionError, match="could not parse expression.*unexpected <op:>>"):
        pt.check_rules(GOOD_RULES.replace("x > 1", "x > > 1"))


def test_check_rules_takes_a_path_and_refuses_a_path_as_str(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(GOOD_RULES, encoding="utf-8")
    pt.check_rules(path)
    with pytest.raises(TypeError, match="pass pathlib.Path"):
        pt.check_rules(str(path))


def test_rule_file_from_prometheusrule_keeps_the_spec() -> None:
    group: dict[str, object] = {"name": "g", "rules": [{"record": "a:b", "expr": "up"}]}
    manifest = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
                "metadata": {"name": "r"}, "spec": {"groups": [group]}}
    text = pt.rule_file_from_prometheusrule(manifest)
    pt.check_rules(text)
    group["bogus"] = 1
    with pytest.raises(AssertionError, match="bogus"):  # an unknown field reaches promtool, which rejects it
        pt.check_rules(pt.rule_file_from_prometheusrule(manifest))
    with pytest.raises(ValueError, match="not a PrometheusRule"):
        pt.rule_file_from_prometheusrule({"apiVersion": "v1", "kind": "ConfigMap"})


def test_check_expressions_names_the_bad_key() -> None:
    pt.check_expressions({"ok": "sum(rate(x[5m]))", "ratio": 'sum(rate(a{code=~"5.."}[5m])) / sum(rate(a[5m]))'})
    with pytest.raises(AssertionError) as excinfo:
        pt.check_expressions({"ok": "up", "latency": "sum(rate(x[5m])", "other": "foo{"})
    message = str(excinfo.value)
    assert "'latency': " in message and "unclosed left parenthesis" in message
    assert "'other': " in message and "'ok'" not in message


def _alert_test(values: str, exp_alerts: list[dict[str, object]]) -> dict[str, object]:
    return {"tests": [{"interval": "1m", "input_series": [{"series": 'x{job="a"}', "values": values}],
                       "alert_rule_test": [{"eval_time": "2m", "alertname": "X", "exp_alerts": exp_alerts}]}]}


def test_test_rules_fires_on_breach_and_not_on_healthy(tmp_path: Path) -> None:
    firing: list[dict[str, object]] = [{"exp_labels": {"job": "a", "severity": "page"},
                                        "exp_annotations": {"summary": "x is 5"}}]
    pt.test_rules([GOOD_RULES], _alert_test("5 5 5 5", firing))  # > 1 since 0m, for 1m: firing at 2m
    pt.test_rules([GOOD_RULES], _alert_test("0 0 0 0", []))
    path = tmp_path / "rules.yml"
    path.write_text(GOOD_RULES, encoding="utf-8")
    with pytest.raises(AssertionError, match=r"(?s)alertname: X, time: 2m.*exp:\[\].*got:"):
        pt.test_rules([path], _alert_test("5 5 5 5", []))


def test_openmetrics_text() -> None:
    text = pt.openmetrics({'req_total{code="200"}': [(T0, 0), (T0 + 60, 1.5)], 'req_total{code="500"}': [(T0, 2)],
                           "temp": [(T0 + 0.5, float("nan"))]}, types={"req_total": "counter"})
    assert text == ('# TYPE req counter\nreq_total{code="200"} 0 1767225600\nreq_total{code="200"} 1.5 1767225660\n'
                    'req_total{code="500"} 2 1767225600\n# TYPE temp unknown\ntemp NaN 1767225600.5\n# EOF\n')
    with pytest.raises(ValueError, match="strictly increase"):
        pt.openmetrics({"g": [(T0 + 60, 1), (T0, 2)]})
    with pytest.raises(ValueError, match="must end in _total"):
        pt.openmetrics({"g": [(T0, 1)]}, types={"g": "counter"})


def test_create_blocks_drops_out_of_order_samples_silently(tmp_path: Path) -> None:
    """Why openmetrics() refuses unordered timestamps: promtool 2.42 exits 0 and keeps only the first."""
    source = tmp_path / "data.om"
    source.write_text(f"# TYPE g gauge\ng 1 {T0 + 60}\ng 2 {T0}\n# EOF\n", encoding="utf-8")
    command = [pt.promtool(), "tsdb", "create-blocks-from", "openmetrics", str(source), str(tmp_path / "d")]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    header, row = (re.split(r"\s{2,}", line.strip()) for line in proc.stdout.splitlines()[:2])
    assert dict(zip(header, row, strict=True))["NUM SAMPLES"] == "1"  # of two


def test_backfilled_prometheus_answers_at_fixed_times(tmp_path: Path) -> None:
    """rate() over a counter growing 60/min is 1/s once the 5m window is covered; a block five
    years older than the newest survives the start (100y retention, measured from the newest block)."""
    counter = [(T0 - 600 + 15 * i, 15.0 * i) for i in range(41)]  # T0-10m .. T0, +15 every 15 s
    text = pt.openmetrics({'c_total{job="a"}': counter, "old": [(T0 - 5 * 365 * 86400, 7)], "g": [(T0, 2.5)]},
                          types={"c_total": "counter", "g": "gauge"})
    with pt.backfilled_prometheus(text, tmp_path) as url:
        [(labels, rate)] = pt.instant_query(url, "rate(c_total[5m])", at=T0)
        assert labels == {"job": "a"} and rate == pytest.approx(1.0)
        assert pt.instant_query(url, "g", at=T0 + 299) == [({"__name__": "g"}, 2.5)]
        assert pt.instant_query(url, "g", at=T0 + 301) == []  # lookback delta 5m
        assert pt.instant_query(url, "old", at=T0 - 5 * 365 * 86400) == [({"__name__": "old"}, 7.0)]
        assert pt.instant_query(url, "scalar(g)", at=T0) == [({}, 2.5)]
        with pytest.raises(AssertionError, match="refused.*parse error"):
            pt.instant_query(url, "sum(", at=T0)


def test_backfilled_prometheus_stops_the_server(tmp_path: Path) -> None:
    with pt.backfilled_prometheus(pt.openmetrics({"g": [(T0, 1)]}), tmp_path) as url:
        pass
    assert not pt._ready(url)


class _MetricsHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802  (the stdlib's name)
        body = b'# TYPE demo_requests_total counter\ndemo_requests_total{code="200"} 3\n'
        self.send_response(200 if self.path == "/custom/metrics" else 404)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002  (quiet test output)
        pass


@pytest.fixture
def metrics_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _MetricsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_scraping_prometheus_attaches_target_labels(metrics_server: str, tmp_path: Path) -> None:
    labels = {"namespace": "ml", "pod": "fraud-0", "container": "server", "app_kubernetes_io_name": "fraud"}
    with pt.scraping_prometheus([(metrics_server, labels)], tmp_path, metrics_path="/custom/metrics") as url:
        result = pt.wait_for_series(url, "demo_requests_total", deadline_s=60)
    assert result == [({"__name__": "demo_requests_total", "code": "200", "instance": metrics_server,
                        "job": "mlopsgen-test", **labels}, 3.0)]


def test_wait_for_series_gives_up_at_the_deadline(tmp_path: Path) -> None:
    with pt.backfilled_prometheus(pt.openmetrics({"g": [(T0, 1)]}), tmp_path) as url, \
            pytest.raises(AssertionError, match="no series for 'nothing_here'"):
        pt.wait_for_series(url, "nothing_here", deadline_s=0.5)


def test_check_alertmanager_config() -> None:
    pt.check_alertmanager_config("route:\n  receiver: team\nreceivers:\n- name: team\n")
    bad = "route:\n  receiver: team\nreceivers:\n- name: team\n  webhook_configs:\n  - url_file: /etc/am/url\n"
    with pytest.raises(AssertionError, match="field url_file not found in type config.plain"):  # amtool 0.25
        pt.check_alertmanager_config(bad)


def test_no_prometheus_left_running() -> None:
    """Every server above was stopped: none of this test session's children is a prometheus."""
    children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    if not children.exists():
        pytest.skip("no /proc children list on this system")
    names = [Path(f"/proc/{pid}/comm").read_text().strip() for pid in children.read_text().split()
             if Path(f"/proc/{pid}/comm").exists()]
    assert "prometheus" not in names
