"""Server time of the console's topic pages with 1,000 topics x 3 partitions.

Starts a bundled broker (`python -m logstore serve` on 127.0.0.1:0, fsync never) in a
scratch directory, creates the topics, writes one small record to every partition, then
times Django's handling of the topics list and the retention page in-process (the view,
the cluster calls and the template; no network between browser and server). Prints:

- first: the very first request of the process (clients connect, nothing is cached, every
  cluster call made, record timestamps of every partition looked up); and the first
  request after the warm-up the served console (`make run`) does when it starts;
- cold: a request after the snapshot and the configs expired (what a page after a few
  idle minutes gets: snapshot and configs are read again; the first round goes out with
  the Metadata request, leaders guessed from the last layout; record timestamps already
  known are reused where the fresh offsets show they cannot have changed);
- cold, nothing known: the same with every cache dropped but the clients connected;
- warm: requests served from the cached snapshot (what people get within SNAPSHOT_TTL;
  past half of it a page starts a background refresh, so while the console is in use
  the snapshot stays warm; past the TTL a page waits for a cold build);
- after a change: the next page after changing a topic's retention or creating a topic
  through the console (the snapshot is patched, not rebuilt), and the change itself.

Target: <= 300 ms each with the bundled broker. `--kafka` runs the same against the
reference Apache Kafka for comparison. `--cluster3` runs instead against a three-node
Apache Kafka cluster (reference/cluster.py) with every partition on all three brokers,
timing the topics list, a topic page and the replication health page, warm (from the
snapshot; target <= 300 ms) and cold (target <= 1 s).

    .venv/bin/python bench/console_pages.py [--topics 1000] [--partitions 3] [--kafka]
    .venv/bin/python bench/console_pages.py --cluster3 [--topics 1000]

Other features append their own bench function at the end of this file and call it
from `main()`'s list of extra benches.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def start_odradek(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port_file = data_dir / "port"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "logstore",
            "serve",
            "--data-dir",
            str(data_dir / "data"),
            "--listen",
            "127.0.0.1:0",
            "--port-file",
            str(port_file),
            "--fsync",
            "never",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not (port_file.exists() and port_file.read_text().strip()):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit("the bundled broker did not start")
        time.sleep(0.05)
    return proc, f"127.0.0.1:{port_file.read_text().strip()}"


def populate(
    bootstrap: str, topics: int, partitions: int, replicas: int = 1, flush_s: float = 120
) -> list[str]:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    client = AdminClient({"bootstrap.servers": bootstrap})
    names = [f"bench.topic-{i:04d}" for i in range(topics)]
    for start in range(0, topics, 100):
        chunk = [
            NewTopic(n, num_partitions=partitions, replication_factor=replicas)
            for n in names[start : start + 100]
        ]
        for future in client.create_topics(chunk, request_timeout=60).values():
            future.result(timeout=60)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "log_level": 0})
    for name in names:
        for p in range(partitions):
            producer.produce(name, value=b"x" * 200, partition=p)
        producer.poll(0)
    if producer.flush(flush_s):
        raise SystemExit("records were not acknowledged")
    return names


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def _row(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (
        f"{name:<34} {statistics.median(ordered):>8.0f} ms {ordered[-1]:>8.0f} ms "
        f"{p95:>8.0f} ms   (n={len(ordered)})"
    )


def bench_pages(bootstrap: str, label: str, cold_runs: int, warm_runs: int) -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from console.clusters import local_cluster
    from console.kafka import admin

    settings.ODRADEK_LOCAL_BOOTSTRAP = bootstrap
    settings.ODRADEK_CLUSTER_TIMEOUT = 30
    client = Client(HTTP_HOST="127.0.0.1")
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_superuser": True, "is_staff": True}
    )
    client.force_login(user)
    pages = {
        "topics list": "/clusters/local/topics/",
        "topics, sorted by size": "/clusters/local/topics/?sort=-size",
        "topics, page 10": "/clusters/local/topics/?page=10",
        "topics, filtered": "/clusters/local/topics/?q=topic-09",
        "retention page": "/clusters/local/retention/",
        "overview": "/clusters/local/",
    }

    def get(url: str) -> None:
        response = client.get(url)
        if response.status_code != 200 or b"is unreachable" in response.content:
            raise SystemExit(f"{url}: {response.status_code}")

    def post(url: str, data: dict[str, str]) -> None:
        response = client.post(url, data)
        if response.status_code != 302:
            raise SystemExit(f"{url}: {response.status_code} {response.content[:300]!r}")

    admin.reset()
    first = timed(lambda: get(pages["topics list"]))
    print(f"\n{label} ({bootstrap})")
    print(f"first request of the process (topics list): {first:.0f} ms")
    # What `make run`'s console does at start (console.warmup), then the first page.
    from console.warmup import warm

    admin.reset()
    warm(local_cluster())
    after_warm = timed(lambda: get(pages["topics list"]))
    print(f"first request after the served process's warm-up (topics list): {after_warm:.0f} ms")
    print(f"{'page':<34} {'median':>11} {'max':>11} {'p95':>11}")
    for name, url in pages.items():
        cold = []
        for _ in range(cold_runs):
            admin.expire()
            cold.append(timed(partial(get, url)))
        print(_row(f"{name}, cold", cold))
        warm = [timed(partial(get, url)) for _ in range(warm_runs)]
        print(_row(f"{name}, warm", warm))
    for name in ("topics list", "retention page"):
        nothing = []
        for _ in range(cold_runs):
            admin.invalidate_all()
            nothing.append(timed(partial(get, pages[name])))
        print(_row(f"{name}, cold, nothing known", nothing))

    # After a change through the console: the change itself, then the next page.
    changes, after_change = [], []
    for i in range(cold_runs):
        get(pages["topics list"])
        topic = f"bench.topic-{i:04d}"
        form = {"retention": f"{2 + i} days"}
        changes.append(timed(partial(post, f"/clusters/local/retention/{topic}/", form)))
        after_change.append(timed(lambda: get(pages["topics list"])))
    print(_row("retention change (POST)", changes))
    print(_row("topics list after it", after_change))
    creates, after_create = [], []
    for _ in range(cold_runs):
        get(pages["retention page"])
        name = f"bench.created-{time.monotonic_ns()}"
        form = {"name": name, "partitions": "3", "cleanup_policy": "delete"}
        creates.append(timed(partial(post, "/clusters/local/new-topic/", form)))
        after_create.append(timed(lambda: get(pages["retention page"])))
    print(_row("create topic (POST)", creates))
    print(_row("retention page after it", after_create))

    admin.expire()
    snap = admin.snapshot(local_cluster())
    print(
        f"snapshot: {len(snap.topics)} topics, {snap.partition_count} partitions, "
        f"built in {snap.took_s * 1000:.0f} ms (cold); cached for {admin.SNAPSHOT_TTL:.0f} s"
    )
    admin.reset()  # close the clients before their cluster goes away


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topics", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--warm-runs", type=int, default=20)
    parser.add_argument("--kafka", action="store_true", help="also run against Apache Kafka")
    parser.add_argument("--topics-only", action="store_true", help="skip the other features")
    parser.add_argument(
        "--cluster3",
        action="store_true",
        help="only the replication pages, on a three-node Kafka cluster, 3 copies each",
    )
    parser.add_argument(
        "--bootstrap", help="use this running, already populated cluster (127.0.0.1 only)"
    )
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="odradek-bench-console-"))
    os.environ["ODRADEK_HOME"] = str(scratch / "home")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    try:
        _run(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # broker data, Kafka, the console's DB


def _run(args: argparse.Namespace, scratch: Path) -> None:
    if args.cluster3:
        bench_three_nodes(scratch, args.topics, args.partitions, args.cold_runs, args.warm_runs)
        return
    if args.bootstrap:
        if not args.bootstrap.startswith("127.0.0.1:"):
            raise SystemExit("--bootstrap must be a 127.0.0.1 address")
        bench_pages(args.bootstrap, "given cluster", args.cold_runs, args.warm_runs)
        return
    proc, bootstrap = start_odradek(scratch)
    try:
        started = time.perf_counter()
        populate(bootstrap, args.topics, args.partitions)
        print(
            f"created {args.topics} topics x {args.partitions} partitions with one record each "
            f"in {time.perf_counter() - started:.1f} s"
        )
        bench_pages(bootstrap, "Odradek (bundled broker)", args.cold_runs, args.warm_runs)
    finally:
        proc.terminate()
        proc.wait(30)

    if args.kafka:
        from reference.launcher import start_kafka

        kafka = start_kafka(scratch / "kafka")
        try:
            populate(kafka.bootstrap, args.topics, args.partitions)
            bench_pages(kafka.bootstrap, "Apache Kafka (reference)", args.cold_runs, args.warm_runs)
        finally:
            kafka.stop()

    extra_benches: list[Callable[[], None]] = [bench_group_page]  # features register here
    for bench in [] if args.topics_only else extra_benches:
        bench()


# --- consumer groups (issue 8): the group page of a group consuming 1,000 partitions -------


def bench_group_page(partitions: int = 1000, runs: int = 10) -> None:
    """Server time of /clusters/local/groups/<g>/ (and its 5 s lag refresh) for a group
    with one active member owning `partitions` partitions, each one record behind.

    cold: the record-timestamp cache is empty, so lag in time reads one record from every
    partition; warm: timestamps cached (what the 5 s refresh sees while nothing moves).
    Target: <= 300 ms. Runs on the bundled broker, and on Apache Kafka with `--kafka`.
    """
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from console.kafka import records

    def populate_group(bootstrap: str) -> tuple[str, Consumer]:
        conf = {"bootstrap.servers": bootstrap, "log_level": 0}
        admin = AdminClient(conf)
        topic, group = "bench.group-topic", "bench-group"
        admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(timeout=120)
        producer = Producer({**conf, "linger.ms": 20})
        for p in range(partitions):
            producer.produce(topic, value=b"x" * 100, partition=p)
        producer.flush(120)
        consumer = Consumer(
            {**conf, "group.id": group, "auto.offset.reset": "earliest", "client.id": "bench"}
        )
        consumer.subscribe([topic])
        seen, deadline = 0, time.monotonic() + 120
        while seen < partitions and time.monotonic() < deadline:
            seen += sum(1 for m in consumer.consume(1000, 0.5) if not m.error())
        consumer.commit(asynchronous=False)
        # One more record everywhere: every partition is behind, so lag in time is needed.
        for p in range(partitions):
            producer.produce(topic, value=b"y" * 100, partition=p)
        producer.flush(120)
        return group, consumer

    def run(bootstrap: str, label: str) -> None:
        group, member = populate_group(bootstrap)
        settings.ODRADEK_LOCAL_BOOTSTRAP = bootstrap
        settings.ODRADEK_CLUSTER_TIMEOUT = 30
        user, _ = get_user_model().objects.get_or_create(
            username="bench", defaults={"is_superuser": True, "is_staff": True}
        )
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        url = f"/clusters/local/groups/{group}/"

        def get(path: str, **headers: str) -> None:
            member.poll(0)  # keep the member alive between requests
            response = client.get(path, **headers)
            if response.status_code != 200 or b"unreachable" in response.content:
                raise SystemExit(f"{path}: {response.status_code}")

        pages = {
            "group page": (url, {}),
            "lag refresh (htmx)": (url + "?part=lag", {"HTTP_HX_REQUEST": "true"}),
            "groups list": ("/clusters/local/groups/", {}),
        }
        print(f"\n{label}: group with {partitions} partitions, each 1 record behind")
        print(f"{'page':<22} {'cold median':>12} {'warm median':>12} {'warm p95':>10}")
        for name, (path, headers) in pages.items():
            cold = []
            for _ in range(3):
                records.forget_timestamps()
                cold.append(timed(lambda path=path, headers=headers: get(path, **headers)))
            warm = sorted(
                timed(lambda path=path, headers=headers: get(path, **headers)) for _ in range(runs)
            )
            p95 = warm[min(len(warm) - 1, int(len(warm) * 0.95))]
            print(
                f"{name:<22} {statistics.median(cold):>9.0f} ms "
                f"{statistics.median(warm):>9.0f} ms {p95:>7.0f} ms"
            )
        member.close()

    scratch = Path(tempfile.mkdtemp(prefix="odradek-bench-groups-"))
    proc, bootstrap = start_odradek(scratch)
    try:
        run(bootstrap, "Odradek (bundled broker)")
    finally:
        proc.terminate()
        proc.wait(30)
    if "--kafka" in sys.argv:
        from reference.launcher import start_kafka

        kafka = start_kafka(scratch / "kafka")
        try:
            run(kafka.bootstrap, "Apache Kafka (reference)")
        finally:
            kafka.stop()


# --- a three-node Kafka cluster: topics, a topic page and the replication health page ---


def bench_three_nodes(
    scratch: Path, topics: int, partitions: int, cold_runs: int, warm_runs: int
) -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from console.kafka import admin
    from reference.cluster import BENCH_CLUSTER_JVM_FLAGS, start_cluster

    cluster = start_cluster(scratch / "cluster3", jvm_flags=BENCH_CLUSTER_JVM_FLAGS)
    try:
        started = time.perf_counter()
        # Three small JVMs elect leaders for every new partition before it takes writes.
        names = populate(cluster.bootstrap, topics, partitions, replicas=3, flush_s=600)
        print(
            f"created {topics} topics x {partitions} partitions x 3 copies on 3 brokers "
            f"with one record each in {time.perf_counter() - started:.1f} s"
        )
        settings.ODRADEK_LOCAL_BOOTSTRAP = cluster.bootstrap
        settings.ODRADEK_CLUSTER_TIMEOUT = 30
        client = Client(HTTP_HOST="127.0.0.1")
        user, _ = get_user_model().objects.get_or_create(
            username="bench3", defaults={"is_superuser": True, "is_staff": True}
        )
        client.force_login(user)
        pages = {
            "topics list": "/clusters/local/topics/",
            "topic page": f"/clusters/local/topics/{names[len(names) // 2]}/",
            "health page": "/clusters/local/health/",
            "brokers page": "/clusters/local/brokers/",
        }

        def get(url: str) -> None:
            response = client.get(url)
            error = (response.context or {}).get("cluster_error") if response.context else ""
            if response.status_code != 200 or error:
                raise SystemExit(f"{url}: {response.status_code} {error}")

        admin.reset()
        print(f"\nthree-node Apache Kafka ({cluster.bootstrap})")
        # Loading the URLconf and the clients and connecting to three nodes happen once per
        # process (the served console does them in its warm-up); they are not a cold page.
        first = timed(lambda: get(pages["topics list"]))
        print(f"first request of the process (topics list): {first:.0f} ms")
        print(f"{'page':<34} {'median':>11} {'max':>11} {'p95':>11}")
        for name, url in pages.items():
            cold = []
            for _ in range(cold_runs):
                admin.expire()
                cold.append(timed(partial(get, url)))
            print(_row(f"{name}, cold", cold))
            warm = [timed(partial(get, url)) for _ in range(warm_runs)]
            print(_row(f"{name}, warm", warm))
        admin.reset()
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
