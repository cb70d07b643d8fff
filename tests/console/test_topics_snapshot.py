"""The cached snapshot: patched after the console's own changes, rebuilt correctly from
what it already knows (record timestamps, the last layout) — on both real clusters."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
)
from django.test import Client

from console.clusters import local_cluster
from console.kafka import admin, reads, wire
from console.kafka.model import PartitionInfo, TopicInfo
from tests.clusters import cluster_or_three_nodes  # noqa: F401 (this module's `cluster`)
from tests.console.topics_helpers import console_on, make_topic, produce, unique

pytestmark = pytest.mark.django_db
# Record timestamps chosen by the test, so figures are exact; within retention (7 days).
T0 = (int(time.time()) - 3600) * 1000


@pytest.fixture
def on_cluster(cluster: Any) -> Any:
    with console_on(cluster.bootstrap):
        yield cluster


def _topic(name: str) -> TopicInfo:
    return admin.snapshot(local_cluster()).topics[name]


def test_changes_through_the_console_patch_the_snapshot(
    client: Client, admin_user: Any, on_cluster: Any
) -> None:
    client.force_login(admin_user)
    kept = unique("kept-")
    make_topic(on_cluster.bootstrap, kept)
    first = admin.snapshot(local_cluster())
    assert kept in first.topics

    name = unique("made-")
    response = client.post(
        "/clusters/local/new-topic/",
        {"name": name, "partitions": "2", "cleanup_policy": "delete", "retention": "3 days"},
    )
    assert response.status_code == 302
    after_create = admin.snapshot(local_cluster())
    # The same snapshot, patched: no rebuild, yet the new topic is there with its figures.
    assert after_create.taken_at_ms == first.taken_at_ms
    made = after_create.topics[name]
    assert [p.end for p in made.partitions] == [0, 0]
    assert made.retention_ms == 3 * 86_400_000

    client.post(f"/clusters/local/retention/{name}/", {"retention": "5 days"})
    assert _topic(name).retention_ms == 5 * 86_400_000
    client.post(f"/clusters/local/topics/{name}/partitions/", {"total": "4"})
    assert len(_topic(name).partitions) == 4
    client.post(f"/clusters/local/topics/{name}/delete/", {"confirm": name})
    final = admin.snapshot(local_cluster())
    assert name not in final.topics
    assert kept in final.topics
    assert final.taken_at_ms == first.taken_at_ms
    page = client.get(f"/clusters/local/topics/?q={name}")
    assert page.context["rows"] == []


def test_rebuild_reuses_record_stamps_only_while_offsets_say_so(on_cluster: Any) -> None:
    bootstrap = on_cluster.bootstrap
    name = unique("stamps-")
    make_topic(bootstrap, name, partitions=2)
    produce(bootstrap, name, 3, partition=0, ts=T0)
    produce(bootstrap, name, 2, partition=1, ts=T0 + 5_000)
    cluster = local_cluster()
    admin.snapshot(cluster)
    admin.expire()  # a rebuild: stamps kept from the first build are reused
    topic = _topic(name)
    assert (topic.oldest_ts, topic.newest_ts) == (T0, T0 + 5_000)

    # New records move the end: the newest record must be looked up again.
    produce(bootstrap, name, 1, partition=0, ts=T0 + 9_000)
    admin.expire()
    p0 = _topic(name).partitions[0]
    assert (p0.start, p0.end, p0.oldest_ts, p0.newest_ts) == (0, 4, T0, T0 + 9_000)

    # Deleting records moves the start: the oldest record must be looked up again.
    other_tool = AdminClient({"bootstrap.servers": bootstrap})  # kept: futures need it alive
    deleted = other_tool.delete_records([TopicPartition(name, 0, 3)])
    for future in deleted.values():
        future.result(timeout=15)
    admin.expire()
    p0 = _topic(name).partitions[0]
    assert (p0.start, p0.oldest_ts, p0.newest_ts) == (3, T0 + 9_000, T0 + 9_000)
    assert _topic(name).partitions[1].oldest_ts == T0 + 5_000


def test_rebuild_finds_what_the_guessed_layout_lacks(on_cluster: Any) -> None:
    """Topics and partitions added by other tools after the last build get figures too."""
    bootstrap = on_cluster.bootstrap
    grown = unique("grown-")
    make_topic(bootstrap, grown, partitions=1)
    admin.snapshot(local_cluster())
    new = unique("new-")
    make_topic(bootstrap, new, partitions=2)
    produce(bootstrap, new, 2, partition=1, ts=T0)
    other_tool = AdminClient({"bootstrap.servers": bootstrap})
    other_tool.create_partitions([NewPartitions(grown, 3)])[grown].result(timeout=15)
    deadline = time.monotonic() + 15
    while True:
        admin.expire()
        snap = admin.snapshot(local_cluster())
        if len(snap.topics[grown].partitions) == 3 or time.monotonic() > deadline:
            break
    assert [p.end for p in snap.topics[grown].partitions] == [0, 0, 0]
    fresh = snap.topics[new]
    assert [p.end for p in fresh.partitions] == [0, 2]
    assert fresh.newest_ts == T0
    assert fresh.size
    assert fresh.cleanup_policy == "delete"
    assert not snap.warnings


def test_recent_messages_are_derived_or_asked() -> None:
    """Only partitions written across the one-minute mark need a lookup."""
    now = 10_000_000
    since = now - reads.RECENT_WINDOW_MS
    old = PartitionInfo(0, 0, start=0, end=5, oldest_ts=since - 9, newest_ts=since - 1)
    young = PartitionInfo(1, 0, start=2, end=9, oldest_ts=since + 1, newest_ts=now)
    empty = PartitionInfo(2, 0, start=4, end=4)
    topic = TopicInfo("t", [old, young, empty])
    by_tp = {("t", p.partition): (topic, p) for p in topic.partitions}
    import asyncio

    async def no_lookup(*_: Any) -> dict[str, Any]:
        raise AssertionError("nothing here needs a lookup")

    original = reads._ask
    reads._ask = no_lookup  # type: ignore[assignment]
    try:
        coro = reads._recent(None, by_tp, {("t", 1): (2, since + 1)}, since, 1.0, [])
        asyncio.run(coro)  # type: ignore[arg-type]
    finally:
        reads._ask = original  # type: ignore[assignment]
    assert (old.recent_messages, young.recent_messages, empty.recent_messages) == (0, 7, 0)


def test_unknown_stamps_and_policies() -> None:
    known = reads.Stamps(oldest={("id1", 0): (0, 0, T0)}, newest={("id1", 0): (0, 1, 0, T0)})
    layout = reads.Layout(
        {0: "h:1"},
        {
            "a": TopicInfo("a", [PartitionInfo(0, 0), PartitionInfo(1, 0)], topic_id="id1"),
            "b": TopicInfo("b", [PartitionInfo(0, 0)], topic_id=""),
        },
    )
    oldest, newest = reads._unknown_stamps(layout, known, {"a", "b"})
    assert oldest == newest == {("a", 1), ("b", 0)}
    # A topic not known to be append-only never reuses stamps.
    assert reads._unknown_stamps(layout, known, set())[0] == {("a", 0), ("a", 1), ("b", 0)}
    assert reads.never_rewritten({"cleanup.policy": "delete"})
    assert not reads.never_rewritten({"cleanup.policy": "compact,delete"})
    assert not reads.never_rewritten({})


def test_messages_in_the_last_minute(on_cluster: Any) -> None:
    """Old-only partitions count none, young-only all, mixed ones just the young records."""
    bootstrap = on_cluster.bootstrap
    name = unique("recent-")
    make_topic(bootstrap, name, partitions=3)
    now = int(time.time() * 1000)
    produce(bootstrap, name, 2, partition=0, ts=now - 600_000)
    produce(bootstrap, name, 3, partition=1, ts=now - 600_000)
    produce(bootstrap, name, 4, partition=1, ts=now)
    produce(bootstrap, name, 5, partition=2, ts=now)
    topic = _topic(name)
    assert [p.recent_messages for p in topic.partitions] == [0, 4, 5]
    assert topic.recent_messages == 9
    admin.expire()  # the same from a rebuild that reuses record stamps
    assert [p.recent_messages for p in _topic(name).partitions] == [0, 4, 5]


class _ChangeAfterAnswer:
    """The console's real connection manager, running `change` (another tool's) once the
    first answer to a `to` request (a kafka-python class name) has arrived: the read
    that preceded the change then saw the old state."""

    def __init__(self, manager: Any, change: Callable[[], None], to: str) -> None:
        self._manager = manager
        self._change: Callable[[], None] | None = change
        self._to = to
        self._watched: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager, name)

    def send(self, request: Any, **kwargs: Any) -> Any:
        future = self._manager.send(request, **kwargs)
        if type(request).__name__.startswith(self._to):
            self._watched.append(future)
        return future

    async def wait_for(self, future: Any, timeout_ms: int) -> Any:
        answer = await self._manager.wait_for(future, timeout_ms)
        if self._change is not None and any(future is w for w in self._watched):
            self._change, change = None, self._change
            change()
        return answer


@pytest.fixture
def settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The re-read's settle window counted from the change, as when the console made it:
    here the change happens inside the first read, and may take seconds on a loaded
    three-node cluster. (The re-read returns as soon as it sees the change.)"""
    monkeypatch.setattr(reads, "SETTLE_S", 30.0)


def _reread_around(
    name: str, change: Callable[[], None], to: str, **expected: Any
) -> tuple[reads.Layout, reads.Filled]:
    """The console's re-read of `name` (expecting `expected`: partitions, expect_configs),
    with `change` made right after the first answer to a `to` request."""

    async def read(manager: Any) -> tuple[reads.Layout, reads.Filled]:
        return await reads.read_topics(
            _ChangeAfterAnswer(manager, change, to=to),
            [name],
            now_ms=T0,
            limit_s=15,
            existing=True,
            **expected,
        )

    return wire.run(local_cluster(), f"re-read {name}", read)


def test_reread_waits_for_the_partitions_a_change_made(on_cluster: Any, settle: None) -> None:
    """A broker other than the one that took CreatePartitions may still report the old
    count for a moment: the re-read after a grow keeps asking until it sees the new one."""
    bootstrap = on_cluster.bootstrap
    name = unique("growing-")
    make_topic(bootstrap, name, partitions=1)
    other_tool = AdminClient({"bootstrap.servers": bootstrap})

    def grow() -> None:
        other_tool.create_partitions([NewPartitions(name, 3)])[name].result(timeout=15)

    layout, _ = _reread_around(name, grow, "MetadataRequest", partitions={name: 3})
    assert [p.partition for p in layout.topics[name].partitions] == [0, 1, 2]


def test_reread_waits_for_the_configs_a_change_set(on_cluster: Any, settle: None) -> None:
    """Likewise for configs: another broker may describe the old value for a moment."""
    bootstrap = on_cluster.bootstrap
    name = unique("retained-")
    make_topic(bootstrap, name, partitions=1)
    other_tool = AdminClient({"bootstrap.servers": bootstrap})

    def change() -> None:
        entry = ConfigEntry("retention.ms", "86400000", incremental_operation=AlterConfigOpType.SET)
        resource = ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=[entry])
        for future in other_tool.incremental_alter_configs([resource]).values():
            future.result(timeout=15)

    wanted = {name: {"retention.ms": "86400000"}}
    _, filled = _reread_around(name, change, "DescribeConfigsRequest", expect_configs=wanted)
    assert filled.configs[name]["retention.ms"] == "86400000"


def test_reread_waits_for_a_created_topic(on_cluster: Any, settle: None) -> None:
    """A broker other than the controller may not know a topic just created: the re-read
    after a create keeps asking until the topic is there with its partitions."""
    bootstrap = on_cluster.bootstrap
    name = unique("born-")

    def create() -> None:
        make_topic(bootstrap, name, partitions=2)

    layout, _ = _reread_around(name, create, "MetadataRequest", partitions={name: 2})
    assert [p.partition for p in layout.topics[name].partitions] == [0, 1]
