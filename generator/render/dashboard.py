"""The Grafana dashboard of one model in one environment, as deterministic JSON.

Rows Software / Input / Output / Custom (a row only when it has panels); Software always opens
with request rate and p95 latency, then one timeseries panel per SLO with the SLO's PromQL
(generator/render/promql.py, the same query the alert and the canary analysis use) and its threshold as a
red line. A `datasource` variable picks the Prometheus data source. blueprints/gitops/overlay/
dashboard.yaml.j2 wraps the JSON in a ConfigMap for the Grafana sidecar.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from generator.model import Environment, Spec
from generator.render.promql import GROUPS, SLOQuery, exporter, model_label, number, slo_queries

SCHEMA_VERSION = 39  # Grafana 10.x/11.x dashboard JSON
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
PANEL_WIDTH, PANEL_HEIGHT, ROW_HEIGHT, COLUMNS = 12, 8, 1, 2
OVERVIEW_WINDOW = "5m"

# Grafana unit ids (https://grafana.com/docs/grafana/latest/panels-visualizations/configure-standard-options/)
UNITS = {
    "latency": "ms",
    "errorRate": "percentunit",
    "throughput": "reqps",
    "memory": "mbytes",  # MiB
    "cpu": "suffix: cores",
    "serverLoad": "short",
    "inputLength": "short",
    "inputVolume": "suffix: rows/s",
    "missingValues": "percentunit",
    "imageBrightness": "short",
    "nullPredictions": "percentunit",
    "scoreShift": "short",
    "custom": "short",
}


def dashboard_uid(spec: Spec, env: Environment) -> str:
    """Stable, unique per model and environment, within Grafana's 40 characters."""
    return "mlopsgen-" + hashlib.sha256(f"{spec.name}/{env.name}".encode()).hexdigest()[:24]


def _timeseries(panel_id: int, title: str, description: str, expr: str, legend: str, unit: str,
                threshold: float | None) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    custom: dict[str, Any] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "spanNulls": False,
                              "thresholdsStyle": {"mode": "off"}}
    if threshold is not None:
        steps.append({"color": "red", "value": threshold})
        custom["thresholdsStyle"] = {"mode": "line"}
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": [{"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": "A"}],
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "color": {"mode": "palette-classic"},
                "custom": custom,
                "thresholds": {"mode": "absolute", "steps": steps},
            },
            "overrides": [],
        },
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                    "tooltip": {"mode": "multi", "sort": "none"}},
    }


def _slo_panel(panel_id: int, q: SLOQuery) -> dict[str, Any]:
    slo = q.slo
    direction = "below" if slo.operator == "below" else "above"
    description = (f"{q.signal.description}; the SLO is breached {direction} {number(slo.threshold)}"
                   f"{q.signal.unit} for {slo.for_} (severity {slo.severity}).")
    return _timeseries(panel_id, f"SLO {slo.name}", description, q.value, slo.name, UNITS[slo.signal],
                       slo.threshold)


def _overview(spec: Spec, env: Environment) -> list[tuple[str, str, str, str]]:
    out = exporter(spec)
    sel = f'{{namespace="{env.namespace}",{model_label(spec)}="{spec.name}"{out.request_matchers}}}'
    rate = f"sum(rate({out.requests}{sel}[{OVERVIEW_WINDOW}]))"
    p95 = (f"histogram_quantile(0.95, sum by (le) (rate({out.duration}_bucket{sel}[{OVERVIEW_WINDOW}])))"
           " * 1000")
    return [("Request rate", "requests per second", rate, "reqps"),
            ("p95 latency", "95th percentile request latency (ms)", p95, "ms")]


def dashboard(spec: Spec, env: Environment) -> dict[str, Any]:
    queries = slo_queries(spec, env)
    panels: list[dict[str, Any]] = []
    y = 0
    for group in GROUPS:
        items: list[dict[str, Any]] = []
        if group == "Software":
            for title, description, expr, unit in _overview(spec, env):
                items.append(_timeseries(0, title, description, expr, title.lower(), unit, None))
        items += [_slo_panel(0, q) for q in queries if q.signal.group == group]
        if not items:
            continue
        panels.append({"id": len(panels) + 1, "type": "row", "title": group, "collapsed": False, "panels": [],
                       "gridPos": {"h": ROW_HEIGHT, "w": 24, "x": 0, "y": y}})
        y += ROW_HEIGHT
        for i, panel in enumerate(items):
            panel["id"] = len(panels) + 1
            panel["gridPos"] = {"h": PANEL_HEIGHT, "w": PANEL_WIDTH, "x": (i % COLUMNS) * PANEL_WIDTH,
                                "y": y + (i // COLUMNS) * PANEL_HEIGHT}
            panels.append(panel)
        y += -(-len(items) // COLUMNS) * PANEL_HEIGHT
    return {
        "uid": dashboard_uid(spec, env),
        "title": f"{spec.name} ({env.name})",
        "description": " ".join(filter(None, [spec.metadata.description,
                                              f"Generated by mlopsgen from {spec.source}: do not edit here."])),
        "tags": ["mlopsgen", spec.name, env.name],
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "timezone": "browser",
        "annotations": {"list": []},
        "links": [],
        "templating": {"list": [{
            "name": "datasource",
            "label": "Prometheus",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "hide": 0,
            "refresh": 1,
            "regex": "",
            "options": [],
        }]},
        "panels": panels,
    }


def dashboard_json(spec: Spec, env: Environment) -> str:
    """The dashboard as JSON text: sorted keys, two-space indent, so a render is byte-stable. orjson
    writes what json.dumps(sort_keys=True, indent=2, ensure_ascii=False) does for a dashboard
    (tests/test_monitoring_artifacts.py compares them), 40x faster: Python's indenting encoder was
    a twelfth of a render."""
    return orjson.dumps(dashboard(spec, env), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
