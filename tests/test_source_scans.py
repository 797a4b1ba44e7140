"""The security scans and the image build both CI targets run: Semgrep's rules setting (its
`--config auto` aborts with `--metrics off`, so only other rules run without metrics), and a
Docker-format image build that keeps the Dockerfile's HEALTHCHECK on every runner."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES

from generator.render.targets.stages import source_scans
from generator.render.targets.steps import build_and_push
from generator.spec.intake import load_valid_spec
from generator.spec.normalise import normalise


def spec_with_sast_rules(tmp_path: Path, rules: str | None):  # type: ignore[no-untyped-def]
    data = yaml.safe_load((EXAMPLES / "fraud-detector/mlops.yaml").read_text(encoding="utf-8"))
    if rules is not None:
        data["ci"].setdefault("security", {})["sastRules"] = rules
    path = tmp_path / "mlops.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return normalise(load_valid_spec(path).data, str(path))


@pytest.mark.parametrize(("rules", "config"), [
    (None, "--config auto --error --severity"),  # the default: metrics stay on, as semgrep requires
    ("p/python", "--config p/python --error --metrics off --severity"),
    (".semgrep.yml", "--config .semgrep.yml --error --metrics off --severity"),
])
def test_semgrep_runs_the_rules_the_spec_names(tmp_path: Path, rules: str | None, config: str) -> None:
    [sast] = [s for s in source_scans(spec_with_sast_rules(tmp_path, rules)) if s.job == "sast"]
    assert sast.script.startswith(f"SEMGREP_ENABLE_VERSION_CHECK=0 semgrep scan {config} ")


def test_a_rules_value_that_is_not_a_path_is_refused(tmp_path: Path) -> None:
    from generator.errors import SpecError

    with pytest.raises(SpecError):
        spec_with_sast_rules(tmp_path, "auto; curl evil")


def test_the_image_is_built_in_docker_format_on_every_runner() -> None:
    build, _push = build_and_push()
    assert build.shell.startswith("buildah build --format docker ")
    for pipeline in ("churn-predictor/rendered/Jenkinsfile", "fraud-detector/rendered/.gitlab-ci.yml"):
        assert "buildah build --format docker " in (EXAMPLES / pipeline).read_text(encoding="utf-8")
