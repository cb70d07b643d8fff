"""The live-tail websocket through the real ASGI stack (`console.asgi.application`).

Channels' `WebsocketCommunicator` with the in-memory channel layer; records come from a
real cluster (both kinds), produced with confluent-kafka while the viewer watches.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from confluent_kafka import Producer
from django.db import connections
from django.test import Client, override_settings

from console.kafka import tail as tails
from tests.clusters import (
    Cluster,
    cluster_or_three_nodes,  # noqa: F401 (this module's `cluster`)
)
from tests.console.messages_data import create_topic

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1")
WAIT = 20.0


def own_loop(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test on a fresh event loop in a thread of its own.

    Playwright's sync API (the session's Chromium, tests/console/conftest.py) keeps an event
    loop running on the main thread once any browser test has run, and pytest-asyncio
    cannot start another there; a separate thread has no such neighbour.
    """

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        async def then_close() -> None:
            try:
                await test(*args, **kwargs)
            finally:
                # The consumers' ORM calls run on asgiref's one long-lived executor
                # thread; its connection would outlive the test database otherwise.
                await sync_to_async(connections.close_all)()

        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, then_close()).result(timeout=180)

    return run


@pytest.fixture
def on_cluster(cluster: Cluster) -> Iterator[Cluster]:
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap):
        yield cluster


@pytest.fixture(autouse=True)
def no_tail_outlives_its_test() -> Iterator[None]:
    """A test that fails while watching leaves its tail registered; stop it here so the
    next test starts with none, whatever happened."""
    yield
    if tails.active():
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, tails.stop_all()).result(timeout=60)


@pytest.fixture
def cookie(admin_user: Any) -> bytes:
    client = Client()
    client.force_login(admin_user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def communicator(
    topic: str, cookie: bytes | None, query: str = "", origin: bytes = ORIGIN[1]
) -> WebsocketCommunicator:
    from console.asgi import application

    headers = [(b"origin", origin), (b"host", b"127.0.0.1")]
    if cookie:
        headers.append((b"cookie", cookie))
    path = f"/ws/clusters/local/topics/{topic}/tail/" + (f"?{query}" if query else "")
    return WebsocketCommunicator(application, path, headers=headers)


def produce(bootstrap: str, topic: str, values: list[bytes], partition: int | None = None) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for value in values:
        if partition is None:
            producer.produce(topic, value=value)
        else:
            producer.produce(topic, value=value, partition=partition)
    assert producer.flush(15) == 0


async def until_live(comm: WebsocketCommunicator) -> list[dict[str, Any]]:
    """Messages received up to and including the "live" status."""
    got = []
    while True:
        msg = await comm.receive_json_from(timeout=WAIT)
        got.append(msg)
        assert msg.get("state") != "error", msg
        if msg.get("state") == "live":
            return got


async def rows_until(comm: WebsocketCommunicator, count: int) -> tuple[str, list[dict[str, Any]]]:
    """Concatenated row HTML and the frames, until `count` rows have arrived."""
    frames: list[dict[str, Any]] = []
    html = ""
    while sum(f["rows"] for f in frames) < count:
        msg = await comm.receive_json_from(timeout=WAIT)
        if msg["type"] == "rows":
            frames.append(msg)
            html += msg["html"]
    return html, frames


@own_loop
async def test_login_required(on_cluster: Cluster) -> None:
    comm = communicator("anything", cookie=None)
    connected, code = await comm.connect(timeout=WAIT)
    assert not connected
    assert code == 4401
    assert tails.active() == {}


@own_loop
async def test_foreign_origin_refused(on_cluster: Cluster, cookie: bytes) -> None:
    comm = communicator("anything", cookie, origin=b"http://evil.example")
    connected, _ = await comm.connect(timeout=WAIT)
    assert not connected
    assert tails.active() == {}


@own_loop
async def test_records_arrive_as_rendered_rows(on_cluster: Cluster, cookie: bytes) -> None:
    topic = await asyncio.to_thread(create_topic, on_cluster.bootstrap, 2, "tail")
    comm = communicator(topic, cookie)
    connected, _ = await comm.connect(timeout=WAIT)
    assert connected
    await until_live(comm)
    await asyncio.to_thread(
        produce, on_cluster.bootstrap, topic, [b'{"n": 1}', b"second <b>", b"\x00\xff"]
    )
    html, frames = await rows_until(comm, 3)
    assert "{&quot;n&quot;: 1}" in html
    assert "second &lt;b&gt;" in html  # escaped, never injected
    assert "00 ff" in html
    assert html.count('<tr class="tail-row"') == 3
    assert all(f["skipped"] == 0 for f in frames)
    await comm.disconnect()
    assert tails.active() == {}


@own_loop
async def test_filter_is_applied_server_side(on_cluster: Cluster, cookie: bytes) -> None:
    topic = await asyncio.to_thread(create_topic, on_cluster.bootstrap, 1, "tailf")
    comm = communicator(topic, cookie, query="jpath=%24.level&jval=error")
    assert (await comm.connect(timeout=WAIT))[0]
    await until_live(comm)
    docs = [{"level": "info", "n": 1}, {"level": "error", "n": 2}, {"level": "info", "n": 3}]
    docs += [{"level": "error", "n": 4}]
    await asyncio.to_thread(
        produce, on_cluster.bootstrap, topic, [json.dumps(d).encode() for d in docs]
    )
    html, frames = await rows_until(comm, 2)
    assert "&quot;n&quot;: 2" in html
    assert "&quot;n&quot;: 4" in html
    assert "&quot;n&quot;: 1" not in html
    assert sum(f["filtered_out"] for f in frames) == 2
    await comm.disconnect()


@own_loop
async def test_start_n_records_back_then_live(on_cluster: Cluster, cookie: bytes) -> None:
    topic = await asyncio.to_thread(create_topic, on_cluster.bootstrap, 1, "tailb")
    await asyncio.to_thread(
        produce, on_cluster.bootstrap, topic, [f"old-{i}".encode() for i in range(5)]
    )
    comm = communicator(topic, cookie, query="back=3")
    assert (await comm.connect(timeout=WAIT))[0]
    before = await until_live(comm)
    backfill = [m for m in before if m["type"] == "rows"]
    assert len(backfill) == 1
    assert backfill[0]["backfill"] is True
    assert [f"old-{i}" in backfill[0]["html"] for i in range(5)] == [False, False, True, True, True]
    await asyncio.to_thread(produce, on_cluster.bootstrap, topic, [b"new-0"])
    html, _ = await rows_until(comm, 1)
    assert "new-0" in html
    assert "old-" not in html
    await comm.disconnect()


@own_loop
async def test_two_viewers_share_one_consumer_which_stops_after_the_last(
    on_cluster: Cluster, cookie: bytes
) -> None:
    topic = await asyncio.to_thread(create_topic, on_cluster.bootstrap, 1, "tails")
    first, second = communicator(topic, cookie), communicator(topic, cookie, query="q=shared")
    assert (await first.connect(timeout=WAIT))[0]
    await until_live(first)
    assert (await second.connect(timeout=WAIT))[0]
    await until_live(second)
    running = tails.active()
    assert list(running) == [("local", topic)]
    tail = running[("local", topic)]
    assert tail.viewers == 2
    assert tail.running
    await asyncio.to_thread(produce, on_cluster.bootstrap, topic, [b"shared-1", b"other"])
    html_first, _ = await rows_until(first, 2)
    html_second, _ = await rows_until(second, 1)
    assert "shared-1" in html_first
    assert "other" in html_first
    assert "shared-1" in html_second
    assert "other" not in html_second
    # Both saw the records read once by the one consumer.
    assert tail.stats.seen == 2
    await first.disconnect()
    assert tails.active()[("local", topic)] is tail
    assert tail.running
    await second.disconnect()
    assert tails.active() == {}
    assert not tail.running


@own_loop
async def test_pause_and_resume(on_cluster: Cluster, cookie: bytes) -> None:
    topic = await asyncio.to_thread(create_topic, on_cluster.bootstrap, 1, "tailp")
    comm = communicator(topic, cookie)
    assert (await comm.connect(timeout=WAIT))[0]
    await until_live(comm)
    await comm.send_json_to({"action": "pause"})
    await asyncio.to_thread(produce, on_cluster.bootstrap, topic, [b"a", b"b", b"c"])
    # While paused the viewer gets counts, never rows; resuming only after the count has
    # reached 3 makes the frame's arrival, not the scheduler, decide what "missed" says.
    missed = 0
    while missed < 3:
        msg = await comm.receive_json_from(timeout=WAIT)
        assert msg["type"] == "paused", msg
        missed = msg["missed"]
    assert missed == 3
    await comm.send_json_to({"action": "resume"})
    resumed = await comm.receive_json_from(timeout=WAIT)
    assert resumed == {"type": "resumed", "missed": 3}
    await asyncio.to_thread(produce, on_cluster.bootstrap, topic, [b"after-resume"])
    html, _ = await rows_until(comm, 1)
    assert "after-resume" in html
    await comm.disconnect()


@own_loop
async def test_fast_topic_is_sampled_with_skipped_counts(
    on_cluster: Cluster, cookie: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A small frame makes "faster than the screen" cheap to reach: 600 records at once.
    monkeypatch.setattr(tails, "MAX_ROWS_PER_FRAME", 20)
    topic = await asyncio.to_thread(create_topic, on_cluster.bootstrap, 1, "tailr")
    comm = communicator(topic, cookie)
    assert (await comm.connect(timeout=WAIT))[0]
    await until_live(comm)
    await asyncio.to_thread(
        produce, on_cluster.bootstrap, topic, [f"r{i}".encode() for i in range(600)]
    )
    frames: list[dict[str, Any]] = []
    while sum(f["seen"] for f in frames) < 600:
        msg = await comm.receive_json_from(timeout=WAIT)
        frames.append(msg)
    assert all(f["rows"] <= 20 for f in frames)
    assert sum(f["rows"] + f["skipped"] for f in frames) == 600
    assert sum(f["skipped"] for f in frames) > 0
    # Rows of a frame are in order, so the screen reads like the log.
    offsets = [int(part.split('"', 1)[0]) for part in frames[0]["html"].split('data-o="')[1:]]
    assert offsets == sorted(offsets)
    await comm.disconnect()


@own_loop
async def test_unknown_topic_says_so(on_cluster: Cluster, cookie: bytes) -> None:
    comm = communicator("no-such-topic-here", cookie)
    assert (await comm.connect(timeout=WAIT))[0]
    msg = await comm.receive_json_from(timeout=WAIT)
    assert msg["state"] == "error"
    assert "does not exist" in msg["error"]
    await comm.disconnect()
    assert tails.active() == {}


@own_loop
async def test_a_replaced_tail_never_reaches_the_next_ones_viewers(
    on_cluster: Cluster, cookie: bytes
) -> None:
    """A viewer who changes the filter leaves one tail and may start the next while the
    first is still stopping: a frame the first publishes late must not reach them."""
    topic = await asyncio.to_thread(create_topic, on_cluster.bootstrap, 1, "tailr")
    first = communicator(topic, cookie)
    assert (await first.connect(timeout=WAIT))[0]
    await until_live(first)
    old = tails.active()[("local", topic)]
    await first.disconnect()
    second = communicator(topic, cookie)
    assert (await second.connect(timeout=WAIT))[0]
    await until_live(second)
    assert tails.active()[("local", topic)] is not old
    late = [0, 0, 0, 0, None, b"late", [], "<tr><td>late</td></tr>"]
    await old.publish(old.group, {"type": "tail.frame", "items": [late], "seen": 1, "skipped": 0})
    await asyncio.to_thread(produce, on_cluster.bootstrap, topic, [b"live-one"])
    html, frames = await rows_until(second, 1)
    assert "live-one" in html
    assert "late" not in html
    assert sum(f["rows"] for f in frames) == 1
    await second.disconnect()
