"""Topic administration: names, partitions, configs, ids, deletion, internal state."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from logstore.clock import ManualClock
from logstore.storage import (
    InvalidConfigError,
    InvalidPartitionsError,
    InvalidTopicError,
    LogManager,
    TopicExistsError,
    UnknownTopicOrPartitionError,
)

from .helpers import batch, read_all


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("orders", True),
        ("a.b_c-D9", True),
        ("x" * 249, True),
        ("x" * 250, False),
        ("", False),
        (".", False),
        ("..", False),
        ("has space", False),
        ("slash/name", False),
        ("ünicode", False),
    ],
)
def test_topic_name_rules(manager: LogManager, name: str, ok: bool) -> None:
    if ok:
        assert manager.create_topic(name, 1).name == name
    else:
        with pytest.raises(InvalidTopicError) as info:
            manager.create_topic(name, 1)
        assert info.value.code == 17


@pytest.mark.parametrize(
    ("configs", "error"),
    [
        ({"retention.ms": "-1"}, None),
        ({"cleanup.policy": "compact,delete"}, None),
        ({"message.timestamp.type": "LogAppendTime"}, None),
        ({"min.cleanable.dirty.ratio": "0.1"}, None),
        ({"no.such.config": "1"}, "Unknown"),
        ({"retention.ms": "soon"}, "Invalid value"),
        ({"retention.ms": "-2"}, "Invalid value"),
        ({"cleanup.policy": "forever"}, "Invalid value"),
        ({"min.cleanable.dirty.ratio": "1.5"}, "Invalid value"),
        ({"segment.bytes": "10"}, "Invalid value"),
        ({"segment.bytes": "1048575"}, "Invalid value"),  # Kafka's floor is 1 MiB
        ({"internal.segment.bytes": "1000"}, None),  # ...and this its way around it
        ({"compression.gzip.level": "0"}, "Invalid value"),
        ({"preallocate": "maybe"}, "Invalid value"),
        # Kafka's ValidList: empty means no policy; an empty or unknown item is named
        ({"cleanup.policy": ""}, None),
        ({"cleanup.policy": "delete,"}, "^Configuration 'cleanup.policy' values must not be"),
        ({"cleanup.policy": "delete,forever"}, "^Invalid value forever for configuration"),
        # ...and its ValidString compares case and all
        ({"cleanup.policy": "Delete"}, "Invalid value Delete"),
        ({"message.timestamp.type": "logappendtime"}, "String must be one of: CreateTime"),
        ({"compression.type": "ZSTD"}, "Invalid value ZSTD"),
    ],
)
def test_create_validates_configs(manager: LogManager, configs, error: str | None) -> None:
    if error is None:
        assert manager.create_topic("t", 1, configs).configs == configs
    else:
        with pytest.raises(InvalidConfigError, match=error) as info:
            manager.create_topic("t", 1, configs)
        assert info.value.code == 40
        assert manager.topic("t") is None


@pytest.mark.parametrize("partitions", [0, -1])
def test_invalid_partition_count(manager: LogManager, partitions: int) -> None:
    with pytest.raises(InvalidPartitionsError) as info:
        manager.create_topic("t", partitions)
    assert info.value.code == 37


@pytest.mark.parametrize(
    ("existing", "new", "collides"),
    [
        ("a.b", "a_b", True),
        ("a_b", "a.b", True),
        ("x.y_z", "x_y.z", True),
        ("a.b", "a-b", False),
        ("ab", "a_b", False),
    ],
)
def test_names_colliding_by_dot_and_underscore(
    manager: LogManager, existing: str, new: str, collides: bool
) -> None:
    manager.create_topic(existing, 1)
    if collides:
        for validate_only in (True, False):
            with pytest.raises(InvalidTopicError, match="collides") as info:
                manager.create_topic(new, 1, validate_only=validate_only)
            assert info.value.code == 17
    else:
        assert manager.create_topic(new, 1).name == new


def test_duplicate_and_validate_only(manager: LogManager) -> None:
    info = manager.create_topic("t", 1, validate_only=True)
    assert info.name == "t"
    assert manager.topic("t") is None
    manager.create_topic("t", 3)
    with pytest.raises(TopicExistsError) as exc:
        manager.create_topic("t", 1)
    assert exc.value.code == 36


def test_topic_ids_are_stable_across_restarts(tmp_path: Path, clock: ManualClock) -> None:
    with LogManager(tmp_path, clock=clock) as mgr:
        created = mgr.create_topic("t", 2, {"retention.ms": "1000"})
        internal = mgr.create_topic("__consumer_offsets", 1, {"cleanup.policy": "compact"})
    with LogManager(tmp_path, clock=clock) as mgr:
        assert mgr.topic("t") == created
        assert mgr.topic_by_id(created.topic_id) == created
        assert mgr.topic_by_id(uuid.uuid4()) is None
        assert [t.name for t in mgr.topics()] == ["__consumer_offsets", "t"]
        assert mgr.topic("__consumer_offsets") == internal
        assert internal.internal
        assert not created.internal


def test_delete_topic_removes_files_and_name_can_be_reused(manager: LogManager) -> None:
    manager.create_topic("t", 2)
    manager.log("t", 0).append(batch(5))
    directory = manager.log("t", 0).directory
    manager.delete_topic("t")
    assert not directory.exists()
    assert manager.topic("t") is None
    with pytest.raises(UnknownTopicOrPartitionError) as info:
        manager.log("t", 0)
    assert info.value.code == 3
    with pytest.raises(UnknownTopicOrPartitionError):
        manager.delete_topic("t")
    manager.create_topic("t", 1)
    assert manager.log("t", 0).log_end_offset == 0


def test_a_topic_with_the_longest_allowed_name_can_be_deleted(manager: LogManager) -> None:
    name = "t" * 249
    manager.create_topic(name, 11)
    manager.log(name, 10).append(batch(3))
    directories = [manager.log(name, p).directory for p in range(11)]
    manager.delete_topic(name)
    assert not any(d.exists() for d in directories)
    assert not [p for p in manager.data_dir.iterdir() if p.name.endswith("-delete")]
    assert manager.topic(name) is None


def test_a_stale_handle_to_a_deleted_partition_refuses_work(manager: LogManager) -> None:
    manager.create_topic("t", 1)
    stale = manager.log("t", 0)
    stale.append(batch(2))
    manager.delete_topic("t")
    for action in (lambda: stale.append(batch(1)), lambda: stale.read(0, 100)):
        with pytest.raises(UnknownTopicOrPartitionError):
            action()
    assert stale.log_end_offset == 2


def test_orphan_directories_are_removed_on_open(tmp_path: Path, clock: ManualClock) -> None:
    with LogManager(tmp_path, clock=clock) as mgr:
        mgr.create_topic("keep", 1)
    (tmp_path / "gone-0").mkdir()
    (tmp_path / "keep-5").mkdir()
    (tmp_path / "someone-else-1").mkdir()
    (tmp_path / "someone-else-1" / "notes.txt").write_text("not a segment")
    with LogManager(tmp_path, clock=clock) as mgr:
        assert mgr.topic("keep") is not None
    assert not (tmp_path / "gone-0").exists()
    assert not (tmp_path / "keep-5").exists()
    assert (tmp_path / "keep-0").exists()
    assert (tmp_path / "someone-else-1" / "notes.txt").exists()  # not ours: left alone


def test_add_partitions(manager: LogManager) -> None:
    manager.create_topic("t", 1)
    manager.log("t", 0).append(batch(2))
    info = manager.add_partitions("t", 3)
    assert info.partitions == 3
    assert manager.log("t", 2).log_end_offset == 0
    assert [r.offset for r in read_all(manager.log("t", 0))] == [0, 1]
    for total in (3, 2):
        with pytest.raises(InvalidPartitionsError):
            manager.add_partitions("t", total)


def test_alter_and_describe_configs(manager: LogManager) -> None:
    manager.create_topic("t", 1, {"retention.ms": "1000"})
    entries = {e.name: e for e in manager.describe_configs("t")}
    assert entries["retention.ms"].value == "1000"
    assert entries["retention.ms"].source == "DYNAMIC_TOPIC_CONFIG"
    assert not entries["retention.ms"].is_default
    assert entries["cleanup.policy"].value == "delete"
    assert entries["cleanup.policy"].is_default
    assert entries["segment.bytes"].value == "1073741824"
    assert entries["max.message.bytes"].value == "1048588"
    assert entries["message.timestamp.type"].value == "CreateTime"
    assert entries["message.timestamp.after.max.ms"].value == "3600000"
    assert "internal.segment.bytes" not in entries
    manager.alter_configs("t", {"max.message.bytes": "100"}, delete=["retention.ms"])
    entries = {e.name: e for e in manager.describe_configs("t")}
    assert entries["retention.ms"].is_default
    assert entries["max.message.bytes"].value == "100"
    assert manager.log("t", 0).config.max_message_bytes == 100
    with pytest.raises(InvalidConfigError):
        manager.alter_configs("t", {"bogus": "1"})
    with pytest.raises(InvalidConfigError):
        manager.alter_configs("t", {}, delete=["bogus"])
    with pytest.raises(UnknownTopicOrPartitionError):
        manager.describe_configs("nope")


def test_state_dir_and_atomic_state(manager: LogManager) -> None:
    path = manager.write_state("producers", "snapshot.json", b'{"a": 1}')
    assert path.parent == manager.state_dir("producers")
    assert path.read_bytes() == b'{"a": 1}'
    manager.write_state("producers", "snapshot.json", b"{}")
    assert path.read_bytes() == b"{}"
    assert not list(path.parent.glob("*.tmp"))


def test_second_manager_cannot_open_the_same_directory(tmp_path: Path) -> None:
    with LogManager(tmp_path), pytest.raises(RuntimeError, match="in use"):
        LogManager(tmp_path).open()
