"""Prometheus's instant-query API (``/api/v1/query``), with urllib: the canary analysis's data source.

The one module that talks HTTP to Prometheus. Its errors become UndeterminedErrors (exit 5) here: an API error
body (Prometheus answers 400, 422 and 503 with JSON) says why the query was refused; anything
else says Prometheus could not be reached or did not answer as Prometheus does.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request

from generator.errors import UndeterminedError

TIMEOUT_SECONDS = 15


def query(base_url: str, promql: str, at: str = "") -> list[float]:
    """The value of every series the instant query returns (an empty list: no data), evaluated now
    or at `at` (RFC 3339 or a Unix timestamp, as Prometheus' `time` parameter takes it)."""
    params = {"query": promql, **({"time": at} if at else {})}
    url = base_url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - http(s) only
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:  # Prometheus answers 400/422/503 with a JSON error body
        try:
            body = json.loads(exc.read())
        except ValueError:
            raise UndeterminedError(f"Prometheus at {base_url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        raise UndeterminedError(f"Prometheus at {base_url} did not answer: {exc}",
                        "check --prometheus-url and that the runner can reach it") from None
    if not isinstance(body, dict):
        raise UndeterminedError(f"Prometheus at {base_url} sent something that is not an API response")
    if body.get("status") != "success":
        raise UndeterminedError(f"Prometheus rejected the query: {body.get('error', body)}")
    return [float(sample["value"][1]) for sample in body.get("data", {}).get("result", [])]
