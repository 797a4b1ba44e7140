"""Serving runtimes are plugins behind one registry (the protocol: generator/runtimes/base.py).

Every stage asks the registry: the rules and normalise for what a runtime can do, render for its
objects, release for its patches, scaffold for the names a user may choose; the schema's
serving.runtime enum must equal REGISTRY's spec names (tests/test_plugins.py). Adding a runtime
means one module here, its blueprints under blueprints/gitops/<runtime>/, its CRD schema under
schemas/vendor/, and one entry in REGISTRY.
"""

from __future__ import annotations

from generator.model import Spec
from generator.runtimes.base import ServingRuntime
from generator.runtimes.bentoml import BentoML
from generator.runtimes.exporters import MLOPSGEN, Exporter
from generator.runtimes.kserve import KServe
from generator.runtimes.seldon import Seldon

REGISTRY: tuple[ServingRuntime, ...] = (KServe("serverless"), KServe("raw"), Seldon(), BentoML())
BY_KEY: dict[str, ServingRuntime] = {runtime.key: runtime for runtime in REGISTRY}
# monitoring.exporter's values: the scaffolded server's, then each runtime's stock servers'
EXPORTERS: dict[str, Exporter] = {MLOPSGEN.name: MLOPSGEN,
                                  **{e.name: e for runtime in REGISTRY for e in runtime.exporters}}


def default_exporter(runtime: ServingRuntime) -> str:
    """monitoring.exporter when the spec names none: the runtime's stock server's, else the scaffolded one's."""
    return runtime.exporters[0].name if runtime.exporters else MLOPSGEN.name


def spec_names() -> tuple[str, ...]:
    """The values of serving.runtime, in registry order, each once."""
    return tuple(dict.fromkeys(runtime.spec_name for runtime in REGISTRY))


def modes(spec_name: str) -> tuple[str, ...]:
    """The values serving.deploymentMode may take for a runtime ('' entries: it has no modes)."""
    return tuple(runtime.mode for runtime in REGISTRY if runtime.spec_name == spec_name and runtime.mode)


def key_of(spec_name: str, mode: str | None) -> str | None:
    """The registry key a spec's serving.runtime (and deploymentMode) selects; None if none does.
    A runtime with modes takes its first mode when the spec names none."""
    candidates = [runtime for runtime in REGISTRY if runtime.spec_name == spec_name]
    if not candidates:
        return None
    if candidates[0].mode is None:
        return candidates[0].key
    chosen = next((runtime for runtime in candidates if runtime.mode == (mode or candidates[0].mode)), None)
    return chosen.key if chosen else None


def runtime_named(key: str) -> ServingRuntime:
    return BY_KEY[key]


def runtime_for(spec: Spec) -> ServingRuntime:
    return BY_KEY[spec.serving.runtime_key]


def controller_driven(spec: Spec) -> bool:
    """Argo Rollouts runs the canary or blue-green steps itself (the pipeline only sets the image)."""
    return runtime_for(spec).capabilities.controller_driven


def able(capability: str) -> tuple[ServingRuntime, ...]:
    """The runtimes that have a capability (a Capabilities field name), in registry order."""
    return tuple(runtime for runtime in REGISTRY if getattr(runtime.capabilities, capability))


def supporting(strategy: str) -> tuple[ServingRuntime, ...]:
    return tuple(runtime for runtime in REGISTRY if strategy in runtime.capabilities.strategies)


def labels(runtimes: tuple[ServingRuntime, ...]) -> str:
    """'bentoml, or kserve in serverless mode': how a hint names runtimes."""
    names = sorted(runtime.label for runtime in runtimes)
    return ", or ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)
