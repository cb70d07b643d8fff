"""The Prometheus collector: turns a broker snapshot into metric families at scrape time.

Owns metric names, labels and help texts. `collect` runs on the HTTP server's thread: it
asks the event loop for a `Snapshot` (one short callback there), then builds the families
off the loop, so a scrape costs the request path only the copy. It must never read
broker state itself from this thread nor keep per-append state.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Iterator
from typing import Any

from kio.schema.errors import ErrorCode
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from logstore.broker.stats import LATENCY_BUCKETS
from logstore.metrics.snapshot import Snapshot, take_snapshot
from logstore.storage.durability import FSYNC_BUCKETS

log = logging.getLogger("logstore.metrics")

SNAPSHOT_TIMEOUT_S = 5.0


def _error_name(code: int) -> str:
    try:
        return ErrorCode(code).name.upper()
    except ValueError:
        return str(code)


def _histogram(
    name: str, doc: str, bounds: tuple[float, ...], counts: list[int], total: float
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=[])
    family.add_metric([], _cumulative(bounds, counts), total)
    return family


def _cumulative(bounds: tuple[float, ...], counts: list[int]) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    running = 0
    for bound, count in zip((*map(str, bounds), "+Inf"), counts, strict=True):
        running += count
        out.append((bound, running))
    return out


class BrokerCollector(Collector):
    """Reports one broker; `loop` is the broker's event loop."""

    def __init__(
        self, broker: Any, loop: asyncio.AbstractEventLoop, connections: Callable[[], int]
    ) -> None:
        self.broker = broker
        self.loop = loop
        self.connections = connections

    def _snapshot(self) -> Snapshot:
        future: concurrent.futures.Future[Snapshot] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(take_snapshot(self.broker, self.connections))
            except BaseException as exc:  # reported to the scraper, never to the loop
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return future.result(SNAPSHOT_TIMEOUT_S)

    def collect(self) -> Iterator[Metric]:
        try:
            snap = self._snapshot()
        except (RuntimeError, concurrent.futures.TimeoutError) as exc:
            log.warning("metrics snapshot failed: %s", exc)
            return
        yield from self._requests(snap)
        yield from self._topics(snap)
        yield from self._partitions(snap)
        yield from self._broker(snap)

    def _requests(self, snap: Snapshot) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "kafka_network_requestmetrics_requests",
            "Requests answered, per API (Kafka's RequestMetrics RequestsPerSec)",
            labels=["request"],
        )
        errors = CounterMetricFamily(
            "kafka_network_requestmetrics_errors",
            "Non-zero error codes in responses, per API and error (RequestMetrics ErrorsPerSec)",
            labels=["request", "error"],
        )
        latency = HistogramMetricFamily(
            "kafka_network_requestmetrics_totaltime_seconds",
            "Time from a request's frame read to its reply ready, per API (RequestMetrics "
            "TotalTimeMs, in seconds)",
            labels=["request"],
        )
        for row in snap.requests:
            requests.add_metric([row.request], sum(row.buckets))
            for code, count in sorted(row.errors.items()):
                errors.add_metric([row.request, _error_name(code)], count)
            latency.add_metric(
                [row.request], _cumulative(LATENCY_BUCKETS, row.buckets), row.seconds
            )
        yield requests
        yield errors
        yield latency

    def _topics(self, snap: Snapshot) -> Iterator[Metric]:
        for name, doc, values in (
            ("bytesin", "Bytes produced, per topic (BytesInPerSec)", snap.bytes_in),
            ("messagesin", "Records produced, per topic (MessagesInPerSec)", snap.messages_in),
            ("bytesout", "Bytes fetched, per topic (BytesOutPerSec)", snap.bytes_out),
        ):
            family = CounterMetricFamily(
                f"kafka_server_brokertopicmetrics_{name}", doc, labels=["topic"]
            )
            for topic, value in sorted(values.items()):
                family.add_metric([topic], value)
            yield family

    def _partitions(self, snap: Snapshot) -> Iterator[Metric]:
        labels = ["topic", "partition"]
        size = GaugeMetricFamily("kafka_log_log_size", "Partition size in bytes", labels=labels)
        start = GaugeMetricFamily(
            "kafka_log_log_logstartoffset", "Partition log start offset", labels=labels
        )
        end = GaugeMetricFamily(
            "kafka_log_log_logendoffset", "Partition log end offset", labels=labels
        )
        segments = GaugeMetricFamily(
            "kafka_log_log_numlogsegments", "Segments in the partition", labels=labels
        )
        for row in snap.partitions:
            key = [row.topic, str(row.partition)]
            size.add_metric(key, row.size)
            start.add_metric(key, row.log_start)
            end.add_metric(key, row.log_end)
            segments.add_metric(key, row.segments)
        yield from (size, start, end, segments)

    def _broker(self, snap: Snapshot) -> Iterator[Metric]:
        connections = GaugeMetricFamily(
            "kafka_server_socket_server_metrics_connection_count",
            "Open client connections (socket-server-metrics connection-count)",
            labels=["listener"],
        )
        connections.add_metric(["PLAINTEXT"], snap.connections)
        yield connections
        yield GaugeMetricFamily(
            "kafka_coordinator_group_groupmetadatamanager_numgroups",
            "Consumer groups known to the coordinator (GroupMetadataManager NumGroups)",
            value=sum(snap.groups.values()),
        )
        by_state = GaugeMetricFamily(
            "odradek_groups", "Consumer groups by protocol type and state", labels=["type", "state"]
        )
        for (kind, state), count in sorted(snap.groups.items()):
            by_state.add_metric([kind, state], count)
        yield by_state
        yield GaugeMetricFamily(
            "kafka_server_replicamanager_produceridcount",
            "Producer ids with state, summed over partitions (ReplicaManager ProducerIdCount)",
            value=snap.producer_ids,
        )
        yield _histogram(
            "kafka_log_logflushstats_logflush_seconds",
            "Duration of fsync rounds (LogFlushStats LogFlushRateAndTimeMs, in seconds)",
            FSYNC_BUCKETS,
            snap.fsync_buckets,
            snap.fsync_seconds,
        )
        for key, name, doc in (
            ("deleted_segments", "odradek_log_retention_deleted_segments",
             "Segments deleted by retention"),
            ("cleaned", "odradek_log_cleaner_passes", "Compaction passes completed"),
            ("rolled", "odradek_log_rolled_segments", "Segments rolled by segment.ms"),
        ):  # fmt: skip
            yield CounterMetricFamily(name, doc, value=snap.maintenance.get(key, 0))
        for key, name, doc in (
            ("reauthentications", "successful_reauthentication",
             "SASL re-authentications that succeeded (successful-reauthentication-total)"),
            ("failed_reauthentications", "failed_reauthentication",
             "SASL re-authentications that failed (failed-reauthentication-total)"),
            ("expired_connections_killed", "expired_connections_killed_count",
             "Connections closed for a request after their SASL session expired "
             "(expired-connections-killed-count)"),
        ):  # fmt: skip
            yield CounterMetricFamily(
                f"kafka_server_socket_server_metrics_{name}",
                doc,
                value=snap.authentications.get(key, 0),
            )
        throttled = CounterMetricFamily(
            "odradek_quota_throttled",
            "Answers and connections held back for a client quota, by quota",
            labels=["quota"],
        )
        waited = CounterMetricFamily(
            "odradek_quota_throttle_seconds",
            "Total wait imposed for a client quota, by quota",
            labels=["quota"],
        )
        for key, (count, ms) in sorted(snap.throttles.items()):
            throttled.add_metric([key], count)
            waited.add_metric([key], ms / 1000)
        yield from (throttled, waited)
