"""confluent-kafka's ShareConsumer (explicit acknowledgement) against a real broker process.

One and three consumers read every record exactly once when all accept; RELEASE redelivers
with the delivery count raised; REJECT and the delivery limit archive; a record whose lock
lapses goes to another consumer, and so do those of a consumer killed mid-batch, at once
(its connection's end closes its share session); acknowledged records stay
acknowledged across a clean restart and a `kill -9`, and held ones come back with their
delivery counts. ListGroups shows share groups by type, and DeleteGroups removes one only
once it is empty.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import AcknowledgeType, Producer

from logstore.protocol.api_keys import ApiKey
from tests.broker_fixture import BrokerProcess, start_broker
from tests.clients.group_topics import create_topic
from tests.clients.share_groups import (
    configure_group,
    consume_until,
    produce_values,
    quiet_for,
    share_consumer,
    values,
)
from tests.clients.test_groups_wire import GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, request
from tests.clients.test_idempotence_wire import WireClient

ACCEPT, RELEASE, REJECT = AcknowledgeType.ACCEPT, AcknowledgeType.RELEASE, AcknowledgeType.REJECT
# Short locks are allowed here so lapsed locks are seen within a test.
ARGS = ("--group-share-min-record-lock-duration-ms", "500")


@pytest.fixture(scope="module")
def share_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = start_broker(tmp_path_factory.mktemp("share-broker") / "data", ARGS)
    try:
        yield proc
    finally:
        if proc.running:
            proc.stop()


@pytest.mark.parametrize("consumer_count", [1, 3])
def test_every_record_is_delivered_exactly_once(
    share_broker: BrokerProcess, consumer_count: int
) -> None:
    bs = share_broker.bootstrap
    topic = create_topic(bs, 3)
    group = configure_group(bs)
    produce_values(bs, topic, range(600), 3)
    consumers = [share_consumer(bs, group, topic) for _ in range(consumer_count)]
    try:
        seen = consume_until(consumers, lambda m: ACCEPT, lambda s: len(s) >= 600)
        seen += quiet_for(consumers, 1.0)
        assert values(seen) == list(range(600))
        assert all(m.delivery_count() == 1 for m in seen)
    finally:
        for c in consumers:
            c.close()


def test_release_redelivers_with_the_delivery_count_raised(share_broker: BrokerProcess) -> None:
    bs = share_broker.bootstrap
    topic = create_topic(bs, 1)
    group = configure_group(bs)
    produce_values(bs, topic, range(20), 1)
    consumer = share_consumer(bs, group, topic)
    try:
        first = consume_until([consumer], lambda m: RELEASE, lambda s: len(s) >= 20)
        assert values(first) == list(range(20))
        again = consume_until([consumer], lambda m: ACCEPT, lambda s: len(s) >= 20)
        assert values(again) == list(range(20))
        assert {m.delivery_count() for m in again} == {2}
        assert quiet_for([consumer], 1.0) == []
    finally:
        consumer.close()


def test_rejected_records_and_the_delivery_limit_archive(share_broker: BrokerProcess) -> None:
    bs = share_broker.bootstrap
    topic = create_topic(bs, 1)
    group = configure_group(bs, share_delivery_count_limit="2")
    produce_values(bs, topic, range(10), 1)
    consumer = share_consumer(bs, group, topic)

    def decide(msg) -> AcknowledgeType:
        # Evens are rejected at once; odds are released until the limit archives them.
        return REJECT if int(msg.value()) % 2 == 0 else RELEASE

    try:
        seen = consume_until([consumer], decide, lambda s: len(s) >= 15)
        counts = Counter(int(m.value()) for m in seen)
        assert counts == {**{i: 1 for i in range(0, 10, 2)}, **{i: 2 for i in range(1, 10, 2)}}
        produce_values(bs, topic, range(10, 11), 1)
        later = consume_until([consumer], lambda m: ACCEPT, lambda s: len(s) >= 1)
        assert values(later + quiet_for([consumer], 1.0)) == [10]
    finally:
        consumer.close()


def test_a_lapsed_lock_hands_the_records_to_another_consumer(
    share_broker: BrokerProcess,
) -> None:
    bs = share_broker.bootstrap
    topic = create_topic(bs, 1)
    group = configure_group(bs, share_record_lock_duration_ms="1000")
    produce_values(bs, topic, range(10), 1)
    holder, other = share_consumer(bs, group, topic), share_consumer(bs, group, topic)
    try:
        held = consume_until([holder], lambda m: None, lambda s: len(s) >= 10)
        assert values(held) == list(range(10))
        again = consume_until([other], lambda m: ACCEPT, lambda s: len(s) >= 10)
        assert values(again) == list(range(10))
        assert {m.delivery_count() for m in again} == {2}
    finally:
        other.close()
        holder.close()


HOLDER = """
import sys
from tests.clients.share_groups import consume_until, share_consumer
c = share_consumer(sys.argv[1], sys.argv[2], sys.argv[3])
consume_until([c], lambda m: None, lambda s: len(s) >= int(sys.argv[4]))
print("held", flush=True)
sys.stdin.read()
"""


def test_a_consumer_killed_mid_batch_leaves_its_records_to_the_others(
    share_broker: BrokerProcess,
) -> None:
    bs = share_broker.bootstrap
    topic = create_topic(bs, 2)
    # Locks and the member's session outlast the test's deadline: only the end of the
    # killed consumer's connection can hand its records over in time.
    group = configure_group(bs, share_record_lock_duration_ms="60000")
    produce_values(bs, topic, range(40), 2)
    root = Path(__file__).resolve().parents[2]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, bs, group, topic, "40"],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"held"
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
    consumers = [share_consumer(bs, group, topic) for _ in range(2)]
    try:
        seen = consume_until(consumers, lambda m: ACCEPT, lambda s: len(s) >= 40)
        assert values(seen) == list(range(40))
        assert {m.delivery_count() for m in seen} == {2}
    finally:
        for c in consumers:
            c.close()


@pytest.mark.parametrize("how", ["restart", "kill9"])
def test_acknowledged_records_never_return_after_a_restart(tmp_path: Path, how: str) -> None:
    broker = start_broker(tmp_path / "data")
    try:
        bs = broker.bootstrap
        topic = create_topic(bs, 1)
        group = configure_group(bs)
        produce_values(bs, topic, range(100), 1)
        consumer = share_consumer(bs, group, topic)
        seen = consume_until(
            [consumer],
            lambda m: ACCEPT if int(m.value()) < 50 else None,
            lambda s: len(s) >= 100,
        )
        assert values(seen) == list(range(100))
        if how == "kill9":
            broker.kill9()
        consumer.close()
        broker.restart(same_port=True)
        after = share_consumer(broker.bootstrap, group, topic)
        try:
            back = consume_until([after], lambda m: ACCEPT, lambda s: len(s) >= 50)
            back += quiet_for([after], 1.0)
            assert values(back) == list(range(50, 100))
            assert {m.delivery_count() for m in back} == {2}
        finally:
            after.close()
    finally:
        if broker.running:
            broker.stop()


def test_share_groups_are_listed_by_type_and_deleted_once_empty(
    share_broker: BrokerProcess,
) -> None:
    bs = share_broker.bootstrap
    topic = create_topic(bs, 1)
    group = configure_group(bs)
    produce_values(bs, topic, range(3), 1)
    consumer = share_consumer(bs, group, topic)
    wire = WireClient(share_broker.port)

    def listed(types: tuple[str, ...]) -> dict[str, tuple[str, str]]:
        reply = wire.call(ApiKey.LIST_GROUPS, 5, request(ApiKey.LIST_GROUPS, 5,
                          states_filter=(), types_filter=types))  # fmt: skip
        return {g.group_id: (g.group_type, g.group_state) for g in reply.groups}

    def delete() -> int:
        reply = wire.call(ApiKey.DELETE_GROUPS, 2,
                          request(ApiKey.DELETE_GROUPS, 2, groups_names=(group,)))  # fmt: skip
        return int(reply.results[0].error_code)

    try:
        consume_until([consumer], lambda m: ACCEPT, lambda s: len(s) >= 3)
        assert listed(("share",))[group] == ("share", "Stable")
        assert group not in listed(("consumer", "classic"))
        assert delete() == NON_EMPTY_GROUP
        consumer.close()
        assert listed(())[group] == ("share", "Empty")
        assert delete() == 0
        assert group not in listed(())
        assert delete() == GROUP_ID_NOT_FOUND
    finally:
        wire.close()


def test_a_read_committed_share_group_never_sees_aborted_records(
    share_broker: BrokerProcess,
) -> None:
    bs = share_broker.bootstrap
    topic = create_topic(bs, 1)
    group = configure_group(bs, share_isolation_level="read_committed")
    producer = Producer({"bootstrap.servers": bs, "transactional.id": f"t-{topic}"})
    producer.init_transactions(10)
    for values_, commit in ((range(0, 5), True), (range(100, 105), False), (range(5, 10), True)):
        producer.begin_transaction()
        for i in values_:
            producer.produce(topic, value=str(i).encode())
        producer.flush(10)
        if commit:
            producer.commit_transaction(10)
        else:
            producer.abort_transaction(10)
    consumer = share_consumer(bs, group, topic)
    try:
        seen = consume_until([consumer], lambda m: ACCEPT, lambda s: len(s) >= 10)
        seen += quiet_for([consumer], 1.0)
        assert values(seen) == list(range(10))
    finally:
        consumer.close()
