"""Consumer groups through the Kafka protocol: listing, lag, offset resets, deletions.

Owns every cluster call the groups pages and the lag sampler make. Functions take a plain
confluent-kafka config dict (`ClusterConfig.client_config()`), so they work the same
against the bundled broker and any Kafka. Lag in time is the age of the first record the
group has not consumed yet, read with a short-lived consumer that never joins a group and
never commits. This module must never touch the database nor Django settings, and never
change a group that has active members.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

Conf = dict[str, Any]
TP = tuple[str, int]

DEFAULT_TIMEOUT = 5.0
# A group that never joins: the peek consumer only assigns partitions, it never commits.
PEEK_GROUP = "odradek-console-peek"
# States in which a group has nobody consuming, so its offsets may be changed.
IDLE_STATES = {"EMPTY", "DEAD"}


class GroupError(RuntimeError):
    """A cluster call about groups failed; the message is meant for a person."""


class ResetRefused(GroupError):
    """The reset (or deletion) may not happen now; the message says why."""


@dataclass(frozen=True)
class GroupListing:
    group_id: str
    state: str
    type: str
    is_simple: bool


@dataclass(frozen=True)
class Member:
    member_id: str
    client_id: str
    host: str
    assignment: tuple[TP, ...]


@dataclass(frozen=True)
class GroupDescription:
    group_id: str
    state: str
    type: str
    protocol: str
    coordinator: str
    members: tuple[Member, ...]

    @property
    def is_active(self) -> bool:
        return bool(self.members) or self.state not in IDLE_STATES


@dataclass(frozen=True)
class PartitionLag:
    """Where a group stands on one partition; `None` means "unknown / not committed"."""

    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int | None
    lag_ms: int | None
    member: Member | None = None


@dataclass
class GroupLag:
    description: GroupDescription
    partitions: list[PartitionLag]
    measured_at_ms: int

    @property
    def total_lag(self) -> int:
        return sum(p.lag or 0 for p in self.partitions)

    @property
    def max_lag_ms(self) -> int | None:
        values = [p.lag_ms for p in self.partitions if p.lag_ms is not None]
        return max(values) if values else None

    @property
    def topics(self) -> list[str]:
        return sorted({p.topic for p in self.partitions})


_ADMINS: dict[tuple[tuple[str, str], ...], AdminClient] = {}
_ADMINS_LOCK = threading.Lock()


def _admin(conf: Conf) -> AdminClient:
    """One long-lived AdminClient per cluster config: connecting costs more than asking,
    and a client must outlive the futures it returned (a dropped one cancels them)."""
    key = tuple(sorted((k, str(v)) for k, v in conf.items()))
    with _ADMINS_LOCK:
        admin = _ADMINS.get(key)
        if admin is None:
            admin = _ADMINS[key] = AdminClient(conf)
        return admin


def _wait(future: Future[Any], timeout: float, what: str) -> Any:
    try:
        return future.result(timeout=timeout)
    except KafkaException as exc:
        raise GroupError(f"{what}: {_reason(exc)}") from exc
    except TimeoutError as exc:
        raise GroupError(f"{what}: the cluster did not answer within {timeout:g} s") from exc


def _reason(exc: KafkaException) -> str:
    err = exc.args[0] if exc.args else None
    if isinstance(err, KafkaError):
        return err.str() or err.name()
    return str(exc)


def _enum_name(value: Any) -> str:
    return str(getattr(value, "name", value)).upper()


# --- listing and describing ----------------------------------------------------------


def list_groups(conf: Conf, timeout: float = DEFAULT_TIMEOUT) -> list[GroupListing]:
    """Every consumer group the cluster knows, sorted by id."""
    result = _wait(
        _admin(conf).list_consumer_groups(request_timeout=timeout), timeout, "listing groups"
    )
    if result.errors and not result.valid:
        # librdkafka answers "no groups, and these errors" rather than failing outright.
        raise GroupError(f"listing groups: {_reason(KafkaException(result.errors[0]))}")
    listings = [
        GroupListing(
            group_id=g.group_id,
            state=_enum_name(g.state),
            type=_enum_name(g.type),
            is_simple=bool(g.is_simple_consumer_group),
        )
        for g in result.valid
    ]
    return sorted(listings, key=lambda g: g.group_id)


def list_share_groups(conf: Conf, timeout: float = DEFAULT_TIMEOUT) -> list[GroupListing]:
    """Share groups (KIP-932), which librdkafka's listing leaves out.

    Asked through kafka-python's ListGroups with a type filter. A broker without share
    groups (or too old for the filter) simply has none, so any refusal gives [].
    """
    from kafka.admin import KafkaAdminClient

    try:
        admin = KafkaAdminClient(
            **_kafka_python_config(conf), request_timeout_ms=int(timeout * 1000)
        )
    except Exception as exc:  # kafka-python's own hierarchy: unreachable, auth…
        raise GroupError(f"listing share groups: {exc}") from exc
    try:
        found = admin.list_groups(types_filter=["share"])
    except Exception:  # unsupported version or filter: this cluster has no share groups
        return []
    finally:
        admin.close()
    return sorted(
        (
            GroupListing(
                group_id=g["group_id"],
                state=str(g.get("group_state") or "UNKNOWN").upper(),
                type="SHARE",
                is_simple=False,
            )
            for g in found
            if str(g.get("group_type") or g.get("protocol_type")).lower() == "share"
        ),
        key=lambda g: g.group_id,
    )


def describe_groups(
    conf: Conf, group_ids: Sequence[str], timeout: float = DEFAULT_TIMEOUT
) -> dict[str, GroupDescription]:
    if not group_ids:
        return {}
    futures = _admin(conf).describe_consumer_groups(list(group_ids), request_timeout=timeout)
    out: dict[str, GroupDescription] = {}
    for group_id, future in futures.items():
        d = _wait(future, timeout, f"describing group {group_id!r}")
        members = tuple(
            Member(
                member_id=m.member_id,
                client_id=m.client_id,
                host=m.host.lstrip("/"),
                assignment=tuple(
                    sorted((tp.topic, tp.partition) for tp in m.assignment.topic_partitions)
                ),
            )
            for m in d.members
        )
        coordinator = d.coordinator
        out[group_id] = GroupDescription(
            group_id=group_id,
            state=_enum_name(d.state),
            type=_enum_name(getattr(d, "type", "UNKNOWN")),
            protocol=d.partition_assignor or "",
            coordinator=f"{coordinator.host}:{coordinator.port}" if coordinator else "",
            members=members,
        )
    return out


def describe_group(conf: Conf, group_id: str, timeout: float = DEFAULT_TIMEOUT) -> GroupDescription:
    return describe_groups(conf, [group_id], timeout)[group_id]


def committed_offsets(
    conf: Conf, group_ids: Sequence[str], timeout: float = DEFAULT_TIMEOUT
) -> dict[str, dict[TP, int]]:
    """Committed offsets of each group (all its partitions), asked for concurrently."""
    admin = _admin(conf)
    # librdkafka takes one group per request; the requests still fly in parallel.
    futures = {
        g: admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(g)], request_timeout=timeout
        )[g]
        for g in group_ids
    }
    out: dict[str, dict[TP, int]] = {}
    for g, future in futures.items():
        result = _wait(future, timeout, f"reading committed offsets of {g!r}")
        out[g] = {
            (tp.topic, tp.partition): tp.offset
            for tp in result.topic_partitions or []
            if tp.offset >= 0 and tp.error is None
        }
    return out


_META: dict[tuple[tuple[str, str], ...], tuple[threading.Lock, Consumer]] = {}
_LEADER_MOVING = {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE}
# ListOffsets "timestamps" with a meaning of their own.
LATEST, EARLIEST = -1, -2


def _meta_consumer(conf: Conf) -> tuple[threading.Lock, Consumer]:
    """A long-lived consumer used only for ListOffsets: `offsets_for_times` asks for
    every partition in one synchronous call, where the AdminClient makes a future per
    partition (a third of a 1,000-partition page's time). It never subscribes or commits.
    """
    key = tuple(sorted((k, str(v)) for k, v in conf.items()))
    with _ADMINS_LOCK:
        entry = _META.get(key)
        if entry is None:
            consumer = Consumer(
                {**conf, "group.id": "odradek-console-offsets", "enable.auto.commit": False}
            )
            entry = _META[key] = (threading.Lock(), consumer)
        return entry


def _offsets(
    conf: Conf, tps: Iterable[TP], timestamp: int, timeout: float, what: str, partial: bool = False
) -> dict[TP, int]:
    """Offsets per partition; with `partial`, partitions the broker refused are left out
    (a group may still hold offsets for a topic deleted since)."""
    request = [TopicPartition(t, p, timestamp) for t, p in tps]
    if not request:
        return {}
    lock, consumer = _meta_consumer(conf)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with lock:
                answers = consumer.offsets_for_times(
                    request, timeout=max(0.1, deadline - time.monotonic())
                )
            break
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            # A fresh topic may not have its leaders yet ("not leader for partition"):
            # that passes in a moment, so retry while the time allows.
            passing = isinstance(err, KafkaError) and (
                err.retriable() or err.code() in _LEADER_MOVING
            )
            if not passing or time.monotonic() > deadline - 0.2:
                raise GroupError(f"{what}: {_reason(exc)}") from exc
            time.sleep(0.1)
    out: dict[TP, int] = {}
    for tp in answers:
        if tp.error is None:
            out[(tp.topic, tp.partition)] = tp.offset
        elif not partial:
            raise GroupError(f"{what} of {tp.topic}[{tp.partition}]: {tp.error.str()}")
    return out


def end_offsets(
    conf: Conf, tps: Iterable[TP], timeout: float = DEFAULT_TIMEOUT, *, partial: bool = False
) -> dict[TP, int]:
    return _offsets(conf, tps, LATEST, timeout, "log end", partial)


def start_offsets(conf: Conf, tps: Iterable[TP], timeout: float = DEFAULT_TIMEOUT) -> dict[TP, int]:
    return _offsets(conf, tps, EARLIEST, timeout, "log start")


def offsets_for_time(
    conf: Conf, tps: Iterable[TP], timestamp_ms: int, timeout: float = DEFAULT_TIMEOUT
) -> dict[TP, int]:
    """First offset whose timestamp is >= `timestamp_ms`; -1 where no record is that new."""
    return _offsets(conf, tps, timestamp_ms, timeout, "offset by time")


def partitions_of(conf: Conf, topic: str, timeout: float = DEFAULT_TIMEOUT) -> list[int]:
    """Partition numbers of `topic`; raises `GroupError` if the topic does not exist."""
    try:
        # All topics, not `topic=`: a broker that ignores allow_auto_topic_creation would
        # create the topic just because someone mistyped its name in a form.
        md = _admin(conf).list_topics(timeout=timeout)
    except KafkaException as exc:
        raise GroupError(f"reading topic {topic!r}: {_reason(exc)}") from exc
    info = md.topics.get(topic)
    if info is None or info.error is not None:
        raise GroupError(f"topic {topic!r} does not exist on this cluster")
    return sorted(info.partitions)


# --- record timestamps (lag in time) ---------------------------------------------------

_TS_CACHE: OrderedDict[tuple[str, str, int, int], tuple[float, int | None]] = OrderedDict()
_TS_CACHE_MAX = 50_000
# A record never changes at an offset, but a topic deleted and re-created reuses offsets.
_TS_CACHE_TTL_S = 600.0


def record_timestamps(
    conf: Conf, positions: dict[TP, int], timeout: float = DEFAULT_TIMEOUT
) -> dict[TP, int | None]:
    """Timestamp (ms) of the first record at or after each offset; None at the log end.

    One consumer assigned to every partition reads one record from each, then stops.
    Results are cached per (cluster, partition, offset): a record at an offset is fixed.
    """
    bootstrap = str(conf.get("bootstrap.servers", ""))
    now = time.monotonic()
    out: dict[TP, int | None] = {}
    missing: dict[TP, int] = {}
    for tp, offset in positions.items():
        hit = _TS_CACHE.get((bootstrap, tp[0], tp[1], offset))
        if hit is not None and now - hit[0] < _TS_CACHE_TTL_S:
            out[tp] = hit[1]
        else:
            missing[tp] = offset
    if missing:
        found = _peek(conf, missing, timeout)
        for tp, ts in found.items():
            out[tp] = ts
            _TS_CACHE[(bootstrap, tp[0], tp[1], missing[tp])] = (now, ts)
        while len(_TS_CACHE) > _TS_CACHE_MAX:
            _TS_CACHE.popitem(last=False)
    return out


def clear_timestamp_cache() -> None:
    """Forget every cached record timestamp (benchmarks measure the cold path with it)."""
    _TS_CACHE.clear()


def _peek(conf: Conf, positions: dict[TP, int], timeout: float) -> dict[TP, int | None]:
    consumer = Consumer(
        {
            **conf,
            "group.id": PEEK_GROUP,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "fetch.wait.max.ms": 10,
            # One record per partition is all we want; keep every partition's fetch small.
            "max.partition.fetch.bytes": 65536,
            "isolation.level": "read_uncommitted",
            # A position below the log start (records deleted by retention) reads the
            # oldest record still kept: that is the first one the group will get.
            "auto.offset.reset": "earliest",
        }
    )
    out: dict[TP, int | None] = {}
    try:
        consumer.assign([TopicPartition(t, p, o) for (t, p), o in positions.items()])
        deadline = time.monotonic() + timeout
        while len(out) < len(positions) and time.monotonic() < deadline:
            done = []
            for msg in consumer.consume(num_messages=10_000, timeout=0.05):
                key = (msg.topic(), msg.partition())
                if key in out or key not in positions:
                    continue
                err = msg.error()
                if err is None:
                    _kind, ts = msg.timestamp()
                    out[key] = ts if ts >= 0 else None
                elif err.code() == KafkaError._PARTITION_EOF:
                    out[key] = None
                else:
                    continue
                done.append(TopicPartition(*key))
            if done:
                consumer.pause(done)
    finally:
        consumer.close()
    for tp in positions:
        out.setdefault(tp, None)
    return out


# --- lag -------------------------------------------------------------------------------


def group_lag(
    conf: Conf,
    group_id: str,
    *,
    now_ms: int | None = None,
    with_time: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> GroupLag:
    """Members, and per partition committed offset, log end, lag in messages and in time.

    Partitions appear if the group committed an offset for them or a member is assigned
    them (an assigned partition without a commit shows lag unknown).
    """
    desc = describe_group(conf, group_id, timeout)
    committed = committed_offsets(conf, [group_id], timeout)[group_id]
    return lag_from(conf, desc, committed, now_ms=now_ms, with_time=with_time, timeout=timeout)


def lag_from(
    conf: Conf,
    desc: GroupDescription,
    committed: dict[TP, int],
    *,
    now_ms: int | None = None,
    with_time: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    ends: dict[TP, int] | None = None,
) -> GroupLag:
    owner = {tp: m for m in desc.members for tp in m.assignment}
    tps = sorted(set(committed) | set(owner))
    ends = ends if ends is not None else end_offsets(conf, tps, timeout, partial=True)
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    behind = {
        tp: committed[tp] for tp in tps if tp in committed and ends.get(tp, -1) > committed[tp]
    }
    stamps = record_timestamps(conf, behind, timeout) if with_time and behind else {}
    rows = []
    for tp in tps:
        c = committed.get(tp)
        # -1: the broker gave no log end (the topic was deleted since the group read it).
        end = ends.get(tp, -1)
        lag = max(0, end - c) if c is not None and end >= 0 else None
        if lag == 0:
            lag_ms: int | None = 0
        elif tp in stamps and stamps[tp] is not None:
            lag_ms = max(0, now_ms - int(stamps[tp] or 0))
        else:
            lag_ms = None
        rows.append(PartitionLag(tp[0], tp[1], c, end, lag, lag_ms, owner.get(tp)))
    return GroupLag(description=desc, partitions=rows, measured_at_ms=now_ms)


def all_groups_lag(
    conf: Conf,
    *,
    now_ms: int | None = None,
    with_time: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[GroupLag]:
    """Lag of every group, with one describe, one end-offsets and one peek for them all."""
    ids = [g.group_id for g in list_groups(conf, timeout)]
    if not ids:
        return []
    descs = describe_groups(conf, ids, timeout)
    committed = committed_offsets(conf, ids, timeout)
    every_tp: set[TP] = set()
    for g in ids:
        every_tp |= set(committed[g])
        every_tp |= {tp for m in descs[g].members for tp in m.assignment}
    ends = end_offsets(conf, every_tp, timeout, partial=True)
    if with_time:
        _prefetch_timestamps(conf, committed, ends, timeout)
    return [
        lag_from(
            conf,
            descs[g],
            committed[g],
            now_ms=now_ms,
            with_time=with_time,
            timeout=timeout,
            ends=ends,
        )
        for g in ids
    ]


def _prefetch_timestamps(
    conf: Conf, committed: dict[str, dict[TP, int]], ends: dict[TP, int], timeout: float
) -> None:
    """Read the first unconsumed record of every group in as few consumers as possible.

    Groups on the same partition may sit at different offsets, so positions go in rounds
    (each round holds a partition once); the per-group lag then hits the cache.
    """
    wanted: dict[TP, set[int]] = {}
    for group_offsets in committed.values():
        for tp, offset in group_offsets.items():
            if ends.get(tp, 0) > offset:
                wanted.setdefault(tp, set()).add(offset)
    rounds: list[dict[TP, int]] = []
    for tp, distinct in wanted.items():
        for i, offset in enumerate(sorted(distinct)):
            if i == len(rounds):
                rounds.append({})
            rounds[i][tp] = offset
    for positions in rounds:
        record_timestamps(conf, positions, timeout)


# --- deleting --------------------------------------------------------------------------


def delete_group(conf: Conf, group_id: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Delete an empty group (its committed offsets go with it)."""
    desc = describe_group(conf, group_id, timeout)
    if desc.members:
        raise ResetRefused(_active_reason(desc))
    futures = _admin(conf).delete_consumer_groups([group_id], request_timeout=timeout)
    _wait(futures[group_id], timeout, f"deleting group {group_id!r}")


def delete_group_offsets(
    conf: Conf, group_id: str, topic: str, timeout: float = DEFAULT_TIMEOUT
) -> list[int]:
    """Forget the group's committed offsets for one topic (OffsetDelete); returns partitions.

    librdkafka's Python binding lacks OffsetDelete, so this one call goes through
    kafka-python's admin client (the well-kept second client DESIGN allows).
    """
    desc = describe_group(conf, group_id, timeout)
    if any(tp[0] == topic for m in desc.members for tp in m.assignment):
        raise ResetRefused(
            f"group {group_id!r} has active members reading {topic!r}; stop them first"
        )
    committed = committed_offsets(conf, [group_id], timeout)[group_id]
    parts = sorted(p for (t, p) in committed if t == topic)
    if not parts:
        raise GroupError(f"group {group_id!r} has no committed offsets for {topic!r}")
    from kafka.admin import KafkaAdminClient
    from kafka.structs import TopicPartition as KTP

    admin = KafkaAdminClient(**_kafka_python_config(conf), request_timeout_ms=int(timeout * 1000))
    try:
        result = admin.delete_group_offsets(group_id, [KTP(topic, p) for p in parts])
    except Exception as exc:  # kafka-python raises its own hierarchy; surface its text
        raise GroupError(f"deleting offsets of {group_id!r} for {topic!r}: {exc}") from exc
    finally:
        admin.close()
    failed = {tp: err for tp, err in _as_items(result) if err is not None and _is_error(err)}
    if failed:
        raise GroupError(f"deleting offsets of {group_id!r}: {failed}")
    return parts


def _as_items(result: Any) -> list[tuple[Any, Any]]:
    if isinstance(result, dict):
        return list(result.items())
    return []


def _is_error(err: Any) -> bool:
    if isinstance(err, type) and issubclass(err, Exception):
        return getattr(err, "errno", 0) != 0
    return bool(getattr(err, "errno", 0)) or isinstance(err, Exception)


def _kafka_python_config(conf: Conf) -> dict[str, Any]:
    out: dict[str, Any] = {
        "bootstrap_servers": str(conf["bootstrap.servers"]).split(","),
        "security_protocol": conf.get("security.protocol", "PLAINTEXT"),
        "client_id": "odradek-console",
    }
    if "sasl.mechanism" in conf:
        out["sasl_mechanism"] = conf["sasl.mechanism"]
        out["sasl_plain_username"] = conf.get("sasl.username")
        out["sasl_plain_password"] = conf.get("sasl.password")
    if "ssl.ca.location" in conf:
        out["ssl_cafile"] = conf["ssl.ca.location"]
    return out


def _active_reason(desc: GroupDescription) -> str:
    clients = sorted({f"{m.client_id}@{m.host}" for m in desc.members})
    n = len(desc.members)
    word = "member" if n == 1 else "members"
    return (
        f"group {desc.group_id!r} has {n} active {word} ({', '.join(clients)}); "
        "stop its consumers first, then try again"
    )


# --- writing offsets (used by console.kafka.resets) ------------------------------------


@dataclass(frozen=True)
class AlterResult:
    applied: dict[TP, int] = field(default_factory=dict)


def alter_offsets(
    conf: Conf, group_id: str, offsets: dict[TP, int], timeout: float = DEFAULT_TIMEOUT
) -> AlterResult:
    """Commit `offsets` for an idle group; refuses while the group has active members."""
    desc = describe_group(conf, group_id, timeout)
    if desc.members or desc.state not in IDLE_STATES:
        if desc.members:
            raise ResetRefused(_active_reason(desc))
        raise ResetRefused(f"group {group_id!r} is {desc.state.lower()}; wait until it is empty")
    request = ConsumerGroupTopicPartitions(
        group_id, [TopicPartition(t, p, o) for (t, p), o in sorted(offsets.items())]
    )
    futures = _admin(conf).alter_consumer_group_offsets([request], request_timeout=timeout)
    result = _wait(futures[group_id], timeout, f"writing offsets of {group_id!r}")
    errors = [
        f"{tp.topic}[{tp.partition}]: {tp.error.str()}"
        for tp in result.topic_partitions or []
        if tp.error is not None
    ]
    if errors:
        raise GroupError("some offsets were refused: " + "; ".join(errors))
    return AlterResult(applied=dict(offsets))
