"""The console's Prometheus collector: every managed cluster's topics and consumer lag
under the series names and labels of kafka_exporter (danielqsj/kafka_exporter), plus a
`cluster` label because one console serves several clusters.

Owns turning a cluster's snapshot and its groups' lag into metric families, and choosing
where the lag comes from: the lag sampler's latest pass when it is fresh (so a scrape does
not measure every group of every cluster), else a measurement through the gateway. It
must never let one unreachable cluster fail the scrape (that cluster reports
`odradek_cluster_up 0`), never change a group, and reaches clusters only through
`console.kafka` and `console.lag.measure`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from console.clusters import ClusterConfig, all_clusters
from console.kafka import groups
from console.kafka.errors import ClusterError
from console.kafka.model import Snapshot
from console.kafka.snapshot import snapshot
from console.lag import measure
from console.lag.models import PartitionSample
from console.views.shell import SAMPLES_FRESH_FOR

GROUP_LABELS = ("cluster", "consumergroup", "topic", "partition")
PARTITION_LABELS = ("cluster", "topic", "partition")
MAX_PARALLEL = 8  # clusters read at once by one scrape


@dataclass(frozen=True)
class Row:
    """One group on one partition, whichever source it came from."""

    group: str
    topic: str
    partition: int
    committed: int | None
    lag: int | None
    lag_ms: int | None


@dataclass
class ClusterFigures:
    """What one cluster reports in one scrape; `error` set means it could not be read."""

    slug: str
    snapshot: Snapshot | None = None
    rows: tuple[Row, ...] = ()
    members: dict[str, int] | None = None
    lag_age_s: float = 0.0
    error: str = ""


def _sampled(slug: str, now: datetime) -> tuple[list[Row], float] | None:
    latest = (
        PartitionSample.objects.filter(cluster=slug)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    if latest is None or now - latest > SAMPLES_FRESH_FOR:
        return None
    rows = [
        Row(*values)
        for values in PartitionSample.objects.filter(cluster=slug, at=latest).values_list(
            "group", "topic", "partition", "committed", "lag", "lag_ms"
        )
    ]
    return rows, (now - latest).total_seconds()


def gather(
    cluster: ClusterConfig, now: datetime, sampled: tuple[list[Row], float] | None
) -> ClusterFigures:
    """Read one cluster (`sampled`: the lag sampler's fresh pass, if any); a `ClusterError`
    anywhere marks it down instead of raising. Touches no database, so it can run in a
    worker thread."""
    figures = ClusterFigures(cluster.slug)
    try:
        figures.snapshot = snapshot(cluster)
        if sampled is not None:
            rows, figures.lag_age_s = sampled
            ids = [g.group_id for g in groups.list_groups(cluster)]
            descs = groups.describe_groups(cluster, ids) if ids else {}
            figures.members = {gid: len(d.members) for gid, d in descs.items()}
        else:
            lags = measure.all_groups_lag(cluster, now_ms=int(now.timestamp() * 1000))
            rows = [
                Row(g.description.group_id, p.topic, p.partition, p.committed, p.lag, p.lag_ms)
                for g in lags
                for p in g.partitions
            ]
            figures.members = {g.description.group_id: len(g.description.members) for g in lags}
        figures.rows = tuple(rows)
    except ClusterError as exc:
        figures.error = str(exc)
    return figures


def _families() -> dict[str, GaugeMetricFamily]:
    specs = [
        ("odradek_cluster_up", "1 if the console read the cluster in this scrape", ("cluster",)),
        (
            "odradek_consumergroup_lag_age_seconds",
            "Age of the lag figures: 0 when measured in this scrape, else the lag sampler's",
            ("cluster",),
        ),
        ("kafka_brokers", "Number of Brokers in the Kafka Cluster.", ("cluster",)),
        ("kafka_topic_partitions", "Number of partitions for this Topic", ("cluster", "topic")),
        (
            "kafka_topic_partition_current_offset",
            "Current Offset of a Broker at Topic/Partition",
            PARTITION_LABELS,
        ),
        (
            "kafka_topic_partition_oldest_offset",
            "Oldest Offset of a Broker at Topic/Partition",
            PARTITION_LABELS,
        ),
        (
            "kafka_topic_partition_leader",
            "Leader Broker ID of this Topic/Partition",
            PARTITION_LABELS,
        ),
        (
            "kafka_consumergroup_current_offset",
            "Current Offset of a ConsumerGroup at Topic/Partition",
            GROUP_LABELS,
        ),
        (
            "kafka_consumergroup_current_offset_sum",
            "Current Offset of a ConsumerGroup at Topic for all partitions",
            GROUP_LABELS[:3],
        ),
        (
            "kafka_consumergroup_lag",
            "Current Approximate Lag of a ConsumerGroup at Topic/Partition",
            GROUP_LABELS,
        ),
        (
            "kafka_consumergroup_lag_sum",
            "Current Approximate Lag of a ConsumerGroup at Topic for all partitions",
            GROUP_LABELS[:3],
        ),
        (
            "kafka_consumergroup_members",
            "Amount of members in a consumer group",
            ("cluster", "consumergroup"),
        ),
        (
            "kafka_consumer_lag_millis",
            "Current approximation of consumer lag for a ConsumerGroup at Topic/Partition",
            GROUP_LABELS,
        ),
    ]
    return {
        name: GaugeMetricFamily(name, text, labels=list(labels)) for name, text, labels in specs
    }


def _add_topics(f: dict[str, GaugeMetricFamily], slug: str, snap: Snapshot) -> None:
    f["kafka_brokers"].add_metric([slug], len(snap.brokers))
    for topic in snap.topics.values():
        f["kafka_topic_partitions"].add_metric([slug, topic.name], len(topic.partitions))
        for p in topic.partitions:
            labels = [slug, topic.name, str(p.partition)]
            # An offline partition has no leader (-1) and no offsets to report.
            f["kafka_topic_partition_leader"].add_metric(labels, p.leader)
            if p.end >= 0:
                f["kafka_topic_partition_current_offset"].add_metric(labels, p.end)
            if p.start >= 0:
                f["kafka_topic_partition_oldest_offset"].add_metric(labels, p.start)


def _add_groups(f: dict[str, GaugeMetricFamily], figures: ClusterFigures) -> None:
    slug = figures.slug
    offset_sums: dict[tuple[str, str], int] = {}
    lag_sums: dict[tuple[str, str], int] = {}
    for r in figures.rows:
        labels = [slug, r.group, r.topic, str(r.partition)]
        # Like kafka_exporter: a partition the group never committed has no offset nor lag.
        if r.committed is not None:
            f["kafka_consumergroup_current_offset"].add_metric(labels, r.committed)
            key = (r.group, r.topic)
            offset_sums[key] = offset_sums.get(key, 0) + r.committed
        if r.lag is not None:
            f["kafka_consumergroup_lag"].add_metric(labels, r.lag)
            lag_sums[(r.group, r.topic)] = lag_sums.get((r.group, r.topic), 0) + r.lag
        if r.lag_ms is not None:
            f["kafka_consumer_lag_millis"].add_metric(labels, r.lag_ms)
    for (group, topic), total in offset_sums.items():
        f["kafka_consumergroup_current_offset_sum"].add_metric([slug, group, topic], total)
    for (group, topic), total in lag_sums.items():
        f["kafka_consumergroup_lag_sum"].add_metric([slug, group, topic], total)
    for group, count in (figures.members or {}).items():
        f["kafka_consumergroup_members"].add_metric([slug, group], count)


def families(every: Iterable[ClusterFigures]) -> list[GaugeMetricFamily]:
    """The metric families for what each cluster reported; a down cluster only says so."""
    f = _families()
    for figures in every:
        up = figures.snapshot is not None and not figures.error
        f["odradek_cluster_up"].add_metric([figures.slug], 1 if up else 0)
        if not up or figures.snapshot is None:
            continue
        f["odradek_consumergroup_lag_age_seconds"].add_metric([figures.slug], figures.lag_age_s)
        _add_topics(f, figures.slug, figures.snapshot)
        _add_groups(f, figures)
    return list(f.values())


class ConsoleCollector(Collector):
    """Reads every managed cluster at scrape time (prometheus_client calls `collect`)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = datetime.now(UTC)
        clusters = all_clusters()
        sampled = {c.slug: _sampled(c.slug, now) for c in clusters}
        # In parallel, so unreachable clusters cost one cluster timeout, not one each.
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(clusters))) as pool:
            every = list(pool.map(lambda c: gather(c, now, sampled[c.slug]), clusters))
        yield from families(every)
