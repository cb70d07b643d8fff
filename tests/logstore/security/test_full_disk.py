"""ACLs and SCRAM users changed on a disk without room (`tests/faultfs.py`), through
confluent-kafka's AdminClient against a real broker.

A change is written before it is in force, so a refused write is answered
KAFKA_STORAGE_ERROR with the reason and changes nothing: not what the broker enforces now,
and not what it loads after a restart. Before, the change was applied in memory, the
connection was closed, and a restart brought back what was deleted.
"""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from tests.broker_fixture import BrokerProcess, start_broker
from tests.faultfs import FaultFs

STANDARD = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
TIMEOUT_S = 30
DENY_ORDERS = AclBinding(
    ResourceType.TOPIC, "orders", ResourcePatternType.LITERAL, "User:mallory", "*",
    AclOperation.WRITE, AclPermissionType.DENY,
)  # fmt: skip
EVERY_TOPIC_ACL = AclBindingFilter(
    ResourceType.TOPIC, None, ResourcePatternType.ANY, None, None,
    AclOperation.ANY, AclPermissionType.ANY,
)  # fmt: skip
INFO = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096)


def _broker(faultfs: FaultFs) -> BrokerProcess:
    config = faultfs.source.parent / "server.properties"
    config.write_text(f"authorizer.class.name={STANDARD}\nallow.everyone.if.no.acl.found=true\n")
    return start_broker(faultfs.mountpoint / "data", ["--config", str(config)])


def _refused(future: object) -> KafkaError:
    with pytest.raises(KafkaException) as caught:
        future.result(TIMEOUT_S)  # type: ignore[attr-defined]
    return caught.value.args[0]


def _acls(admin: AdminClient) -> list[AclBinding]:
    return list(admin.describe_acls(EVERY_TOPIC_ACL).result(TIMEOUT_S))


def _users(admin: AdminClient) -> set[str]:
    return set(admin.describe_user_scram_credentials().result(TIMEOUT_S))


def _assert_storage_error(error: KafkaError, what: str) -> None:
    assert error.code() == KafkaError.KAFKA_STORAGE_ERROR
    assert f"could not write the {what}" in error.str()
    assert "No space left on device" in error.str()


def test_acl_changes_without_room_change_nothing(faultfs: FaultFs) -> None:
    broker = _broker(faultfs)
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        faultfs.fill("data/.state/acls/")
        _assert_storage_error(_refused(admin.create_acls([DENY_ORDERS])[DENY_ORDERS]), "ACLs")
        assert _acls(admin) == []
        faultfs.heal()
        admin.create_acls([DENY_ORDERS])[DENY_ORDERS].result(TIMEOUT_S)
        faultfs.fill("data/.state/acls/")
        deleted = admin.delete_acls([EVERY_TOPIC_ACL])[EVERY_TOPIC_ACL]
        _assert_storage_error(_refused(deleted), "ACLs")
        assert _acls(admin) == [DENY_ORDERS]  # still enforced
        faultfs.heal()
        broker.restart()
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        assert _acls(admin) == [DENY_ORDERS]
    finally:
        faultfs.heal()
        broker.kill9()


def test_scram_user_changes_without_room_change_nothing(faultfs: FaultFs) -> None:
    broker = _broker(faultfs)
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        faultfs.fill("data/.state/security/")
        upsert = UserScramCredentialUpsertion("alice", INFO, b"alice-secret", b"alice-salt")
        _assert_storage_error(
            _refused(admin.alter_user_scram_credentials([upsert])["alice"]), "credentials"
        )
        assert _users(admin) == set()
        faultfs.heal()
        admin.alter_user_scram_credentials([upsert])["alice"].result(TIMEOUT_S)
        faultfs.fill("data/.state/security/")
        deletion = UserScramCredentialDeletion("alice", ScramMechanism.SCRAM_SHA_256)
        _assert_storage_error(
            _refused(admin.alter_user_scram_credentials([deletion])["alice"]), "credentials"
        )
        assert _users(admin) == {"alice"}
        faultfs.heal()
        broker.restart()
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        assert _users(admin) == {"alice"}
    finally:
        faultfs.heal()
        broker.kill9()


def test_acl_and_user_changes_on_a_stalled_disk_hold_up_nobody_else(faultfs: FaultFs) -> None:
    """The disk stops answering fsyncs of the ACL and credential files: each change waits
    for it, written in a thread, and not in force until written; other requests are served
    meanwhile (before, the files were fsynced on the event loop, so every client waited for
    the disk)."""
    broker = _broker(faultfs)
    try:
        changer = AdminClient({"bootstrap.servers": broker.bootstrap})
        faultfs.hold_fsync("data/.state/acls/", "data/.state/security/")
        acl = changer.create_acls([DENY_ORDERS])[DENY_ORDERS]
        upsert = UserScramCredentialUpsertion("alice", INFO, b"alice-secret", b"alice-salt")
        user = changer.alter_user_scram_credentials([upsert])["alice"]
        other = AdminClient({"bootstrap.servers": broker.bootstrap})
        assert other.list_topics(timeout=TIMEOUT_S).brokers
        assert _acls(other) == []
        assert _users(other) == set()
        assert not acl.done()
        assert not user.done()
        faultfs.heal()
        acl.result(TIMEOUT_S)
        user.result(TIMEOUT_S)
        assert _acls(other) == [DENY_ORDERS]
        assert _users(other) == {"alice"}
    finally:
        faultfs.heal()
        broker.kill9()
