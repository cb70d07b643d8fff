"""SCRAM users administered over the wire: Describe/AlterUserScramCredentials and the
DescribeClientQuotas that `kafka-configs.sh --entity-type users` asks beside them give the
same answers, codes and messages on Odradek as on Apache Kafka, and Kafka's own tool prints
the same lines for both."""

from __future__ import annotations

import subprocess
import uuid
from typing import Any

import pytest

from reference.launcher import java_command
from tests.clusters import Cluster, cluster_for
from tests.logstore.broker.wire import Wire, schema

pytestmark = pytest.mark.kafka

DESCRIBE, ALTER, QUOTAS = 50, 51, 48
SHA256, SHA512 = 1, 2


@pytest.fixture
def clusters(request: pytest.FixtureRequest) -> tuple[Cluster, Cluster]:
    return cluster_for(request, "kafka"), cluster_for(request, "odradek")


def _alter(
    wire: Wire, deletions: list[tuple[str, int]], upsertions: list[tuple[str, int, int]]
) -> Any:
    s = schema(ALTER, 0)
    return wire.request(
        ALTER,
        0,
        deletions=tuple(s.ScramCredentialDeletion(name=n, mechanism=m) for n, m in deletions),
        upsertions=tuple(
            s.ScramCredentialUpsertion(
                name=n, mechanism=m, iterations=i, salt=b"pepper", salted_password=b"k" * 32
            )
            for n, m, i in upsertions
        ),
    )


def _describe(wire: Wire, users: list[str] | None) -> Any:
    s = schema(DESCRIBE, 0)
    names = None if users is None else tuple(s.UserName(name=u) for u in users)
    return wire.request(DESCRIBE, 0, users=names)


def _scenario(cluster: Cluster) -> list[Any]:
    run = uuid.uuid4().hex[:8]
    u = {k: f"{k}-{run}" for k in ("ok", "few", "many", "mech", "gone", "dup", "nobody")}
    alias = {v: k for k, v in u.items()}

    def names(text: str | None) -> str | None:
        for real, short in alias.items():
            text = None if text is None else text.replace(real, short)
        return text

    def alter_rows(response: Any) -> list[tuple[Any, ...]]:
        return sorted(
            (names(r.user), int(r.error_code), names(r.error_message)) for r in response.results
        )

    def describe_rows(response: Any) -> tuple[Any, ...]:
        rows = sorted(
            (
                names(r.user),
                int(r.error_code),
                names(r.error_message),
                sorted((int(c.mechanism), int(c.iterations)) for c in r.credential_infos),
            )
            for r in response.results
            if names(r.user) in alias.values()
        )
        return int(response.error_code), response.error_message, rows

    seen: list[Any] = []
    with Wire(cluster.bootstrap) as wire:
        seen.append(
            alter_rows(
                _alter(
                    wire,
                    [(u["gone"], SHA256), (u["dup"], SHA256)],
                    [
                        (u["ok"], SHA256, 4096),
                        (u["few"], SHA512, 1024),
                        (u["many"], SHA256, 20000),
                        (u["mech"], 0, 4096),
                        ("", SHA256, 4096),
                        (u["dup"], SHA256, 4096),
                    ],
                )
            )
        )
        seen.append(alter_rows(_alter(wire, [], [(u["ok"], SHA512, 8192)])))
        seen.append(describe_rows(_describe(wire, [u["ok"]])))
        seen.append(describe_rows(_describe(wire, [u["nobody"]])))
        seen.append(describe_rows(_describe(wire, [u["ok"], u["ok"]])))
        seen.append(alter_rows(_alter(wire, [(u["ok"], SHA256)], [])))
        seen.append(describe_rows(_describe(wire, None)))
        seen.append(alter_rows(_alter(wire, [(u["ok"], SHA256)], [])))  # already gone
    return seen


def test_scram_credentials_answer_as_kafka(clusters: tuple[Cluster, Cluster]) -> None:
    kafka, odradek = clusters
    assert _scenario(odradek) == _scenario(kafka)


def _quotas(cluster: Cluster) -> list[tuple[Any, ...]]:
    s = schema(QUOTAS, 1)
    c = s.ComponentData
    filters = [
        (),
        (c(entity_type="user", match_type=0, match="someone"),),
        (c(entity_type="", match_type=0, match="u"),),
        (
            c(entity_type="user", match_type=1, match=None),
            c(entity_type="user", match_type=2, match=None),
        ),
        (c(entity_type="bogus", match_type=0, match="x"),),
        (c(entity_type="user", match_type=0, match=None),),
        (c(entity_type="user", match_type=1, match="x"),),
        (c(entity_type="client-id", match_type=2, match="x"),),
        (c(entity_type="user", match_type=7, match=None),),
        (
            c(entity_type="ip", match_type=2, match=None),
            c(entity_type="user", match_type=2, match=None),
        ),
    ]
    with Wire(cluster.bootstrap) as wire:
        answers = [wire.request(QUOTAS, 1, components=f, strict=False) for f in filters]
    return [(int(a.error_code), a.error_message, a.entries) for a in answers]


def test_describe_client_quotas_filters_answer_as_kafka(clusters: tuple[Cluster, Cluster]) -> None:
    kafka, odradek = clusters
    assert _quotas(odradek) == _quotas(kafka)


def _tool(bootstrap: str, *args: str) -> list[str]:
    done = subprocess.run(
        java_command(
            "org.apache.kafka.tools.ConfigCommand", ["--bootstrap-server", bootstrap, *args]
        ),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [line.strip() for line in done.stdout.splitlines() if line.strip()]


def _mechanisms_sorted(line: str) -> str:
    # Kafka lists a user's mechanisms in hash order, which changes between JVM runs.
    head, sep, tail = line.partition(" are ")
    return head + sep + ", ".join(sorted(tail.split(", "))) if sep else line


def test_kafka_configs_users_prints_the_same(clusters: tuple[Cluster, Cluster]) -> None:
    def run(cluster: Cluster) -> list[str]:
        user = f"carol-{uuid.uuid4().hex[:8]}"
        entity = ["--entity-type", "users", "--entity-name", user]
        lines = _tool(
            cluster.bootstrap,
            "--alter",
            "--add-config",
            "SCRAM-SHA-256=[iterations=8192,password=pw]",
            *entity,
        )
        # One mechanism per request: Kafka refuses a user changed twice in one request.
        lines += _tool(
            cluster.bootstrap, "--alter", "--add-config", "SCRAM-SHA-512=[password=pw]", *entity
        )
        lines += _tool(cluster.bootstrap, "--describe", *entity)
        lines += _tool(cluster.bootstrap, "--alter", "--delete-config", "SCRAM-SHA-512", *entity)
        lines += _tool(cluster.bootstrap, "--describe", *entity)
        return [_mechanisms_sorted(line.replace(user, "<user>")) for line in lines]

    kafka, odradek = clusters
    printed = run(odradek)
    assert printed == run(kafka)
    assert (
        "SCRAM credential configs for user-principal '<user>' are SCRAM-SHA-256=iterations=8192"
        in printed[-1]
    )
