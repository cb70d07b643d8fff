"""Counters the broker keeps for its metrics endpoint and request log: per API (requests,
errors, latency buckets), per topic (bytes and records in, bytes out), per maintenance
kind (retention deletions, compaction passes) and SASL re-authentications.

Owns plain Python counters updated on the event loop, once per request or per partition
of a request, never per record, and the request log line (logger `logstore.request`, at
DEBUG). It must never import the Prometheus library nor be read from another thread
(the metrics collector takes its snapshot on the event loop).
"""

from __future__ import annotations

import bisect
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from logstore.protocol.api_keys import ApiKey

request_log = logging.getLogger("logstore.request")

# Upper bounds in seconds of the request latency histogram (Prometheus `le` labels).
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)


def api_name(api_key: int) -> str:
    """Kafka's request name (`Produce`, `ApiVersions`), as its request metrics label it."""
    try:
        return "".join(part.capitalize() for part in ApiKey(api_key).name.split("_"))
    except ValueError:
        return str(api_key)


def _error_codes(response: Any) -> list[int]:
    """Non-zero error codes at the top of a decoded response and one level down (topics,
    groups, resources), which is where most admin APIs put them; pre-encoded replies
    (Produce, Fetch) carry none we can see (their handlers count through `errors_of`)."""
    codes: list[int] = []
    top = getattr(response, "error_code", None)
    if top is not None and int(top):
        codes.append(int(top))
    fields = getattr(response, "__dataclass_fields__", None)
    if fields:
        for name in fields:
            value = getattr(response, name)
            if type(value) is tuple:
                for item in value:
                    code = getattr(item, "error_code", None)
                    if code is not None and int(code):
                        codes.append(int(code))
    return codes


@dataclass
class ApiStats:
    buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    seconds: float = 0.0
    errors: dict[int, int] = field(default_factory=lambda: defaultdict(int))


class RequestStats:
    """Per-API request counts, error codes and latency histogram; the request log."""

    def __init__(self) -> None:
        self.apis: dict[int, ApiStats] = {}

    def _stats(self, api_key: int) -> ApiStats:
        stats = self.apis.get(api_key)
        if stats is None:
            stats = self.apis[api_key] = ApiStats()
        return stats

    def errors_of(self, api_key: int) -> dict[int, int]:
        """Error code -> count of `api_key`, for handlers whose replies are pre-encoded
        (Produce, Fetch) to count their per-partition errors."""
        return self._stats(api_key).errors

    def done(self, ctx: Any, started: float, response: Any) -> None:
        """Count one answered request (`started`: its `time.perf_counter()`)."""
        elapsed = time.perf_counter() - started
        stats = self._stats(ctx.api_key)
        stats.buckets[bisect.bisect_left(LATENCY_BUCKETS, elapsed)] += 1
        stats.seconds += elapsed
        codes = _error_codes(response) if response is not None else []
        for code in codes:
            stats.errors[code] += 1
        if request_log.isEnabledFor(logging.DEBUG):
            request_log.debug(
                "completed %s v%d correlation %d from %s (client id %r) in %.3f ms%s",
                api_name(ctx.api_key),
                ctx.api_version,
                ctx.correlation_id,
                ctx.client_host,
                ctx.client_id,
                elapsed * 1000,
                f", errors {sorted(set(codes))}" if codes else "",
                extra={
                    "api": api_name(ctx.api_key),
                    "api_version": ctx.api_version,
                    "correlation_id": ctx.correlation_id,
                    "client_host": ctx.client_host,
                    "client_id": ctx.client_id,
                    "latency_ms": round(elapsed * 1000, 3),
                    "errors": sorted(set(codes)),
                },
            )


@dataclass
class TopicTraffic:
    """Bytes and records produced, bytes fetched, per topic (Kafka's BrokerTopicMetrics)."""

    bytes_in: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    messages_in: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    bytes_out: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def produced(self, topic: str, size: int, records: int) -> None:
        self.bytes_in[topic] += size
        self.messages_in[topic] += records

    def fetched(self, topic: str, size: int) -> None:
        self.bytes_out[topic] += size

    def forget(self, topic: str) -> None:
        for table in (self.bytes_in, self.messages_in, self.bytes_out):
            table.pop(topic, None)


@dataclass
class MaintenanceStats:
    """Totals of what storage maintenance did (the counters `LogManager.tick` returns)."""

    totals: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, done: dict[str, int]) -> None:
        for name in ("deleted_segments", "cleaned", "rolled", "fsynced"):
            self.totals[name] += done.get(name, 0)


@dataclass
class AuthenticationStats:
    """SASL session renewals (KIP-368), as Kafka's socket-server-metrics count them."""

    reauthentications: int = 0
    failed_reauthentications: int = 0
    # Connections closed because a request came after their session's lifetime.
    expired_connections_killed: int = 0
