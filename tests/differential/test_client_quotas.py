"""Differential: client quotas stored, described and enforced as Apache Kafka does.

AlterClientQuotas (v0 and v1) answers every refusal with Kafka's code and message per
entry (bad entities, unknown or misplaced keys, values out of range, a key or an entity
named twice) and applies the good entries of a mixed request; DescribeClientQuotas
filters (exact, default, specified, strict) list the same entities and values; Kafka's
`kafka-configs.sh` prints the same lines for clients and user/client entities. Enforced:
a Produce over `producer_byte_rate` gets Kafka's exact throttle_time_ms, a Fetch over
`consumer_byte_rate` Kafka's empty throttled answer, and a client over `request_percentage`
Kafka's wait (bounded by one window) on every kind of answer. Raw requests on fresh connections;
names are unique per run and shown as labels; entities and values are compared as sets
(Kafka lists them in hash order), and only this run's entities are looked at, because
both brokers are shared with every other differential test. Every quota set is removed
afterwards, and none is ever stored on a default entity (it would throttle other tests).
"""

from __future__ import annotations

import contextlib
import datetime
import struct
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from kio.index import load_payload_module
from kio.static.constants import EntityType

from reference.launcher import java_command
from tests.clusters import Cluster
from tests.differential.harness import assert_same, create_topic, observe, unique_topic
from tests.differential.test_share_groups import _response_cls
from tests.differential.wire import decode, encode, exchange, record_batch

pytestmark = pytest.mark.kafka

PRODUCE, FETCH, METADATA, API_VERSIONS, CREATE_TOPICS = 0, 1, 3, 18, 19
DESCRIBE, ALTER = 48, 49
EXACT, DEFAULT, SPECIFIED = 0, 1, 2
P, C, R = "producer_byte_rate", "consumer_byte_rate", "request_percentage"
# A batch of one 1978-byte value is exactly 2048 bytes, so a byte limit that is a
# multiple of 2048 ends on a batch boundary and no broker has a partial batch to cut.
BATCH_VALUE = 1978

Entity = tuple[tuple[str, str | None], ...]
Op = tuple[str, float, bool]  # key, value, remove
Filter = tuple[str, int, str | None]  # entity type, match type, match


class _Names:
    """This run's unique names and the labels they are shown as."""

    def __init__(self, *labels: str) -> None:
        run = uuid.uuid4().hex[:8]
        self.real = {label: f"diff-quota-{label}-{run}" for label in labels}
        raw = bytes.fromhex(run)
        # An address of the benchmarking range (198.18.0.0/15), which no test connects from.
        self.real["I"] = f"198.{18 + raw[0] % 2}.{raw[1]}.{raw[2]}"
        self.label = {v: k for k, v in self.real.items()}
        # Changed last to know a broker has caught up (`_settle`); never compared.
        self.barrier: Entity = (("user", f"diff-quota-barrier-{run}"),)
        self.settled = 0

    def __getitem__(self, label: str) -> str:
        return self.real[label]

    def shown(self, text: str | None) -> str | None:
        for real in sorted(self.label, key=len, reverse=True):
            text = None if text is None else text.replace(real, self.label[real])
        return text

    def ours(self, entity: Any, barrier: bool = False) -> bool:
        mine = {*self.label, self.barrier[0][1]} if barrier else self.label
        return any(e.entity_name in mine for e in entity)


def _send(
    cluster: Cluster, api: int, version: int, client_id: str, **fields: Any
) -> tuple[int, Any]:
    """One request on a fresh connection, `client_id` in its header: (size, answer), the
    size being what Kafka's produce quota counts (header and body, no length prefix)."""
    module = load_payload_module(api, version, EntityType.request)
    cls = next(
        v
        for v in vars(module).values()
        if getattr(v, "__type__", None) is EntityType.request and v.__module__ == module.__name__
    )
    request = cls(**fields)
    name = client_id.encode()
    header = struct.pack(">hhih", api, version, 1, len(name)) + name
    payload = header + (b"\x00" if cls.__flexible__ else b"") + encode(request)
    reply = exchange(cluster.bootstrap, struct.pack(">i", len(payload)) + payload)
    assert isinstance(reply, bytes), reply
    # Response header v1 (flexible) is the correlation id and an empty tag section.
    return len(payload), decode(
        _response_cls(api, version), reply[5:] if cls.__flexible__ else reply[4:]
    )


def _alter(
    cluster: Cluster, entries: Sequence[tuple[Entity, Sequence[Op]]], only: bool, v: int = 1
) -> Any:
    m = load_payload_module(ALTER, v, EntityType.request)
    return _send(
        cluster, ALTER, v, "diff-quotas", validate_only=only,
        entries=tuple(
            m.EntryData(
                entity=tuple(m.EntityData(entity_type=t, entity_name=n) for t, n in entity),
                ops=tuple(m.OpData(key=k, value=x, remove=r) for k, x, r in ops),
            )
            for entity, ops in entries
        ),
    )[1]  # fmt: skip


def _entity(entity: Any, names: _Names) -> list[tuple[str, str | None]]:
    return sorted(((e.entity_type, names.shown(e.entity_name)) for e in entity), key=repr)


def _answered(response: Any, names: _Names) -> list[Any]:
    return sorted(
        (
            (_entity(e.entity, names), int(e.error_code), names.shown(e.error_message))
            for e in response.entries
        ),
        key=repr,
    )


def _described(
    cluster: Cluster, names: _Names, filters: Sequence[Filter],
    strict: bool = False, v: int = 1,
) -> tuple[Any, ...]:  # fmt: skip
    """Code, message and this run's entities with their values (others' are left out)."""
    m = load_payload_module(DESCRIBE, v, EntityType.request)
    components = tuple(m.ComponentData(entity_type=t, match_type=k, match=x) for t, k, x in filters)
    _, answer = _send(cluster, DESCRIBE, v, "diff-quotas", components=components, strict=strict)
    entries = sorted(
        (
            (_entity(e.entity, names), sorted((x.key, x.value) for x in e.values))
            for e in answer.entries or ()
            if names.ours(e.entity)
        ),
        key=repr,
    )
    return int(answer.error_code), answer.error_message, entries


def _mine(cluster: Cluster, names: _Names, barrier: bool = False) -> list[Any]:
    """The entries of this run's entities in an unfiltered describe."""
    _, answer = _send(cluster, DESCRIBE, 1, "diff-quotas", components=(), strict=False)
    return [e for e in answer.entries or () if names.ours(e.entity, barrier)]


def _settle(cluster: Cluster, names: _Names) -> None:
    """Until the broker shows every quota change made so far. Kafka's brokers describe and
    enforce quotas from their copy of the metadata log, which follows the controller's
    AlterClientQuotas answer a moment later, in order: a last change seen means all are."""
    names.settled += 1
    _alter(cluster, [(names.barrier, _set(("request_percentage", names.settled)))], False)
    deadline = time.monotonic() + 10
    # (A broker that never shows it is left to the comparison to point out.)
    while time.monotonic() < deadline:
        shown = [x.value for e in _mine(cluster, names, True) for x in e.values]
        if names.settled in shown:
            return
        time.sleep(0.05)  # polling the reference's metadata, not waiting for time


@contextlib.contextmanager
def _removing_afterwards(cluster: Cluster, names: _Names) -> Iterator[None]:
    """Whatever quota this run left on an entity of its own is removed, whatever failed."""
    try:
        yield
    finally:
        _settle(cluster, names)
        _alter(cluster, [
            (tuple((x.entity_type, x.entity_name) for x in e.entity),
             [(x.key, 0.0, True) for x in e.values])
            for e in _mine(cluster, names, barrier=True)
        ], only=False)  # fmt: skip
        deadline = time.monotonic() + 10
        while _mine(cluster, names, barrier=True) and time.monotonic() < deadline:
            time.sleep(0.05)  # as in `_settle`
        assert _mine(cluster, names, barrier=True) == [], "quotas left behind"


def _set(*ops: tuple[str, float]) -> list[Op]:
    return [(k, x, False) for k, x in ops]


def _validation_scenario(cluster: Cluster) -> dict[str, Any]:
    n = _Names("U", "pct", "unset", "dup", "key", "a", "b", "vo", "ok", "bad", "zero", "frac", "v0")
    out: dict[str, Any] = {}

    def user(label: str) -> Entity:
        return (("user", n[label]),)

    def case(label: str, *entries: tuple[Entity, list[Op]], only: bool = False, v: int = 1) -> None:
        out[label] = _answered(_alter(cluster, entries, only, v), n)

    ip, ccr, one = (("ip", n["I"]),), "connection_creation_rate", (P, 1024.0)
    with _removing_afterwards(cluster, n):
        case("empty entity", ((), _set(one)))
        case("unknown type", ((("bogus", n["U"]),), _set(one)))
        case("empty user", ((("user", ""),), _set(one)))
        case("empty client-id", ((("client-id", ""),), _set(one)))
        case("ip with user", ((*ip, ("user", n["U"])), _set(one)))
        case("not an ip", ((("ip", "not an ip!"),), _set((ccr, 5))))
        case("unknown key", (user("U"), _set(("bogus_rate", 5))))
        case("zero", (user("U"), _set((P, 0))))
        case("negative", (user("U"), _set((P, -5))))
        case("fractional long", (user("U"), _set((P, 1.5))))
        case("over Long.MAX", (user("U"), _set((P, 1e19))))
        # Kafka compares with Long.MAX_VALUE as a double: 2^63 itself passes.
        case("2^63", (user("U"), _set((P, 2.0**63))), only=True)
        nan, inf = _set((P, float("nan"))), _set((C, float("inf")))
        case("not finite", (user("U"), nan), ((("client-id", n["U"]),), inf))
        case("byte rate on ip", (ip, _set(one)))
        case("connection rate on user", (user("U"), _set((ccr, 5))))
        case("connection rate over INT", (ip, _set((ccr, 2.0**31))))
        case("connection rate INT.MAX + 0.5", (ip, _set((ccr, 2**31 - 0.5))))
        case("connection rate fractional", (ip, _set((ccr, 2.5))))
        case("request_percentage 12.5", (user("pct"), _set(("request_percentage", 12.5))))
        case("remove unset", (user("unset"), [(P, 0.0, True)]))
        case("key twice", (user("key"), _set((P, 1024), (P, 2048))))
        pct = ("request_percentage", 22)
        # Kafka applies the first and answers the entity once, with the second's refusal.
        case("entity twice", (user("dup"), _set((C, 1111))), (user("dup"), _set(pct)))
        case("user twice in entity", ((("user", n["a"]), ("user", n["b"])), _set(one)))
        case("validate only", (user("vo"), _set(one)), only=True)
        # Defaults are only ever validated: a stored default would throttle other tests.
        case(
            "defaults and odd addresses, validate only",
            ((("user", None),), _set(one)), ((("client-id", None),), _set(one)),
            ((("user", None), ("client-id", None)), _set(one)),
            ((("ip", None),), _set((ccr, 5))), ((("ip", "198.18.0.01"),), _set((ccr, 5))),
            ((("ip", "::ffff:198.18.0.1"),), _set((ccr, 5))), only=True,
        )  # fmt: skip
        case("one bad of three", (user("ok"), _set(one)), (user("bad"), _set(("bogus", 1))),
             ((("client-id", n["zero"]),), _set((C, 0))))  # fmt: skip
        case("v0, one bad of two", (user("frac"), _set((P, 2.5))),
             ((("client-id", n["v0"]),), _set((C, 5))), v=0)  # fmt: skip
        # What the cases stored: only the good entries of applied requests.
        _settle(cluster, n)
        out["stored"] = _described(cluster, n, ())
    return out


def test_alter_client_quotas_refusals(clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(clusters, _validation_scenario)
    assert_same(seen)


def _describe_scenario(cluster: Cluster) -> dict[str, Any]:
    n, out = _Names("U", "C"), dict[str, Any]()
    user, client, ip = ("user", n["U"]), ("client-id", n["C"]), ("ip", n["I"])
    rates = _set((P, 1024), (C, 2048))
    with _removing_afterwards(cluster, n):
        out["set"] = _answered(_alter(cluster, [
            ((user,), rates), ((client,), rates), ((user, client), rates),
            ((user, ("client-id", None)), rates), ((ip,), rates),
        ], only=False), n)  # fmt: skip
        out["set ip"] = _answered(
            _alter(cluster, [((ip,), _set(("connection_creation_rate", 10)))], False), n
        )
        _settle(cluster, n)

        def look(label: str, *filters: Filter, strict: bool = False, v: int = 1) -> None:
            out[label] = _described(cluster, n, filters, strict, v)

        u, c = ("user", EXACT, n["U"]), ("client-id", EXACT, n["C"])
        look("user U", u)
        look("user U, strict", u, strict=True)
        look("user U, v0", u, v=0)
        # A default client-id is a specified one too, for Kafka.
        look("client-id specified", ("client-id", SPECIFIED, None))
        look("client-id default", ("client-id", DEFAULT, None))
        look("client-id default, strict", ("client-id", DEFAULT, None), strict=True)
        look("user U and client-id C", u, c)
        look("user U and client-id C, strict", u, c, strict=True)
        look("user U and default client-id, strict", u, ("client-id", DEFAULT, None), strict=True)
        look("ip I", ("ip", EXACT, n["I"]))
        look("ip specified", ("ip", SPECIFIED, None))
        look("all")
        out["remove"] = _answered(_alter(cluster, [
            ((user,), [(P, 0, True)]), ((client,), [(P, 0, True), (C, 0, True)]),
            ((user, ("client-id", None)), [(P, 0, True), (C, 0, True)]),
        ], only=False), n)  # fmt: skip
        _settle(cluster, n)
        look("all after removing")
    return out


def test_client_quotas_set_and_described(clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(clusters, _describe_scenario)
    assert_same(seen)
    assert ([("client-id", "C")], [(C, 2048.0), (P, 1024.0)]) in seen["kafka"]["all"][2]


def _tool(bootstrap: str, *args: str) -> tuple[int, list[str]]:
    """Return code, printed lines and the cause of an error (its stack trace left out)."""
    done = subprocess.run(
        java_command(
            "org.apache.kafka.tools.ConfigCommand", ["--bootstrap-server", bootstrap, *args]
        ),
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    printed = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return done.returncode, printed + [
        line for line in done.stderr.splitlines() if line.startswith("Caused by:")
    ]


def _tool_scenario(cluster: Cluster) -> list[Any]:
    n = _Names("U", "C")
    client = ["--entity-type", "clients", "--entity-name", n["C"]]
    pair = ["--entity-type", "users", "--entity-name", n["U"], *client]
    steps = [
        ["--alter", *client, "--add-config", f"{P}=1024,{C}=2048"],
        ["--describe", *client],
        ["--alter", *pair, "--add-config", "request_percentage=50"],
        ["--describe", *pair],
        ["--alter", *client, "--delete-config", P],
        ["--describe", *client],
        ["--alter", *client, "--add-config", f"{P}=0"],
        ["--alter", *client, "--delete-config", C],
        ["--alter", *pair, "--delete-config", "request_percentage"],
        ["--describe", *client],
    ]
    with _removing_afterwards(cluster, n):
        runs = []
        for step in steps:
            runs.append(_tool(cluster.bootstrap, *step))
            if step[0] == "--alter":
                _settle(cluster, n)
    return [(code, [n.shown(line) for line in lines]) for code, lines in runs]


def test_kafka_configs_quotas_print_the_same(clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(clusters, _tool_scenario)
    assert_same(seen)
    assert seen["kafka"][1] == (
        0, ["Quota configs for client-id 'C' are consumer_byte_rate=2048.0, producer_byte_rate=1024.0"]
    )  # fmt: skip


def _on_clients(cluster: Cluster, names: _Names, key: str, *labels: str) -> list[Any]:
    """`key` = 1024 on these client ids, waited for until the broker enforces it."""
    ops = [((("client-id", names[label]),), _set((key, 1024))) for label in labels]
    answer = _answered(_alter(cluster, ops, only=False), names)
    _settle(cluster, names)
    return answer


def _produce(cluster: Cluster, topic: str, client_id: str, size: int) -> tuple[int, int, list[int]]:
    """A Produce v9 of one batch, acks=1: (request size, throttle_time_ms, error codes)."""
    m = load_payload_module(PRODUCE, 9, EntityType.request)
    data = m.PartitionProduceData(index=0, records=record_batch([b"v" * size]))
    size, answer = _send(
        cluster, PRODUCE, 9, client_id, transactional_id=None, acks=1,
        timeout=datetime.timedelta(seconds=10),
        topic_data=(m.TopicProduceData(name=topic, partition_data=(data,)),),
    )  # fmt: skip
    codes = [int(p.error_code) for t in answer.responses for p in t.partition_responses]
    return size, answer.throttle_time // datetime.timedelta(milliseconds=1), codes


def _produce_scenario(cluster: Cluster) -> dict[str, Any]:
    n, out = _Names("over", "under"), dict[str, Any]()
    topic = unique_topic("quota-produce")
    create_topic(cluster, topic)
    with _removing_afterwards(cluster, n):
        out["set"] = _on_clients(cluster, n, P, "over", "under")
        # A new quota sensor measures over its 11 windows of 1 s as if 10 s had passed.
        out["40 KB over 1024 B/s"] = _produce(cluster, topic, n["over"], 40_000)
        out["2 KB under 1024 B/s"] = _produce(cluster, topic, n["under"], 2_000)
    return out


def test_produce_throttled_as_kafka(clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(clusters, _produce_scenario)
    assert_same(seen)
    size, throttle, _ = seen["kafka"]["40 KB over 1024 B/s"]
    # Kafka: (rate - quota) / quota * window, the rate being size / 10 s, window 10 s.
    assert throttle == round((size / 10 - 1024) / 1024 * 10_000) > 0
    assert seen["kafka"]["2 KB under 1024 B/s"][1] == 0


def _fetch(cluster: Cluster, topic: str, client_id: str, offset: int, limit: int) -> Any:
    """A full Fetch v12 (no session): (partitions, record bytes, error code, throttled)."""
    answer = _fetch_answer(cluster, topic, client_id, offset, limit)
    parts = [p for t in answer.responses for p in t.partitions]
    size = sum(len(p.records or b"") for p in parts)
    return len(parts), size, int(answer.error_code), answer.throttle_time > datetime.timedelta(0)


def _fetch_answer(cluster: Cluster, topic: str, client_id: str, offset: int, limit: int) -> Any:
    """The answer to a full Fetch v12 (no session) of partition 0."""
    m = load_payload_module(FETCH, 12, EntityType.request)
    partition = m.FetchPartition(
        partition=0, current_leader_epoch=-1, fetch_offset=offset, last_fetched_epoch=-1,
        log_start_offset=-1, partition_max_bytes=limit,
    )  # fmt: skip
    _, answer = _send(
        cluster, FETCH, 12, client_id, cluster_id=None, replica_id=-1,
        max_wait=datetime.timedelta(milliseconds=10), min_bytes=0, max_bytes=1 << 20,
        isolation_level=0, session_id=0, session_epoch=-1,
        topics=(m.FetchTopic(topic=topic, partitions=(partition,)),),
        forgotten_topics_data=(), rack_id="",
    )  # fmt: skip
    return answer


def _fetch_scenario(cluster: Cluster) -> dict[str, Any]:
    n, out = _Names("big", "small"), dict[str, Any]()
    topic = unique_topic("quota-fetch")
    create_topic(cluster, topic)
    for _ in range(30):  # 60 KB in batches of exactly 2048 bytes, under a client id of no quota
        assert _produce(cluster, topic, "diff-quota-filler", BATCH_VALUE)[2] == [0]
    with _removing_afterwards(cluster, n):
        out["set"] = _on_clients(cluster, n, C, "big", "small")
        # Kafka caps the fetch at quota x 10 s = 10240 bytes of records; the answer, a
        # little more than that, is over quota at once, so Kafka sends it empty (no
        # partitions) and forgets it: every such fetch is throttled and gets nothing.
        out["1 MB limit"] = [_fetch(cluster, topic, n["big"], 0, 1 << 20) for _ in range(2)]
        # Two batches a fetch: the third brings the 10 s total over 10240 bytes.
        out["4 KB limit"] = [_fetch(cluster, topic, n["small"], o, 4096) for o in (0, 2, 4)]
    return out


def test_fetch_throttled_as_kafka(clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(clusters, _fetch_scenario)
    assert_same(seen)
    assert seen["kafka"]["1 MB limit"] == [(0, 0, 0, True)] * 2
    assert seen["kafka"]["4 KB limit"] == [(1, 4096, 0, False)] * 2 + [(0, 0, 0, True)]


def _waited(answer: Any) -> int:
    return answer.throttle_time // datetime.timedelta(milliseconds=1)


def _requests_of(cluster: Cluster, topic: str, client_id: str) -> dict[str, Any]:
    """One request of several kinds from `client_id`, each on a fresh connection: what
    each answer says about the wait (and what a Fetch carried)."""
    out: dict[str, Any] = {}
    out["produce: wait, errors"] = _produce(cluster, topic, client_id, 100)[1:]
    fetched = _fetch_answer(cluster, topic, client_id, 0, 1 << 20)
    out["fetch: wait, partitions"] = (_waited(fetched), len(fetched.responses))
    m = load_payload_module(METADATA, 12, EntityType.request)
    _, meta = _send(
        cluster, METADATA, 12, client_id, allow_auto_topic_creation=False,
        include_topic_authorized_operations=False,
        topics=(m.MetadataRequestTopic(topic_id=None, name=topic),),
    )  # fmt: skip
    out["metadata v12"] = _waited(meta)
    out["api versions v2"] = _waited(_send(cluster, API_VERSIONS, 2, client_id)[1])
    m = load_payload_module(CREATE_TOPICS, 7, EntityType.request)
    new = m.CreatableTopic(
        name=f"{topic}-new", num_partitions=1, replication_factor=1, assignments=(), configs=()
    )
    _, created = _send(
        cluster, CREATE_TOPICS, 7, client_id, topics=(new,),
        timeout=datetime.timedelta(seconds=10), validate_only=True,
    )  # fmt: skip
    out["create topics v7, validate only"] = (
        _waited(created),
        [int(t.error_code) for t in created.topics],
    )
    return out


def _request_percentage_scenario(cluster: Cluster) -> dict[str, Any]:
    n, out = _Names("busy", "idle"), dict[str, Any]()
    topic = unique_topic("quota-requests")
    create_topic(cluster, topic)
    with _removing_afterwards(cluster, n):
        out["set"] = _answered(
            _alter(cluster, [((("client-id", n["busy"]),), _set((R, 1e-6)))], only=False), n
        )
        _settle(cluster, n)
        # A millionth of a percent of one thread: a tenth of a microsecond of handling
        # over the first 10 s measured. The first request puts the client over it, and
        # Kafka bounds the request quota's wait by one window, 1 s.
        out["busy"] = _requests_of(cluster, topic, n["busy"])
        out["idle"] = _requests_of(cluster, topic, n["idle"])
    return out


def test_request_percentage_throttled_as_kafka(clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(clusters, _request_percentage_scenario)
    assert_same(seen)
    assert seen["kafka"]["busy"]["produce: wait, errors"] == (1000, [0])
    assert seen["kafka"]["busy"]["metadata v12"] == 1000
    assert seen["kafka"]["busy"]["fetch: wait, partitions"] == (1000, 0)
    assert seen["kafka"]["idle"]["metadata v12"] == 0


def _too_many_scenario(cluster: Cluster) -> dict[str, Any]:
    """Kafka's controller writes at most 10,000 records for one request: one more refuses
    every entry (validate-only, so nothing is stored either way)."""
    out: dict[str, Any] = {}
    run = uuid.uuid4().hex[:8]
    for count in (10_000, 10_001):
        entries = [
            ((("user", f"diff-quota-many-{run}-{i}"),), _set((P, 1024.0))) for i in range(count)
        ]
        answer = _alter(cluster, entries, True)
        out[str(count)] = (
            len(answer.entries),
            sorted({(int(e.error_code), e.error_message) for e in answer.entries}, key=repr),
        )
    return out


def test_alter_client_quotas_too_many_records(clusters: tuple[Cluster, Cluster]) -> None:
    assert_same(observe(clusters, _too_many_scenario))
