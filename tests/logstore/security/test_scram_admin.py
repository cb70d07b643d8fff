"""SCRAM users created, changed and deleted over the wire (confluent-kafka's AdminClient,
i.e. AlterUserScramCredentials) log in at once over SASL, stay after a restart, and only a
principal allowed ALTER on the cluster may change them."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import (
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from tests.logstore.security.test_sasl_clients import PASSWORD, USER, ck_config, sasl_broker

STANDARD = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


def _admin(bootstrap_config: dict[str, object]) -> AdminClient:
    return AdminClient(bootstrap_config)


def _wait(futures: dict[str, object]) -> None:
    for future in futures.values():
        future.result(timeout=30)  # type: ignore[attr-defined]


def _can_produce(config: dict[str, object]) -> bool:
    errors: list[object] = []
    producer = Producer({**config, "message.timeout.ms": 8000, "socket.timeout.ms": 8000})
    producer.produce("scram-admin", b"v", on_delivery=lambda err, _msg: errors.append(err))
    producer.flush(15)
    del producer  # its connections retry a refused login until it is gone
    return errors == [None]


def test_a_user_created_over_the_wire_logs_in_until_deleted(tmp_path: Path) -> None:
    broker = sasl_broker(tmp_path)
    try:
        admin = _admin(ck_config(broker, "SCRAM-SHA-256"))
        info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192)
        _wait(
            admin.alter_user_scram_credentials(
                [UserScramCredentialUpsertion("bob", info, b"bob-secret", b"bob-salt")]
            )
        )
        described = admin.describe_user_scram_credentials(["bob"])["bob"].result(timeout=30)
        infos = described.scram_credential_infos
        assert [(i.mechanism, i.iterations) for i in infos] == [
            (ScramMechanism.SCRAM_SHA_512, 8192)
        ]
        bob = ck_config(broker, "SCRAM-SHA-512", "bob", "bob-secret")
        assert _can_produce(bob)
        _wait(
            admin.alter_user_scram_credentials(
                [UserScramCredentialDeletion("bob", ScramMechanism.SCRAM_SHA_512)]
            )
        )
        users = admin.describe_user_scram_credentials().result(timeout=30)
        assert set(users) == {USER}
    finally:
        broker.stop()


def test_only_a_principal_allowed_alter_on_the_cluster_changes_users(tmp_path: Path) -> None:
    broker = sasl_broker(
        tmp_path,
        f"authorizer.class.name={STANDARD}\nsuper.users=User:{USER}\n"
        "allow.everyone.if.no.acl.found=false\n",
    )
    try:
        admin = _admin(ck_config(broker, "SCRAM-SHA-256"))
        info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096)
        _wait(
            admin.alter_user_scram_credentials(
                [UserScramCredentialUpsertion("carol", info, b"carol-secret", b"carol-salt")]
            )
        )
        carol = _admin(ck_config(broker, "SCRAM-SHA-256", "carol", "carol-secret"))
        refused = carol.alter_user_scram_credentials(
            [UserScramCredentialUpsertion("mallory", info, b"x", b"mallory-salt")]
        )
        with pytest.raises(KafkaException) as caught:
            _wait(refused)
        assert (
            "CLUSTER_AUTHORIZATION_FAILED" in str(caught.value)
            or "authorization" in str(caught.value).lower()
        )
        users = admin.describe_user_scram_credentials().result(timeout=30)  # every user
        assert set(users) == {USER, "carol"}, "the refused user must not exist"
    finally:
        broker.stop()


def test_password_constant_is_what_the_broker_was_seeded_with() -> None:
    # The seeded admin above logs in with these; a changed helper would silently test nothing.
    assert (USER, PASSWORD) == ("alice", "alice-secret")
