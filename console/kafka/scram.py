"""A cluster's SCRAM users: list, set a password, delete — DescribeUserScramCredentials
and AlterUserScramCredentials through the cluster's AdminClient.

Owns `ScramUser` (a principal's name and, per mechanism, its iteration count: the cluster
never gives out salts or hashes, and neither does this) and the calls. After a change it
waits until the cluster describes it (Kafka applies credentials through its metadata
log). It must never keep, log or return a password, and never decide who may call it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from confluent_kafka.admin import (
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from console.kafka import clients, cluster_rights
from console.kafka.config import ClusterConfig
from console.kafka.errors import answer
from console.kafka.settle import until_shown

MECHANISMS = {
    "SCRAM-SHA-256": ScramMechanism.SCRAM_SHA_256,
    "SCRAM-SHA-512": ScramMechanism.SCRAM_SHA_512,
}
# Kafka's bounds for a SCRAM iteration count, and kafka-configs.sh's default.
MIN_ITERATIONS, MAX_ITERATIONS, DEFAULT_ITERATIONS = 4096, 16384, 4096


@dataclass(frozen=True)
class ScramUser:
    name: str
    # (mechanism, iterations), sorted by mechanism.
    credentials: tuple[tuple[str, int], ...]

    @property
    def mechanisms(self) -> list[str]:
        return [m for m, _ in self.credentials]


def _mechanism_name(mechanism: ScramMechanism) -> str:
    return mechanism.name.replace("_", "-")


def list_users(cluster: ClusterConfig) -> list[ScramUser]:
    """Every user with at least one SCRAM credential, by name."""
    cluster_rights.require(cluster, "DESCRIBE", "list the SCRAM users")
    return _describe(cluster)


def _describe(cluster: ClusterConfig) -> list[ScramUser]:
    admin = clients.of(cluster).admin()
    future: Future[dict[str, Any]] = admin.describe_user_scram_credentials(  # type: ignore[assignment]
        request_timeout=cluster.timeout_s
    )
    found = answer(cluster.timeout_s, future, "list the SCRAM users", "DESCRIBE", "the cluster")
    users = [
        ScramUser(
            name,
            tuple(
                sorted(
                    (_mechanism_name(i.mechanism), i.iterations) for i in d.scram_credential_infos
                )
            ),
        )
        for name, d in found.items()
    ]
    return sorted(users, key=lambda u: u.name)


def set_password(
    cluster: ClusterConfig,
    name: str,
    password: str,
    mechanisms: tuple[str, ...] = tuple(MECHANISMS),
    iterations: int = DEFAULT_ITERATIONS,
) -> None:
    """Create `name`, or replace its password, for each of `mechanisms` (the cluster salts
    and hashes it: librdkafka sends a fresh random salt with the salted password)."""
    cluster_rights.require(cluster, "ALTER", f"set the password of {name}")
    # Kafka refuses two alterations of one user in one request: one request per mechanism.
    for m in mechanisms:
        info = ScramCredentialInfo(MECHANISMS[m], iterations)
        upsert = UserScramCredentialUpsertion(name, info, password.encode())
        _alter(cluster, upsert, f"set the {m} password of {name}")
    _await(cluster, name, lambda u: u is not None and set(mechanisms) <= set(u.mechanisms))


def delete_user(cluster: ClusterConfig, name: str, mechanisms: list[str]) -> None:
    """Remove every listed SCRAM credential of `name` (all of them: the user is gone)."""
    cluster_rights.require(cluster, "ALTER", f"delete the SCRAM user {name}")
    for m in mechanisms:
        _alter(cluster, UserScramCredentialDeletion(name, MECHANISMS[m]), f"delete {m} of {name}")
    _await(cluster, name, lambda u: u is None or not set(mechanisms) & set(u.mechanisms))


def _alter(cluster: ClusterConfig, change: UserScramCredentialAlteration, what: str) -> None:
    admin = clients.of(cluster).admin()
    futures = admin.alter_user_scram_credentials([change], request_timeout=cluster.timeout_s)
    for future in futures.values():
        answer(cluster.timeout_s, future, what, "ALTER", "the cluster")


def _await(cluster: ClusterConfig, name: str, done: Callable[[ScramUser | None], bool]) -> None:
    until_shown(
        cluster.timeout_s,
        lambda: done(next((u for u in _describe(cluster) if u.name == name), None)),
        f"The cluster accepted the change of {name} but does not show it yet; reload in a moment.",
    )
