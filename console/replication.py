"""Replication health of a cluster, worked out from a snapshot: pure logic, no I/O.

Owns the judgement of each partition (offline, under min.insync.replicas, under-replicated,
healthy) with the plain-words sentence that explains it, the cluster-wide counts the
overview and the health page show, and leader skew (how unevenly leadership is spread over
the brokers, and which partitions are not led by their preferred replica). It must never
call a cluster: `console.kafka` fills the snapshot this reads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from console.kafka.model import PartitionInfo, TopicInfo, int_or_none

OFFLINE = "offline"
UNDER_MIN_ISR = "under-min-isr"
UNDER_REPLICATED = "under-replicated"
HEALTHY = "healthy"

DEFAULT_MIN_ISR = 1


def _copies(n: int) -> str:
    return f"{n} cop{'y' if n == 1 else 'ies'}"


def factor_problem(replication_factor: int | None, brokers: int) -> str | None:
    """Why a topic cannot get `replication_factor` copies on `brokers` brokers, or None
    when it can (None asks for the cluster's default, which the cluster checks itself)."""
    if replication_factor is None or replication_factor <= brokers:
        return None
    have = f"{brokers} broker{'' if brokers == 1 else 's'}"
    return (
        f"{_copies(replication_factor)} of each partition need {replication_factor} brokers "
        f"(each copy is on a different one); this cluster has {have}."
    )


@dataclass(frozen=True)
class PartitionHealth:
    topic: str
    partition: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    min_isr: int
    state: str
    explanation: str

    @property
    def behind(self) -> tuple[int, ...]:
        return tuple(r for r in self.replicas if r not in self.isr)


def judge(topic: str, p: PartitionInfo, min_isr: int) -> PartitionHealth:
    """One partition's state and the sentence a person reads about it."""
    replicas, isr = p.replicas, p.isr
    total, in_sync = len(replicas), len(isr)
    behind = total - in_sync
    if p.leader < 0:
        state = OFFLINE
        text = (
            f"No leader: none of its {_copies(total)} is on a running broker in sync, so "
            "nothing can be written to or read from it until one comes back."
        )
    elif in_sync < min_isr:
        state = UNDER_MIN_ISR
        text = (
            f"{in_sync} of {total} copies in sync, fewer than min.insync.replicas={min_isr}: "
            "writes with acks=all are refused (NOT_ENOUGH_REPLICAS); reads and acks=1 "
            "writes still work."
        )
    elif behind > 0:
        state = UNDER_REPLICATED
        text = (
            f"{behind} {'copy' if behind == 1 else 'copies'} of {total} "
            f"{'is' if behind == 1 else 'are'} behind: writes with acks=all still succeed "
            f"while {in_sync} {'is' if in_sync == 1 else 'are'} in sync "
            f"(min.insync.replicas={min_isr})."
        )
    else:
        state = HEALTHY
        text = (
            f"All {_copies(total)} in sync."
            if total > 1
            else "A single copy: nothing to fall back on if its broker is lost."
        )
    return PartitionHealth(topic, p.partition, p.leader, replicas, isr, min_isr, state, text)


def min_isr_of(topic: TopicInfo, default: int = DEFAULT_MIN_ISR) -> int:
    return int_or_none(topic.configs.get("min.insync.replicas")) or default


@dataclass
class ClusterHealth:
    """Counts and the partitions that need attention, worst first."""

    partitions: int = 0
    offline: int = 0
    under_min_isr: int = 0
    under_replicated: int = 0
    problems: list[PartitionHealth] = field(default_factory=list)
    leaders: dict[int, int] = field(default_factory=dict)  # broker -> partitions led
    not_preferred: int = 0  # partitions whose leader is not the first replica
    missing_brokers: list[int] = field(default_factory=list)  # hold copies, not answering

    @property
    def healthy(self) -> bool:
        return not (self.offline or self.under_min_isr or self.under_replicated)

    @property
    def skew(self) -> float:
        """How much more the busiest broker leads than an even share (0.0 = even)."""
        if not self.leaders or not self.partitions:
            return 0.0
        even = sum(self.leaders.values()) / len(self.leaders)
        return (max(self.leaders.values()) - even) / even if even else 0.0

    @property
    def skew_percent(self) -> int:
        return round(self.skew * 100)

    @property
    def summary(self) -> str:
        if self.offline:
            return (
                f"{self.offline} partition{'s' if self.offline != 1 else ''} offline: "
                "no reads or writes there until a broker holding a copy returns."
            )
        if self.under_min_isr:
            return (
                f"{self.under_min_isr} partition{'s' if self.under_min_isr != 1 else ''} "
                "refuse acks=all writes: fewer copies are in sync than min.insync.replicas."
            )
        if self.under_replicated:
            return (
                f"{self.under_replicated} partition"
                f"{'s are' if self.under_replicated != 1 else ' is'} under-replicated: "
                "everything still works, with less to fall back on until the copies catch up."
            )
        return "Every copy of every partition is in sync."


_ORDER = {OFFLINE: 0, UNDER_MIN_ISR: 1, UNDER_REPLICATED: 2}


def assess(
    brokers: Mapping[int, str], topics: Mapping[str, TopicInfo], default_min_isr: int = 1
) -> ClusterHealth:
    """The cluster's replication health from its brokers and topics (a snapshot)."""
    health = ClusterHealth(leaders={b: 0 for b in brokers})
    led: Counter[int] = Counter()
    holders: set[int] = set()
    for topic in topics.values():
        min_isr = min_isr_of(topic, default_min_isr)
        for p in topic.partitions:
            health.partitions += 1
            holders.update(p.replicas)
            if p.leader >= 0:
                led[p.leader] += 1
                if p.replicas and p.replicas[0] != p.leader:
                    health.not_preferred += 1
            verdict = judge(topic.name, p, min_isr)
            if verdict.state == OFFLINE:
                health.offline += 1
            elif verdict.state == UNDER_MIN_ISR:
                health.under_min_isr += 1
            elif verdict.state == UNDER_REPLICATED:
                health.under_replicated += 1
            if verdict.state != HEALTHY:
                health.problems.append(verdict)
    health.leaders.update(led)
    health.missing_brokers = sorted(holders - set(brokers))
    health.problems.sort(key=lambda h: (_ORDER[h.state], h.topic, h.partition))
    return health


def topic_summary(topic: TopicInfo, min_isr: int) -> str:
    """One paragraph on a topic's copies and what min.insync.replicas means for it."""
    factors = sorted({len(p.replicas) for p in topic.partitions if p.replicas})
    if not factors:
        return ""
    rf = factors[-1]
    verdicts = [judge(topic.name, p, min_isr) for p in topic.partitions]
    behind = sum(1 for v in verdicts if v.state != HEALTHY and v.state != OFFLINE)
    offline = sum(1 for v in verdicts if v.state == OFFLINE)
    copies = (
        f"Each partition has {_copies(rf)}"
        if len(factors) == 1
        else (f"Partitions have {factors[0]} to {rf} copies")
    )
    if min_isr > rf:
        text = (
            f"{copies} but min.insync.replicas={min_isr}: writes with acks=all are always "
            "refused (NOT_ENOUGH_REPLICAS)."
        )
    elif rf == 1:
        text = f"{copies}: nothing to fall back on if its broker's disk is lost."
    else:
        tolerated = rf - min_isr
        text = (
            f"{copies}; min.insync.replicas={min_isr}: a write with acks=all is stored on "
            f"at least {_copies(min_isr)} before it is acknowledged, and such writes keep "
            f"succeeding with up to {tolerated} broker{'s' if tolerated != 1 else ''} down."
        )
    if offline:
        text += f" {offline} partition{'s are' if offline != 1 else ' is'} offline."
    if behind:
        text += f" {behind} partition{'s have' if behind != 1 else ' has'} copies behind."
    return text
