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

import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from console.kafka import bulk
from console.kafka.errors import TopicNotFound
from console.kafka.model import PartitionInfo, TopicInfo
from console.kafka.wire import gather

SNAPSHOT_CONFIGS = bulk.SNAPSHOT_CONFIGS
RECENT_WINDOW_MS = 60_000  # "messages in the last minute"
SETTLE_S = 2.0  # how long a re-read waits for a fresh topic's leaders to answer

EARLIEST, LATEST, MAX_TIMESTAMP = bulk.EARLIEST, bulk.LATEST, bulk.MAX_TIMESTAMP
Layout = bulk.Layout

TP = tuple[str, int]
StampKey = tuple[str, int]  # (topic id, partition): a recreated topic gets a new id


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


# ----------------------------------------------------------------------------- metadata


async def read_layout(manager: Any, limit_s: float, existing: list[str] | None = None) -> Layout:
    """Brokers, and every topic's partitions with their leaders (or just `existing`
    topics': see `bulk.metadata_request`)."""
    node = manager.least_loaded_node()
    answers = await gather(manager, [("md", bulk.metadata_request(existing), node)], limit_s)
    return bulk.layout_from(answers["md"])


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
        layout = await read_layout(manager, limit_s)
        prefetched = None
    else:
        partitions = {
            (t.name, p.partition): p.leader for t in guess.topics.values() for p in t.partitions
        }
        oldest, newest = _unknown_stamps(guess, known, reusable)
        pre = bulk.first_round(
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
        metadata = ("md", bulk.metadata_request(), node)
        answers = await gather(manager, [metadata, *pre.requests], limit_s)
        layout = bulk.layout_from(answers.pop("md"))
        prefetched = bulk.Prefetched(pre, answers)
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


# ----------------------------------------------------------------------------- filling


async def fill(
    manager: Any,
    layout: Layout,
    *,
    configs_for: list[str],
    known: Stamps,
    reusable: set[str],
    now_ms: int,
    limit_s: float,
    prefetched: bulk.Prefetched | None = None,
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
        offsets = bulk.offsets_by_kind(prefetched.answers, pre.asked, kinds, ignored)
        sizes = bulk.sizes_from(prefetched.answers, ignored) if pre.sized else {}
        configs = bulk.configs_from(prefetched.answers, ignored)
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
        rest = bulk.first_round(
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
        rest = bulk.first_round(
            manager,
            {tp: p.leader for tp, (_, p) in by_tp.items()},
            layout.brokers,
            configs_for=configs_for,
            oldest=unknown_oldest,
            newest=unknown_newest,
        )
    if rest.requests:
        answers = await gather(manager, rest.requests, limit_s)
        for kind, found in bulk.offsets_by_kind(answers, rest.asked, kinds, warnings).items():
            offsets[kind].update(found)
        sizes.update(bulk.sizes_from(answers, warnings))
        configs.update(bulk.configs_from(answers, warnings))

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
        ((kind, node), bulk.list_offsets_request(tps, kinds[kind][1]), node)
        for (kind, node), tps in asked.items()
    ]
    answers = await gather(manager, requests, limit_s)
    return bulk.offsets_by_kind(answers, asked, tuple(kinds), warnings)


async def read_topics(
    manager: Any,
    names: list[str],
    *,
    now_ms: int,
    limit_s: float,
    configs: bool = True,
    existing: bool = False,
    partitions: Mapping[str, int] | None = None,
    expect_configs: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[Layout, Filled]:
    """Everything about a few named topics, fresh (no stamps reused). With `existing`
    (topics the console has just created or changed) the Metadata request names them;
    otherwise it asks for every topic and keeps these.

    Right after a topic is created or grows, its partitions' leaders may not answer yet
    (Apache Kafka says "not leader" for a moment), and a broker other than the one that
    took the change may not know the topic yet, or still report its old partition count
    or configs (`partitions`: the count a change made, `expect_configs`: the values it
    set); the read is repeated, briefly, until every partition reports its offsets and
    each topic shows what the change made.
    """
    # Bounded: a partition that stays leaderless is shown as such, not waited for.
    deadline = time.monotonic() + min(limit_s, SETTLE_S)
    while True:
        layout = await read_layout(manager, limit_s, names if existing else None)
        layout.topics = {n: layout.topics[n] for n in names if n in layout.topics}
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
        settled = (
            all(p.end >= 0 for n in present for p in layout.topics[n].partitions)
            and all(
                n in present and len(layout.topics[n].partitions) >= count
                for n, count in (partitions or {}).items()
            )
            and all(
                filled.configs.get(n, {}).get(key) == value
                for n, wanted in (expect_configs or {}).items()
                if configs
                for key, value in wanted.items()
                if key in bulk.SNAPSHOT_CONFIGS  # the only ones read
            )
        )
        if (settled and not filled.warnings) or time.monotonic() > deadline:
            return layout, filled
        await manager._net.sleep(0.1)


def require(layout: Layout, topic: str) -> TopicInfo:
    """The topic from a layout read by name, or `TopicNotFound`."""
    info = layout.topics.get(topic)
    if info is None or (not info.partitions and not info.error):
        raise TopicNotFound(topic)
    return info
