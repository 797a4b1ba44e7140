"""`mlopsgen analyze` against a real Prometheus on 127.0.0.1, backfilled with
`promtool tsdb create-blocks-from openmetrics` (tests/prometheus_tools.py) and queried at a fixed
time (`--at`), for the fraud-detector example (p95 latency 40 ms, error rate 0.01, score drift 0.1
over 1h).

Production holds, for the last two hours before AT, one set of pods per release, as the
ServiceMonitor labels them (namespace, model label, mlopsgen_io_release): `healthy`, `slow`
(p95 ~98 ms), `errors` (~5 % 5xx), `drifted` (mean score 0.7 against 0.5), `idle` (counters that
stand still: NaN). Staging holds one healthy model for 26 hours, so its score drift has a day of
history at AT and none two hours after the start (FIRST_DAY).
Network faults the real server cannot produce are in tests/test_analyze_faults.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_tools import backfilled_prometheus, openmetrics

from generator.errors import EXIT_UNDETERMINED

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "examples" / "fraud-detector" / "mlops.yaml"
AT = 1767225600  # 2026-01-01T00:00:00Z
STEP = 60
STAGING_START = AT - 26 * 3600
FIRST_DAY = STAGING_START + 2 * 3600
MODEL = 'serving_kserve_io_inferenceservice="fraud-detector"'
BUCKETS = ("0.01", "0.05", "0.1", "+Inf")


def pods(namespace: str, release: str) -> str:
    return f'namespace="{namespace}",{MODEL},mlopsgen_io_release="{release}",pod="fraud-detector-{release}-0"'


def counters(labels: str, start: int, *, requests: float = 10, errors: float = 0, slow: bool = False,
             score: float = 0.5) -> dict[str, list[tuple[float, float]]]:
    """Counters of one set of pods from `start` to AT: `requests`/s answered 200, `errors`/s 500
    (no 5xx series when 0), every request under 10 ms or (slow) between 50 and 100 ms, mean score."""
    times = range(start, AT + 1, STEP)

    def grows(rate: float) -> list[tuple[float, float]]:
        return [(t, rate * (t - start)) for t in times]

    series = {f'http_requests_total{{{labels},code="200"}}': grows(requests)}
    if errors:
        series[f'http_requests_total{{{labels},code="500"}}'] = grows(errors)
    total = requests + errors
    for le in BUCKETS:
        fast = le == "0.01" or le == "0.05"
        series[f'http_request_duration_seconds_bucket{{{labels},le="{le}"}}'] = grows(0 if slow and fast else total)
    series[f"model_prediction_score_sum{{{labels}}}"] = grows(total * score)
    series[f"model_prediction_score_count{{{labels}}}"] = grows(total)
    return series


def standing_still(labels: str, start: int) -> dict[str, list[tuple[float, float]]]:
    return {key: [(t, 100.0) for t, _ in samples] for key, samples in counters(labels, start).items()}


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    production = AT - 2 * 3600
    series = {
        **counters(pods("risk-prod", "healthy"), production),
        **counters(pods("risk-prod", "slow"), production, slow=True),
        **counters(pods("risk-prod", "errors"), production, requests=9.5, errors=0.5),
        **counters(pods("risk-prod", "drifted"), production, score=0.7),
        **standing_still(pods("risk-prod", "idle"), production),
        **counters(pods("risk-staging", "2.3.0"), STAGING_START),
    }
    with backfilled_prometheus(openmetrics(series), tmp_path_factory.mktemp("analyze")) as url:
        yield url


def analyze(cli, url: str, *extra: str, env: str = "production", at: int = AT):  # type: ignore[no-untyped-def]
    return cli("analyze", SPEC, "--env", env, "--prometheus-url", url, "--at", str(at), *extra)


def test_a_healthy_release_passes_with_error_rate_0_and_no_5xx_series(cli, prometheus: str) -> None:
    result = analyze(cli, prometheus, "--release", "healthy")
    assert result.code == 0, result.text
    assert "PASS p95-latency: 9.5 (threshold 40)" in result.out
    assert "PASS error-rate: 0 (threshold 0.01)" in result.out
    # against the other releases: (0.5 + 0.5 + 0.7) / 3 = 0.567 (idle serves nothing)
    assert "PASS score-drift: 0.0666667 (threshold 0.1)" in result.out
    assert "analysis of production (release healthy): passed" in result.out


@pytest.mark.parametrize(("release", "failed", "value"), [
    ("slow", "p95-latency", "97.5 (threshold 40)"),
    ("errors", "error-rate", "0.05 (threshold 0.01)"),
    ("drifted", "score-drift", "0.2 (threshold 0.1)"),  # against the stable releases' 0.5
])
def test_a_breach_fails_naming_the_slo(cli, prometheus: str, release: str, failed: str, value: str) -> None:
    result = analyze(cli, prometheus, "--release", release)
    assert result.code == 1, result.text
    assert f"FAIL {failed}: {value}" in result.out
    assert [line.split(":")[0] for line in result.out.splitlines() if line.startswith("FAIL")] == [f"FAIL {failed}"]
    assert f"analysis of production (release {release}): FAILED" in result.out


def test_the_whole_model_mixes_every_release(cli, prometheus: str) -> None:
    """Without --release the slow pods are 1/5 of the traffic: the p95 of all of them breaches."""
    result = analyze(cli, prometheus)
    assert result.code == 1 and "FAIL p95-latency" in result.out


def test_no_data_follows_each_slos_policy(cli, prometheus: str) -> None:
    """A release without pods: latency and error rate fail (noData: fail), the score drift passes
    (noData: pass, scoreShift's default)."""
    result = analyze(cli, prometheus, "--release", "not-deployed")
    assert result.code == 1, result.text
    assert "FAIL p95-latency: no data; noData: fail" in result.out
    assert "FAIL error-rate: no data; noData: fail" in result.out
    assert "PASS score-drift: no data; noData: pass" in result.out


@pytest.mark.parametrize(("policy", "code", "word"), [("pass", 0, "PASS"), ("inconclusive", EXIT_UNDETERMINED,
                                                                             "INCONCLUSIVE"), ("fail", 1, "FAIL")])
def test_no_data_policy_from_the_command_line(cli, prometheus: str, policy: str, code: int, word: str) -> None:
    result = analyze(cli, prometheus, "--release", "not-deployed", "--no-data", policy)
    assert result.code == code, result.text
    assert f"{word} p95-latency: no data; noData: {policy}" in result.out


def test_nan_is_said_in_words(cli, prometheus: str) -> None:
    result = analyze(cli, prometheus, "--release", "idle")
    assert result.code == 1, result.text
    assert "FAIL p95-latency: no value (NaN: nothing to divide by in the window, e.g. no requests)" in result.out


def test_staging_with_a_day_of_history_compares_with_yesterday(cli, prometheus: str) -> None:
    result = analyze(cli, prometheus, env="staging")
    assert result.code == 0, result.text
    assert "PASS score-drift: 0 (threshold 0.1)" in result.out
    assert "analysis of staging: passed" in result.out


def test_a_first_day_without_history_does_not_fail(cli, prometheus: str) -> None:
    result = analyze(cli, prometheus, env="staging", at=FIRST_DAY)
    assert result.code == 0, result.text
    assert "PASS score-drift: no data; noData: pass" in result.out
    assert "PASS p95-latency: 9.5 (threshold 40)" in result.out


def test_json_format(cli, prometheus: str) -> None:
    result = analyze(cli, prometheus, "--release", "slow", "--format", "json")
    assert result.code == 1
    payload = json.loads(result.out)
    assert (payload["env"], payload["release"], payload["verdict"], payload["passed"]) == (
        "production", "slow", "fail", False)
    by_slo = {s["slo"]: s for s in payload["slos"]}
    assert by_slo["p95-latency"]["status"] == "fail" and by_slo["error-rate"]["status"] == "pass"
    assert set(by_slo["p95-latency"]) == {"slo", "status", "reason", "query"}
    assert 'mlopsgen_io_release="slow"' in by_slo["p95-latency"]["query"]



def with_max_regression(tmp_path: Path) -> Path:
    """The example with the p95 latency also judged against the stable version (20 ms at most)."""
    text = SPEC.read_text(encoding="utf-8")
    old = "      percentile: 95\n      threshold: 40\n"
    assert text.count(old) == 1
    spec = tmp_path / "mlops.yaml"
    spec.write_text(text.replace(old, old + "      maxRegression: 20\n"), encoding="utf-8")
    return spec


def test_a_release_is_also_judged_against_the_stable_version(cli, prometheus: str, tmp_path: Path) -> None:
    """slow: 97.5 ms against the other releases' 9.5 ms; healthy: faster than the others (which
    include slow: their p95 falls in its bucket), so below its stable version."""
    spec = with_max_regression(tmp_path)

    def run(release: str):  # type: ignore[no-untyped-def]
        return cli("analyze", spec, "--env", "production", "--prometheus-url", prometheus, "--at", str(AT),
                   "--release", release)

    slow = run("slow")
    assert slow.code == 1
    assert "FAIL p95-latency-vs-stable: 88 (threshold 20)" in slow.out
    healthy = run("healthy")
    assert healthy.code == 0, healthy.text
    assert "PASS p95-latency-vs-stable: -" in healthy.out
    absent = run("not-deployed")
    assert "PASS p95-latency-vs-stable: no data; noData: pass" in absent.out
