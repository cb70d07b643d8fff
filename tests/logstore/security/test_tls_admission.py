"""TLS handshakes in progress count toward the connection caps, as Kafka counts a
connection from its accept: raw sockets that connect to a TLS listener and never send a
ClientHello fill max.connections.per.ip (other addresses are still served) or
max.connections (nobody else is), and a slot comes back when one of them goes away.

Real broker processes; raw sockets from 127.0.0.1 and, for "another address", 127.0.0.2
(Linux routes all of 127/8 to the loopback interface).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker_fixture import BrokerProcess
from tests.logstore.security.tls_setup import Certs, tls_broker

HALF_OPEN = 3
TIMEOUT_S = 10.0
# ApiVersions v0, correlation id 7, null client id.
API_VERSIONS_V0 = struct.pack(">ihhih", 10, 18, 0, 7, -1)


def _connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection(
        ("127.0.0.1", port), timeout=TIMEOUT_S, source_address=(source, 0)
    )


def _served(broker: BrokerProcess, certs: Certs, source: str = "127.0.0.1") -> bool:
    """Whether a TLS client from `source` completes a handshake and gets ApiVersions."""
    try:
        with (
            _connect(broker.ports["SSL"], source) as raw,
            certs.context().wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            tls.sendall(API_VERSIONS_V0)
            head = tls.recv(10)
    except (OSError, EOFError):
        return False
    return len(head) >= 10 and struct.unpack(">iih", head[:10])[1:] == (7, 0)


def _refused(port: int, source: str = "127.0.0.1") -> bool:
    """Whether the broker closes a new plain connection at once (its answer to a client
    over the caps), rather than keeping it open."""
    with _connect(port, source) as sock:
        sock.settimeout(1.0)
        try:
            return sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False


def _eventually(check, deadline_s: float = TIMEOUT_S) -> bool:
    """Poll `check` (the broker admits and releases on its own schedule)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)  # polling another process, not waiting for time to pass
    return False


def _held_open(sock: socket.socket) -> bool:
    """Whether the broker keeps `sock` (admitted) rather than closing it at once (refused
    while a connection that just ended still held its slot)."""
    sock.settimeout(0.3)
    try:
        return sock.recv(1) != b""
    except ConnectionResetError:
        return False
    except TimeoutError:
        return True


@contextlib.contextmanager
def _half_open(broker: BrokerProcess, n: int) -> Iterator[list[socket.socket]]:
    """`n` admitted TCP connections to the SSL listener that never start their handshake."""
    socks: list[socket.socket] = []
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while len(socks) < n and time.monotonic() < deadline:
            sock = _connect(broker.ports["SSL"])
            if _held_open(sock):
                socks.append(sock)
            else:
                sock.close()
        assert len(socks) == n, f"only {len(socks)} half-open connections were admitted"
        yield socks
    finally:
        for sock in socks:
            sock.close()


@pytest.fixture
def capped(request: pytest.FixtureRequest, tmp_path: Path, certs: Certs) -> Iterator[BrokerProcess]:
    """A broker whose cap (the test's parameter: a setting name) is HALF_OPEN."""
    broker = tls_broker(tmp_path, certs, f"{request.param}={HALF_OPEN}\n")
    try:
        yield broker
    finally:
        broker.stop()


@pytest.mark.parametrize("capped", ["max.connections.per.ip"], indirect=True)
def test_half_open_handshakes_fill_the_per_address_cap(capped: BrokerProcess, certs: Certs) -> None:
    broker = capped
    assert _served(broker, certs)
    with _half_open(broker, HALF_OPEN) as socks:
        # The address is full: plain and TLS connections from it are closed at once.
        assert _eventually(lambda: _refused(broker.port))
        assert not _served(broker, certs)
        # Another address is not affected.
        assert _served(broker, certs, source="127.0.0.2")
        # One half-open connection goes away: its slot comes back.
        socks.pop().close()
        assert _eventually(lambda: _served(broker, certs))


@pytest.mark.parametrize("capped", ["max.connections"], indirect=True)
def test_half_open_handshakes_fill_the_broker_cap(capped: BrokerProcess, certs: Certs) -> None:
    broker = capped
    with _half_open(broker, HALF_OPEN):
        assert _eventually(lambda: _refused(broker.port, source="127.0.0.2"))
        assert not _served(broker, certs, source="127.0.0.2")
    assert _eventually(lambda: _served(broker, certs, source="127.0.0.2"))
