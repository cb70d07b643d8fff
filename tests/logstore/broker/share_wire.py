"""A raw share-group member over one `Wire` connection: join by ShareGroupHeartbeat, then
ShareFetch v2 with optional ACCEPT acknowledgements, returning the acquired offset ranges
(or the whole answer), and ShareAcknowledge v2.

Shared by the acquisition tests and `bench/share_groups.py` (which holds 100,000 records
acquired without acknowledging them, something explicit-mode client consumers refuse to
do across polls). It asserts only that requests succeed; it never judges what was acquired.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from logstore.broker.build import make
from logstore.protocol.api_keys import ApiKey
from tests.logstore.broker.wire import Wire, schema


class Member:
    """One share-group member and its share session's epoch."""

    def __init__(self, wire: Wire, group: str, topic: str) -> None:
        self.wire, self.group, self.id, self.epoch = wire, group, str(uuid.uuid4()), 0
        hb = wire.request(
            ApiKey.SHARE_GROUP_HEARTBEAT, 1, group_id=group, member_id=self.id, member_epoch=0,
            rack_id=None, subscribed_topic_names=(topic,),
        )  # fmt: skip
        assert hb.error_code == 0
        meta = wire.request(
            ApiKey.METADATA, 12, allow_auto_topic_creation=False,
            include_topic_authorized_operations=False,
            topics=(make(schema(ApiKey.METADATA, 12).MetadataRequestTopic,
                         topic_id=uuid.UUID(int=0), name=topic),),
        )  # fmt: skip
        self.tid = meta.topics[0].topic_id

    def fetch(
        self, max_records: int, mode: int = 0, acks: tuple[int, int] | None = None
    ) -> list[tuple[int, int]]:
        reply = self.fetch_reply(max_records, mode, acks)
        return [(first, last) for first, last, _ in acquired(reply)]

    def fetch_reply(
        self, max_records: int, mode: int = 0, acks: tuple[int, int] | None = None
    ) -> Any:
        """The whole ShareFetch answer (partition 0 of the topic; `acks` accepted)."""
        s = schema(ApiKey.SHARE_FETCH, 2)
        batches = () if acks is None else (
            make(s.AcknowledgementBatch, first_offset=acks[0], last_offset=acks[1],
                 acknowledge_types=(1,)),
        )  # fmt: skip
        reply: Any = self.wire.request(
            ApiKey.SHARE_FETCH, 2, group_id=self.group, member_id=self.id,
            share_session_epoch=self.epoch, max_wait=datetime.timedelta(milliseconds=50),
            min_bytes=1, max_bytes=1 << 24, max_records=max_records, batch_size=max_records,
            share_acquire_mode=mode, is_renew_ack=False, forgotten_topics_data=(),
            topics=(make(s.FetchTopic, topic_id=self.tid, partitions=(
                make(s.FetchPartition, partition_index=0, acknowledgement_batches=batches),)),),
        )  # fmt: skip
        assert reply.error_code == 0
        self.epoch += 1
        return reply

    def acknowledge(self, first: int, last: int) -> Any:
        """ShareAcknowledge v2 accepting first..last of partition 0; the whole answer."""
        s = schema(ApiKey.SHARE_ACKNOWLEDGE, 2)
        reply: Any = self.wire.request(
            ApiKey.SHARE_ACKNOWLEDGE, 2, group_id=self.group, member_id=self.id,
            share_session_epoch=self.epoch, is_renew_ack=False,
            topics=(make(s.AcknowledgeTopic, topic_id=self.tid, partitions=(
                make(s.AcknowledgePartition, partition_index=0, acknowledgement_batches=(
                    make(s.AcknowledgementBatch, first_offset=first, last_offset=last,
                         acknowledge_types=(1,)),)),)),),
        )  # fmt: skip
        assert reply.error_code == 0
        self.epoch += 1
        return reply


def acquired(reply: Any) -> list[tuple[int, int, int]]:
    """(first, last, delivery count) of each range a ShareFetch answer acquired."""
    return [
        (int(a.first_offset), int(a.last_offset), int(a.delivery_count))
        for t in reply.responses
        for p in t.partitions
        for a in p.acquired_records
    ]
