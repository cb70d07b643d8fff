"""A tiny blocking Kafka wire client for tests: hand-made frames in, kio responses out.

Owns only the test-side socket plumbing. It must never connect anywhere but 127.0.0.1.
"""

from __future__ import annotations

import socket
import ssl
import struct
from typing import Any

from logstore.broker.build import make
from logstore.protocol import codec


class Wire:
    def __init__(
        self,
        bootstrap: str,
        timeout: float = 10.0,
        tls: ssl.SSLContext | None = None,
        client_id: str = "wire-test",
    ) -> None:
        """`tls`: speak through TLS with this client context (an SSL listener);
        `client_id`: what every request's header names (client quotas go by it)."""
        host, port = bootstrap.rsplit(":", 1)
        assert host == "127.0.0.1"
        sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock = sock if tls is None else tls.wrap_socket(sock, server_hostname=host)
        self.correlation = 0
        self.client_id = client_id

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Wire:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_frame(self) -> bytes:
        head = self._read_exactly(4)
        (length,) = struct.unpack(">i", head)
        return self._read_exactly(length)

    def _read_exactly(self, n: int) -> bytes:
        chunks = []
        while n:
            chunk = self.sock.recv(n)
            if not chunk:
                raise ConnectionError("closed by broker")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def send_request(self, api_key: int, version: int, **fields: Any) -> None:
        """Send a request built from `fields` without waiting for the answer."""
        cls = codec.request_class(api_key, version)
        assert cls is not None
        self.correlation += 1
        header = codec.RequestHeader(api_key, version, self.correlation, self.client_id)
        self.send_raw(codec.encode_request(header, make(cls, **fields)))

    def read_response(self, api_key: int, version: int) -> Any:
        correlation_id, response = codec.decode_response(api_key, version, self.read_frame())
        assert correlation_id == self.correlation
        return response

    def request(self, api_key: int, version: int, **fields: Any) -> Any:
        """Send a request built from `fields` and return the decoded response."""
        self.send_request(api_key, version, **fields)
        return self.read_response(api_key, version)

    def closed_by_peer(self) -> bool:
        """True once the broker has closed this connection (EOF or reset)."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True


def schema(api_key: int, version: int) -> Any:
    """The kio request module for building nested entities."""
    from kio.index import load_payload_module
    from kio.static.constants import EntityType

    return load_payload_module(api_key, version, EntityType.request)
