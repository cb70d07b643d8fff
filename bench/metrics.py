"""The cost of `/metrics`: scrape time with 1,000 partitions holding data, and produce
throughput with and without a scraper polling every second.

Starts a broker with `--metrics-listen`, creates 1,000 partitions (20 topics x 50) and
writes records to every one of them (kcat), then times `--scrapes` scrapes of /metrics
(the whole HTTP round trip, as Prometheus sees it). Then kcat produces `--records`
100-byte records to a fresh one-partition topic (acks=1), alternating rounds without and
with a thread scraping /metrics every second, and prints both throughputs. Targets:
<= 100 ms per scrape, <= 2% produce cost.

    .venv/bin/python bench/metrics.py [--partitions 1000] [--scrapes 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from confluent_kafka.admin import AdminClient, NewTopic
from produce import kcat_produce, odradek, record_file, topic_name  # type: ignore[import-not-found]

PARTITIONS_PER_TOPIC = 50


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(url: str) -> tuple[float, int]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as reply:
        body = reply.read()
    return time.perf_counter() - start, len(body)


class Scraper(threading.Thread):
    """Polls /metrics every second until stopped, like a Prometheus with a 1 s interval."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.times: list[float] = []

    def run(self) -> None:
        while not self.stop.is_set():
            self.times.append(scrape(self.url)[0])
            self.stop.wait(1.0)


def fill(bootstrap: str, partitions: int, records: int, tmp: Path) -> None:
    topics = [f"metrics-{i:03d}" for i in range(partitions // PARTITIONS_PER_TOPIC)]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics(
        [NewTopic(t, PARTITIONS_PER_TOPIC, 1) for t in topics]
    ).values():
        future.result(60)
    path = record_file(tmp, records * PARTITIONS_PER_TOPIC, 100)
    for topic in topics:
        subprocess.run(
            ["kcat", "-P", "-b", bootstrap, "-t", topic, "-l", str(path),
             "-X", "partitioner=random", "-X", "sticky.partitioning.linger.ms=0"],
            check=True, timeout=300,
        )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--partitions", type=int, default=1000)
    parser.add_argument("--fill-records", type=int, default=20, help="per partition")
    parser.add_argument("--scrapes", type=int, default=20)
    parser.add_argument("--records", type=int, default=1_000_000, help="per produce round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    with (
        odradek("never", ("--metrics-listen", f"127.0.0.1:{port}")) as broker,
        tempfile.TemporaryDirectory() as tmp,
    ):
        fill(broker.bootstrap, args.partitions, args.fill_records, Path(tmp))
        scrape(url)  # first scrape: imports and warm-up
        times = []
        size = 0
        for _ in range(args.scrapes):
            elapsed, size = scrape(url)
            times.append(elapsed * 1000)
        times.sort()
        print(
            f"/metrics with {args.partitions} partitions holding data ({size / 1e3:.0f} kB): "
            f"median {statistics.median(times):.1f} ms, p90 {times[int(len(times) * 0.9)]:.1f} "
            f"ms, max {times[-1]:.1f} ms over {args.scrapes} scrapes"
        )
        path = record_file(Path(tmp), args.records, 100)
        plain: list[float] = []
        scraped: list[float] = []
        for _ in range(args.rounds):
            for target, with_scraper in ((plain, False), (scraped, True)):
                scraper = Scraper(url) if with_scraper else None
                if scraper is not None:
                    scraper.start()
                seconds = kcat_produce(broker.bootstrap, topic_name("mp"), path, "1")
                if scraper is not None:
                    scraper.stop.set()
                    scraper.join()
                target.append(args.records / seconds)
        best_plain, best_scraped = max(plain), max(scraped)
        print(
            f"kcat produce, 100-byte records, acks=1: {best_plain / 1e3:.0f} k rec/s without "
            f"a scraper, {best_scraped / 1e3:.0f} k rec/s with one every second (best of "
            f"{args.rounds}; cost {100 * (1 - best_scraped / best_plain):+.1f}%; medians "
            f"{statistics.median(plain) / 1e3:.0f} k / {statistics.median(scraped) / 1e3:.0f} k)"
        )


if __name__ == "__main__":
    main()
