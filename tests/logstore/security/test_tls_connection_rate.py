"""An ip over its connection_creation_rate on a TLS listener: its connection is held
unread, with no handshake, and closed, as on a plain one (KIP-612; the plain listener is
compared with Kafka in tests/differential/test_connection_rate_quota.py)."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

from logstore.protocol.api_keys import ApiKey
from tests.logstore.broker.wire import Wire, schema
from tests.logstore.security.tls_setup import Certs, tls_broker

SOURCE = "127.0.0.53"


def _handshake(port: int, context: ssl.SSLContext) -> str:
    with socket.socket() as raw:
        raw.settimeout(5)
        raw.bind((SOURCE, 0))
        raw.connect(("127.0.0.1", port))
        try:
            with context.wrap_socket(raw, server_hostname="localhost"):
                return "handshake"
        except (ssl.SSLError, ConnectionError, OSError):
            return "closed"


def test_a_tls_connection_over_the_rate_gets_no_handshake(tmp_path: Path, certs: Certs) -> None:
    broker = tls_broker(tmp_path, certs)
    try:
        with Wire(broker.bootstrap) as wire:
            s = schema(ApiKey.ALTER_CLIENT_QUOTAS, 1)
            answer = wire.request(
                ApiKey.ALTER_CLIENT_QUOTAS,
                1,
                entries=(
                    s.EntryData(
                        entity=(s.EntityData(entity_type="ip", entity_name=SOURCE),),
                        ops=(s.OpData(key="connection_creation_rate", value=1.0, remove=False),),
                    ),
                ),
                validate_only=False,
            )
            assert answer.entries[0].error_code == 0
        context = ssl.create_default_context(cafile=str(certs.ca))
        context.check_hostname = False
        seen = [_handshake(broker.ports["SSL"], context) for _ in range(11)]
        # One a second over at least ten seconds: ten served, the eleventh held and closed.
        assert seen == ["handshake"] * 10 + ["closed"]
    finally:
        broker.stop()
