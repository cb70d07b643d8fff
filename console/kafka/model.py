"""What the console knows about a cluster's topics: plain data, no I/O.

Owns `PartitionInfo`, `TopicInfo` (with the derived figures pages show: messages, size,
oldest and newest record, retention settings), `Snapshot` (a whole cluster at one moment),
`ConfigItem`, a broker's own configs (`BrokerConfig`), consumer groups as described (`GroupListing`, `Member`,
`GroupDescription`, a share-partition's `ShareStart`), and a record as the console sees it (`Record`, `Produced`). It must never
call a cluster; the gateway's modules fill these in.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@dataclass
class PartitionInfo:
    partition: int
    leader: int
    start: int = -1
    end: int = -1
    size: int | None = None
    oldest_ts: int | None = None
    newest_ts: int | None = None
    recent_start: int | None = None  # offset of the first record of the last minute
    # Node ids holding a copy, those in sync with the leader, and those whose broker is
    # down; empty when the cluster did not say (the order of `replicas` is Kafka's: the
    # first is the preferred leader).
    replicas: tuple[int, ...] = ()
    isr: tuple[int, ...] = ()
    offline: tuple[int, ...] = ()

    @property
    def messages(self) -> int:
        return max(0, self.end - self.start) if self.start >= 0 and self.end >= 0 else 0

    @property
    def recent_messages(self) -> int:
        if self.recent_start is None or self.end < 0:
            return 0
        return max(0, self.end - self.recent_start)


@dataclass
class TopicInfo:
    name: str
    partitions: list[PartitionInfo]
    configs: dict[str, str] = field(default_factory=dict)
    error: str = ""
    topic_id: str = ""  # "" when the cluster does not report topic ids

    @property
    def internal(self) -> bool:
        return self.name.startswith("__")

    @property
    def messages(self) -> int:
        return sum(p.messages for p in self.partitions)

    @property
    def recent_messages(self) -> int:
        return sum(p.recent_messages for p in self.partitions)

    @property
    def size(self) -> int | None:
        sizes = [p.size for p in self.partitions]
        return None if not sizes or None in sizes else sum(s for s in sizes if s is not None)

    @property
    def oldest_ts(self) -> int | None:
        stamps = [p.oldest_ts for p in self.partitions if p.oldest_ts is not None]
        return min(stamps) if stamps else None

    @property
    def newest_ts(self) -> int | None:
        stamps = [p.newest_ts for p in self.partitions if p.newest_ts is not None]
        return max(stamps) if stamps else None

    @property
    def retention_ms(self) -> int | None:
        return int_or_none(self.configs.get("retention.ms"))

    @property
    def retention_bytes(self) -> int | None:
        return int_or_none(self.configs.get("retention.bytes"))

    @property
    def cleanup_policy(self) -> str:
        return self.configs.get("cleanup.policy", "")


@dataclass
class Snapshot:
    cluster: str
    taken_at_ms: int
    brokers: dict[int, str]
    topics: dict[str, TopicInfo]
    warnings: list[str] = field(default_factory=list)
    took_s: float = 0.0

    @property
    def partition_count(self) -> int:
        return sum(len(t.partitions) for t in self.topics.values())


@dataclass(frozen=True)
class ConfigItem:
    name: str
    value: str | None
    source: str  # "default", "override" (topic), or the broker-level source name
    is_default: bool
    read_only: bool
    sensitive: bool


# Where a broker's config value comes from, in the words its page groups them by.
BROKER_ORIGINS = {
    "DEFAULT_CONFIG": "default",
    "STATIC_BROKER_CONFIG": "static",
    "DYNAMIC_BROKER_CONFIG": "dynamic",
    "DYNAMIC_DEFAULT_BROKER_CONFIG": "dynamic",
    "DYNAMIC_BROKER_LOGGER_CONFIG": "dynamic",
}


@dataclass(frozen=True)
class BrokerConfig:
    """One config of one broker as DescribeConfigs reports it. `source` is Kafka's name
    (`STATIC_BROKER_CONFIG`...); `synonyms` are the (source, value) pairs it overrides,
    strongest first."""

    name: str
    value: str | None
    source: str
    read_only: bool
    sensitive: bool
    synonyms: tuple[tuple[str, str | None], ...] = ()

    @property
    def origin(self) -> str:
        """ "default", "static" (the broker's file or command line), "dynamic" (changed
        at runtime) or "unknown"."""
        return BROKER_ORIGINS.get(self.source, "unknown")

    @property
    def fallback(self) -> str | None:
        """The value this config returns to when its runtime change is removed."""
        return next((v for s, v in self.synonyms if BROKER_ORIGINS.get(s) != "dynamic"), None)


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    timestamp: int  # ms since the epoch; -1 when the record carries none
    timestamp_type: str  # "CreateTime", "LogAppendTime" or ""
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()

    @property
    def size(self) -> int:
        """Bytes of key, value and headers: what the record costs on the wire, roughly."""
        heads = sum(len(k) + len(v or b"") for k, v in self.headers)
        return len(self.key or b"") + len(self.value or b"") + heads


@dataclass(frozen=True)
class Produced:
    partition: int
    offset: int
    timestamp: int


TP = tuple[str, int]
# States in which a group has nobody consuming, so its offsets may be changed.
IDLE_STATES = {"EMPTY", "DEAD"}


@dataclass(frozen=True)
class GroupListing:
    group_id: str
    state: str
    type: str
    is_simple: bool


@dataclass(frozen=True)
class Member:
    member_id: str
    client_id: str
    host: str
    assignment: tuple[TP, ...]


@dataclass(frozen=True)
class GroupDescription:
    group_id: str
    state: str
    type: str
    protocol: str
    coordinator: str
    members: tuple[Member, ...]

    @property
    def is_active(self) -> bool:
        return bool(self.members) or self.state not in IDLE_STATES


@dataclass(frozen=True)
class ShareStart:
    """A share-partition's start offset (SPSO) and lag as the coordinator reports them;
    None where it does not know (not initialized yet, or a v0 answer without lag)."""

    start: int | None
    lag: int | None


@dataclass(frozen=True)
class OpenTransaction:
    """One transaction as its coordinator describes it."""

    transactional_id: str
    producer_id: int
    producer_epoch: int
    state: str
    timeout_ms: int
    start_ms: int  # -1 when the coordinator has no start time
    partitions: tuple[TP, ...]


@dataclass(frozen=True)
class StableOffsets:
    """A partition's last stable offset (what read_committed consumers may read up to)
    and its log end."""

    stable: int
    end: int

    @property
    def held_back(self) -> int:
        return max(0, self.end - self.stable)
