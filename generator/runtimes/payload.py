"""Payload logging shared by the runtimes whose controllers post CloudEvents (KServe, Seldon)."""

from __future__ import annotations

from generator.model import Environment, Spec

# KServe's and Seldon's payload loggers post CloudEvents over HTTP; a Knative Eventing KafkaSink
# (one per model and namespace, named <model>-payloads, writing to payloadLogging.topic on
# payloadLogging.bootstrapServers) turns them into Kafka records. Its ingress address:
KAFKA_SINK_INGRESS = "http://kafka-sink-ingress.knative-eventing.svc.cluster.local"


def payload_logger(spec: Spec, env: Environment) -> dict[str, str] | None:
    logging = spec.serving.payload_logging
    if logging is None:
        return None
    return {"mode": logging.mode, "url": f"{KAFKA_SINK_INGRESS}/{env.namespace}/{spec.name}-payloads"}
