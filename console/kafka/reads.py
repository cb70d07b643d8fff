"""Bulk reads of topic state over the Kafka protocol, in as few round trips as possible.

Owns what the topic pages need from a cluster and how to ask for it cheaply: one Metadata,
then every other request at once (ListOffsets per leader and per kind of offset,
DescribeLogDirs per broker, DescribeConfigs naming only the keys shown), and small
follow-ups only where an answer cannot be derived. Record timestamps that cannot have
changed are reused (`Stamps`): a partition's oldest record stays the same while its start
offset does, its newest while neither end moves. It must never cache anything itself
(`console.kafka.snapshot` does) and never block: these coroutines run on the client thread
of `console.kafka.wire`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from console.kafka.errors import TopicNotFound, Unreachable, readable
from console.kafka.model import PartitionInfo, TopicInfo
from console.kafka.wire import gather

SNAPSHOT_CONFIGS = ("retention.ms", "retention.bytes", "cleanup.policy")
RECENT_WINDOW_MS = 60_000  # "messages in the last minute"
SETTLE_S = 2.0  # how long a re-read waits for a fresh topic's leaders to answer

EARLIEST, LATEST, MAX_TIMESTAMP = -2, -1, -3
_TOPIC_RESOURCE = 2
_UNKNOWN_TOPIC = 3
_NO_ID = uuid.UUID(int=0)

TP = tuple[str, int]
StampKey = tuple[str, int]  # (topic id, partition): a recreated topic gets a new id


@dataclass
class Layout:
    """Brokers and partition leaders from one Metadata answer."""

    brokers: dict[int, str]
    topics: dict[str, TopicInfo]


@dataclass
class Stamps:
    """Known oldest/newest records, each with the offsets it was read at.

    oldest: (start, offset, timestamp) — valid while the start offset is the same.
    newest: (start, end, offset, timestamp) — valid while neither offset moved.
    Only for topics without compaction, where a record below the end never changes.
    """

    oldest: dict[StampKey, tuple[int, int, int | None]] = field(default_factory=dict)
    newest: dict[StampKey, tuple[int, int, int, int | None]] = field(default_factory=dict)


@dataclass
class Filled:
    """What `fill` learned besides the figures it wrote into the topics."""

    configs: dict[str, dict[str, str]]
    stamps: Stamps
    warnings: list[str]


def never_rewritten(configs: dict[str, str]) -> bool:
    """True when the topic only appends and deletes from the front: compaction rewrites
    old records in place, and only then can a known record vanish while the offsets
    around it stay the same. Unknown policy counts as compaction."""
    return "compact" not in configs.get("cleanup.policy", "compact")


# ----------------------------------------------------------------------------- requests


def _list_offsets(manager: Any, parts: list[TP], spec: int) -> Any:
    """One ListOffsets of `spec` for `parts`; the same request object again when a
    build asks the same thing of the same client (building one costs more than sending)."""
    key = (id(manager), spec, tuple(parts))
    with _requests_lock:
        request = _requests.get(key)
    if request is None:
        request = list_offsets_request(parts, spec)
        with _requests_lock:
            _requests[key] = request
            while len(_requests) > _MAX_KEPT_REQUESTS:
                del _requests[next(iter(_requests))]
    return request


# Request objects per (client, spec, partitions): each client sends from one thread, so an
# object is never encoded twice at once.
_requests: dict[tuple[int, int, tuple[TP, ...]], Any] = {}
_requests_lock = threading.Lock()
_MAX_KEPT_REQUESTS = 16


def list_offsets_request(parts: Iterable[TP], spec: int) -> Any:
    from kafka.protocol.consumer.offsets import ListOffsetsRequest

    topic_cls = ListOffsetsRequest.ListOffsetsTopic
    part_cls = topic_cls.ListOffsetsPartition
    by_topic: dict[str, list[Any]] = defaultdict(list)
    for topic, p in parts:
        by_topic[topic].append(part_cls(partition_index=p, timestamp=spec))
    return ListOffsetsRequest(
        replica_id=-1,
        isolation_level=0,
        topics=[topic_cls(name=name, partitions=ps) for name, ps in by_topic.items()],
        # The newest record (max timestamp, KIP-734) needs v7; the rest is v1, which every
        # broker since Kafka 0.10.1 answers and is several times cheaper to encode.
        min_version=7 if spec == MAX_TIMESTAMP else 1,
        max_version=7 if spec == MAX_TIMESTAMP else 1,
    )


def _describe_log_dirs(parts: dict[str, list[int]]) -> Any:
    from kafka.protocol.admin import DescribeLogDirsRequest

    topic_cls = DescribeLogDirsRequest.DescribableLogDirTopic
    # Named explicitly: asking for "all" makes a broker describe every replica it holds.
    return DescribeLogDirsRequest(
        topics=[topic_cls(topic=name, partitions=ps) for name, ps in parts.items()],
        max_version=1,  # sizes are all we read; v1 is the cheapest to decode
    )


def describe_configs_request(topics: Iterable[str], names: Iterable[str]) -> Any:
    from kafka.protocol.admin import DescribeConfigsRequest

    res_cls = DescribeConfigsRequest.DescribeConfigsResource
    keys = list(names)
    return DescribeConfigsRequest(
        resources=[
            res_cls(resource_type=_TOPIC_RESOURCE, resource_name=t, configuration_keys=keys)
            for t in topics
        ],
        include_synonyms=False,
        include_documentation=False,
    )


# ----------------------------------------------------------------------------- metadata


def _metadata_request(names: list[str] | None) -> Any:
    from kafka.protocol.metadata import MetadataRequest

    wanted = (
        None if names is None else [MetadataRequest.MetadataRequestTopic(name=n) for n in names]
    )
    return MetadataRequest(topics=wanted, allow_auto_topic_creation=False)


async def read_layout(manager: Any, names: list[str] | None, limit_s: float) -> Layout:
    """Brokers and partitions with their leaders; every topic, or just `names`
    (never auto-creating one by naming it)."""
    node = manager.least_loaded_node()
    answers = await gather(manager, [("md", _metadata_request(names), node)], limit_s)
    return layout_from(answers["md"])


def layout_from(answer: Any) -> Layout:
    if isinstance(answer, BaseException):
        raise Unreachable(readable(answer))
    brokers = {b.node_id: f"{b.host}:{b.port}" for b in answer.brokers}
    topics: dict[str, TopicInfo] = {}
    for t in answer.topics:
        if t.error_code:
            if t.error_code != _UNKNOWN_TOPIC:
                topics[t.name] = TopicInfo(t.name, [], error=_error_name(t.error_code))
            continue
        topic_id = getattr(t, "topic_id", None)
        topics[t.name] = TopicInfo(
            t.name,
            [
                PartitionInfo(partition=p.partition_index, leader=p.leader_id)
                for p in sorted(t.partitions, key=lambda p: p.partition_index)
            ],
            topic_id="" if topic_id in (None, _NO_ID) else str(topic_id),
        )
    return Layout(brokers, topics)


async def read_cluster(
    manager: Any,
    *,
    guess: Layout | None,
    configs_known: set[str],
    known: Stamps,
    reusable: set[str],
    now_ms: int,
    limit_s: float,
) -> tuple[Layout, Filled]:
    """Every topic: Metadata, offsets, sizes, record timestamps, and the configs of topics
    not in `configs_known`.

    With a `guess` (the previous layout; leaders rarely move) the first round goes out
    together with the Metadata request instead of after its answer; whatever the guess
    got wrong is asked again once the real layout is known.
    """
    if guess is None:
        layout = await read_layout(manager, None, limit_s)
        prefetched = None
    else:
        partitions = {
            (t.name, p.partition): p.leader for t in guess.topics.values() for p in t.partitions
        }
        oldest, newest = _unknown_stamps(guess, known, reusable)
        pre = first_round(
            manager,
            partitions,
            guess.brokers,
            configs_for=[
                n for n, t in guess.topics.items() if n not in configs_known and not t.error
            ],
            oldest=oldest,
            newest=newest,
        )
        node = next(iter(guess.brokers), manager.least_loaded_node())
        metadata = ("md", _metadata_request(None), node)
        answers = await gather(manager, [metadata, *pre.requests], limit_s)
        layout = layout_from(answers.pop("md"))
        prefetched = Prefetched(pre, answers)
    names = [n for n, t in layout.topics.items() if not t.error]
    filled = await fill(
        manager,
        layout,
        configs_for=[n for n in names if n not in configs_known],
        known=known,
        reusable=reusable,
        now_ms=now_ms,
        limit_s=limit_s,
        prefetched=prefetched,
    )
    return layout, filled


def _unknown_stamps(layout: Layout, known: Stamps, reusable: set[str]) -> tuple[set[TP], set[TP]]:
    """Partitions whose oldest / newest record must be looked up (no reusable stamp)."""
    oldest: set[TP] = set()
    newest: set[TP] = set()
    for t in layout.topics.values():
        trusted = bool(t.topic_id) and t.name in reusable
        for p in t.partitions:
            k = (t.topic_id, p.partition)
            if not trusted or k not in known.oldest:
                oldest.add((t.name, p.partition))
            if not trusted or k not in known.newest:
                newest.add((t.name, p.partition))
    return oldest, newest


def _error_name(code: int) -> str:
    from kafka import errors as kp_errors

    err = kp_errors.for_code(code)
    return f"{err.__name__} ({code})"


# ----------------------------------------------------------------------------- filling


@dataclass
class Round:
    """Requests of one round and what each asked about, to count the unanswered."""

    requests: list[tuple[Any, Any, int]] = field(default_factory=list)
    asked: dict[tuple[str, int], list[TP]] = field(default_factory=dict)
    configs_for: set[str] = field(default_factory=set)
    sized: set[TP] = field(default_factory=set)


def first_round(
    manager: Any,
    partitions: dict[TP, int],
    brokers: Iterable[int],
    *,
    configs_for: Iterable[str],
    oldest: set[TP],
    newest: set[TP],
) -> Round:
    """Start and end offsets and sizes of `partitions` (tp -> leader), the oldest and
    newest records of those in `oldest`/`newest`, and the configs of `configs_for`."""
    r = Round()
    leaders: dict[int, list[TP]] = defaultdict(list)
    for tp, leader in partitions.items():
        if leader >= 0:
            leaders[leader].append(tp)

    def ask(kind: str, node: int, tps: list[TP], spec: int) -> None:
        if tps:
            r.asked[(kind, node)] = tps
            r.requests.append(((kind, node), _list_offsets(manager, tps, spec), node))

    for node, tps in leaders.items():
        ask("start", node, tps, EARLIEST)
        ask("end", node, tps, LATEST)
        ask("oldest", node, [tp for tp in tps if tp in oldest], 0)
        ask("newest", node, [tp for tp in tps if tp in newest], MAX_TIMESTAMP)
    every: dict[str, list[int]] = defaultdict(list)
    for topic, index in partitions:
        every[topic].append(index)
    nodes = list(brokers)
    if every:
        r.sized = set(partitions)
        request = _describe_log_dirs(every)
        r.requests += [(("sizes", node), request, node) for node in nodes]
    r.configs_for = set(configs_for)
    if r.configs_for:
        node = nodes[0] if nodes else manager.least_loaded_node()
        request = describe_configs_request(sorted(r.configs_for), SNAPSHOT_CONFIGS)
        r.requests.append((("configs", node), request, node))
    return r


@dataclass
class Prefetched:
    """A first round sent before the Metadata answer came, from the previous layout."""

    round: Round
    answers: dict[Any, Any]


async def fill(
    manager: Any,
    layout: Layout,
    *,
    configs_for: list[str],
    known: Stamps,
    reusable: set[str],
    now_ms: int,
    limit_s: float,
    prefetched: Prefetched | None = None,
) -> Filled:
    """Write offsets, sizes and record timestamps into `layout.topics`; read the configs
    of `configs_for`. `known` stamps of topics in `reusable` spare their lookups. What
    `prefetched` answered for partitions whose leader it guessed right is not asked again."""
    warnings: list[str] = []
    topics = [t for t in layout.topics.values() if t.partitions]
    by_tp = {(t.name, p.partition): (t, p) for t in topics for p in t.partitions}
    leaderless = sum(1 for _, p in by_tp.values() if p.leader < 0)
    if leaderless:
        warnings.append(f"{leaderless} partitions have no leader, so no offsets")

    def stamp_key(tp: TP) -> StampKey | None:
        topic, p = by_tp[tp]
        return (topic.topic_id, p.partition) if topic.topic_id and topic.name in reusable else None

    unknown_oldest, unknown_newest = _unknown_stamps(layout, known, reusable)

    kinds = ("start", "end", "oldest", "newest")
    if prefetched is not None:
        ignored: list[str] = []  # what the guess missed is asked again below
        pre = prefetched.round
        offsets = offsets_by_kind(prefetched.answers, pre.asked, kinds, ignored)
        sizes = _sizes(prefetched.answers, ignored) if pre.sized else {}
        configs = configs_from(prefetched.answers, ignored)
        # What the guess did not answer: new partitions, moved leaders (a former leader
        # answers with an error, not a figure), anything that failed.
        missing = {
            tp: p.leader
            for tp, (_, p) in by_tp.items()
            if tp not in offsets["end"]
            or tp not in offsets["start"]
            or (sizes and tp not in sizes)  # (no sizes at all: a cluster refusing them)
            or (tp in unknown_oldest and tp not in offsets["oldest"])
            or (tp in unknown_newest and tp not in offsets["newest"])
        }
        rest = first_round(
            manager,
            missing,
            layout.brokers,
            configs_for=[t for t in configs_for if t not in configs],
            oldest={tp for tp in unknown_oldest if tp not in offsets["oldest"]},
            newest={tp for tp in unknown_newest if tp not in offsets["newest"]},
        )
    else:
        offsets = {k: {} for k in kinds}
        sizes, configs = {}, {}
        rest = first_round(
            manager,
            {tp: p.leader for tp, (_, p) in by_tp.items()},
            layout.brokers,
            configs_for=configs_for,
            oldest=unknown_oldest,
            newest=unknown_newest,
        )
    if rest.requests:
        answers = await gather(manager, rest.requests, limit_s)
        for kind, found in offsets_by_kind(answers, rest.asked, kinds, warnings).items():
            offsets[kind].update(found)
        sizes.update(_sizes(answers, warnings))
        configs.update(configs_from(answers, warnings))

    for tp, (_, p) in by_tp.items():
        p.size = sizes.get(tp)
        if (a := offsets["start"].get(tp)) is not None:
            p.start = a[0]
        if (a := offsets["end"].get(tp)) is not None:
            p.end = a[0]

    # Configs read just now may show compaction the caller could not know of.
    compacted = {name for name, c in configs.items() if not never_rewritten(c)}
    appendonly = set(configs) - compacted

    # Reuse what is still valid; ask again only where the offsets moved.
    stamps = Stamps()
    again_oldest: list[TP] = []
    again_newest: list[TP] = []
    for tp, (info, p) in by_tp.items():
        if p.start >= 0 and p.start == p.end:
            continue  # empty: no oldest, no newest, nothing to ask
        k = stamp_key(tp)
        if k is None or info.name in compacted:
            # Either asked above, or its stamps cannot be trusted after all.
            again_oldest += [tp] if tp not in unknown_oldest else []
            again_newest += [tp] if tp not in unknown_newest else []
            continue
        if tp not in unknown_oldest:
            start, offset, ts = known.oldest[k]
            if start == p.start and offset < p.end:
                offsets["oldest"][tp] = (offset, ts if ts is not None else -1)
            else:
                again_oldest.append(tp)
        if tp not in unknown_newest:
            start, end, offset, ts = known.newest[k]
            if (start, end) == (p.start, p.end):
                offsets["newest"][tp] = (offset, ts if ts is not None else -1)
            else:
                again_newest.append(tp)
    if again_oldest or again_newest:
        more = await _ask(
            manager,
            {"oldest": (again_oldest, 0), "newest": (again_newest, MAX_TIMESTAMP)},
            by_tp,
            limit_s,
            warnings,
        )
        offsets["oldest"].update(more["oldest"])
        offsets["newest"].update(more["newest"])

    for tp, (info, p) in by_tp.items():
        if (a := offsets["oldest"].get(tp)) is not None and a[0] >= 0:
            p.oldest_ts = a[1] if a[1] >= 0 else None
        if (a := offsets["newest"].get(tp)) is not None and a[0] >= 0:
            p.newest_ts = a[1] if a[1] >= 0 else None
        # Kept for topics known append-only, by the caller or by the configs read now.
        k = (info.topic_id, p.partition) if info.topic_id else None
        trusted = info.name in reusable or info.name in appendonly
        if k is not None and trusted and info.name not in compacted and min(p.start, p.end) >= 0:
            # Only a found record is worth keeping: an empty answer may change any time.
            if (a := offsets["oldest"].get(tp)) is not None and a[0] >= 0:
                stamps.oldest[k] = (p.start, a[0], a[1] if a[1] >= 0 else None)
            if (a := offsets["newest"].get(tp)) is not None:
                stamps.newest[k] = (p.start, p.end, a[0], a[1] if a[1] >= 0 else None)

    await _recent(manager, by_tp, offsets["oldest"], now_ms - RECENT_WINDOW_MS, limit_s, warnings)
    return Filled(configs, stamps, warnings)


async def _recent(
    manager: Any,
    by_tp: dict[TP, tuple[TopicInfo, PartitionInfo]],
    oldest: dict[TP, tuple[int, int]],
    since_ms: int,
    limit_s: float,
    warnings: list[str],
) -> None:
    """Where the first record of the last minute is: derived when every record is older
    (none) or newer (the oldest one); asked only of partitions written across the mark."""
    spanning: list[TP] = []
    for tp, (_, p) in by_tp.items():
        if p.end < 0:
            continue
        if p.newest_ts is None or p.newest_ts < since_ms:
            p.recent_start = p.end
        elif p.oldest_ts is not None and p.oldest_ts >= since_ms and tp in oldest:
            p.recent_start = oldest[tp][0]
        else:
            spanning.append(tp)
    if spanning:
        found = await _ask(manager, {"recent": (spanning, since_ms)}, by_tp, limit_s, warnings)
        for tp in spanning:
            p = by_tp[tp][1]
            if (a := found["recent"].get(tp)) is not None:
                p.recent_start = a[0] if a[0] >= 0 else p.end


async def _ask(
    manager: Any,
    kinds: dict[str, tuple[list[TP], int]],
    by_tp: dict[TP, tuple[TopicInfo, PartitionInfo]],
    limit_s: float,
    warnings: list[str],
) -> dict[str, dict[TP, tuple[int, int]]]:
    """A follow-up round: ListOffsets of each kind for the given partitions."""
    asked: dict[tuple[str, int], list[TP]] = defaultdict(list)
    for kind, (tps, _) in kinds.items():
        for tp in tps:
            asked[(kind, by_tp[tp][1].leader)].append(tp)
    requests = [
        ((kind, node), list_offsets_request(tps, kinds[kind][1]), node)
        for (kind, node), tps in asked.items()
    ]
    answers = await gather(manager, requests, limit_s)
    return offsets_by_kind(answers, asked, tuple(kinds), warnings)


def offsets_by_kind(
    answers: dict[Any, Any],
    asked: dict[tuple[str, int], list[TP]],
    kinds: tuple[str, ...],
    warnings: list[str],
) -> dict[str, dict[TP, tuple[int, int]]]:
    """{kind: {tp: (offset, timestamp)}}; partitions without an answer are counted."""
    out: dict[str, dict[TP, tuple[int, int]]] = {k: {} for k in kinds}
    failed: dict[str, int] = defaultdict(int)
    for (kind, node), answer in answers.items():
        if kind not in out:
            continue
        if isinstance(answer, BaseException):
            failed[kind] += len(asked.get((kind, node), []))
            continue
        for t in answer.topics:
            for p in t.partitions:
                if p.error_code:
                    failed[kind] += 1
                else:
                    out[kind][(t.name, p.partition_index)] = (p.offset, p.timestamp)
    for kind, count in failed.items():
        warnings.append(f"{count} partitions did not report their {kind} offset")
    return out


def _sizes(answers: dict[Any, Any], warnings: list[str]) -> dict[TP, int]:
    sizes: dict[TP, int] = {}
    for (kind, _), answer in answers.items():
        if kind != "sizes":
            continue
        if isinstance(answer, BaseException):
            warnings.append(f"Could not read partition sizes: {readable(answer)}")
            continue
        for result in answer.results:
            for topic in result.topics:
                for part in topic.partitions:
                    tp = (topic.name, part.partition_index)
                    sizes[tp] = sizes.get(tp, 0) + part.partition_size
    return sizes


def configs_from(answers: dict[Any, Any], warnings: list[str]) -> dict[str, dict[str, str]]:
    configs: dict[str, dict[str, str]] = {}
    for (kind, _), answer in answers.items():
        if kind != "configs":
            continue
        if isinstance(answer, BaseException):
            warnings.append(f"Could not read topic configs: {readable(answer)}")
            continue
        for result in answer.results:
            if result.error_code:
                continue
            configs[result.resource_name] = {
                c.name: c.value for c in result.configs if c.value is not None
            }
    return configs


async def read_topics(
    manager: Any, names: list[str], *, now_ms: int, limit_s: float, configs: bool = True
) -> tuple[Layout, Filled]:
    """Everything about a few named topics, fresh (no stamps reused).

    Right after a topic is created or grows, its partitions' leaders may not answer yet
    (Apache Kafka says "not leader" for a moment); the read is repeated, briefly, until
    every partition reports its offsets.
    """
    # Bounded: a partition that stays leaderless is shown as such, not waited for.
    deadline = time.monotonic() + min(limit_s, SETTLE_S)
    while True:
        layout = await read_layout(manager, names, limit_s)
        present = [n for n in names if n in layout.topics and not layout.topics[n].error]
        filled = await fill(
            manager,
            layout,
            configs_for=present if configs else [],
            known=Stamps(),
            reusable=set(),
            now_ms=now_ms,
            limit_s=limit_s,
        )
        settled = all(p.end >= 0 for n in present for p in layout.topics[n].partitions)
        if (settled and not filled.warnings) or time.monotonic() > deadline:
            return layout, filled
        await manager._net.sleep(0.1)


def require(layout: Layout, topic: str) -> TopicInfo:
    """The topic from a layout read by name, or `TopicNotFound`."""
    info = layout.topics.get(topic)
    if info is None or (not info.partitions and not info.error):
        raise TopicNotFound(topic)
    return info
