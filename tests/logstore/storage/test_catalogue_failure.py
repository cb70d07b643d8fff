"""Topic changes on a disk that refuses them (`tests/faultfs.py`): a failed fsync of the
topic catalogue, or no room for a new partition's files.

Every change is written to the catalogue before it is applied, so a refused write is
KAFKA_STORAGE_ERROR with the reason and changes nothing, in memory or after a restart; a
topic whose partitions could not be made is taken back whole.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from logstore.storage import KafkaStorageError, LogManager
from tests.faultfs import FaultFs

from .helpers import batch, read_all

KEEP = {"retention.ms": "-1"}  # test batches carry old timestamps


def _state(data: Path) -> dict[str, tuple[int, dict[str, str], int]]:
    """Every topic after a restart: partitions, overrides, records in partition 0."""
    with LogManager(data, fsync="always") as mgr:
        return {
            info.name: (info.partitions, info.configs, len(read_all(mgr.log(info.name, 0))))
            for info in mgr.topics()
            if not info.name.startswith("__")
        }


def test_a_refused_catalogue_write_changes_nothing(faultfs: FaultFs) -> None:
    data = faultfs.mountpoint / "data"
    mgr = LogManager(data, fsync="always").open()
    mgr.create_topic("kept", 1, KEEP)
    mgr.log("kept", 0).append(batch(2))
    before = (mgr.topic("kept"), mgr.log("kept", 0).config)
    faultfs.fail_fsync("data/catalogue")
    refusals = {
        "create": lambda: mgr.create_topic("new", 2, KEEP),
        "delete": lambda: mgr.delete_topic("kept"),
        "grow": lambda: mgr.add_partitions("kept", 3),
        "alter": lambda: mgr.alter_configs("kept", {"retention.ms": "1000"}),
    }
    for change in refusals.values():
        with pytest.raises(KafkaStorageError, match="could not write the topic catalogue"):
            change()
    assert mgr.topic("new") is None
    assert not (data / "new-0").exists()
    assert (mgr.topic("kept"), mgr.log("kept", 0).config) == before
    assert [r.offset for r in read_all(mgr.log("kept", 0))] == [0, 1]
    faultfs.heal()
    mgr.close()
    assert _state(data) == {"kept": (1, KEEP, 2)}


def test_no_room_for_a_new_partition_takes_the_whole_topic_back(faultfs: FaultFs) -> None:
    data = faultfs.mountpoint / "data"
    mgr = LogManager(data, fsync="always").open()
    mgr.create_topic("kept", 1, KEEP)
    faultfs.fill("data/new-2/", "data/kept-1/")
    with pytest.raises(KafkaStorageError, match="could not create the files of new-2"):
        mgr.create_topic("new", 3, KEEP)
    assert mgr.topic("new") is None
    assert not any((data / f"new-{p}").exists() for p in range(3))
    with pytest.raises(KafkaStorageError, match="could not create the files of kept-1"):
        mgr.add_partitions("kept", 2)
    assert mgr.topic("kept").partitions == 1
    faultfs.heal()
    mgr.close()
    assert _state(data) == {"kept": (1, KEEP, 0)}
    with LogManager(data, fsync="always") as mgr:
        mgr.create_topic("new", 3, KEEP)  # the name is free again
        mgr.add_partitions("kept", 2)
    assert _state(data) == {"kept": (2, KEEP, 0), "new": (3, KEEP, 0)}
