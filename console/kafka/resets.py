"""The reads an offset-reset preview needs, in as few rounds as the dependencies allow.

Owns `read_reset` — the committed offsets of the group (and of a group to copy from), the
partitions of the topics concerned, and their earliest, latest, oldest-record and by-time
offsets — and `stamps_at`, the timestamps of the records at chosen offsets. Requests that
do not depend on each other go out together through kafka-python's network thread
(`console.kafka.wire`): Metadata with FindCoordinator (or OffsetFetch, once the
coordinator is known), then OffsetFetch with every ListOffsets, then one Fetch per leader.
It must never decide where offsets go (`console.positions`) nor write any.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from console.kafka import bulk, records, wire
from console.kafka.config import ClusterConfig
from console.kafka.errors import COORDINATOR_MOVED, ClusterError, NotFound, readable
from console.kafka.model import TP

# Offsets looked up for every partition of a preview: where its kept range starts and
# ends, and the first record (whose timestamp ListOffsets answers along with it).
_KINDS = {"start": bulk.EARLIEST, "end": bulk.LATEST, "oldest": 0}
SETTLE_S = 0.1
FETCH_BYTES = 65536  # one record is all a preview wants; big enough for most batches


@dataclass
class ResetFacts:
    """Everything a preview is computed from, read before anything is computed."""

    committed: dict[str, dict[TP, int]] = field(default_factory=dict)
    partitions: dict[str, list[int]] = field(default_factory=dict)  # topic -> existing
    leaders: dict[TP, int] = field(default_factory=dict)
    starts: dict[TP, int] = field(default_factory=dict)
    ends: dict[TP, int] = field(default_factory=dict)
    # (offset, timestamp) of the first record, and of the first at or after the time asked.
    oldest: dict[TP, tuple[int, int]] = field(default_factory=dict)
    by_time: dict[TP, tuple[int, int]] = field(default_factory=dict)


def read_reset(
    cluster: ClusterConfig,
    group_ids: list[str],
    topic: str | None,
    partitions: list[int] | None,
    when_ms: int | None,
    topics: list[str] | None = None,
) -> ResetFacts:
    """Committed offsets of `group_ids`; the partitions of `topic`, or when `topic` is
    None of `topics` (if given; a share group's, which has no committed offsets) or of
    every topic the first group has committed offsets for, and the offsets of those among
    them in `partitions` (all when None)."""

    async def read(manager: Any) -> ResetFacts:
        return await _read(
            manager, group_ids, topic, partitions, when_ms, cluster.timeout_s, topics=topics
        )

    return wire.run(cluster, "read the group's offsets", read)


def committed(cluster: ClusterConfig, group_ids: list[str]) -> dict[str, dict[TP, int]]:
    """Committed offsets of `group_ids` (the reset form's topics). Their coordinators are
    remembered, so the preview that follows asks OffsetFetch in its first round."""

    async def read(manager: Any) -> ResetFacts:
        return await _read(manager, group_ids, None, None, None, cluster.timeout_s, False)

    return wire.run(cluster, "read the group's offsets", read).committed


async def _read(
    manager: Any,
    group_ids: list[str],
    topic: str | None,
    partitions: list[int] | None,
    when_ms: int | None,
    limit_s: float,
    with_offsets: bool = True,
    topics: list[str] | None = None,
) -> ResetFacts:
    from kafka.protocol.metadata import FindCoordinatorRequest

    facts = ResetFacts()
    layout: bulk.Layout | None = None
    listed = False
    # Rounds beyond the first three happen only when the cluster is moving: a stale
    # coordinator, or a fresh topic whose leaders do not answer yet.
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        wanted: list[tuple[Any, Any, Any]] = []
        if layout is None and with_offsets:
            wanted.append(("md", bulk.metadata_request(), manager.least_loaded_node()))
        for g in group_ids:
            if g in facts.committed:
                continue
            node = manager.cluster.get_coordinator(g)
            if node is None or node == -1:
                request = FindCoordinatorRequest(key=g, key_type=0, max_version=3)
                wanted.append((("coord", g), request, manager.least_loaded_node()))
            else:
                wanted.append((("committed", g), _offset_fetch(g), node))
        chosen = [topic] if topic is not None else topics
        if chosen is None and group_ids and group_ids[0] in facts.committed:
            chosen = sorted({t for t, _ in facts.committed[group_ids[0]]})
        asked: dict[tuple[str, int], list[TP]] = {}
        if layout is not None and chosen is not None and not listed:
            for t in chosen:
                info = layout.topics.get(t)
                if info is None or info.error or not info.partitions:
                    raise NotFound(f"topic {t!r} does not exist on this cluster")
                facts.partitions[t] = [p.partition for p in info.partitions]
                facts.leaders |= {
                    (t, p.partition): p.leader
                    for p in info.partitions
                    if partitions is None or p.partition in partitions
                }
            wanted += _list_offsets(manager, facts.leaders, when_ms, asked)
            listed = True
        if not wanted:
            return facts
        answers = await wire.gather(manager, wanted, limit_s)
        if "md" in answers:
            layout = bulk.layout_from(answers.pop("md"))
        for key, answer in answers.items():
            if isinstance(answer, BaseException) and key[0] in ("coord", "committed"):
                raise ClusterError(f"Could not read the offsets of {key[1]!r}: {readable(answer)}")
            if key[0] == "coord":
                _learn_coordinator(manager, key[1], answer)
            elif key[0] == "committed":
                found = _committed_from(answer)
                if found is None:  # the coordinator moved: find it again next round
                    manager.cluster._coordinators.pop((_group_type(), key[1]), None)
                else:
                    facts.committed[key[1]] = found
        if asked:
            warnings: list[str] = []
            kinds = (*_KINDS, "time")
            by_kind = bulk.offsets_by_kind(answers, asked, kinds, warnings)
            if warnings:  # leaders moving or not elected yet: read the layout again
                if time.monotonic() + SETTLE_S > deadline:
                    raise ClusterError(f"Could not read offsets: {warnings[0]}")
                layout, listed, facts.leaders = None, False, {}
                await manager._net.sleep(SETTLE_S)
                continue
            facts.starts = {tp: a[0] for tp, a in by_kind["start"].items()}
            facts.ends = {tp: a[0] for tp, a in by_kind["end"].items()}
            facts.oldest = by_kind["oldest"]
            facts.by_time = by_kind["time"]
    raise ClusterError("Could not read the group's offsets: the cluster did not settle in time")


def _group_type() -> Any:
    from kafka.protocol.metadata import CoordinatorType

    return CoordinatorType.GROUP


def _learn_coordinator(manager: Any, group_id: str, answer: Any) -> None:
    if answer.error_code:
        from kafka import errors as kp_errors

        name = kp_errors.for_code(answer.error_code).__name__
        raise ClusterError(f"Could not find the coordinator of {group_id!r}: {name}")
    manager.cluster.add_coordinator(answer, _group_type(), group_id, synthesize_node_id=False)


def _offset_fetch(group_id: str) -> Any:
    from kafka.protocol.consumer.group import OffsetFetchRequest

    # v2-v7 take one group and a null topic list for "every partition it committed".
    return OffsetFetchRequest(group_id=group_id, topics=None, min_version=2, max_version=7)


def _committed_from(answer: Any) -> dict[TP, int] | None:
    """{tp: offset}; None when the broker is not (or no longer) the group's coordinator."""
    if answer.error_code in COORDINATOR_MOVED:
        return None
    if answer.error_code:
        from kafka import errors as kp_errors

        raise ClusterError(
            f"Could not read committed offsets: {kp_errors.for_code(answer.error_code).__name__}"
        )
    return {
        (t.name, p.partition_index): p.committed_offset
        for t in answer.topics
        for p in t.partitions
        if p.committed_offset >= 0 and not p.error_code
    }


def _list_offsets(
    manager: Any,
    leaders: dict[TP, int],
    when_ms: int | None,
    asked: dict[tuple[str, int], list[TP]],
) -> list[tuple[Any, Any, int]]:
    kinds = dict(_KINDS) | ({"time": when_ms} if when_ms is not None else {})
    by_leader: dict[int, list[TP]] = defaultdict(list)
    for tp, leader in sorted(leaders.items()):
        if leader < 0:
            raise ClusterError(f"partition {tp[0]}[{tp[1]}] has no leader right now")
        by_leader[leader].append(tp)
    requests = []
    for node, tps in by_leader.items():
        for kind, spec in kinds.items():
            asked[(kind, node)] = tps
            requests.append(((kind, node), bulk.list_offsets_request(tps, spec), node))
    return requests


def stamps_at(
    cluster: ClusterConfig, at: dict[TP, int], leaders: dict[TP, int]
) -> dict[TP, int | None]:
    """Timestamp of the record at (or first after) each offset, one Fetch per leader.

    Batches the console cannot decode here (a codec kafka-python lacks) fall back to a
    peek through librdkafka. Known timestamps come from the cache and are not asked again.
    """
    known = records.cached_timestamps(cluster, at)
    missing = {tp: o for tp, o in at.items() if tp not in known}
    if not missing:
        return known

    async def read(manager: Any) -> dict[TP, int | None]:
        requests = []
        by_leader: dict[int, dict[TP, int]] = defaultdict(dict)
        for tp, offset in missing.items():
            by_leader[leaders[tp]][tp] = offset
        for node, wanted in by_leader.items():
            requests.append((node, _fetch_request(wanted), node))
        answers = await wire.gather(manager, requests, cluster.timeout_s)
        out: dict[TP, int | None] = {}
        for answer in answers.values():
            if not isinstance(answer, BaseException):
                out |= _first_stamps(answer, missing)
        return out

    found = wire.run(cluster, "read records' timestamps", read)
    records.remember(cluster, {tp: (missing[tp], ts) for tp, ts in found.items()})
    undecoded = {tp: o for tp, o in missing.items() if tp not in found}
    if undecoded:
        found |= records.record_timestamps(cluster, undecoded)
    return known | found


def _fetch_request(wanted: dict[TP, int]) -> Any:
    from kafka.protocol.consumer.fetch import FetchRequest

    topic_cls = FetchRequest.FetchTopic
    part_cls = topic_cls.FetchPartition
    by_topic: dict[str, list[Any]] = defaultdict(list)
    for (t, p), offset in wanted.items():
        by_topic[t].append(
            part_cls(
                partition=p,
                fetch_offset=offset,
                partition_max_bytes=FETCH_BYTES,
                log_start_offset=-1,
                current_leader_epoch=-1,
            )
        )
    return FetchRequest(
        replica_id=-1,
        max_wait_ms=0,
        min_bytes=0,
        max_bytes=FETCH_BYTES * max(1, len(wanted)),
        isolation_level=0,
        session_id=0,
        session_epoch=-1,
        topics=[topic_cls(topic=t, partitions=ps) for t, ps in by_topic.items()],
        forgotten_topics_data=[],
        rack_id="",
        min_version=4,
        max_version=11,  # topic names; v13 names topics by id
    )


def _first_stamps(answer: Any, wanted: dict[TP, int]) -> dict[TP, int | None]:
    """The timestamp of the first record at or after each wanted offset; None past the end.
    Partitions whose records cannot be decoded here are left out."""
    from kafka.record import MemoryRecords

    out: dict[TP, int | None] = {}
    for topic in answer.responses:
        for part in topic.partitions:
            tp = (topic.topic, part.partition_index)
            if tp not in wanted or part.error_code:
                continue
            if wanted[tp] >= part.high_watermark:
                out[tp] = None  # the log end: no record there yet
                continue
            try:
                found = _stamp_in(MemoryRecords(bytes(part.records or b"")), wanted[tp])
            except Exception:  # a codec kafka-python lacks: the peek reads it instead
                continue
            if found:
                out[tp] = found[0]
    return out


def _stamp_in(batches: Any, offset: int) -> tuple[int | None] | None:
    """(timestamp,) of the first record at or after `offset`; None when the answer held
    no such record (cut short, or only transaction markers)."""
    for batch in batches:
        if getattr(batch, "is_control_batch", False):
            continue
        for record in batch:
            if record.offset >= offset:
                return (int(record.timestamp) if record.timestamp >= 0 else None,)
    return None
