"""`__transaction_state` records: Kafka's TransactionLogKey / TransactionLogValue layout.

Owns the bytes of one transactional id's record (key: int16 version 0, string id; value:
int16 version 0, producer id, epoch, timeout, status byte, partitions, last update and
start times; a null value is the tombstone of an expired id) and their decoding. It must
never append or read a log: the coordinator does both.
"""

from __future__ import annotations

import struct

from logstore.transactions.state import TxnMetadata, TxnState

TRANSACTION_TOPIC = "__transaction_state"
TRANSACTION_TOPIC_CONFIGS = {
    "cleanup.policy": "compact",
    "segment.bytes": str(100 * 1024 * 1024),
}

_H = struct.Struct(">h")
_I = struct.Struct(">i")
_HEAD = struct.Struct(">hqhib")
_TIMES = struct.Struct(">qq")


def _string(text: str) -> bytes:
    raw = text.encode()
    return _H.pack(len(raw)) + raw


def encode_key(transactional_id: str) -> bytes:
    return _H.pack(0) + _string(transactional_id)


def decode_key(data: bytes) -> str | None:
    """The transactional id, or None for a key this version does not know."""
    if len(data) < 4 or _H.unpack_from(data)[0] != 0:
        return None
    (size,) = _H.unpack_from(data, 2)
    return data[4 : 4 + size].decode()


def encode_value(meta: TxnMetadata) -> bytes:
    by_topic: dict[str, list[int]] = {}
    for topic, partition in sorted(meta.partitions):
        by_topic.setdefault(topic, []).append(partition)
    out = [
        _HEAD.pack(0, meta.producer_id, meta.producer_epoch, meta.timeout_ms, meta.state.value),
        _I.pack(len(by_topic)),
    ]
    for topic, parts in by_topic.items():
        out.append(_string(topic))
        out.append(_I.pack(len(parts)))
        out.extend(_I.pack(p) for p in parts)
    out.append(_TIMES.pack(meta.last_update_ms, meta.start_ms))
    return b"".join(out)


def decode_value(transactional_id: str, data: bytes) -> TxnMetadata:
    """Version 0 and 1 values (1 adds tagged fields after the same fixed ones, read as 0's
    compact forms would not be: only version 0, which this broker writes, is accepted)."""
    version, pid, epoch, timeout, status = _HEAD.unpack_from(data)
    if version != 0:
        raise ValueError(f"TransactionLogValue version {version} is not supported")
    pos = _HEAD.size
    (topics,) = _I.unpack_from(data, pos)
    pos += 4
    partitions: set[tuple[str, int]] = set()
    for _ in range(max(topics, 0)):
        (size,) = _H.unpack_from(data, pos)
        topic = data[pos + 2 : pos + 2 + size].decode()
        pos += 2 + size
        (count,) = _I.unpack_from(data, pos)
        pos += 4
        for _ in range(count):
            partitions.add((topic, _I.unpack_from(data, pos)[0]))
            pos += 4
    last_update, start = _TIMES.unpack_from(data, pos)
    return TxnMetadata(
        transactional_id=transactional_id,
        producer_id=pid,
        producer_epoch=epoch,
        timeout_ms=timeout,
        state=TxnState(status),
        partitions=partitions,
        last_update_ms=last_update,
        start_ms=start,
    )
