"""Broker-wide settings, parsed once from the command line or given by tests.

Owns the `BrokerConfig` value and its parsing from `HOST:PORT` strings. It must never
hold per-topic configuration (that lives in the storage catalogue) nor open sockets or files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FSYNC_POLICIES = ("always", "interval", "never")


@dataclass(frozen=True)
class BrokerConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 9092
    # The address clients are told to connect to (Metadata); defaults to the bound one.
    advertised_host: str | None = None
    node_id: int = 0
    cluster_id: str = "odradek-local"
    fsync: str = "always"
    fsync_interval_ms: int = 1000
    auto_create_topics: bool = True
    default_partitions: int = 1
    max_request_bytes: int = 100 * 1024 * 1024
    max_connections: int = 1000
    # Request bytes held in memory across all connections before reads wait.
    max_inflight_bytes: int = 256 * 1024 * 1024
    # Kafka's log.cleaner.io.max.bytes.per.second: compaction's read+write budget
    # (None = unlimited), so a big compaction cannot take the disk from producers.
    cleaner_io_max_bytes_per_second: float | None = None
    # Retention and dynamic broker configs (Kafka's log.retention.check.interval.ms:
    # how often retention deletes expired segments).
    log_retention_check_interval_ms: int = 300_000
    # Kafka's max.incremental.fetch.session.cache.slots: fetch sessions kept (< 8 = none).
    max_incremental_fetch_session_cache_slots: int = 1000
    # Written once the listener is bound (useful with port 0); None = don't write.
    port_file: Path | None = None

    def __post_init__(self) -> None:
        if self.fsync not in FSYNC_POLICIES:
            raise ValueError(
                f"fsync must be one of {', '.join(FSYNC_POLICIES)}, not {self.fsync!r}"
            )
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, not {self.port}")
        if self.cleaner_io_max_bytes_per_second is not None and not (
            self.cleaner_io_max_bytes_per_second > 0
        ):
            raise ValueError("the cleaner's byte rate must be positive")
        if self.log_retention_check_interval_ms < 1:
            raise ValueError("the retention check interval must be at least 1 ms")
        if self.max_incremental_fetch_session_cache_slots < 0:
            raise ValueError("the fetch session cache slots cannot be negative")
        if self.default_partitions < 1:
            raise ValueError("default partitions must be at least 1")


def parse_listen(value: str) -> tuple[str, int]:
    """Split `HOST:PORT` (IPv6 as `[::1]:9092`) into its parts, with a readable error."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)
