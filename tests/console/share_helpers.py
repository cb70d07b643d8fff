"""Helpers for the console's share-group tests: a share group brought to a known start
offset by really consuming with confluent-kafka's ShareConsumer (explicit
acknowledgement), and one kept running as an active member.

A group "at K" has accepted offsets 0..K-1 of a one-partition topic and held the rest
unacknowledged until it closed, which releases them: its start offset (SPSO) is K and
every later record waits. It must never talk to a broker except through confluent-kafka's
public API.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from confluent_kafka import AcknowledgeType, ShareConsumer
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource
from confluent_kafka.admin import ResourceType as AdminResource

from console.kafka import shares
from console.kafka.errors import NotFound
from console.kafka.model import ShareStart
from tests.console import groups_helpers as h

# Kafka starts delivering to a new share group only after its first assignment round.
DEADLINE_S = 45.0


def unique_group(prefix: str = "share-view") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def configure(bootstrap: str, group: str, **configs: str) -> None:
    """Set group configs (keyword names use _ for .); reading starts at the earliest."""
    entries = {"share.auto.offset.reset": "earliest"}
    entries |= {k.replace("_", "."): v for k, v in configs.items()}
    resource = ConfigResource(
        AdminResource.GROUP,
        group,
        incremental_configs=[
            ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
            for k, v in entries.items()
        ],
    )
    admin = AdminClient(h.conf(bootstrap))
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(h.TIMEOUT)


def member(bootstrap: str, group: str, topic: str) -> ShareConsumer:
    consumer = ShareConsumer(
        {
            **h.conf(bootstrap),
            "group.id": group,
            "share.acknowledgement.mode": "explicit",
        }
    )
    consumer.subscribe([topic])
    return consumer


def consume_to(bootstrap: str, group: str, topic: str, accept_below: int) -> None:
    """Accept offsets below `accept_below` of partition 0, hold the rest, then close (which
    releases what was held). The group's start offset is `accept_below` afterwards."""
    consumer = member(bootstrap, group, topic)
    accepted: set[int] = set()
    seen_any = False
    try:
        deadline = time.monotonic() + DEADLINE_S
        while (len(accepted) < accept_below or not seen_any) and time.monotonic() < deadline:
            got = False
            for msg in consumer.poll(0.5) or []:
                if msg.error():
                    continue
                seen_any = got = True
                if msg.offset() < accept_below:
                    consumer.acknowledge(msg, AcknowledgeType.ACCEPT)
                    accepted.add(msg.offset())
            if got:
                consumer.commit_sync()
        assert seen_any, f"share group {group} received nothing in time"
        assert len(accepted) == accept_below, f"{group} accepted only {len(accepted)} in time"
    finally:
        consumer.close()
    wait_for_start(bootstrap, group, topic, accept_below)


def acknowledge_each(
    bootstrap: str, group: str, topic: str, count: int, decide: Callable[[int], AcknowledgeType]
) -> None:
    """Acknowledge each of offsets 0..count-1 of partition 0 once as `decide(offset)` says;
    a record delivered again is released again. Then close."""
    consumer = member(bootstrap, group, topic)
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + DEADLINE_S
        while len(seen) < count and time.monotonic() < deadline:
            got = [m for m in consumer.poll(0.5) or [] if not m.error()]
            for msg in got:
                offset = msg.offset() or 0
                first = offset not in seen
                seen.add(offset)
                consumer.acknowledge(msg, decide(offset) if first else AcknowledgeType.RELEASE)
            if got:
                consumer.commit_sync()
        assert len(seen) == count, f"{group} saw {len(seen)} of {count} records in time"
    finally:
        consumer.close()


def wait_for_start(
    bootstrap: str, group: str, topic: str, start: int | None, lag: int | None = None
) -> ShareStart:
    """Until the coordinator reports `start` as the start offset of partition 0 (any, when
    None) and `lag` records waiting (when given), with no member left (Kafka's share
    coordinator persists acknowledgements a moment after answering them)."""
    deadline = time.monotonic() + h.TIMEOUT
    found = None
    while time.monotonic() < deadline:
        try:
            state = shares.describe_one(h.cluster(bootstrap), group)
        except NotFound:
            state = None
        found = state.starts.get((topic, 0)) if state else None
        if (
            state is not None
            and found is not None
            and not state.description.members
            and (start is None or found.start == start)
            and (lag is None or found.lag == lag)
        ):
            return found
        time.sleep(0.2)
    raise AssertionError(f"start offset of {group} stayed {found}, not {start} (lag {lag})")


def join(bootstrap: str, group: str, topic: str) -> ShareConsumer:
    """A member that has joined (the coordinator lists it), holding what it fetched."""
    consumer = member(bootstrap, group, topic)
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        consumer.poll(0.5)
        try:
            if shares.describe_one(h.cluster(bootstrap), group).description.members:
                return consumer
        except NotFound:
            pass
    consumer.close()
    raise AssertionError(f"share consumer never joined {group}")
