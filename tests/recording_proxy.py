"""A TCP proxy in front of a Kafka broker that records every request and holds every
response back for a fixed delay, so round trips can be counted.

Each request is logged with its API key, the time it arrived and the time its response
was handed back to the client. `rounds()` gives each request its dependency depth: one
more than the deepest request whose response the client had already received when it
sent this one. Requests sent together (pipelined) share a depth; a request that had to
wait for an answer is one deeper. The delay stands in for a network between console and
cluster and keeps a pipelined burst clearly apart from the answers it waits for.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass

API_NAMES = {
    0: "Produce",
    1: "Fetch",
    2: "ListOffsets",
    3: "Metadata",
    8: "OffsetCommit",
    9: "OffsetFetch",
    10: "FindCoordinator",
    18: "ApiVersions",
}


@dataclass
class Request:
    api: str
    connection: int
    correlation_id: int
    arrived: float
    answered: float = float("inf")  # when the client got the response


class RecordingProxy:
    """Listens on `listen_host:port` and forwards to `target_host:port`."""

    def __init__(self, listen_host: str, target_host: str, port: int, delay_s: float) -> None:
        self.target = (target_host, port)
        self.delay_s = delay_s
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = socket.create_server((listen_host, port))
        self._closing = False
        self._connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def close(self) -> None:
        self._closing = True
        self._server.close()

    def rounds(self, ignore: frozenset[str] = frozenset({"ApiVersions"})) -> list[list[str]]:
        """The requests grouped by dependency depth, each group's API names sorted."""
        with self._lock:
            asked = sorted(
                (r for r in self.requests if r.api not in ignore), key=lambda r: r.arrived
            )
        depth: list[int] = []
        for i, r in enumerate(asked):
            before = [depth[j] for j in range(i) if asked[j].answered <= r.arrived]
            depth.append(1 + max(before, default=0))
        out: list[list[str]] = [[] for _ in range(max(depth, default=0))]
        for r, d in zip(asked, depth, strict=True):
            out[d - 1].append(r.api)
        return [sorted(names) for names in out]

    # ---- plumbing ----------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._connections += 1
            n = self._connections
            threading.Thread(target=self._requests, args=(client, upstream, n), daemon=True).start()
            threading.Thread(
                target=self._responses, args=(upstream, client, n), daemon=True
            ).start()

    def _requests(self, client: socket.socket, upstream: socket.socket, n: int) -> None:
        try:
            while frame := _read_frame(client):
                api_key, _version, correlation_id = struct.unpack_from(">hhi", frame, 4)
                with self._lock:
                    self.requests.append(
                        Request(
                            API_NAMES.get(api_key, str(api_key)),
                            n,
                            correlation_id,
                            time.monotonic(),
                        )
                    )
                upstream.sendall(frame)
        except OSError:
            pass
        finally:
            upstream.close()

    def _responses(self, upstream: socket.socket, client: socket.socket, n: int) -> None:
        try:
            while frame := _read_frame(upstream):
                (correlation_id,) = struct.unpack_from(">i", frame, 4)
                # The simulated network: each answer arrives `delay_s` after the broker
                # sent it (a pipelined burst of answers stays a burst).
                got = time.monotonic()
                time.sleep(max(0.0, got + self.delay_s - time.monotonic()))
                client.sendall(frame)
                answered = time.monotonic()
                with self._lock:
                    for r in self.requests:
                        if r.connection == n and r.correlation_id == correlation_id:
                            r.answered = answered
        except OSError:
            pass
        finally:
            client.close()


def _read_frame(sock: socket.socket) -> bytes:
    head = _read_exactly(sock, 4)
    if not head:
        return b""
    (size,) = struct.unpack(">i", head)
    return head + _read_exactly(sock, size)


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            return b""
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)
