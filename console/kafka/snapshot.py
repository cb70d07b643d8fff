"""The cluster-wide snapshot the list pages read, kept fresh without paying for it twice.

Owns caching per cluster: the snapshot (served while younger than SNAPSHOT_TTL seconds;
once half of that has passed, a page starts a refresh in the background, so pages being
viewed keep it warm; older than the TTL, a page waits for a fresh one), topic configs
(CONFIGS_TTL; only new topics are asked for in between), record-timestamp `Stamps` that
stay valid while offsets do, and the last layout, whose leaders the next build guesses.
After the console's own changes it patches the snapshot by re-reading just the changed
topics (`refresh_topics`) instead of dropping it. It must never serve a snapshot older
than its TTL, nor let a build that started before a change overwrite what came after it.
"""

from __future__ import annotations

import gc
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from console.kafka import reads, wire
from console.kafka.config import ClusterConfig
from console.kafka.errors import ClusterError
from console.kafka.model import Snapshot, TopicInfo

SNAPSHOT_TTL = 10.0  # seconds a snapshot is served before a page waits for a new one
# Configs change rarely and mostly through the console, which patches them at once;
# changes made with other tools show within this many seconds.
CONFIGS_TTL = 60.0


@dataclass
class _State:
    """Everything cached about one cluster; replaced parts, never mutated in place."""

    snapshot: Snapshot | None = None
    taken: float = 0.0  # time.monotonic() of the snapshot's build
    configs: dict[str, dict[str, str]] = field(default_factory=dict)
    configs_at: float = float("-inf")
    stamps: reads.Stamps = field(default_factory=reads.Stamps)
    layout: reads.Layout | None = None  # the last one read: leaders to guess next time
    generation: int = 0  # bumped by every change; older builds are not stored
    refreshing: bool = False
    build_lock: threading.Lock = field(default_factory=threading.Lock)


_states: dict[str, _State] = {}
_lock = threading.Lock()
_heap_frozen = False


def _freeze_heap_once() -> None:
    """After the first snapshot, move the process's long-lived objects (Django, clients,
    the snapshot) out of the cyclic collector's sight. A build allocates tens of thousands
    of objects that live until it ends; the full collections they trigger otherwise scan
    the whole heap, ~100 ms each on this machine, landing in some page's time."""
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.freeze()


def _key(cluster: ClusterConfig) -> str:
    return cluster.bootstrap + "|" + cluster.slug


def _state(cluster: ClusterConfig) -> _State:
    with _lock:
        return _states.setdefault(_key(cluster), _State())


def _now_ms() -> int:
    return int(time.time() * 1000)


def build_snapshot(cluster: ClusterConfig) -> Snapshot:
    """Read the whole cluster now (reusing what cannot have changed) and cache it."""
    st = _state(cluster)
    started = time.monotonic()
    with _lock:
        generation = st.generation
        configs_fresh = started - st.configs_at < CONFIGS_TTL
        configs = st.configs if configs_fresh else {}
        # Expired configs still say which topics were append-only; `fill` double-checks
        # with the configs it reads now.
        policies = st.configs
        known = st.stamps
        guess = st.layout
    now_ms = _now_ms()

    reusable = {n for n, c in policies.items() if reads.never_rewritten(c)}

    async def read(manager: Any) -> tuple[reads.Layout, reads.Filled]:
        return await reads.read_cluster(
            manager,
            guess=guess,
            configs_known=set(configs),
            known=known,
            reusable=reusable,
            now_ms=now_ms,
            limit_s=cluster.bulk_timeout_s,
        )

    layout, filled = wire.run(cluster, "read the cluster's topics", read)
    all_configs = {**configs, **filled.configs}
    for topic in layout.topics.values():
        topic.configs = all_configs.get(topic.name, {})
    snap = Snapshot(
        cluster=cluster.slug,
        taken_at_ms=now_ms,
        brokers=layout.brokers,
        topics=layout.topics,
        warnings=filled.warnings,
        took_s=time.monotonic() - started,
    )
    with _lock:
        # A change while this was being built means it may predate the change: hand it
        # to this caller but do not let it overwrite what comes next.
        if generation == st.generation:
            st.snapshot, st.taken = snap, started
            st.stamps = filled.stamps
            st.layout = reads.Layout(layout.brokers, dict(layout.topics))
            if not configs_fresh:
                st.configs, st.configs_at = filled.configs, started
            elif filled.configs:
                st.configs = all_configs
    _freeze_heap_once()
    return snap


def _rebuild(cluster: ClusterConfig) -> Snapshot:
    st = _state(cluster)
    with st.build_lock:
        return build_snapshot(cluster)


def _refresh_in_background(cluster: ClusterConfig, st: _State) -> None:
    def run() -> None:
        try:
            _rebuild(cluster)
        except ClusterError:
            pass  # the next page past the TTL rebuilds in the foreground and shows why
        finally:
            with _lock:
                st.refreshing = False

    with _lock:
        if st.refreshing:
            return
        st.refreshing = True
    threading.Thread(target=run, name=f"snapshot {cluster.slug}", daemon=True).start()


def snapshot(cluster: ClusterConfig, max_age: float = SNAPSHOT_TTL) -> Snapshot:
    """The cluster-wide snapshot, never older than `max_age` seconds: the cached one while
    it is younger (past half of that a refresh starts in the background, so pages being
    viewed keep it warm), else a fresh one.

    One build per cluster runs at a time; other pages wait for it instead of piling the
    same requests onto the cluster.
    """
    st = _state(cluster)
    with _lock:
        snap, taken = st.snapshot, st.taken
    if snap is not None:
        age = time.monotonic() - taken
        if age < max_age:
            if age >= max_age / 2:
                _refresh_in_background(cluster, st)
            return snap
    with st.build_lock:
        # Another page (or the background refresh) may have built it meanwhile.
        with _lock:
            snap, taken = st.snapshot, st.taken
        if snap is not None and time.monotonic() - taken < max_age:
            return snap
        return build_snapshot(cluster)


def refresh_topics(
    cluster: ClusterConfig,
    names: list[str],
    partitions: dict[str, int] | None = None,
    configs: dict[str, dict[str, str]] | None = None,
) -> None:
    """After the console changed `names` (which exist: a deleted topic goes through
    `drop_topics`): re-read just those topics into the cached snapshot (and their
    configs), so the next page shows the change without a rebuild. `partitions` and
    `configs`: the partition counts and config values a change made, which the re-read
    waits (briefly) to see.

    If they cannot be read, the snapshot is dropped instead: a page then rebuilds it
    rather than show what was there before the change.
    """
    st = _state(cluster)
    with _lock:
        st.generation += 1  # builds already running may predate the change
        generation = st.generation
    now_ms = _now_ms()

    async def read(manager: Any) -> tuple[reads.Layout, reads.Filled]:
        return await reads.read_topics(
            manager,
            names,
            now_ms=now_ms,
            limit_s=cluster.bulk_timeout_s,
            existing=True,
            partitions=partitions,
            expect_configs=configs,
        )

    try:
        layout, filled = wire.run(cluster, "re-read the changed topics", read)
    except ClusterError:
        invalidate(cluster)
        return
    with _lock:
        if generation != st.generation or st.snapshot is None:
            # Another change came in meanwhile; let the next page rebuild.
            st.snapshot = None if generation != st.generation else st.snapshot
            return
        topics = dict(st.snapshot.topics)
        configs = dict(st.configs)
        for name in names:
            fresh: TopicInfo | None = layout.topics.get(name)
            if fresh is None or fresh.error or not fresh.partitions:
                topics.pop(name, None)
                configs.pop(name, None)
                continue
            configs[name] = filled.configs.get(name, {})
            fresh.configs = configs[name]
            topics[name] = fresh
        st.snapshot = replace(
            st.snapshot, topics=topics, warnings=st.snapshot.warnings + filled.warnings
        )
        st.configs = configs
        if st.layout is not None:  # the next rebuild guesses these leaders too
            st.layout = reads.Layout(st.layout.brokers, dict(topics))


def drop_topics(cluster: ClusterConfig, names: list[str]) -> None:
    """After the console deleted `names`: take them out of the cached snapshot."""
    st = _state(cluster)
    with _lock:
        st.generation += 1  # builds already running may predate the deletion
        if st.snapshot is None:
            return
        topics = {n: t for n, t in st.snapshot.topics.items() if n not in names}
        st.snapshot = replace(st.snapshot, topics=topics)
        st.configs = {n: c for n, c in st.configs.items() if n not in names}
        if st.layout is not None:
            st.layout = reads.Layout(st.layout.brokers, dict(topics))


def invalidate(cluster: ClusterConfig) -> None:
    """Forget everything cached about `cluster` (its settings changed, or a patch failed)."""
    with _lock:
        st = _states.get(_key(cluster))
        if st is not None:
            st.generation += 1
            st.snapshot = None
            st.configs, st.configs_at = {}, float("-inf")
            st.stamps = reads.Stamps()
            st.layout = None


def expire() -> None:
    """What a few idle minutes do to every cluster: snapshots and configs are too old to
    serve; record stamps and layouts stay (they are checked against fresh answers)."""
    with _lock:
        for st in _states.values():
            st.generation += 1
            st.snapshot = None
            st.configs_at = float("-inf")


def invalidate_all() -> None:
    """Forget every cached snapshot, config, stamp and layout (clients stay connected)."""
    with _lock:
        for st in _states.values():
            st.generation += 1
            st.snapshot = None
            st.configs, st.configs_at = {}, float("-inf")
            st.stamps = reads.Stamps()
            st.layout = None
