"""The console's replication operations (`console.kafka.replicas`) on one broker of each
kind, secured: as the administrator, nothing is being reassigned, keeping a partition on
the one broker is accepted and its leader needs no election; as a principal with no
cluster permission each of the three is refused with Kafka's reason, not a stack trace."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka.admin import NewTopic

from console.kafka import replicas
from console.kafka.config import ClusterConfig
from console.kafka.errors import Refused
from tests.console.secure_clusters import (
    ADMIN,
    ADMIN_PASSWORD,
    LIMITED,
    LIMITED_PASSWORD,
    MECHANISM,
    SecureCluster,
)


def _as(secure: SecureCluster, user: str, password: str) -> ClusterConfig:
    return ClusterConfig(
        slug=f"replicas-{user}",
        name=user,
        bootstrap=secure.bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=MECHANISM,
        sasl_username=user,
        sasl_password=password,
        timeout_s=15.0,
    )


def _topic(secure: SecureCluster) -> tuple[str, int]:
    name = f"replica-ops-{uuid.uuid4().hex[:8]}"
    client = secure.admin()
    client.create_topics([NewTopic(name, 1, 1)])[name].result(30)
    node = next(iter(client.list_topics(name, timeout=30).brokers))
    return name, node


def test_the_administrator_moves_nothing_on_one_broker(secure: SecureCluster) -> None:
    config = _as(secure, ADMIN, ADMIN_PASSWORD)
    topic, node = _topic(secure)
    assert replicas.in_progress(config) == []
    replicas.reassign(config, {(topic, 0): [node]})
    assert replicas.elect_preferred(config, [(topic, 0)]) == {(topic, 0): ""}
    with pytest.raises(Refused, match="no such broker is registered"):
        replicas.reassign(config, {(topic, 0): [node + 7]})


def test_a_principal_without_cluster_rights_is_refused(secure: SecureCluster) -> None:
    config = _as(secure, LIMITED, LIMITED_PASSWORD)
    topic, node = _topic(secure)
    with pytest.raises(Refused, match="CLUSTER_AUTHORIZATION_FAILED"):
        replicas.elect_preferred(config, [(topic, 0)])
    with pytest.raises(Refused, match="needs ALTER permission"):
        replicas.reassign(config, {(topic, 0): [node]})
    with pytest.raises(Refused, match="needs DESCRIBE permission"):
        replicas.in_progress(config)
