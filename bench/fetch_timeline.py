"""What a default librdkafka consumer sees in Fetch replies: Odradek next to Apache Kafka.

Fills one partition on each broker with the same kcat produce (default producer settings),
then reports counts (and, for the broker alone, round trips), so the figures hold on a
loaded machine:

- the batches as stored (how the producer's batching came out on each broker): number,
  records and bytes per batch;
- one Fetch exactly like librdkafka's (v11, read_committed, 1 MiB per partition,
  50 MiB per response) from offset 0: reply bytes, whole batches, trailing partial bytes,
  watermarks, last stable offset, log start offset, aborted list, throttle;
- the broker alone: one librdkafka-like Fetch at a time from every stored batch, each
  reply read in full before the next request (round trip median and p90, broker CPU per
  Fetch from /proc);
- a kcat replay with default consumer settings under `-d fetch`: fetches before the first
  "queued.min.messages exceeded" backoff, how many backoffs, the queue length logged
  at each, and the records per fetch reply.

    .venv/bin/python bench/fetch_timeline.py [--records 2000000] [--size 100]
"""

from __future__ import annotations

import argparse
import re
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from bench.cpu import process_cpu_seconds  # noqa: E402
from reference.launcher import BENCH_JVM_FLAGS, start_kafka  # noqa: E402
from tests.broker_fixture import start_broker  # noqa: E402
from tests.logstore.broker.wire import Wire, schema  # noqa: E402

FETCH = 1
BATCH_HEAD = struct.Struct(">qi")  # base offset, batch length (bytes after this field)
RECORDS_AT = 57  # record count field inside the batch header


def create_topic(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    admin.create_topics([NewTopic(topic, 1, 1)], operation_timeout=30)[topic].result(30)


def fetch(wire: Wire, topic: str, offset: int, partition_max: int, version: int = 11) -> Any:
    s = schema(FETCH, version)
    part = s.FetchPartition(
        partition=0,
        current_leader_epoch=-1,
        fetch_offset=offset,
        log_start_offset=-1,
        partition_max_bytes=partition_max,
        **({"last_fetched_epoch": -1} if version >= 12 else {}),
    )
    return wire.request(
        FETCH,
        version,
        replica_id=-1,
        max_wait=500,
        min_bytes=1,
        max_bytes=52_428_800,
        isolation_level=1,
        session_id=0,
        session_epoch=-1,
        topics=(s.FetchTopic(topic=topic, partitions=(part,)),),
        forgotten_topics_data=(),
        rack_id="",
    )


def walk(records: bytes) -> tuple[list[tuple[int, int, int]], int]:
    """Whole batches in `records` as (base offset, records, bytes), and trailing bytes."""
    batches, pos = [], 0
    while pos + 61 <= len(records):
        base, length = BATCH_HEAD.unpack_from(records, pos)
        if pos + 12 + length > len(records):
            break
        (count,) = struct.unpack_from(">i", records, pos + RECORDS_AT)
        batches.append((base, count, 12 + length))
        pos += 12 + length
    return batches, len(records) - pos


def stored_batches(bootstrap: str, topic: str, end: int) -> list[tuple[int, int, int]]:
    out: list[tuple[int, int, int]] = []
    offset = 0
    with Wire(bootstrap) as wire:
        while offset < end:
            reply = fetch(wire, topic, offset, 52_428_800)
            batches, _ = walk(reply.responses[0].partitions[0].records or b"")
            if not batches:
                break
            out += batches
            offset = batches[-1][0] + batches[-1][1]
    return out


def one_fetch(bootstrap: str, topic: str) -> dict[str, Any]:
    with Wire(bootstrap) as wire:
        reply = fetch(wire, topic, 0, 1_048_576)
    p = reply.responses[0].partitions[0]
    records = p.records or b""
    batches, partial = walk(records)
    return {
        "reply record bytes": len(records),
        "whole batches": len(batches),
        "records in whole batches": sum(b[1] for b in batches),
        "trailing partial bytes": partial,
        "high watermark": p.high_watermark,
        "last stable offset": p.last_stable_offset,
        "log start offset": p.log_start_offset,
        "aborted": p.aborted_transactions,
        "throttle ms": reply.throttle_time.total_seconds() * 1000,
        "error": int(p.error_code),
    }


def round_trips(
    bootstrap: str, topic: str, batches: list[tuple[int, int, int]], pid: int, passes: int = 3
) -> dict[str, Any]:
    """The broker alone, without a consumer's pacing: one Fetch at a time like
    librdkafka's (1 MiB per partition) from each stored batch's base offset, each reply
    read in full before the next request. Best of `passes`: round trip median and p90,
    and the broker's CPU per Fetch."""
    with Wire(bootstrap) as wire:
        sent: list[bytes] = []
        wire.send_raw = sent.append  # type: ignore[method-assign]
        wire.read_response = lambda *_: None  # type: ignore[method-assign]
        for base, _, _ in batches:
            fetch(wire, topic, base, 1_048_576)
        requests = sent
    host, port = bootstrap.rsplit(":", 1)
    buf = bytearray(8 << 20)
    view = memoryview(buf)
    best: dict[str, Any] = {}
    for _ in range(passes):
        times = []
        with socket.create_connection((host, int(port))) as sock:
            cpu0 = process_cpu_seconds(pid, children=True)
            for request in requests:
                started = time.perf_counter()
                sock.sendall(request)
                got, need = 0, 4
                while got < need:
                    n = sock.recv_into(view[got:], len(buf) - got)
                    if not n:
                        raise ConnectionError("closed by the broker")
                    got += n
                    if need == 4 and got >= 4:
                        need = 4 + struct.unpack_from(">i", buf)[0]
                times.append(time.perf_counter() - started)
            cpu = process_cpu_seconds(pid, children=True) - cpu0
        times.sort()
        elapsed = sum(times)
        if not best or elapsed < best["_elapsed"]:
            best = {
                "_elapsed": elapsed,
                "fetches": len(times),
                "median us": round(times[len(times) // 2] * 1e6),
                "p90 us": round(times[len(times) * 9 // 10] * 1e6),
                "broker CPU us per fetch": round(cpu / len(times) * 1e6),
                "MB/s": round(sum(b[2] for b in batches) / elapsed / 1e6),
            }
    best.pop("_elapsed")
    return best


def kcat_timeline(bootstrap: str, topic: str, count: int, *extra: str) -> dict[str, Any]:
    cmd = ["kcat", "-C", "-b", bootstrap, "-t", topic, "-p", "0", "-o", "beginning",
           "-e", "-q", "-c", str(count), "-f", "%o\\n", "-d", "fetch", *extra]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, timeout=600, check=True)
    got = done.stdout.count(b"\n")
    fetches = 0
    first_backoff = None
    queued: list[int] = []
    per_reply: list[int] = []
    for line in done.stderr.decode(errors="replace").splitlines():
        if re.search(r"Fetch topic .* at offset", line):
            fetches += 1
        elif "queued.min.messages exceeded" in line or "kbytes exceeded" in line:
            if first_backoff is None:
                first_backoff = fetches
            m = re.search(r"\((\d+)/\d+ msgs", line)
            if m:
                queued.append(int(m.group(1)))
        m = re.search(r"Enqueue (\d+) \S*message", line)
        if m:
            per_reply.append(int(m.group(1)))
    return {
        "records read": got,
        "fetch requests": fetches,
        "fetches before first backoff": first_backoff,
        "queue-full backoffs": len(queued),
        "queue length at backoffs": queued[:5],
        "median records enqueued per reply": statistics.median(per_reply) if per_reply else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--size", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fetch-timeline-") as tmp:
        work = Path(tmp)
        path = work / "records.txt"
        path.write_bytes((b"v" * args.size + b"\n") * args.records)
        kafka = start_kafka(work / "kafka", jvm_flags=BENCH_JVM_FLAGS)
        odradek = start_broker(work / "odradek", args=("--fsync", "never"))
        try:
            for name, bootstrap in (("kafka", kafka.bootstrap), ("odradek", odradek.bootstrap)):
                topic = f"timeline-{uuid.uuid4().hex[:8]}"
                create_topic(bootstrap, topic)
                cmd = ["kcat", "-P", "-b", bootstrap, "-t", topic, "-p", "0", "-l", str(path)]
                subprocess.run(cmd, check=True, timeout=600, capture_output=True)
                batches = stored_batches(bootstrap, topic, args.records)
                counts = [b[1] for b in batches]
                sizes = [b[2] for b in batches]
                print(f"\n== {name}")
                print(
                    f"stored: {len(batches)} batches, {sum(counts)} records; records/batch "
                    f"median {statistics.median(counts):.0f} (min {min(counts)}, max "
                    f"{max(counts)}); bytes/batch median {statistics.median(sizes):.0f}"
                )
                for key, value in one_fetch(bootstrap, topic).items():
                    print(f"first fetch: {key}: {value}")
                pid = kafka.process.pid if name == "kafka" else odradek.pid
                for key, value in round_trips(bootstrap, topic, batches, pid).items():
                    print(f"fetch round trips: {key}: {value}")
                for label, extra in (
                    ("default", ()),
                    (
                        "large queues",
                        (
                            "-X",
                            "queued.min.messages=10000000",
                            "-X",
                            "queued.max.messages.kbytes=2000000",
                        ),
                    ),
                ):
                    timeline = kcat_timeline(bootstrap, topic, args.records, *extra)
                    for key, value in timeline.items():
                        print(f"kcat {label}: {key}: {value}")
        finally:
            odradek.stop()
            kafka.stop()


if __name__ == "__main__":
    main()
