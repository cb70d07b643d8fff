"""Broker-wide settings, parsed once from the command line or given by tests.

Owns the `BrokerConfig` value and its parsing from `HOST:PORT` strings. It must never
hold per-topic configuration (that lives in the storage catalogue) nor open sockets or files.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logstore.groups.settings import GroupSettings
from logstore.storage.durability import FSYNC_POLICIES

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")


# Security protocols a listener can serve.
SERVED_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
TLS_PROTOCOLS = ("SSL", "SASL_SSL")
SSL_CLIENT_AUTH = ("none", "requested", "required")


@dataclass(frozen=True)
class BrokerConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 9092
    # The address clients are told to connect to (Metadata); defaults to the bound one.
    advertised_host: str | None = None
    # The port clients are told (advertised.listeners behind NAT); None = the bound one.
    advertised_port: int | None = None
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
    # The transaction coordinator (Kafka's names): the longest transaction.timeout.ms a
    # producer may ask for, how long an idle transactional id is kept, and how often
    # timed-out transactions are aborted.
    transaction_max_timeout_ms: int = 900_000
    transactional_id_expiration_ms: int = 604_800_000
    transaction_cleanup_interval_ms: int = 10_000
    # Written once the listener is bound (useful with port 0); None = don't write.
    port_file: Path | None = None
    # -- slow and idle clients, descriptors, partition limits ------------------------------
    # Kafka's quota.window.num and quota.window.size.seconds: a client's byte rate is
    # measured over this many samples of this many seconds each (logstore.quotas).
    quota_window_num: int = 11
    quota_window_size_seconds: int = 1
    # Kafka's controller.quota.window.*: a controller_mutation_rate bucket holds this many
    # windows' worth of partitions.
    controller_quota_window_num: int = 11
    controller_quota_window_size_seconds: int = 1
    # Kafka's connections.max.idle.ms: a connection silent this long with nothing in
    # flight is closed.
    connections_max_idle_ms: int = 600_000
    # Kafka's connection.failed.authentication.delay.ms: a failed SASL login's answer is
    # held this long, then sent, then the connection closed, so passwords cannot be tried
    # fast. 0 = answer and close at once.
    connection_failed_authentication_delay_ms: int = 100
    # A frame's body must arrive this soon after its length prefix did (no Kafka setting;
    # the clients' own request.timeout.ms default), so a trickling client holds nothing long.
    request_body_timeout_ms: int = 30_000
    # Kafka's max.connections.per.ip; None = no cap besides max_connections (Kafka's default).
    max_connections_per_ip: int | None = None
    # KIP-578's max.broker.partitions, and a per-topic cap; None = derived from
    # RLIMIT_NOFILE at start (see logstore.server.resources).
    max_broker_partitions: int | None = None
    max_partitions_per_topic: int | None = None
    # Segment descriptors open at once, active segments included; None = derived.
    max_open_segment_files: int | None = None
    # The group coordinator's settings (Kafka's group.* and offsets.retention.*).
    groups: GroupSettings = field(default_factory=GroupSettings)
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one object per line
    # Where Prometheus scrapes /metrics; None = no metrics endpoint.
    metrics_listen: tuple[str, int] | None = None
    # Broker-wide defaults of topic configs, as (broker config name, value) pairs in file
    # order: `log.retention.hours=48`, `log.segment.bytes=...` (resolved to topic config
    # names by logstore.broker.broker_settings.topic_defaults).
    topic_defaults: tuple[tuple[str, str], ...] = ()
    # -- authorization ----------------------------------------------------------------------
    # Kafka's authorizer.class.name: empty = no checks; Kafka's authorizer classes = ACLs.
    authorizer_class: str = ""
    # Kafka's super.users ("User:a;User:b") and allow.everyone.if.no.acl.found.
    super_users: tuple[str, ...] = ()
    allow_everyone_if_no_acl_found: bool = False
    # -- authentication ---------------------------------------------------------------------
    # The listener's name (`listeners=NAME://HOST:PORT`) and Kafka's
    # listener.security.protocol.map, which gives that name its security protocol.
    listener_name: str = "PLAINTEXT"
    security_protocol_map: tuple[tuple[str, str], ...] = (
        ("PLAINTEXT", "PLAINTEXT"),
        ("SSL", "SSL"),
        ("SASL_PLAINTEXT", "SASL_PLAINTEXT"),
        ("SASL_SSL", "SASL_SSL"),
    )
    # Listeners after the first (`listeners=A://h:p,B://h:p`): (name, host, port) each.
    extra_listeners: tuple[tuple[str, str, int], ...] = ()
    # advertised.listeners as (name, host, port); a listener not named is advertised at its
    # bound address (the first one at advertised_host/advertised_port when those are set).
    advertised_listeners: tuple[tuple[str, str, int], ...] = ()
    sasl_enabled_mechanisms: tuple[str, ...] = ("GSSAPI",)
    # Kafka's connections.max.reauth.ms (KIP-368): a SASL session's lifetime, after which a
    # connection that did not re-authenticate is closed at its next request; 0 = forever.
    connections_max_reauth_ms: int = 0
    # Kafka's `listener.name.<listener>.<mechanism>.connections.max.reauth.ms`:
    # (listener, mechanism, ms), over the listener's or broker-wide value (`reauth_ms`).
    mechanism_reauth_ms: tuple[tuple[str, str, int], ...] = ()
    # -- TLS (Kafka's ssl.* names; PEM keystores only) -------------------------------------
    ssl_keystore_type: str = "JKS"
    ssl_keystore_location: str = ""
    # PEM text given in the file itself instead of a keystore file (Kafka's names).
    ssl_keystore_certificate_chain: str = ""
    ssl_keystore_key: str = ""
    ssl_key_password: str = ""
    ssl_truststore_type: str = "JKS"
    ssl_truststore_location: str = ""
    ssl_truststore_certificates: str = ""
    ssl_client_auth: str = "none"
    ssl_enabled_protocols: tuple[str, ...] = ("TLSv1.2", "TLSv1.3")
    ssl_principal_mapping_rules: str = "DEFAULT"
    # Kafka's `listener.name.<listener>.ssl.*` (and sasl.enabled.mechanisms): (listener,
    # field, value) overriding the broker-wide value on that listener (`for_listener`).
    listener_overrides: tuple[tuple[str, str, Any], ...] = ()
    # Broker config names set by the config file or a flag: DescribeConfigs reports them
    # as STATIC_BROKER_CONFIG even when they equal Kafka's default, as Kafka does.
    explicit: frozenset[str] = frozenset()

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
        if self.log_level not in LOG_LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}")
        if self.log_format not in LOG_FORMATS:
            raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}")
        if self.max_incremental_fetch_session_cache_slots < 0:
            raise ValueError("the fetch session cache slots cannot be negative")
        if self.default_partitions < 1:
            raise ValueError("default partitions must be at least 1")
        for flag, value in (
            ("transaction-max-timeout-ms", self.transaction_max_timeout_ms),
            ("transactional-id-expiration-ms", self.transactional_id_expiration_ms),
            (
                "transaction-abort-timed-out-transaction-cleanup-interval-ms",
                self.transaction_cleanup_interval_ms,
            ),
        ):
            if value < 1:
                raise ValueError(f"{flag} must be at least 1")
        self._check_limits()
        self._check_listener()

    @property
    def security_protocol(self) -> str:
        """The first listener's security protocol, resolved through the protocol map."""
        return self.protocol_of(self.listener_name)

    def protocol_of(self, listener: str) -> str:
        """A listener name's security protocol ("" when the map lacks it)."""
        return dict(self.security_protocol_map).get(listener, "")

    @property
    def listeners(self) -> tuple[tuple[str, str, int], ...]:
        """Every listener as (name, host, port), the first one (`--listen`) first."""
        return ((self.listener_name, self.host, self.port), *self.extra_listeners)

    @property
    def names(self) -> tuple[str, ...]:
        """Every listener's name, the first one first."""
        return tuple(name for name, _, _ in self.listeners)

    @property
    def tls_listeners(self) -> tuple[str, ...]:
        return tuple(n for n, _, _ in self.listeners if self.protocol_of(n) in TLS_PROTOCOLS)

    def for_listener(self, listener: str) -> BrokerConfig:
        """These settings as `listener` sees them, its own overrides applied."""
        own = {f: v for name, f, v in self.listener_overrides if name == listener}
        return dataclasses.replace(self, **own) if own else self

    def reauth_ms(self, listener: str, mechanism: str) -> int:
        """The session lifetime a `mechanism` login on `listener` gets (0 = unlimited)."""
        for name, own_mechanism, ms in reversed(self.mechanism_reauth_ms):
            if name == listener and own_mechanism == mechanism:
                return ms
        return self.for_listener(listener).connections_max_reauth_ms

    def advertised(self, listener: str) -> tuple[str | None, int | None]:
        """The address to announce for `listener`; None parts = the bound ones."""
        host, port = None, None
        for name, a_host, a_port in self.advertised_listeners:
            if name == listener:
                host, port = a_host, a_port
        if listener == self.listener_name:
            host = self.advertised_host or host
            port = self.advertised_port or port
        return host, port

    def _check_listener(self) -> None:
        names = [name for name, _, _ in self.listeners]
        if len(set(names)) != len(names):
            raise ValueError(f"each listener needs its own name, got {','.join(names)}")
        for name in names:
            protocol = self.protocol_of(name)
            if not protocol:
                raise ValueError(
                    f"listener name {name} has no entry in listener.security.protocol.map"
                )
            if protocol not in SERVED_PROTOCOLS:
                raise ValueError(
                    f"security protocol {protocol} is not served; use one of "
                    f"{', '.join(SERVED_PROTOCOLS)}"
                )
        for name, _, _ in self.advertised_listeners:
            if name not in names:
                raise ValueError(
                    f"advertised.listeners names {name}, which is not among the listeners "
                    f"({','.join(names)})"
                )
        if self.ssl_client_auth not in SSL_CLIENT_AUTH:
            raise ValueError(f"ssl.client.auth must be one of {', '.join(SSL_CLIENT_AUTH)}")
        for name, _, _ in (*self.listener_overrides, *self.mechanism_reauth_ms):
            if name not in names:
                raise ValueError(
                    f"listener.name.{name.lower()}.* names a listener that is not among the "
                    f"listeners ({','.join(names)})"
                )

    def _check_limits(self) -> None:
        if self.max_inflight_bytes < self.max_request_bytes:
            # A frame charges its bytes as they arrive: the budget must hold a whole one.
            raise ValueError("queued-max-request-bytes must be at least socket-request-max-bytes")
        if self.max_request_bytes < 64:
            raise ValueError("socket-request-max-bytes must be at least 64")
        if self.connection_failed_authentication_delay_ms < 0:
            raise ValueError("connection.failed.authentication.delay.ms must be at least 0")
        for name in ("connections_max_idle_ms", "request_body_timeout_ms", "max_connections"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name.replace('_', '-')} must be at least 1")
        for name in (
            "max_connections_per_ip",
            "max_broker_partitions",
            "max_partitions_per_topic",
            "max_open_segment_files",
        ):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name.replace('_', '-')} must be at least 1")


def parse_listen(value: str) -> tuple[str, int]:
    """Split `HOST:PORT` (IPv6 as `[::1]:9092`) into its parts, with a readable error."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)
