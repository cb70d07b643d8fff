"""Topic changes made while the broker serves, each written to the catalogue in a thread.

Owns the order of topic changes and keeping their fsyncs off the event loop. Changes run
one at a time: two writes of the whole catalogue must not race, and a change must not be
checked against a state that another change is about to replace. A change is in force
only once a catalogue listing it is on disk. So a slow or stalled disk holds up topic
administration (CreateTopics, a topic made on first use, CreatePartitions, topic
AlterConfigs, DeleteTopics), never Produce, Fetch or Metadata of the topics that exist.

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
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from logstore.in_turn import InTurn
from logstore.storage.catalogue import TopicInfo
from logstore.storage.errors import KafkaStorageError, UnknownTopicOrPartitionError

if TYPE_CHECKING:
    from logstore.storage.manager import LogManager


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
        return await self._change(plan, self._logs.apply_new_topic)

    async def add_partitions(
        self, name: str, total: int, *, validate_only: bool = False
    ) -> TopicInfo:
        """As `LogManager.add_partitions`; waits for earlier changes, then the disk."""
        plan = functools.partial(self._logs.plan_partitions, name, total)
        if validate_only:
            return plan()
        return await self._change(plan, self._logs.apply_partitions)

    async def alter_configs(
        self, name: str, set: Mapping[str, str], delete: Iterable[str] = ()
    ) -> TopicInfo:
        """As `LogManager.alter_configs`; waits for earlier changes, then the disk."""
        plan = functools.partial(self._logs.plan_configs, name, set, list(delete))
        return await self._change(plan, self._logs.apply_configs)

    async def delete_topic(self, name: str, topic_id: uuid.UUID | None = None) -> None:
        """As `LogManager.delete_topic`. With `topic_id`, only that topic: one of the same
        name made after the request was checked is not deleted in its place."""

        async def delete() -> None:
            info = self._logs.topic(name)
            if info is None or (topic_id is not None and info.topic_id != topic_id):
                raise UnknownTopicOrPartitionError(f"Topic '{name}' does not exist.")
            await self._write(self._logs.catalogue_without(name))
            self._logs.apply_delete(name)

        await self._turns.run(delete)

    async def _change(
        self, plan: Callable[[], TopicInfo], apply: Callable[[TopicInfo], None]
    ) -> TopicInfo:
        """In turn: plan against the state then in force, write, apply. An apply that
        fails (KafkaStorageError: no room for a partition's files) has undone itself in
        memory; the catalogue of what is in force is then written back."""

        async def change() -> TopicInfo:
            info = plan()
            await self._write(self._logs.catalogue_with(info))
            try:
                apply(info)
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
