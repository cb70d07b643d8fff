"""Differential: ACLs for a SASL principal, on Apache Kafka and Odradek alike.

Both brokers run a SASL_PLAINTEXT listener (SCRAM-SHA-256) with `StandardAuthorizer`,
`allow.everyone.if.no.acl.found=false` and `admin` as super user
(`tests/console/secure_clusters.py`'s `secure` fixture, one per broker kind). The admin
grants `User:limited` everything on a topic prefix and one group prefix, denies it writes
on one topic inside the prefix, and leaves a third topic ungranted. What `limited` then
sees — the topics Metadata lists, produce outcomes, creating and deleting topics inside
and outside its prefix, committing offsets in its own and a foreign group, listing ACLs —
must be the same expected answers on both kinds.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)
from kafka import KafkaConsumer
from kafka.admin import (
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePatternFilter,
)
from kafka.admin import ResourceType as KpResource
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata
from kafka.structs import TopicPartition as KpPartition

from tests.console.secure_clusters import LIMITED, LIMITED_PASSWORD, SecureCluster
from tests.differential.harness import TIMEOUT, outcome

ALLOW, DENY = AclPermissionType.ALLOW, AclPermissionType.DENY
LIT, PRE = ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED
ME = f"User:{LIMITED}"
_EVERY_ACL = ACLFilter(
    principal=None, host="*", operation=ACLOperation.ANY,
    permission_type=ACLPermissionType.ANY,
    resource_pattern=ResourcePatternFilter(KpResource.ANY, None, ACLResourcePatternType.ANY),
)  # fmt: skip


def _bindings(tag: str) -> list[AclBinding]:
    return [
        AclBinding(ResourceType.TOPIC, f"{tag}-a-", PRE, ME, "*", AclOperation.ALL, ALLOW),
        AclBinding(ResourceType.TOPIC, f"{tag}-a-locked", LIT, ME, "*", AclOperation.WRITE, DENY),
        AclBinding(ResourceType.GROUP, f"{tag}-g", PRE, ME, "*", AclOperation.ALL, ALLOW),
    ]


def _install(secure: SecureCluster, tag: str) -> None:
    admin = secure.admin()
    topics = [f"{tag}-a-open", f"{tag}-a-locked", f"{tag}-b-hidden"]
    for future in admin.create_topics([NewTopic(t, 1, 1) for t in topics]).values():
        future.result(TIMEOUT)
    for future in admin.create_acls(_bindings(tag)).values():
        future.result(TIMEOUT)
    # Kafka applies ACLs through its metadata log: wait until its authorizer lists them.
    mine = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, ME, None,
                            AclOperation.ANY, AclPermissionType.ANY)  # fmt: skip
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        listed = admin.describe_acls(mine).result(TIMEOUT)
        if sum(1 for b in listed if b.name.startswith(tag)) >= 3:
            return
        time.sleep(0.1)
    pytest.fail("the ACLs were never listed")


def _produce(config: dict[str, Any], topic: str) -> str:
    reports: list[str] = []
    producer = Producer({**config, "message.timeout.ms": 10_000})
    producer.produce(
        topic, b"v", on_delivery=lambda err, _m: reports.append(err.name() if err else "OK")
    )
    producer.flush(TIMEOUT)
    return reports[0] if reports else "UNDELIVERED"


def _kp_config(secure: SecureCluster) -> dict[str, Any]:
    return {
        "bootstrap_servers": secure.bootstrap,
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": LIMITED,
        "sasl_plain_password": LIMITED_PASSWORD,
    }


def _kp_admin(secure: SecureCluster) -> Any:
    return KafkaAdminClient(**_kp_config(secure))


def _commit(secure: SecureCluster, group: str, topic: str) -> str:
    """kafka-python's commit: librdkafka reports a refused FindCoordinator only as its
    local "_WAIT_COORD", kafka-python with the broker's error."""
    consumer = KafkaConsumer(group_id=group, enable_auto_commit=False, **_kp_config(secure))
    try:
        consumer.commit({KpPartition(topic, 0): OffsetAndMetadata(1, "", -1)})
    except KafkaError as exc:
        return str(exc.message)
    finally:
        consumer.close()
    return "OK"


def _scenario(secure: SecureCluster) -> dict[str, Any]:
    tag = f"sasl-acl-{uuid.uuid4().hex[:6]}"
    _install(secure, tag)
    config = secure.client_config(LIMITED, LIMITED_PASSWORD)
    mine = AdminClient(config)
    listed = mine.list_topics(timeout=TIMEOUT).topics
    out: dict[str, Any] = {
        "metadata lists": sorted(t.removeprefix(tag) for t in listed if t.startswith(tag)),
        "produce": {t: _produce(config, f"{tag}{t}") for t in ("-a-open", "-a-locked", "-b-hidden")},
        "create inside the prefix": outcome(mine.create_topics([NewTopic(f"{tag}-a-new", 1, 1)])[f"{tag}-a-new"]),
        "create outside": outcome(mine.create_topics([NewTopic(f"{tag}-b-new", 1, 1)])[f"{tag}-b-new"]),
        "commit in its group": _commit(secure, f"{tag}-g1", f"{tag}-a-open"),
        "commit in another group": _commit(secure, f"{tag}-other", f"{tag}-a-open"),
        "commit on a hidden topic": _commit(secure, f"{tag}-g2", f"{tag}-b-hidden"),
    }  # fmt: skip
    out["delete inside the prefix"] = outcome(mine.delete_topics([f"{tag}-a-new"])[f"{tag}-a-new"])
    out["delete outside"] = outcome(mine.delete_topics([f"{tag}-b-hidden"])[f"{tag}-b-hidden"])
    # confluent-kafka's describe_acls answers a refusal with an empty list; kafka-python
    # reports the broker's error.
    lister = _kp_admin(secure)
    try:
        lister.describe_acls(_EVERY_ACL)
        out["list ACLs"] = "OK"
    except KafkaError as exc:
        out["list ACLs"] = exc.message
    finally:
        lister.close()
    return out


EXPECTED = {
    "metadata lists": ["-a-locked", "-a-open"],
    "produce": {
        "-a-open": "OK",
        "-a-locked": "TOPIC_AUTHORIZATION_FAILED",
        "-b-hidden": "TOPIC_AUTHORIZATION_FAILED",
    },
    "create inside the prefix": "OK",
    "create outside": "TOPIC_AUTHORIZATION_FAILED",
    "commit in its group": "OK",
    "commit in another group": "GROUP_AUTHORIZATION_FAILED",
    "commit on a hidden topic": "TOPIC_AUTHORIZATION_FAILED",
    "delete inside the prefix": "OK",
    "delete outside": "TOPIC_AUTHORIZATION_FAILED",
    "list ACLs": "CLUSTER_AUTHORIZATION_FAILED",
}


def test_a_sasl_principal_sees_what_its_acls_allow(secure: SecureCluster) -> None:
    assert _scenario(secure) == EXPECTED
