"""How the open-files limit is shared: storage, read slices and connections each stay in
their share and a reserve is kept, whatever the limit; explicit settings win."""

from __future__ import annotations

from pathlib import Path

import pytest

from logstore.config import BrokerConfig
from logstore.server.resources import RESERVED_FDS, plan
from logstore.storage.manager import MAX_PARTITIONS


@pytest.mark.parametrize("nofile", [256, 1024, 4096, 20_000, 1 << 20])
def test_every_share_fits_the_limit(tmp_path: Path, nofile: int) -> None:
    shares = plan(BrokerConfig(data_dir=tmp_path), nofile)
    used = shares.open_segment_files + shares.read_slices + shares.connections
    assert used + RESERVED_FDS <= nofile
    assert shares.connections == min(1000, nofile - RESERVED_FDS - 2 * shares.read_slices)
    assert shares.max_broker_partitions == min(nofile, MAX_PARTITIONS)
    assert shares.max_partitions_per_topic == shares.max_broker_partitions


def test_a_low_limit_lowers_the_connection_cap(tmp_path: Path) -> None:
    shares = plan(BrokerConfig(data_dir=tmp_path), 256)
    assert (shares.open_segment_files, shares.read_slices, shares.connections) == (48, 48, 96)


def test_explicit_settings_win(tmp_path: Path) -> None:
    config = BrokerConfig(
        data_dir=tmp_path,
        max_connections=5,
        max_open_segment_files=7,
        max_broker_partitions=123,
        max_partitions_per_topic=45,
    )
    shares = plan(config, 20_000)
    assert shares.connections == 5
    assert shares.open_segment_files == 7
    assert (shares.max_broker_partitions, shares.max_partitions_per_topic) == (123, 45)
