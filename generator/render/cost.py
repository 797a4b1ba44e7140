"""What a spec asks of the cluster: replicas × requests per environment, printed by render."""

from __future__ import annotations

import re

from generator.frozen import frozen
from generator.model import Environment, Spec


def cpu_cores(quantity: str) -> float:
    return int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def memory_mib(quantity: str) -> int:
    number, unit = re.fullmatch(r"([0-9]+)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return int(number) * (1024 if unit == "Gi" else 1)


@frozen
class EnvironmentCost:
    env: str
    min_replicas: int
    max_replicas: int
    cpu: float  # cores per replica (requests)
    memory: int  # MiB per replica (requests)
    gpu: int
    spot: bool

    def line(self) -> str:
        def total(replicas: int) -> str:
            parts = [f"{self.cpu * replicas:g} CPU", f"{self.memory * replicas / 1024:g}Gi"]
            if self.gpu:
                parts.append(f"{self.gpu * replicas} GPU")
            return ", ".join(parts)

        per = f"{self.cpu:g} CPU, {self.memory / 1024:g}Gi" + (f", {self.gpu} GPU" if self.gpu else "")
        span = (f"{self.min_replicas}" if self.min_replicas == self.max_replicas
                else f"{self.min_replicas}-{self.max_replicas}")
        return (f"  {self.env}: {span} replicas x ({per}) = {total(self.min_replicas)} up to "
                f"{total(self.max_replicas)}" + (" (spot)" if self.spot else "")
                + (" (scales to zero when idle)" if self.min_replicas == 0 else ""))


def environment_cost(spec: Spec, env: Environment) -> EnvironmentCost:
    res = spec.serving.resources
    return EnvironmentCost(env.name, env.replicas, spec.serving.autoscaling.max_replicas, cpu_cores(res.cpu),
                           memory_mib(res.memory), res.gpu, spec.serving.scheduling.spot)


def resource_summary(spec: Spec) -> list[str]:
    return [environment_cost(spec, env).line() for env in spec.deploy.environments]
