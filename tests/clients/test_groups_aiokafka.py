"""aiokafka consumer groups against a real broker process.

Three consumers share a 6-partition topic two partitions each, one leaves and the others
take over, every message is consumed exactly once with committed offsets, and a broker
restarted after `kill -9` serves the committed offsets.
"""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from tests.clients.group_topics import create_topic, produce

DEADLINE_S = 60.0


class Member(ConsumerRebalanceListener):
    """One aiokafka consumer consuming in its own task, committing every message.

    aiokafka rebalances in a background task, so the listener is the barrier an
    application needs for exactly-once with manual commits: revocation waits for the
    commit in flight and ends processing of the batch fetched before it.
    """

    def __init__(self, bootstrap: str, group: str, topic: str, seen: list[int]) -> None:
        self.topic = topic
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            heartbeat_interval_ms=300,
            session_timeout_ms=10_000,
        )
        self.seen = seen
        self.task: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()
        self.epoch = 0

    async def on_partitions_revoked(self, revoked) -> None:
        async with self.lock:
            self.epoch += 1

    async def on_partitions_assigned(self, assigned) -> None:
        pass

    async def start(self) -> Member:
        self.consumer.subscribe([self.topic], listener=self)
        await self.consumer.start()
        self.task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        c = self.consumer
        while True:
            batches = await c.getmany(timeout_ms=200)
            epoch = self.epoch
            for tp, messages in batches.items():
                for msg in messages:
                    async with self.lock:
                        if self.epoch != epoch:
                            break  # revoked since the fetch: the new owner reads it
                        try:
                            await c.commit({tp: msg.offset + 1})
                        except KafkaError:
                            break  # not committed (rebalance): redelivered to the next owner
                        self.seen.append(int(msg.value))

    @property
    def assigned(self) -> set[int]:
        return {tp.partition for tp in self.consumer.assignment()}

    async def close(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.consumer.stop()


async def wait_until(done, what: str) -> None:
    async def poll() -> None:
        # The condition spans several clients' internal state: no event exists to await.
        while not done():  # noqa: ASYNC110
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(poll(), DEADLINE_S)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def test_three_consumers_share_rebalance_and_resume_after_restart(broker) -> None:
    topic = create_topic(broker.bootstrap)
    await asyncio.to_thread(produce, broker.bootstrap, topic, range(300))
    group = f"g-{uuid.uuid4().hex[:8]}"
    seen: list[int] = []
    members = [await Member(broker.bootstrap, group, topic, seen).start() for _ in range(3)]

    def balanced() -> bool:
        owned = [m.assigned for m in members]
        return all(len(o) == 2 for o in owned) and set().union(*owned) == set(range(6))

    await wait_until(balanced, "three consumers with two partitions each")
    await members.pop().close()

    def taken_over() -> bool:
        owned = [m.assigned for m in members]
        return set().union(*owned) == set(range(6)) and all(len(o) == 3 for o in owned)

    await wait_until(taken_over, "the others to take over")
    await asyncio.to_thread(produce, broker.bootstrap, topic, range(300, 600))
    await wait_until(lambda: len(set(seen)) == 600, "all 600 messages")
    for m in members:
        await m.close()
    assert sorted(seen) == list(range(600)), "every message exactly once"

    await asyncio.to_thread(broker.kill9)
    await asyncio.to_thread(broker.restart)
    probe = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=group)
    await probe.start()
    try:
        committed = {p: await probe.committed(TopicPartition(topic, p)) for p in range(6)}
    finally:
        await probe.stop()
    assert committed == dict.fromkeys(range(6), 100)
    await asyncio.to_thread(produce, broker.bootstrap, topic, range(600, 606))
    late: list[int] = []
    again = await Member(broker.bootstrap, group, topic, late).start()
    await wait_until(lambda: len(late) >= 6, "the six new messages")
    await again.close()
    assert sorted(late) == list(range(600, 606)), "resumed at the committed offsets"
