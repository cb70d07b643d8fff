"""The group coordinator's broker-wide settings, with Apache Kafka's names and defaults.

Owns `GroupSettings` (one field per Kafka setting, the Kafka name in the field's metadata
so the command line can offer `--group-initial-rebalance-delay-ms` and friends) and the
checks Kafka applies to them at start-up. It must never read the command line, a clock or
a file: `logstore.__main__` parses flags into it, the coordinator reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

INT32_MAX = 2**31 - 1


def _kafka(name: str, default: int) -> int:
    return field(default=default, metadata={"kafka": name})


@dataclass(frozen=True)
class GroupSettings:
    # A burst of first joiners shares one rebalance instead of each forcing another.
    initial_rebalance_delay_ms: int = _kafka("group.initial.rebalance.delay.ms", 3000)
    min_session_timeout_ms: int = _kafka("group.min.session.timeout.ms", 6000)
    max_session_timeout_ms: int = _kafka("group.max.session.timeout.ms", 1_800_000)
    max_size: int = _kafka("group.max.size", INT32_MAX)
    # KIP-848 groups: the broker, not the client, decides session and heartbeat.
    consumer_session_timeout_ms: int = _kafka("group.consumer.session.timeout.ms", 45_000)
    consumer_heartbeat_interval_ms: int = _kafka("group.consumer.heartbeat.interval.ms", 5000)
    consumer_max_size: int = _kafka("group.consumer.max.size", INT32_MAX)
    # Committed offsets of a group with no members expire this long after it emptied
    # (standalone commits: after the commit); checked every check interval.
    offsets_retention_minutes: int = _kafka("offsets.retention.minutes", 10_080)
    offsets_retention_check_interval_ms: int = _kafka(
        "offsets.retention.check.interval.ms", 600_000
    )
    # Share groups (KIP-932): the broker-wide defaults and bounds of the group configs.
    share_session_timeout_ms: int = _kafka("group.share.session.timeout.ms", 45_000)
    share_heartbeat_interval_ms: int = _kafka("group.share.heartbeat.interval.ms", 5000)
    share_max_size: int = _kafka("group.share.max.size", 200)
    share_record_lock_duration_ms: int = _kafka("group.share.record.lock.duration.ms", 30_000)
    share_min_record_lock_duration_ms: int = _kafka(
        "group.share.min.record.lock.duration.ms", 15_000
    )
    share_max_record_lock_duration_ms: int = _kafka(
        "group.share.max.record.lock.duration.ms", 60_000
    )
    share_delivery_count_limit: int = _kafka("group.share.delivery.count.limit", 5)
    share_min_delivery_count_limit: int = _kafka("group.share.min.delivery.count.limit", 2)
    share_max_delivery_count_limit: int = _kafka("group.share.max.delivery.count.limit", 10)
    # Records in flight per share-partition before acquisition of new ones pauses.
    share_partition_max_record_locks: int = _kafka("group.share.partition.max.record.locks", 2000)

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name == "initial_rebalance_delay_ms":
                if self.initial_rebalance_delay_ms < 0:
                    raise ValueError(f"{f.metadata['kafka']} must not be negative")
            elif getattr(self, f.name) < 1:
                raise ValueError(f"{f.metadata['kafka']} must be positive")
        if self.min_session_timeout_ms > self.max_session_timeout_ms:
            raise ValueError(
                "group.min.session.timeout.ms must not exceed group.max.session.timeout.ms"
            )
        if self.consumer_heartbeat_interval_ms >= self.consumer_session_timeout_ms:
            raise ValueError(
                "group.consumer.heartbeat.interval.ms must be below "
                "group.consumer.session.timeout.ms"
            )

        if not (
            self.share_min_record_lock_duration_ms
            <= self.share_record_lock_duration_ms
            <= self.share_max_record_lock_duration_ms
        ):
            raise ValueError(
                "group.share.record.lock.duration.ms must lie between "
                "group.share.min.record.lock.duration.ms and group.share.max.record.lock.duration.ms"
            )
        if not (
            self.share_min_delivery_count_limit
            <= self.share_delivery_count_limit
            <= self.share_max_delivery_count_limit
        ):
            raise ValueError(
                "group.share.delivery.count.limit must lie between "
                "group.share.min.delivery.count.limit and group.share.max.delivery.count.limit"
            )

    def as_kafka(self) -> list[tuple[str, str]]:
        """(Kafka name, value) of every setting, as DescribeConfigs reports a broker's."""
        return [(f.metadata["kafka"], str(getattr(self, f.name))) for f in fields(self)]

    @property
    def offsets_retention_ms(self) -> int:
        return self.offsets_retention_minutes * 60_000


def kafka_names() -> dict[str, str]:
    """Kafka setting name -> field name, for the command line."""
    return {f.metadata["kafka"]: f.name for f in fields(GroupSettings)}
