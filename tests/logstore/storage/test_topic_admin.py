"""Topic changes while serving (`LogManager.admin`): the catalogue is written in a
thread, one change at a time, and a change is in force only once it is on disk.

On the fault filesystem (`tests/faultfs.py`) where a write must be held, so a held
catalogue fsync is a real system call that blocks. A refused write through `admin` is in
`test_catalogue_failure.py`, with the same changes made on the caller's thread.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import pytest

from logstore.storage import (
    LogManager,
    TopicExistsError,
    UnknownTopicOrPartitionError,
)
from logstore.storage.topic_admin import SLICE
from tests.faultfs import FaultFs

from .helpers import batch, read_all

KEEP = {"retention.ms": "-1"}  # test batches carry old timestamps


def _topics_after_restart(data: Path) -> dict[str, tuple[int, dict[str, str]]]:
    with LogManager(data, fsync="always") as mgr:
        return {t.name: (t.partitions, t.configs) for t in mgr.topics()}


async def _until_writing(faultfs: FaultFs) -> None:
    """Wait until a catalogue write has started (its temporary file exists). Polled: the
    write happens in a worker thread and shows only on the disk."""
    tmp = faultfs.source / "data" / "catalogue.json.tmp"
    async with asyncio.timeout(10):
        while not tmp.exists():  # noqa: ASYNC110 - nothing in this process to wait on
            await asyncio.sleep(0.005)


async def test_changes_made_at_once_are_all_written(tmp_path: Path) -> None:
    """Each change waits for the one before: written concurrently, each catalogue would
    lack the others' topics, and a restart would lose all but the last."""
    data = tmp_path / "data"
    mgr = LogManager(data, fsync="always").open()
    await mgr.admin.create_topic("grown", 1)
    await asyncio.gather(
        mgr.admin.create_topic("a", 1),
        mgr.admin.create_topic("b", 2, KEEP),
        mgr.admin.add_partitions("grown", 3),
        mgr.admin.alter_configs("grown", KEEP),
    )
    mgr.close()
    assert _topics_after_restart(data) == {
        "a": (1, {}),
        "b": (2, KEEP),
        "grown": (3, KEEP),
    }


async def test_a_held_catalogue_write_holds_only_topic_changes(faultfs: FaultFs) -> None:
    """While the catalogue's fsync hangs, the new topic does not exist yet, the next topic
    change waits its turn, and the partitions that exist take appends and reads."""
    data = faultfs.mountpoint / "data"
    mgr = LogManager(data, fsync="always").open()
    await mgr.admin.create_topic("steady", 1, KEEP)
    faultfs.hold_fsync("data/catalogue")
    creating = asyncio.create_task(mgr.admin.create_topic("new", 1))
    await _until_writing(faultfs)
    duplicate = asyncio.create_task(mgr.admin.create_topic("new", 1))
    mgr.log("steady", 0).append(batch(3))
    assert [r.offset for r in read_all(mgr.log("steady", 0))] == [0, 1, 2]
    assert mgr.topic("new") is None
    assert not creating.done()
    assert not duplicate.done()
    faultfs.heal()
    assert (await creating).name == "new"
    with pytest.raises(TopicExistsError, match="'new' already exists"):
        await duplicate
    mgr.close()
    assert _topics_after_restart(data) == {"new": (1, {}), "steady": (1, KEEP)}


async def test_a_change_whose_request_is_cancelled_still_takes_effect(faultfs: FaultFs) -> None:
    """A client that goes away mid-CreateTopics cancels its request, not the change: the
    catalogue already being written lists the topic, so memory must list it too, and a
    shutdown (`idle`) waits for it."""
    data = faultfs.mountpoint / "data"
    mgr = LogManager(data, fsync="always").open()
    faultfs.hold_fsync("data/catalogue")
    request = asyncio.create_task(mgr.admin.create_topic("orphan", 2))
    await _until_writing(faultfs)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    idle = asyncio.create_task(mgr.admin.idle())  # what a shutdown waits for
    for _ in range(3):
        await asyncio.sleep(0)
    assert not idle.done()
    faultfs.heal()
    await idle
    assert mgr.topic("orphan") is not None
    await mgr.admin.create_topic("later", 1)
    mgr.log("orphan", 1).append(batch(1))
    mgr.close()
    assert _topics_after_restart(data) == {"later": (1, {}), "orphan": (2, {})}


async def test_a_delete_by_id_spares_a_topic_made_again_under_the_name(tmp_path: Path) -> None:
    with LogManager(tmp_path / "data", fsync="always") as mgr:
        old = await mgr.admin.create_topic("t", 1)
        await mgr.admin.delete_topic("t")
        new = await mgr.admin.create_topic("t", 1)
        with pytest.raises(UnknownTopicOrPartitionError, match="'t' does not exist"):
            await mgr.admin.delete_topic("t", old.topic_id)
        assert mgr.topic("t") == new
        await mgr.admin.delete_topic("t", new.topic_id)
        assert mgr.topic("t") is None


def _partition_dirs(data: Path, topic: str) -> int:
    """Directories named as the topic's partitions (not those renamed aside for removal)."""
    return sum(1 for name in os.listdir(data) if re.fullmatch(rf"{topic}-\d+", name))


async def _watch(data: Path, mgr: LogManager, change: asyncio.Task[Any]) -> list[tuple[int, int]]:
    """While `change` runs: (partition directories of "big", partitions it is listed
    with, 0 if not listed), at every turn of the event loop this task gets."""
    seen = []
    while not change.done():
        info = mgr.topic("big")
        seen.append((_partition_dirs(data, "big"), info.partitions if info else 0))
        await asyncio.sleep(0)
    await change
    return seen


async def test_a_topic_of_many_partitions_is_made_and_removed_a_slice_at_a_time(
    tmp_path: Path,
) -> None:
    """Other tasks run while a big topic's files are made (and removed), and nobody sees
    a partition until every one of the change is made: before, the whole topic was made
    in one go on the event loop (1.6 s for 10,000 partitions), a pause for every client."""
    data = tmp_path / "data"
    first, total = 3 * SLICE, 5 * SLICE
    with LogManager(data, fsync="always") as mgr:
        seen = await _watch(data, mgr, asyncio.create_task(mgr.admin.create_topic("big", first)))
        assert any(0 < dirs < first for dirs, _ in seen)
        assert all(listed == 0 for dirs, listed in seen if dirs < first)
        seen = await _watch(data, mgr, asyncio.create_task(mgr.admin.add_partitions("big", total)))
        assert any(first < dirs < total for dirs, _ in seen)
        assert all(listed == first for dirs, listed in seen if dirs < total)
        assert mgr.topic("big").partitions == total
        assert [log.partition for log in mgr.logs() if log.topic == "big"] == list(range(total))
        seen = await _watch(data, mgr, asyncio.create_task(mgr.admin.delete_topic("big")))
        assert any(0 < dirs < total and listed == 0 for dirs, listed in seen)
        mgr.background.wait_io()  # renamed aside ("big-N.<id>-delete"), then removed
        assert [name for name in os.listdir(data) if name.startswith("big")] == []
