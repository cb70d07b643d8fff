"""The broker's internal topics are its coordinators' alone: a client can neither write to
`__consumer_offsets`, nor delete its records, nor delete the topic, and a group's committed
offsets survive every such attempt and a `kill -9`.

Kafka refuses the first two the same way (the differential `test_out_of_range.py` compares
them); it lets the topic be deleted, losing every group's offsets, and makes it anew. Here a
running group coordinator keeps its state in the topic, so the deletion is refused.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from logstore.broker.build import make
from logstore.records import build_batch
from tests.broker_fixture import start_broker
from tests.clients.messages import unique_topic
from tests.logstore.broker.test_bad_input import _create
from tests.logstore.broker.wire import Wire, schema

PRODUCE, OFFSET_COMMIT, OFFSET_FETCH, DELETE_TOPICS, DELETE_RECORDS = 0, 8, 9, 20, 21
OFFSETS = "__consumer_offsets"
INVALID_TOPIC_EXCEPTION, POLICY_VIOLATION = 17, 44


def _commit(w: Wire, group: str, topic: str, offset: int) -> int:
    s = schema(OFFSET_COMMIT, 8)
    reply = w.request(
        OFFSET_COMMIT, 8, group_id=group, generation_id_or_member_epoch=-1, member_id="",
        group_instance_id=None,
        topics=(make(s.OffsetCommitRequestTopic, name=topic, partitions=(
            make(s.OffsetCommitRequestPartition, partition_index=0, committed_offset=offset,
                 committed_leader_epoch=-1, committed_metadata=""),
        )),),
    )  # fmt: skip
    return int(reply.topics[0].partitions[0].error_code)


def _committed(w: Wire, group: str, topic: str) -> int:
    s = schema(OFFSET_FETCH, 7)
    reply = w.request(
        OFFSET_FETCH, 7, group_id=group, require_stable=False,
        topics=(make(s.OffsetFetchRequestTopic, name=topic, partition_indexes=(0,)),),
    )  # fmt: skip
    return int(reply.topics[0].partitions[0].committed_offset)


def _attempts(w: Wire) -> dict[str, Any]:
    p = schema(PRODUCE, 9)
    # A record shaped like an offset commit: were it stored, the coordinator would read it
    # back at start-up as group state.
    garbage = build_batch([(b"\x00\x01\xff\xffgarbage", b"\x00\x03garbage")], timestamp=0)
    produced = w.request(
        PRODUCE, 9, transactional_id=None, acks=-1, timeout=datetime.timedelta(seconds=10),
        topic_data=(make(p.TopicProduceData, name=OFFSETS, partition_data=(
            make(p.PartitionProduceData, index=0, records=garbage),
        )),),
    )  # fmt: skip
    r = schema(DELETE_RECORDS, 2)
    truncated = w.request(
        DELETE_RECORDS, 2, timeout=datetime.timedelta(seconds=10),
        topics=(make(r.DeleteRecordsTopic, name=OFFSETS, partitions=(
            make(r.DeleteRecordsPartition, partition_index=0, offset=-1),
        )),),
    )  # fmt: skip
    d = schema(DELETE_TOPICS, 6)
    deleted = w.request(
        DELETE_TOPICS, 6, timeout=datetime.timedelta(seconds=10),
        topics=(make(d.DeleteTopicState, name=OFFSETS, topic_id=None),),
    )  # fmt: skip
    return {
        "produce": int(produced.responses[0].partition_responses[0].error_code),
        "delete records": int(truncated.topics[0].partitions[0].error_code),
        "delete topic": (
            int(deleted.responses[0].error_code),
            "internal topic" in (deleted.responses[0].error_message or ""),
        ),
    }


def test_a_client_cannot_touch_the_group_coordinators_topic(tmp_path: Path) -> None:
    broker = start_broker(tmp_path / "data")
    try:
        topic, group = unique_topic("internal"), "internal-group"
        with Wire(broker.bootstrap) as w:
            assert _create(w, topic) == 0
            assert _commit(w, group, topic, 7) == 0
            assert _attempts(w) == {
                "produce": INVALID_TOPIC_EXCEPTION,
                "delete records": INVALID_TOPIC_EXCEPTION,
                "delete topic": (POLICY_VIOLATION, True),
            }
            # The coordinator still works on its topic.
            assert _commit(w, group, topic, 8) == 0
        broker.kill9()
        broker.restart()
        with Wire(broker.bootstrap) as w:
            assert _committed(w, group, topic) == 8
    finally:
        broker.kill9()
