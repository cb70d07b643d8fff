"""The MirrorMaker 2 configuration that moves chosen topics and groups to another cluster.

Owns the text of a `connect-mirror-maker.properties` file for Kafka's own MirrorMaker 2
(dedicated mode, `org.apache.kafka.connect.mirror.MirrorMaker`): topic names kept as they
are (IdentityReplicationPolicy) so clients switch by changing only their bootstrap servers,
topic configs and partitions copied, consumer-group positions translated and written to
the target while the group is not running there. Pure text: it must never reach a cluster
nor decide which topics may be moved.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

SOURCE_ALIAS = "source"
TARGET_ALIAS = "target"


@dataclass(frozen=True)
class MirrorPlan:
    source_bootstrap: str
    target_bootstrap: str
    topics: Sequence[str]
    groups: Sequence[str]
    replication_factor: int


def _alternatives(names: Sequence[str]) -> str:
    # MirrorMaker reads topic and group lists as regular expressions: names are escaped
    # so that "orders.v2" does not also match "ordersXv2".
    return "|".join(re.escape(name) for name in sorted(set(names))) or "^$"


def properties(plan: MirrorPlan) -> str:
    """The properties file, one setting a line, with comments saying why."""
    rf = str(plan.replication_factor)
    lines = [
        "# MirrorMaker 2, dedicated mode: bin/connect-mirror-maker.sh this-file.properties",
        f"clusters = {SOURCE_ALIAS}, {TARGET_ALIAS}",
        f"{SOURCE_ALIAS}.bootstrap.servers = {plan.source_bootstrap}",
        f"{TARGET_ALIAS}.bootstrap.servers = {plan.target_bootstrap}",
        f"{SOURCE_ALIAS}->{TARGET_ALIAS}.enabled = true",
        f"{TARGET_ALIAS}->{SOURCE_ALIAS}.enabled = false",
        f"{SOURCE_ALIAS}->{TARGET_ALIAS}.topics = {_alternatives(plan.topics)}",
        f"{SOURCE_ALIAS}->{TARGET_ALIAS}.groups = {_alternatives(plan.groups)}",
        "# Same topic names on the target: clients move by changing bootstrap.servers only.",
        "replication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy",
        "# Write translated group positions to the target while the group is stopped there.",
        "sync.group.offsets.enabled = true",
        "sync.group.offsets.interval.seconds = 1",
        "emit.checkpoints.interval.seconds = 1",
        "# A position is translated exactly only where an offset sync was recorded; a",
        "# sync for every record keeps a stopped group's position exact.",
        "offset.lag.max = 0",
        "# Syncs between two acknowledged ones are written when source offsets are flushed.",
        "offset.flush.interval.ms = 1000",
        "refresh.topics.interval.seconds = 5",
        "refresh.groups.interval.seconds = 5",
        "sync.topic.configs.enabled = true",
        "sync.topic.acls.enabled = false",
        "emit.heartbeats.enabled = false",
        "# MirrorMaker's own bookkeeping lives on the target: nothing is written to the source.",
        "offset-syncs.topic.location = target",
        f"replication.factor = {rf}",
        f"checkpoints.topic.replication.factor = {rf}",
        f"heartbeats.topic.replication.factor = {rf}",
        f"offset-syncs.topic.replication.factor = {rf}",
        f"offset.storage.replication.factor = {rf}",
        f"config.storage.replication.factor = {rf}",
        f"status.storage.replication.factor = {rf}",
        "tasks.max = 1",
    ]
    return "\n".join(lines) + "\n"
