"""Produce throughput: Odradek vs librdkafka's in-memory mock cluster, same client, same run.

Prints records/s and MB/s for 100-byte and 1 KiB records, with kcat (`-P -l FILE`,
linger.ms=5, large batch.size) and with a confluent-kafka producer, at acks=1 and acks=all,
alternating the two targets each round, and the Odradek/mock ratio. Odradek writes to disk
(a fresh data dir, fsync policy from --fsync); the mock keeps everything in memory.

With `--sasl-ssl` the second target is Odradek's own SASL_SSL listener (PLAIN, a
throwaway CA) instead of the mock, and the ratio is TLS/plaintext.

Also the home of the helpers the other bench scripts share (targets, kcat, timing).

    .venv/bin/python bench/produce.py [--records N] [--rounds R] [--fsync always] [--sasl-ssl]
"""

from __future__ import annotations

import argparse
import functools
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from confluent_kafka import Producer  # noqa: E402

from tests.broker_fixture import BrokerProcess, start_broker  # noqa: E402

# Client settings per bootstrap address (the SASL_SSL listener's); none for PLAINTEXT.
SECURITY: dict[str, dict[str, str]] = {}


class MockCluster:
    """librdkafka's built-in mock broker, kept alive by a producer handle that owns it."""

    def __init__(self) -> None:
        lines: list[str] = []

        class Capture(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                lines.append(record.getMessage())

        logger = logging.getLogger(f"mock-{uuid.uuid4().hex}")
        logger.addHandler(Capture())
        logger.setLevel(logging.DEBUG)
        self._owner = Producer(
            {"bootstrap.servers": "unused", "test.mock.num.brokers": 1, "logger": logger}
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any("replaced with" in x for x in lines):
            self._owner.poll(0.1)
        found = [x.rsplit(" ", 1)[1] for x in lines if "replaced with" in x]
        if not found:
            raise RuntimeError(f"mock cluster did not report its address: {lines}")
        self.bootstrap = found[0]


@contextmanager
def odradek(fsync: str = "always", args: tuple[str, ...] = ()) -> Iterator[BrokerProcess]:
    with tempfile.TemporaryDirectory(prefix="odradek-bench-") as tmp:
        broker = start_broker(Path(tmp) / "data", args=("--fsync", fsync, *args))
        try:
            yield broker
        finally:
            broker.stop()


def topic_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def record_file(directory: Path, count: int, size: int) -> Path:
    """`count` newline-separated values of exactly `size` bytes (kcat strips the newline)."""
    path = directory / f"records-{count}-{size}.txt"
    if not path.exists():
        line = (b"x" * (size - 8)) + b"%08d"
        with path.open("wb") as f:
            for start in range(0, count, 10_000):
                f.write(
                    b"".join(line % i + b"\n" for i in range(start, min(count, start + 10_000)))
                )
    return path


def kcat_produce(
    bootstrap: str, topic: str, path: Path, acks: str, partition: int | None = 0
) -> float:
    """Seconds for kcat to send the whole file and get every delivery report."""
    where = ["-p", str(partition)] if partition is not None else []
    cmd = [
        "kcat", "-P", "-b", bootstrap, "-t", topic, *where, "-l", str(path),
        "-X", "linger.ms=5", "-X", "batch.size=1000000", "-X", f"acks={acks}",
        "-X", "queue.buffering.max.messages=2000000",
        "-X", "queue.buffering.max.kbytes=2097151",
        *(a for k, v in SECURITY.get(bootstrap, {}).items() for a in ("-X", f"{k}={v}")),
    ]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(cmd, check=True, timeout=600)
    return time.perf_counter() - start


def python_produce(bootstrap: str, topic: str, count: int, size: int, acks: str) -> float:
    """Seconds for a confluent-kafka producer to send `count` records and flush."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 5,
            "batch.size": 1_000_000,
            "acks": acks,
            "queue.buffering.max.messages": 2_000_000,
            "queue.buffering.max.kbytes": 2_097_151,
            **SECURITY.get(bootstrap, {}),
        }
    )
    value = b"x" * size
    producer.produce(topic, value, partition=0)  # connect and learn metadata first
    producer.flush(30)
    start = time.perf_counter()
    produce = producer.produce
    for _ in range(count):
        produce(topic, value, partition=0)
    if producer.flush(600) != 0:
        raise RuntimeError("undelivered records")
    return time.perf_counter() - start


def report(
    label: str,
    count: int,
    size: int,
    ours: list[float],
    mock: list[float],
    names: tuple[str, str] = ("odradek", "mock"),
) -> None:
    """Medians of both; the ratio is the first target's rate over the second's."""
    o, m = statistics.median(ours), statistics.median(mock)
    o_rps, m_rps = count / o, count / m
    print(
        f"{label:<34} {names[0]} {o_rps:>12,.0f} rec/s {o_rps * size / 1e6:>8.1f} MB/s | "
        f"{names[1]} {m_rps:>12,.0f} rec/s {m_rps * size / 1e6:>8.1f} MB/s | "
        f"ratio {o_rps / m_rps:5.0%}",
        flush=True,
    )


def alternate(
    rounds: int, run: Callable[[str], float], ours: str, mock: str
) -> tuple[list[float], list[float]]:
    """Run `run(bootstrap)` against each target in turn, `rounds` times; seconds per run."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(rounds):
        a.append(run(ours))
        b.append(run(mock))
    return a, b


def _kcat_run(bootstrap: str, *, path: Path, acks: str) -> float:
    return kcat_produce(bootstrap, topic_name("p"), path, acks)


def _py_run(bootstrap: str, *, count: int, size: int, acks: str) -> float:
    return python_produce(bootstrap, topic_name("p"), count, size, acks)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000, help="100-byte records per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fsync", default="always")
    parser.add_argument("--sasl-ssl", action="store_true", help="TLS vs plaintext (see above)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.sasl_ssl:
            from bench.secure import Secure, make_certs, odradek_sasl_ssl

            secure = Secure(make_certs(Path(tmp) / "ca"))
            broker = odradek_sasl_ssl(Path(tmp) / "odradek", secure.certs, args.fsync)
            tls = secure.add(f"127.0.0.1:{broker.ports['SASL_SSL']}", Path(tmp))
            SECURITY.update(secure.librdkafka)
            print(f"odradek at {broker.bootstrap}, SASL_SSL at {tls} (fsync={args.fsync})")
            try:
                _loads(args, Path(tmp), (broker.bootstrap, tls), ("plain", "TLS"))
            finally:
                broker.stop()
            return
        mock = MockCluster()
        with odradek(args.fsync) as broker:
            print(f"odradek at {broker.bootstrap} (fsync={args.fsync}), mock at {mock.bootstrap}")
            _loads(args, Path(tmp), (broker.bootstrap, mock.bootstrap), ("odradek", "mock"))


def _loads(
    args: argparse.Namespace, tmp: Path, targets: tuple[str, str], names: tuple[str, str]
) -> None:
    for size, count in ((100, args.records), (1024, max(args.records // 8, 1000))):
        path = record_file(tmp, count, size)
        for acks in ("1", "all"):
            kcat_run = functools.partial(_kcat_run, path=path, acks=acks)
            a, b = alternate(args.rounds, kcat_run, *targets)
            report(f"kcat {size}B acks={acks}", count, size, b, a, names[::-1])
            py_run = functools.partial(_py_run, count=count, size=size, acks=acks)
            a, b = alternate(args.rounds, py_run, *targets)
            report(f"confluent-kafka {size}B acks={acks}", count, size, b, a, names[::-1])


if __name__ == "__main__":
    main()
