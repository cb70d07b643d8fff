"""The live tail with the Redis channel layer (what `REDIS_URL` selects), on a real redis-server.

Redis listens on a unix socket in the test's temp dir: no TCP port, nothing to collide with.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from channels.layers import get_channel_layer
from django.test import override_settings

from console.kafka import tail as tails
from tests.clusters import Cluster
from tests.console.messages_data import create_topic
from tests.console.test_tail_ws import (
    WAIT,
    communicator,
    cookie,
    own_loop,
    produce,
    rows_until,
    until_live,
)

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["cookie"]  # the fixture, imported for use here


@pytest.fixture(scope="module")
def redis_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is missing: `make test` installs Debian's redis-server")
    sock = tmp_path_factory.mktemp("redis") / "redis.sock"
    proc = subprocess.Popen(
        [server, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while not sock.exists():
        assert proc.poll() is None, "redis-server exited"
        assert time.monotonic() < deadline, "redis-server did not create its socket"
        time.sleep(0.05)  # polling for the socket file, bounded by the deadline
    yield sock
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def on_redis(cluster: Cluster, redis_socket: Path) -> Iterator[Cluster]:
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"unix://{redis_socket}"]},
        }
    }
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap, CHANNEL_LAYERS=layers):
        yield cluster


@own_loop
async def test_two_viewers_over_redis_share_one_consumer(on_redis: Cluster, cookie: bytes) -> None:
    assert type(get_channel_layer()).__name__ == "RedisChannelLayer"
    topic = await asyncio.to_thread(create_topic, on_redis.bootstrap, 2, "tail-redis")
    first, second = communicator(topic, cookie), communicator(topic, cookie, query="q=two")
    for comm in (first, second):
        assert (await comm.connect(timeout=WAIT))[0]
        await until_live(comm)
    (tail,) = tails.active().values()
    assert tail.viewers == 2
    await asyncio.to_thread(produce, on_redis.bootstrap, topic, [b"one", b"two \xff bytes"])
    html_first, _ = await rows_until(first, 2)
    html_second, _ = await rows_until(second, 1)
    assert "one" in html_first
    assert "74 77 6f 20 ff" in html_first  # not UTF-8: shown as hex, bytes intact via msgpack
    assert "74 77 6f 20 ff" in html_second  # the text filter still found "two" in it
    assert "one" not in html_second
    for comm in (first, second):
        await comm.disconnect()
    assert tails.active() == {}
    assert not tail.running
