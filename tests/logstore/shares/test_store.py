"""The share-group state files: any group id Kafka allows gets a file the filesystem
accepts, and state written before files were named by a hash is still found."""

from __future__ import annotations

import json
from pathlib import Path

from logstore.shares.store import STATE_NAME, ShareStateStore
from logstore.storage import LogManager

STATE = {"configs": {"share.auto.offset.reset": "earliest"}, "partitions": {"t:0": [5, []]}}


def test_long_and_odd_group_ids_round_trip_across_a_reopen(tmp_path: Path) -> None:
    ids = ["g" * 32_767, "a/b/../c", "ünïcødé ✓", "x" * 120]
    with LogManager(tmp_path, fsync="always") as logs:
        store = ShareStateStore(logs)
        for n, group in enumerate(ids):
            store.write(group, {**STATE, "n": n})
    with LogManager(tmp_path, fsync="always") as logs:
        store = ShareStateStore(logs)
        loaded = store.load_all()
        assert loaded == {group: {**STATE, "n": n} for n, group in enumerate(ids)}
        store.delete(ids[0])
        assert set(store.load_all()) == set(ids[1:])


def test_a_file_named_by_the_id_in_hex_is_read_and_renamed(tmp_path: Path) -> None:
    with LogManager(tmp_path, fsync="always") as logs:
        legacy = logs.state_dir(STATE_NAME) / (b"legacy-group".hex() + ".json")
        legacy.write_text(json.dumps(STATE))
        store = ShareStateStore(logs)
        assert store.load_all() == {"legacy-group": STATE}
        assert not legacy.exists()
        assert store.load_all() == {"legacy-group": STATE}
        store.delete("legacy-group")
        assert store.load_all() == {}
