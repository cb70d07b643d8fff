"""Re-authentication (KIP-368) on a broker's real SASL_PLAINTEXT socket, with the broker's
clock held by the test: an expired session is closed at its next request, a second
exchange on the live connection renews it (requests pipelined around it are answered in
order), a changed principal closes the connection, and the counters behind the metrics
endpoint count each case."""

from __future__ import annotations

import asyncio
import datetime
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest
from kafka.net.sasl.plain import SaslMechanismPlain

from logstore.broker.stats import AuthenticationStats
from logstore.clock import ManualClock
from logstore.config import BrokerConfig
from logstore.error_codes import ILLEGAL_SASL_STATE, SASL_AUTHENTICATION_FAILED
from logstore.protocol import codec
from logstore.protocol.api_keys import ApiKey
from logstore.security.scram import make_credential
from logstore.server.listener import BrokerServer

LIFETIME_MS = 5000
TIMEOUT_S = 10


class Client:
    """One raw connection: numbered requests, replies read back in order."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self._correlation = 0

    async def send(self, api_key: int, version: int, **fields: Any) -> None:
        cls = codec.request_class(api_key, version)
        assert cls is not None
        self._correlation += 1
        header = codec.RequestHeader(api_key, version, self._correlation, "reauth")
        self.writer.write(codec.encode_request(header, cls(**fields)))
        await self.writer.drain()

    async def receive(self, api_key: int, version: int) -> Any:
        prefix = await asyncio.wait_for(self.reader.readexactly(4), TIMEOUT_S)
        payload = await self.reader.readexactly(struct.unpack(">i", prefix)[0])
        return codec.decode_response(api_key, version, payload)[1]

    async def call(self, api_key: int, version: int, **fields: Any) -> Any:
        await self.send(api_key, version, **fields)
        return await self.receive(api_key, version)

    async def login(self, user: str, password: str | None = None) -> Any:
        """SaslHandshake v1 + SaslAuthenticate v2 with PLAIN; the authenticate response."""
        handshake = await self.call(ApiKey.SASL_HANDSHAKE, 1, mechanism="PLAIN")
        assert handshake.error_code == 0
        token = SaslMechanismPlain(
            sasl_plain_username=user,
            sasl_plain_password=password or f"{user}-secret",
            security_protocol="SASL_PLAINTEXT",
        ).auth_bytes()
        return await self.call(ApiKey.SASL_AUTHENTICATE, 2, auth_bytes=token)

    async def metadata(self) -> Any:
        return await self.call(ApiKey.METADATA, 1, topics=())

    async def closed(self) -> bool:
        """Whether the broker closed the connection (nothing more to read)."""
        return await asyncio.wait_for(self.reader.read(1), TIMEOUT_S) == b""


def _ms(value: datetime.timedelta) -> int:
    return value // datetime.timedelta(milliseconds=1)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def server(tmp_path, clock) -> AsyncIterator[BrokerServer]:
    config = BrokerConfig(
        data_dir=tmp_path,
        port=0,
        listener_name="SASL_PLAINTEXT",
        sasl_enabled_mechanisms=("PLAIN",),
        connections_max_reauth_ms=LIFETIME_MS,
    )
    server = BrokerServer(config, clock=clock)
    await server.start()
    assert server.broker is not None
    assert server.broker.credentials is not None
    for user in ("alice", "bob"):
        server.broker.credentials.upsert(user, make_credential("SCRAM-SHA-256", f"{user}-secret"))
    try:
        yield server
    finally:
        await server.shutdown()


@pytest.fixture
async def connect(server) -> AsyncIterator[Any]:
    clients: list[Client] = []

    async def open_client() -> Client:
        client = Client(*await asyncio.open_connection("127.0.0.1", server.port))
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        client.writer.close()


def _stats(server: BrokerServer) -> AuthenticationStats:
    assert server.broker is not None
    return server.broker.authentications


async def test_an_expired_session_is_closed_at_its_next_request(server, connect, clock) -> None:
    client = await connect()
    response = await client.login("alice")
    assert response.error_code == 0
    assert _ms(response.session_lifetime) == LIFETIME_MS
    assert (await client.metadata()).brokers
    clock.advance(LIFETIME_MS + 1)
    await client.send(ApiKey.METADATA, 1, topics=())
    assert await client.closed()
    assert _stats(server).expired_connections_killed == 1


async def test_re_authentication_renews_the_session(server, connect, clock) -> None:
    client = await connect()
    await client.login("alice")
    clock.advance(LIFETIME_MS - 500)
    # Requests pipelined ahead of the handshake are answered first, in order.
    await client.send(ApiKey.METADATA, 1, topics=())
    await client.send(ApiKey.SASL_HANDSHAKE, 1, mechanism="PLAIN")
    assert (await client.receive(ApiKey.METADATA, 1)).brokers
    assert (await client.receive(ApiKey.SASL_HANDSHAKE, 1)).error_code == 0
    token = b"\0alice\0alice-secret"
    renewed = await client.call(ApiKey.SASL_AUTHENTICATE, 2, auth_bytes=token)
    assert renewed.error_code == 0
    assert _ms(renewed.session_lifetime) == LIFETIME_MS
    clock.advance(LIFETIME_MS - 1)  # past the first session's end, within the second's
    assert (await client.metadata()).brokers
    # A handshake after the session expired still renews it.
    clock.advance(2)
    assert (await client.login("alice")).error_code == 0
    assert (await client.metadata()).brokers
    assert _stats(server).reauthentications == 2
    assert _stats(server).expired_connections_killed == 0


async def test_a_second_handshake_within_a_second_is_an_ordinary_request(
    server, connect, clock
) -> None:
    client = await connect()
    await client.login("alice")
    await client.login("alice")
    refused = await client.call(ApiKey.SASL_HANDSHAKE, 1, mechanism="PLAIN")
    assert refused.error_code == ILLEGAL_SASL_STATE
    assert (await client.metadata()).brokers  # the connection goes on
    assert _stats(server).reauthentications == 1


async def test_a_changed_principal_closes_the_connection(server, connect, clock) -> None:
    client = await connect()
    await client.login("alice")
    refused = await client.login("bob")
    assert refused.error_code == SASL_AUTHENTICATION_FAILED
    assert refused.error_message == (
        "Cannot change principals during re-authentication from User.alice: User.bob"
    )
    assert await client.closed()
    assert _stats(server).failed_reauthentications == 1


async def test_a_wrong_password_on_re_authentication_closes_the_connection(server, connect) -> None:
    client = await connect()
    await client.login("alice")
    refused = await client.login("alice", "wrong")
    assert refused.error_code == SASL_AUTHENTICATION_FAILED
    assert await client.closed()
    assert _stats(server).failed_reauthentications == 1
