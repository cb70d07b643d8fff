"""Topic changes on a disk that refuses them (`tests/faultfs.py`): a failed fsync of the
topic catalogue, or no room for a new partition's files.

Every change is written to the catalogue before it is applied, so a refused write is
KAFKA_STORAGE_ERROR with the reason and changes nothing, in memory or after a restart; a
topic whose partitions could not be made is taken back whole. Each test runs both ways a
change is made: on the caller's thread (start-up, tools) and through `LogManager.admin`
(a serving broker: written in a thread).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from logstore.storage import KafkaStorageError, LogManager
from logstore.storage.topic_admin import SLICE
from tests.faultfs import FaultFs

from .helpers import batch, read_all

KEEP = {"retention.ms": "-1"}  # test batches carry old timestamps


class _Direct:
    """The LogManager's own methods, awaitable like `admin`'s."""

    def __init__(self, mgr: LogManager) -> None:
        self._mgr = mgr

    async def create_topic(self, *args: Any) -> Any:
        return self._mgr.create_topic(*args)

    async def delete_topic(self, *args: Any) -> Any:
        return self._mgr.delete_topic(*args)

    async def add_partitions(self, *args: Any) -> Any:
        return self._mgr.add_partitions(*args)

    async def alter_configs(self, *args: Any) -> Any:
        return self._mgr.alter_configs(*args)


@pytest.fixture(params=["direct", "admin"])
def via(request: pytest.FixtureRequest) -> Any:
    """How a test makes its changes: a function of the LogManager."""
    return _Direct if request.param == "direct" else (lambda mgr: mgr.admin)


def _state(data: Path) -> dict[str, tuple[int, dict[str, str], int]]:
    """Every topic after a restart: partitions, overrides, records in partition 0."""
    with LogManager(data, fsync="always") as mgr:
        return {
            info.name: (info.partitions, info.configs, len(read_all(mgr.log(info.name, 0))))
            for info in mgr.topics()
            if not info.name.startswith("__")
        }


async def test_a_refused_catalogue_write_changes_nothing(faultfs: FaultFs, via: Any) -> None:
    data = faultfs.mountpoint / "data"
    mgr = LogManager(data, fsync="always").open()
    admin = via(mgr)
    await admin.create_topic("kept", 1, KEEP)
    mgr.log("kept", 0).append(batch(2))
    before = (mgr.topic("kept"), mgr.log("kept", 0).config)
    faultfs.fail_fsync("data/catalogue")
    refusals = [
        admin.create_topic("new", 2, KEEP),
        admin.delete_topic("kept"),
        admin.add_partitions("kept", 3),
        admin.alter_configs("kept", {"retention.ms": "1000"}),
    ]
    for change in refusals:
        with pytest.raises(KafkaStorageError, match="could not write the topic catalogue"):
            await change
    assert mgr.topic("new") is None
    assert not (data / "new-0").exists()
    assert not (data / "catalogue.json.tmp").exists()  # no half-written copy left behind
    assert (mgr.topic("kept"), mgr.log("kept", 0).config) == before
    assert [r.offset for r in read_all(mgr.log("kept", 0))] == [0, 1]
    faultfs.heal()
    mgr.close()
    assert _state(data) == {"kept": (1, KEEP, 2)}


async def test_no_room_for_a_new_partition_takes_the_whole_topic_back(
    faultfs: FaultFs, via: Any
) -> None:
    data = faultfs.mountpoint / "data"
    mgr = LogManager(data, fsync="always").open()
    admin = via(mgr)
    await admin.create_topic("kept", 1, KEEP)
    # The full partition is in the topic's second slice (`admin` makes them a slice at a
    # time): the first slice's partitions must go too.
    full = SLICE + 1
    faultfs.fill(f"data/new-{full}/", f"data/kept-{full}/")
    with pytest.raises(KafkaStorageError, match=f"could not create the files of new-{full}"):
        await admin.create_topic("new", full + 2, KEEP)
    assert mgr.topic("new") is None
    assert [name for name in os.listdir(data) if name.startswith("new")] == []
    with pytest.raises(KafkaStorageError, match=f"could not create the files of kept-{full}"):
        await admin.add_partitions("kept", full + 2)
    assert mgr.topic("kept").partitions == 1
    assert sorted(name for name in os.listdir(data) if name.startswith("kept")) == ["kept-0"]
    faultfs.heal()
    mgr.close()
    assert _state(data) == {"kept": (1, KEEP, 0)}
    with LogManager(data, fsync="always") as mgr:
        mgr.create_topic("new", 3, KEEP)  # the name is free again
        mgr.add_partitions("kept", 2)
    assert _state(data) == {"kept": (2, KEEP, 0), "new": (3, KEEP, 0)}
