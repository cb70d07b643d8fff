"""The broker's shared state, handed to every handler: config, storage, clock and services.

Owns the `Broker` object (built by `logstore.broker.assembly`) and the `AppendNotifier` that
wakes long-polling Fetch requests when a partition grows.

The producer-state service (`logstore.producers.manager.ProducerManager`) is called by the
Produce handler for every batch whose `producer_id >= 0`:

1. `check(log, header)` BEFORE appending. None means append normally; a `DuplicateBatch`
   (the offsets the earlier identical batch got) means acknowledge without appending; an
   exception carrying a Kafka `.code` (e.g. 45 out-of-order sequence, 47 invalid producer
   epoch) rejects that partition's data.
2. `record(log, header, base_offset)` AFTER a successful append, with the offset the batch
   was given.

It must never do I/O itself nor know about sockets or wire formats.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from logstore.broker.stats import (
    AuthenticationStats,
    MaintenanceStats,
    RequestStats,
    TopicTraffic,
)
from logstore.clock import Clock, SystemClock
from logstore.config import BrokerConfig
from logstore.quotas.enforcer import QuotaEnforcer
from logstore.quotas.store import QuotaStore

if TYPE_CHECKING:
    from logstore.broker.broker_configs import DynamicBrokerConfigs
    from logstore.broker.fetch_sessions import FetchSessionCache
    from logstore.groups.coordinator import GroupCoordinator
    from logstore.producers.manager import ProducerManager
    from logstore.security.authorizer import Authorizer
    from logstore.security.credentials import CredentialStore
    from logstore.shares.coordinator import ShareCoordinator
    from logstore.storage import LogManager
    from logstore.transactions.coordinator import TransactionCoordinator


PartitionKey = tuple[str, int]


class AppendNotifier:
    """Futures keyed by partition, resolved when that partition receives an append."""

    def __init__(self) -> None:
        self._waiters: dict[PartitionKey, set[asyncio.Future[None]]] = {}

    def notify(self, topic: str, partition: int) -> None:
        waiters = self._waiters.pop((topic, partition), None)
        if waiters:
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    def notify_all(self) -> None:
        """Wake every waiter (topic deleted, shutdown)."""
        keys = list(self._waiters)
        for topic, partition in keys:
            self.notify(topic, partition)

    async def wait_any(self, keys: Iterable[PartitionKey], timeout_s: float) -> bool:
        """Wait until one of `keys` is appended to, or the timeout; True if woken."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        registered = list(keys)
        for key in registered:
            self._waiters.setdefault(key, set()).add(fut)
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout_s)
            return True
        except TimeoutError:
            return False
        finally:
            for key in registered:
                waiters = self._waiters.get(key)
                if waiters is not None:
                    waiters.discard(fut)
                    if not waiters:
                        del self._waiters[key]


@dataclass
class Broker:
    """Everything a handler may use. Built once by `assembly.open_broker`, shared by all
    connections."""

    config: BrokerConfig
    logs: LogManager
    groups: GroupCoordinator
    # Idempotent producer state, consulted around every append (see module docstring).
    producers: ProducerManager
    # Runtime overrides of broker configs (logstore.broker.broker_configs).
    dynamic_configs: DynamicBrokerConfigs
    # Incremental fetch sessions (logstore.broker.fetch_sessions).
    fetch_sessions: FetchSessionCache
    # Share groups (logstore.shares.coordinator).
    shares: ShareCoordinator
    clock: Clock = field(default_factory=SystemClock)
    # The transaction coordinator (None in brokers assembled without one).
    transactions: TransactionCoordinator | None = None
    appends: AppendNotifier = field(default_factory=AppendNotifier)
    # Where clients should connect (Metadata, FindCoordinator): set once the port is bound.
    # The first listener's address; `listener_addresses` holds every listener's by name.
    advertised_host: str = "127.0.0.1"
    advertised_port: int = 9092
    listener_addresses: dict[str, tuple[str, int]] = field(default_factory=dict)
    # Set during graceful shutdown so long polls return promptly.
    shutting_down: bool = False
    # Counters behind the metrics endpoint and the request log (logstore.broker.stats).
    requests: RequestStats = field(default_factory=RequestStats)
    traffic: TopicTraffic = field(default_factory=TopicTraffic)
    maintenance: MaintenanceStats = field(default_factory=MaintenanceStats)
    authentications: AuthenticationStats = field(default_factory=AuthenticationStats)
    # ACL checks (logstore.broker.access); None = authorizer.class.name empty, all allowed.
    authorizer: Authorizer | None = None
    # SCRAM users (SASL logins, Describe/AlterUserScramCredentials); set by open_broker.
    credentials: CredentialStore | None = None
    # Client quotas: what is stored (Describe/AlterClientQuotas) and what is enforced
    # (bytes produced and fetched, request time, partitions created and deleted,
    # connections opened). Kept in memory only unless open_broker gives a store.
    quota_store: QuotaStore = field(default_factory=QuotaStore)
    quotas: QuotaEnforcer = field(init=False)

    def __post_init__(self) -> None:
        config = self.config
        self.quotas = QuotaEnforcer(
            self.clock,
            config.quota_window_num,
            config.quota_window_size_seconds,
            config.controller_quota_window_num,
            config.controller_quota_window_size_seconds,
        )
        self.quotas.load(self.quota_store.entries())

    def address(self, listener: str) -> tuple[str, int]:
        """The (host, port) clients of `listener` are told to connect to."""
        return self.listener_addresses.get(listener, (self.advertised_host, self.advertised_port))

    async def connection_closed(self, connection: int) -> None:
        """A client connection ended: what Kafka ties to it ends too. Not while shutting
        down: held records then come back after the restart with their delivery counts."""
        self.quotas.forget(connection)
        if not self.shutting_down:
            await self.shares.connection_closed(connection)
