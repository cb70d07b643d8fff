"""Building and tearing down a `Broker`: the one place its services are wired together.

Owns the start/stop order against storage: runtime configs, the group coordinator and the
producer-state manager and the transaction coordinator (replayed, its interrupted
completions finished) come up after `LogManager.open()` and go down before
`LogManager.close()` (with a last producer snapshot), plus the periodic producer snapshot
and transaction sweep tasks. It must never open or close storage (the server does) nor serve requests (handlers do).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from logstore.broker import ip_lookup
from logstore.broker.broker_configs import DynamicBrokerConfigs
from logstore.broker.context import AppendNotifier, Broker
from logstore.broker.fetch_sessions import FetchSessionCache
from logstore.clock import Clock
from logstore.config import BrokerConfig
from logstore.groups.coordinator import GroupCoordinator
from logstore.producers.manager import ProducerManager
from logstore.quotas import store as quota_store
from logstore.quotas.rules import IP
from logstore.quotas.store import QuotaStore
from logstore.security import acls, credentials
from logstore.security.authorizer import Authorizer
from logstore.security.credentials import CredentialStore
from logstore.shares.coordinator import ShareCoordinator
from logstore.storage import LogManager
from logstore.transactions.coordinator import TransactionCoordinator, TxnSettings

log = logging.getLogger(__name__)

SNAPSHOT_INTERVAL_S = 1.0
_tasks: dict[int, asyncio.Task[None]] = {}
_sweeps: dict[int, asyncio.Task[None]] = {}


def _authorizer(config: BrokerConfig, logs: LogManager) -> Authorizer | None:
    if not config.authorizer_class:
        return None
    return Authorizer.open(
        logs.state_dir(acls.STATE_NAME), config.super_users, config.allow_everyone_if_no_acl_found
    )


async def open_broker(config: BrokerConfig, logs: LogManager, clock: Clock) -> Broker:
    """A broker with every service running, over storage the caller has opened."""
    dynamic = DynamicBrokerConfigs(config, logs)
    dynamic.load()
    producers = ProducerManager(logs, clock)
    logs.lend_transactions(producers)
    appends = AppendNotifier()
    # Markers and transactional offsets the coordinator appends reach the same producer
    # state and fetch waiters as Produce's batches.
    coordinator = GroupCoordinator(
        logs, clock, config.groups, record_producer=producers.record, notify_append=appends.notify
    )
    await coordinator.start()
    transactions = TransactionCoordinator(
        logs,
        producers,
        coordinator,
        clock,
        TxnSettings(
            max_timeout_ms=config.transaction_max_timeout_ms,
            id_expiration_ms=config.transactional_id_expiration_ms,
            cleanup_interval_ms=config.transaction_cleanup_interval_ms,
        ),
        notify_append=appends.notify,
    )
    transactions.load()
    await transactions.recover()
    coordinator.transaction_verifier = transactions.verify
    broker = Broker(
        config=config,
        logs=logs,
        groups=coordinator,
        producers=producers,
        dynamic_configs=dynamic,
        fetch_sessions=FetchSessionCache(config.max_incremental_fetch_session_cache_slots, clock),
        shares=ShareCoordinator(logs, clock, config.groups),
        clock=clock,
        appends=appends,
        transactions=transactions,
        authorizer=_authorizer(config, logs),
        credentials=CredentialStore(logs.state_dir(credentials.STATE_NAME)),
        quota_store=QuotaStore(logs.state_dir(quota_store.STATE_NAME)),
    )
    # As Kafka's broker replaying its metadata log: ip quotas named by host names are
    # enforced for the address each resolves to now.
    stored = broker.quota_store.entries()
    ip_names = (name for entity, _ in stored for kind, name in entity if kind == IP and name)
    hosts = await ip_lookup.addresses_of(ip_names)
    if hosts:
        broker.quotas.load(stored, hosts)
    _tasks[id(broker)] = asyncio.create_task(_snapshots(producers), name="producer-snapshots")
    _sweeps[id(broker)] = asyncio.create_task(_sweep(transactions), name="transaction-sweep")
    return broker


async def close_broker(broker: Broker) -> None:
    """Stop timers and write the last producer snapshot (call before closing storage)."""
    for tasks in (_sweeps, _tasks):
        task = tasks.pop(id(broker), None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if broker.transactions is not None:
        await broker.transactions.drain()
    await broker.groups.stop()
    broker.producers.snapshot()


async def _snapshots(producers: ProducerManager) -> None:
    # Bounds how much of the log a restart after kill -9 rescans for producer state.
    while True:
        await asyncio.sleep(SNAPSHOT_INTERVAL_S)
        try:
            data = producers.prepare_snapshot()
            if data is not None:
                # fsync off the event loop: a slow disk must not delay requests.
                await asyncio.to_thread(producers.write_snapshot, data)
        except Exception:
            log.exception("producer snapshot failed")


async def _sweep(transactions: TransactionCoordinator) -> None:
    # Real time paces the sweep; what is due is decided on the injected clock.
    while True:
        await asyncio.sleep(transactions.settings.cleanup_interval_ms / 1000)
        try:
            await transactions.sweep()
        except Exception:
            log.exception("transaction sweep failed")
