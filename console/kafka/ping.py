"""Reachability check for a cluster, used by `/healthz` and the unreachable banner.

Owns one metadata round trip with a hard timeout. It must never block longer than asked.
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient


@dataclass(frozen=True)
class PingResult:
    ok: bool
    brokers: int = 0
    topics: int = 0
    error: str = ""


def ping(bootstrap: str, timeout: float = 3.0, extra: dict[str, str] | None = None) -> PingResult:
    """Ask the cluster for its metadata; report brokers and topics, or why it failed."""
    conf: dict[str, str | int | float | bool] = {
        "bootstrap.servers": bootstrap,
        "socket.timeout.ms": int(timeout * 1000),
        # librdkafka retries forever by default; one attempt is the answer we want here.
        "reconnect.backoff.max.ms": 1000,
        "log_level": 0,
        **(extra or {}),
    }
    try:
        metadata = AdminClient(conf).list_topics(timeout=timeout)
    except KafkaException as exc:
        return PingResult(ok=False, error=str(exc.args[0]) if exc.args else str(exc))
    return PingResult(ok=True, brokers=len(metadata.brokers), topics=len(metadata.topics))
