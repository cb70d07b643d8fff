"""The group coordinator when an fsync of `__consumer_offsets` fails (`tests/faultfs.py`).

The log goes offline at the failure (see `tests/logstore/storage/test_fsync_failure.py`).
The write that failed is reported to its caller; after that the coordinator writes
nothing until a restart, so its timers do not retry, and log, the failure ten times a
second.
"""

from __future__ import annotations

import pytest

from logstore.clock import ManualClock
from logstore.groups.offsets import CommittedOffset
from logstore.groups.settings import GroupSettings
from logstore.storage import KafkaStorageError
from tests.faultfs import FaultFs
from tests.logstore.groups.helpers import join_request, open_coordinator

FAST = GroupSettings(initial_rebalance_delay_ms=0)


async def test_the_coordinator_stops_writing_once_its_log_is_offline(faultfs: FaultFs) -> None:
    clock = ManualClock()
    data = faultfs.mountpoint / "data"
    logs, coord = open_coordinator(data, clock, FAST)
    member = (await coord.join("g", join_request(instance="i-1"))).member_id
    faultfs.fail_fsync("data/__consumer_offsets-")
    # The member's SyncGroup is answered either way; its metadata is not durable.
    assert (await coord.sync("g", member, 1, {member: b"A"}, "i-1")).assignment == b"A"
    assert logs.log("__consumer_offsets", 0).offline
    with pytest.raises(KafkaStorageError, match="fsync failed"):
        await coord.commit("g", [("t", 0, CommittedOffset(5, -1, "", 0))])
    coord.leave("g", [("", "i-1")])  # another change to write
    await coord.run_due_checks()  # what every tick runs: nothing to write, no error
    faultfs.heal()
    logs.close()
    logs, again = open_coordinator(data, clock, FAST)
    assert not logs.log("__consumer_offsets", 0).offline
    assert "g" in again.classic  # the metadata whose fsync failed did reach this disk
    logs.close()
