"""Topic changes made while the broker serves, each written to the catalogue in a thread.

Owns the order of topic changes and keeping their fsyncs off the event loop. Changes run
one at a time: two writes of the whole catalogue must not race, and a change must not be
checked against a state that another change is about to replace. A change is in force
only once a catalogue listing it is on disk. So a slow or stalled disk holds up topic
administration (CreateTopics, a topic made on first use, CreatePartitions, topic
AlterConfigs, DeleteTopics), never Produce, Fetch or Metadata of the topics that exist.
Partition files are made and removed a slice at a time, so a topic of thousands of
partitions does not pause every other client either; a new or grown topic's partitions
are put in force together once all are made.

A change that has started runs to its end even if the request that asked for it is
cancelled (its client went away), so memory never falls behind a catalogue written for it
(`logstore.in_turn`).

It must never touch the catalogue file or partition directories itself: the LogManager
does, and only its catalogue writing runs on the worker thread.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from logstore.in_turn import InTurn
from logstore.storage.catalogue import TopicInfo
from logstore.storage.errors import KafkaStorageError, UnknownTopicOrPartitionError

if TYPE_CHECKING:
    from logstore.storage.manager import LogManager
    from logstore.storage.partition import PartitionLog

# Partitions made or removed per turn of the event loop: a topic of 10,000 partitions took
# 1.6 s to make (0.6 s to remove) in one go, a pause for every client; a slice of 64 is a
# few tens of milliseconds.
SLICE = 64


class TopicAdmin:
    """The serving broker's way to create, grow, reconfigure and delete topics."""

    def __init__(self, logs: LogManager) -> None:
        self._logs = logs
        self._turns = InTurn()

    async def create_topic(
        self,
        name: str,
        partitions: int,
        configs: Mapping[str, str] | None = None,
        *,
        validate_only: bool = False,
    ) -> TopicInfo:
        """As `LogManager.create_topic`; waits for earlier changes, then the disk."""
        plan = functools.partial(self._logs.plan_topic, name, partitions, configs)
        if validate_only:
            return plan()
        return await self._change(plan, self._make_partitions)

    async def add_partitions(
        self, name: str, total: int, *, validate_only: bool = False
    ) -> TopicInfo:
        """As `LogManager.add_partitions`; waits for earlier changes, then the disk."""
        plan = functools.partial(self._logs.plan_partitions, name, total)
        if validate_only:
            return plan()
        return await self._change(plan, self._make_partitions)

    async def alter_configs(
        self, name: str, set: Mapping[str, str], delete: Iterable[str] = ()
    ) -> TopicInfo:
        """As `LogManager.alter_configs`; waits for earlier changes, then the disk."""
        plan = functools.partial(self._logs.plan_configs, name, set, list(delete))

        async def configure(new: TopicInfo) -> None:
            self._logs.apply_configs(new)

        return await self._change(plan, configure)

    async def delete_topic(self, name: str, topic_id: uuid.UUID | None = None) -> None:
        """As `LogManager.delete_topic`. With `topic_id`, only that topic: one of the same
        name made after the request was checked is not deleted in its place."""

        async def delete() -> None:
            info = self._logs.topic(name)
            if info is None or (topic_id is not None and info.topic_id != topic_id):
                raise UnknownTopicOrPartitionError(f"Topic '{name}' does not exist.")
            await self._write(self._logs.catalogue_without(name))
            dropped = self._logs.drop_topic(name)
            for start in range(0, len(dropped), SLICE):
                self._logs.remove_directories(dropped[start : start + SLICE])
                await asyncio.sleep(0)  # a turn for every other client

        await self._turns.run(delete)

    async def idle(self) -> None:
        """Return once every topic change under way has ended (call before closing
        storage: a change whose request was cancelled still runs to its end)."""
        await self._turns.idle()

    async def _make_partitions(self, info: TopicInfo) -> None:
        """The partitions a new or grown topic adds, a slice per turn of the event loop,
        then all in force at once: until then nobody sees any of them."""
        current = self._logs.topic(info.name)
        first = current.partitions if current is not None else 0
        made: list[PartitionLog] = []
        try:
            for start in range(first, info.partitions, SLICE):
                made += self._logs.make_partitions(info, start, min(start + SLICE, info.partitions))
                await asyncio.sleep(0)  # a turn for every other client
        except KafkaStorageError:
            self._logs.discard_partitions(made)
            raise
        self._logs.put_in_force(info, made)

    async def _change(
        self, plan: Callable[[], TopicInfo], apply: Callable[[TopicInfo], Awaitable[None]]
    ) -> TopicInfo:
        """In turn: plan against the state then in force, write, apply. An apply that
        fails (KafkaStorageError: no room for a partition's files) has undone itself in
        memory; the catalogue of what is in force is then written back."""

        async def change() -> TopicInfo:
            info = plan()
            await self._write(self._logs.catalogue_with(info))
            try:
                await apply(info)
            except KafkaStorageError:
                await self._restore()
                raise
            return info

        return await self._turns.run(change)

    async def _write(self, topics: dict[str, TopicInfo]) -> None:
        await asyncio.to_thread(self._logs.write_catalogue, topics)

    async def _restore(self) -> None:
        """After a change whose files could not be made: the catalogue of what is in force
        again (logged if that fails too)."""
        await asyncio.to_thread(self._logs.write_catalogue_quietly, self._logs.catalogue())
