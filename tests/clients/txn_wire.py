"""Raw transactional calls on one connection, for tests that must see every error code a
client library would retry or hide: InitProducerId with a transactional id,
AddOffsetsToTxn, TxnOffsetCommit, EndTxn and OffsetFetch (`require_stable`), each at a
chosen version, answering plain tuples. Shared by the wire tests of the group side and the
differential scenario; it never retries on its own except where the name says so."""

from __future__ import annotations

import time
from typing import Any

from logstore.protocol.api_keys import ApiKey
from tests.clients.test_groups_wire import nested, request
from tests.clients.test_idempotence_wire import WireClient

NOT_READY = {14, 15, 16, 51}  # load in progress, not available, not coordinator, concurrent
DEADLINE_S = 30.0

Offsets = dict[str, list[tuple[int, int]]]


def port_of(bootstrap: str) -> int:
    return int(bootstrap.rsplit(":", 1)[1])


class TxnWire:
    """One transactional id's calls over one connection to a single-node cluster."""

    def __init__(self, bootstrap: str, transactional_id: str) -> None:
        self.client = WireClient(port_of(bootstrap))
        self.transactional_id = transactional_id
        self.producer_id = -1
        self.epoch = -1

    def close(self) -> None:
        self.client.close()

    def _until_ready(self, call: Any) -> Any:
        """Repeat `call` while the coordinator is loading or finishing the previous
        transaction (what every client does); the last answer."""
        deadline = time.monotonic() + DEADLINE_S
        while True:
            answer = call()
            code = answer if isinstance(answer, int) else answer.error_code
            if code not in NOT_READY or time.monotonic() > deadline:
                return answer
            time.sleep(0.05)  # the coordinator's own pace, not a clock being waited out

    def find_coordinator(self) -> int:
        req = request(ApiKey.FIND_COORDINATOR, 3, key=self.transactional_id, key_type=1)
        return self._until_ready(
            lambda: self.client.call(ApiKey.FIND_COORDINATOR, 3, req)
        ).error_code

    def init(self, version: int = 3, timeout_ms: int = 60_000) -> int:
        req = request(
            ApiKey.INIT_PRODUCER_ID,
            version,
            transactional_id=self.transactional_id,
            transaction_timeout=timeout_ms,
            **({"producer_id": -1, "producer_epoch": -1} if version >= 3 else {}),
        )
        answer = self._until_ready(lambda: self.client.call(ApiKey.INIT_PRODUCER_ID, version, req))
        if answer.error_code == 0:
            self.producer_id, self.epoch = answer.producer_id, answer.producer_epoch
        return int(answer.error_code)

    def add_offsets(self, group: str, version: int = 1) -> int:
        req = request(
            ApiKey.ADD_OFFSETS_TO_TXN,
            version,
            transactional_id=self.transactional_id,
            producer_id=self.producer_id,
            producer_epoch=self.epoch,
            group_id=group,
        )
        return int(
            self._until_ready(
                lambda: self.client.call(ApiKey.ADD_OFFSETS_TO_TXN, version, req)
            ).error_code
        )

    def end(self, commit: bool, version: int = 1) -> int:
        req = request(
            ApiKey.END_TXN,
            version,
            transactional_id=self.transactional_id,
            producer_id=self.producer_id,
            producer_epoch=self.epoch,
            committed=commit,
        )
        return int(
            self._until_ready(lambda: self.client.call(ApiKey.END_TXN, version, req)).error_code
        )

    def commit_offsets(
        self,
        version: int,
        group: str,
        offsets: Offsets,
        *,
        metadata: str = "m",
        transactional_id: str | None = None,
        producer_id: int | None = None,
        epoch: int | None = None,
        **fields: Any,
    ) -> list[tuple[str, int, int]]:
        """TxnOffsetCommit; (topic, partition, error) per partition answered."""
        return txn_offset_commit(
            self.client,
            version,
            group,
            offsets,
            transactional_id=self.transactional_id
            if transactional_id is None
            else transactional_id,
            producer_id=self.producer_id if producer_id is None else producer_id,
            epoch=self.epoch if epoch is None else epoch,
            metadata=metadata,
            **fields,
        )


def txn_offset_commit(
    client: WireClient,
    version: int,
    group: str,
    offsets: Offsets,
    *,
    transactional_id: str = "tx",
    producer_id: int = 1000,
    epoch: int = 0,
    metadata: str = "m",
    **fields: Any,
) -> list[tuple[str, int, int]]:
    """Send one TxnOffsetCommit; (topic, partition, error) of the answer."""

    def part(p: int, o: int) -> Any:
        return nested(
            ApiKey.TXN_OFFSET_COMMIT,
            version,
            "TxnOffsetCommitRequestPartition",
            partition_index=p,
            committed_offset=o,
            committed_metadata=metadata,
        )

    topics = tuple(
        nested(
            ApiKey.TXN_OFFSET_COMMIT,
            version,
            "TxnOffsetCommitRequestTopic",
            name=name,
            partitions=tuple(part(p, o) for p, o in parts),
        )
        for name, parts in offsets.items()
    )
    response = client.call(
        ApiKey.TXN_OFFSET_COMMIT,
        version,
        request(
            ApiKey.TXN_OFFSET_COMMIT,
            version,
            transactional_id=transactional_id,
            group_id=group,
            producer_id=producer_id,
            producer_epoch=epoch,
            topics=topics,
            **fields,
        ),
    )
    return [
        (t.name, p.partition_index, p.error_code) for t in response.topics for p in t.partitions
    ]


def offset_fetch(
    client: WireClient,
    version: int,
    group: str,
    topic: str | None,
    stable: bool,
    partitions: tuple[int, ...] = (0, 1),
) -> list[tuple[str, int, int, int]]:
    """OffsetFetch one group (topic None: all it has); (topic, partition, offset, error)."""
    extra = {"require_stable": stable} if version >= 7 else {}
    suffix = "s" if version >= 8 else ""
    topics = (
        None
        if topic is None
        else (
            nested(
                ApiKey.OFFSET_FETCH,
                version,
                f"OffsetFetchRequestTopic{suffix}",
                name=topic,
                partition_indexes=partitions,
            ),
        )
    )
    if version >= 8:
        group_req = nested(
            ApiKey.OFFSET_FETCH, version, "OffsetFetchRequestGroup", group_id=group, topics=topics
        )
        req = request(ApiKey.OFFSET_FETCH, version, groups=(group_req,), **extra)
        (answer,) = client.call(ApiKey.OFFSET_FETCH, version, req).groups
    else:
        req = request(ApiKey.OFFSET_FETCH, version, group_id=group, topics=topics, **extra)
        answer = client.call(ApiKey.OFFSET_FETCH, version, req)
    assert getattr(answer, "error_code", 0) == 0  # v1 has no group-level error
    return sorted(
        (t.name, p.partition_index, p.committed_offset, p.error_code)
        for t in answer.topics
        for p in t.partitions
    )
