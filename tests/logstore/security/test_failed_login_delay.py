"""A failed SASL login on a broker's real socket, answered as Kafka answers it: the answer is
held for `connection.failed.authentication.delay.ms`, nothing more is read from that
connection meanwhile, other connections are served as usual, then the answer is sent and
the connection closed (once the client has had time to read it). 0 answers at once; the
setting is read from a Kafka properties file and refused below 0."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from logstore.config import BrokerConfig
from logstore.config_file import ConfigFileError, load_config_file
from logstore.error_codes import SASL_AUTHENTICATION_FAILED, UNSUPPORTED_SASL_MECHANISM
from logstore.protocol.api_keys import ApiKey
from logstore.security.scram import make_credential
from logstore.server.listener import BrokerServer
from tests.logstore.security.test_reauth_connection import Client

# Long enough that another client's whole login fits inside it on a busy machine.
DELAY_MS = 2000


async def _server(tmp_path: Path, delay_ms: int) -> BrokerServer:
    config = BrokerConfig(
        data_dir=tmp_path,
        port=0,
        listener_name="SASL_PLAINTEXT",
        sasl_enabled_mechanisms=("PLAIN",),
        connection_failed_authentication_delay_ms=delay_ms,
    )
    server = BrokerServer(config)
    await server.start()
    assert server.broker is not None
    assert server.broker.credentials is not None
    server.broker.credentials.upsert("alice", make_credential("SCRAM-SHA-256", "alice-secret"))
    return server


@pytest.fixture
async def connect(tmp_path, request) -> AsyncIterator[Any]:
    server = await _server(tmp_path, request.param)
    clients: list[Client] = []

    async def open_client() -> Client:
        client = Client(*await asyncio.open_connection("127.0.0.1", server.port))
        clients.append(client)
        return client

    try:
        yield open_client
    finally:
        for client in clients:
            client.writer.close()
        await server.shutdown()


async def _fail_then_pipeline(client: Client) -> None:
    """A wrong password, with a Metadata request sent right behind it."""
    handshake = await client.call(ApiKey.SASL_HANDSHAKE, 1, mechanism="PLAIN")
    assert handshake.error_code == 0
    await client.send(ApiKey.SASL_AUTHENTICATE, 2, auth_bytes=b"\0alice\0wrong")
    await client.send(ApiKey.METADATA, 1, topics=())


@pytest.mark.parametrize("connect", [DELAY_MS], indirect=True)
async def test_the_answer_is_held_while_others_are_served(connect) -> None:
    loop = asyncio.get_running_loop()
    guesser = await connect()
    sent = loop.time()
    await _fail_then_pipeline(guesser)
    answer = asyncio.ensure_future(guesser.receive(ApiKey.SASL_AUTHENTICATE, 2))
    # Another client logs in and is served while the failure is held.
    other = await connect()
    assert (await other.login("alice")).error_code == 0
    assert (await other.metadata()).brokers
    assert not answer.done()
    refused = await answer
    assert loop.time() - sent >= DELAY_MS / 1000
    assert refused.error_code == SASL_AUTHENTICATION_FAILED
    assert refused.error_message == "Authentication failed: Invalid username or password"
    assert await guesser.closed()  # the pipelined Metadata request got no answer


@pytest.mark.parametrize("connect", [DELAY_MS], indirect=True)
async def test_an_unsupported_mechanism_is_held_too(connect) -> None:
    loop = asyncio.get_running_loop()
    client = await connect()
    sent = loop.time()
    handshake = await client.call(ApiKey.SASL_HANDSHAKE, 1, mechanism="GSSAPI")
    assert loop.time() - sent >= DELAY_MS / 1000
    assert handshake.error_code == UNSUPPORTED_SASL_MECHANISM
    assert list(handshake.mechanisms) == ["PLAIN"]
    assert await client.closed()


@pytest.mark.parametrize("connect", [0], indirect=True)
async def test_zero_answers_and_closes_at_once(connect) -> None:
    client = await connect()
    await _fail_then_pipeline(client)
    refused = await client.receive(ApiKey.SASL_AUTHENTICATE, 2)
    assert refused.error_code == SASL_AUTHENTICATION_FAILED
    assert await client.closed()


def test_the_setting_comes_from_a_properties_file(tmp_path) -> None:
    path = tmp_path / "server.properties"
    path.write_text("connection.failed.authentication.delay.ms=2500\n")
    assert load_config_file(path).values["connection_failed_authentication_delay_ms"] == 2500
    path.write_text("connection.failed.authentication.delay.ms=-1\n")
    with pytest.raises(ConfigFileError, match=r"authentication\.delay"):
        load_config_file(path)
