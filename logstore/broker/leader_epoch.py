"""The partition leader epoch a client names, judged as Kafka's partition leader does.

A single node never changes leaders, so every partition's leader epoch is 0 (as Metadata
says). A client that names a `current_leader_epoch` other than that gets Kafka's answer
for the partition: FENCED_LEADER_EPOCH (74) for an older one, UNKNOWN_LEADER_EPOCH (75)
for a newer one; both make clients refresh their metadata and retry. -1 means the client
names none, and is never checked; Fetch, as Kafka's, takes any negative epoch as none.

Owns only that rule. It must never look a partition up (callers have checked it exists).
"""

from __future__ import annotations

from logstore.error_codes import FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH

LEADER_EPOCH = 0
NO_EPOCH = -1


def epoch_error(current_leader_epoch: int) -> int:
    """0 if `current_leader_epoch` is the partition's epoch or none, else Kafka's error."""
    if current_leader_epoch in (NO_EPOCH, LEADER_EPOCH):
        return 0
    if current_leader_epoch < LEADER_EPOCH:
        return FENCED_LEADER_EPOCH
    return UNKNOWN_LEADER_EPOCH
