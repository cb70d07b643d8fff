"""A client that resets while its pipelined answers are being written costs only itself."""

from __future__ import annotations

import socket
import struct

from tests.broker_fixture import BrokerProcess
from tests.logstore.broker.wire import Wire

API_VERSIONS = 18


def _api_versions_frame(correlation_id: int) -> bytes:
    body = struct.pack(">hhih", API_VERSIONS, 0, correlation_id, -1)
    return struct.pack(">i", len(body)) + body


def test_a_reset_under_pipelined_replies_logs_no_traceback(broker: BrokerProcess) -> None:
    frames = b"".join(_api_versions_frame(i) for i in range(200))
    for _ in range(30):
        sock = socket.create_connection(("127.0.0.1", broker.port), timeout=5)
        # linger 0: close() sends RST at once, while the broker is still answering.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.sendall(frames)
        sock.close()
    with Wire(broker.bootstrap) as w:
        assert w.request(API_VERSIONS, 0).error_code == 0
    log = broker.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
