"""One set of clients per cluster, created lazily, forgotten and closed together.

Owns the long-lived clients of each cluster — confluent-kafka's AdminClient, one Consumer
used only for ListOffsets, kafka-python's admin client (its network thread drives the bulk
and batched reads of `console.kafka.wire`) — keyed by slug and remembered with the
`ClusterConfig` they were made for: an edited cluster gets new clients, and `forget`
closes all of one cluster's clients at once (group coordinators learned by kafka-python's
client go with it). It must never decide what to ask a cluster.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient

from console.kafka.config import RECONNECT_BACKOFF_MAX_MS, ClusterConfig
from console.kafka.errors import Unreachable, readable

# kafka-python narrates every connection at INFO, warns when decoding a large answer holds
# its loop for 100 ms (expected here), and logs an error every few seconds while a cluster
# is away. The console reports cluster failures itself; its log is for people.
logging.getLogger("kafka").setLevel(logging.CRITICAL)

# librdkafka insists on a group id even for a consumer that only assigns; never joined.
OFFSETS_GROUP = "odradek-console-offsets"


@dataclass
class Clients:
    """The clients of one cluster; each made on first use."""

    config: ClusterConfig
    lock: threading.Lock = field(default_factory=threading.Lock)
    _admin: AdminClient | None = None
    _offsets: Consumer | None = None
    _wire: Any = None
    # A ListOffsets consumer serves one call at a time.
    offsets_lock: threading.Lock = field(default_factory=threading.Lock)

    def admin(self) -> AdminClient:
        with self.lock:
            if self._admin is None:
                self._admin = AdminClient(
                    {
                        **self.config.client_config(),
                        "socket.timeout.ms": int(self.config.timeout_s * 1000),
                        "reconnect.backoff.max.ms": RECONNECT_BACKOFF_MAX_MS,
                    }
                )
            return self._admin

    def renew_admin(self, stale: AdminClient) -> AdminClient:
        """A new AdminClient in place of `stale` (unless another call already replaced it):
        librdkafka keeps a group's coordinator it learned even after the group moved."""
        with self.lock:
            if self._admin is stale:
                self._admin = None
        return self.admin()

    def offsets(self) -> Consumer:
        """A consumer used only for `offsets_for_times`: one synchronous call asks for
        every partition, where the AdminClient makes a future per partition. It never
        subscribes or commits."""
        with self.lock:
            if self._offsets is None:
                self._offsets = Consumer(
                    {
                        **self.config.client_config(),
                        "group.id": OFFSETS_GROUP,
                        "enable.auto.commit": False,
                    }
                )
            return self._offsets

    def wire(self) -> Any:
        """kafka-python's admin client, connecting on first use."""
        with self.lock:
            if self._wire is None:
                from kafka.admin import KafkaAdminClient

                try:
                    self._wire = KafkaAdminClient(**self.config.kafka_python_config())
                except Exception as exc:
                    raise Unreachable(unreachable(self.config, readable(exc))) from exc
            return self._wire

    def close(self) -> None:
        with self.lock:
            closing = [c for c in (self._offsets, self._wire) if c is not None]
            self._admin = self._offsets = self._wire = None
        for c in closing:
            try:
                c.close()
            except Exception:  # closing a client of a dead cluster may fail; nothing to keep
                pass


def unreachable(cluster: ClusterConfig, why: str) -> str:
    return f"Cluster {cluster.slug} ({cluster.bootstrap}) is unreachable: {why}"


_sets: dict[str, Clients] = {}
_lock = threading.Lock()


def of(cluster: ClusterConfig) -> Clients:
    """The clients of `cluster`; a changed configuration replaces the old set."""
    with _lock:
        found = _sets.get(cluster.slug)
        if found is not None and found.config == cluster:
            return found
        fresh = _sets[cluster.slug] = Clients(cluster)
    if found is not None:
        found.close()
    return fresh


def forget(cluster: ClusterConfig) -> None:
    """Close and drop every client of `cluster`'s slug (broken, or its settings changed)."""
    with _lock:
        gone = _sets.pop(cluster.slug, None)
    if gone is not None:
        gone.close()


def forget_all() -> None:
    """Close every client (tests, between clusters: background loops would otherwise
    outlive the clusters they watch)."""
    with _lock:
        gone = list(_sets.values())
        _sets.clear()
    for c in gone:
        c.close()
