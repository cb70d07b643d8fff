"""What the structural guard adds to request decoding, next to kio's own decode.

Prints, for a Produce v9 request carrying 1 MB of records and a Fetch v12 request naming
1,000 partitions (plus the same Fetch at v11, non-flexible), the best-of-N time of
`guard.check_request` alone and of the whole `codec.decode_request` (guard + kio), and the
guard's share of the latter.

    .venv/bin/python bench/guard_cost.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from logstore.broker.build import make
from logstore.protocol import codec, guard
from tests.logstore.broker.wire import schema


def _produce_1mb() -> bytes:
    s = schema(0, 9)
    data = make(s.PartitionProduceData, index=0, records=b"\x00" * (1 << 20))
    topic = make(s.TopicProduceData, name="bench", partition_data=(data,))
    request = make(
        codec.request_class(0, 9), transactional_id=None, acks=-1, timeout=5000,
        topic_data=(topic,),
    )  # fmt: skip
    return codec.encode_request(codec.RequestHeader(0, 9, 1, "bench"), request)[4:]


def _fetch_1000(version: int) -> bytes:
    s = schema(1, version)
    topics = tuple(
        make(
            s.FetchTopic,
            topic=f"topic-{t}",
            partitions=tuple(
                make(s.FetchPartition, partition=p, fetch_offset=1234, partition_max_bytes=1 << 20)
                for p in range(100)
            ),
        )
        for t in range(10)
    )
    request = make(
        codec.request_class(1, version), max_wait=500, min_bytes=1, max_bytes=50 << 20,
        isolation_level=0, session_id=0, session_epoch=-1, topics=topics,
        forgotten_topics_data=(), rack_id="",
    )  # fmt: skip
    return codec.encode_request(codec.RequestHeader(1, version, 1, "bench"), request)[4:]


def _best(fn: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    cases = [
        ("Produce v9, 1 MB records", 0, 9, _produce_1mb()),
        ("Fetch v12, 1,000 partitions", 1, 12, _fetch_1000(12)),
        ("Fetch v11, 1,000 partitions", 1, 11, _fetch_1000(11)),
    ]
    print(f"{'request':<30} {'bytes':>9} {'guard':>10} {'decode':>10} {'share':>6}")
    for label, api_key, version, body in cases:
        request_cls = codec.request_class(api_key, version)
        assert request_cls is not None
        header_cls = request_cls.__header_schema__  # type: ignore[attr-defined]
        codec.decode_request(body)  # warm the caches
        g = _best(lambda: guard.check_request(body, header_cls, request_cls), args.rounds)  # noqa: B023
        d = _best(lambda: codec.decode_request(body), args.rounds)  # noqa: B023
        print(f"{label:<30} {len(body):>9} {g * 1e6:>8.1f}µs {d * 1e6:>8.1f}µs {g / d:>6.1%}")


if __name__ == "__main__":
    main()
