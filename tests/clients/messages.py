"""The messages every real-client test produces and expects back.

Owns the sample data (keys, values, headers, timestamps near now so retention keeps them)
and unique topic names, so tests can share one broker. It must never talk to a broker.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

CODECS = ("none", "gzip", "snappy", "lz4", "zstd")


@dataclass(frozen=True)
class Sample:
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    timestamp: int


def unique_topic(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def samples(n: int = 20, *, base_ts: int | None = None) -> list[Sample]:
    """n messages with distinct keys, values, headers and strictly rising timestamps."""
    # A minute in the past: recent enough for 7-day retention, distinct per message.
    base = base_ts if base_ts is not None else int(time.time() * 1000) - 60_000
    return [
        Sample(
            key=f"key-{i}".encode(),
            value=(f"value-{i}-" + "x" * (i * 7)).encode(),
            headers=(("trace", f"t{i}".encode()), ("n", str(i).encode())),
            timestamp=base + i * 10,
        )
        for i in range(n)
    ]
