"""The README's Alertmanager route for the retraining trigger, checked by the real amtool
(Debian's prometheus-alertmanager 0.25): the configuration loads, a retrain alert reaches the
retrain receiver and every other alert the root one, and a resolving alert is not POSTed again."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml
from prometheus_tools import amtool, check_alertmanager_config

README = Path(__file__).resolve().parent.parent / "README.md"
LEAD = "one Alertmanager route sends them to the same URL"


def readme_route() -> str:
    text = README.read_text(encoding="utf-8")
    after = text[text.index(LEAD):]
    match = re.search(r"```yaml\n(.*?)```", after, re.S)
    assert match, "no yaml block after the route's lead-in in README.md"
    return match.group(1)


def routes_to(config: str, *labels: str) -> str:
    with tempfile.TemporaryDirectory(prefix="mlopsgen-am-route-") as tmp:
        path = Path(tmp) / "alertmanager.yml"
        path.write_text(config, encoding="utf-8")
        done = subprocess.run([amtool(), "config", "routes", "test", f"--config.file={path}", *labels],
                              capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def test_amtool_accepts_the_readme_route() -> None:
    check_alertmanager_config(readme_route())


def test_retrain_alerts_reach_the_retrain_receiver_and_others_the_root() -> None:
    config = readme_route()
    assert routes_to(config, 'mlopsgen_retrain=true', "alertname=ScoreDriftSLOBreach") == "retrain"
    assert routes_to(config, "alertname=ErrorRateSLOBreach", "severity=critical") == "default"


def test_a_resolving_alert_does_not_start_a_second_retraining() -> None:
    config: dict[str, Any] = yaml.safe_load(readme_route())
    [retrain] = [r for r in config["receivers"] if r["name"] == "retrain"]
    assert [hook["send_resolved"] for hook in retrain["webhook_configs"]] == [False]
    [route] = [r for r in config["route"]["routes"] if r["receiver"] == "retrain"]
    assert route["repeat_interval"] == "7d"
