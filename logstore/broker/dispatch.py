"""From a frame body to a reply: version checks, decoding, the handler call, encoding.

Owns the routing rules (unknown ApiVersions version -> KIP-511 answer; any other
unregistered key/version -> close the connection, as Kafka does) and the promise that a
request can cost at most its own connection: a frame the codec's guard or kio refuses raises
a ProtocolError, and anything a handler or native code raises leaves here as an ordinary
Exception (a native panic is a BaseException that would otherwise escape asyncio and stop
the event loop). The server closes that one connection and logs it once. It must never
touch sockets: it returns bytes, a `RawReply`, or None (no answer).
"""

from __future__ import annotations

import asyncio
from time import perf_counter

from logstore.broker import request_quota
from logstore.broker.api import ANONYMOUS, RawReply, RequestContext, is_supported, registration
from logstore.broker.context import Broker
from logstore.broker.handlers.api_versions import unsupported_version_frame
from logstore.protocol import codec
from logstore.protocol.api_keys import ApiKey
from logstore.protocol.errors import UnsupportedVersionError

Reply = bytes | RawReply | None


class HandlerCrashError(RuntimeError):
    """Native code under a request panicked; only this request's connection pays for it."""


async def handle_frame(
    broker: Broker,
    body: bytes | memoryview,
    client_host: str,
    principal: str = ANONYMOUS,
    listener: str = "",
    connection: int = 0,
) -> Reply:
    """Answer one request frame body (length prefix already stripped) from `principal`,
    received on `listener`."""
    try:
        return await _handle(broker, body, client_host, principal, listener, connection)
    except (Exception, asyncio.CancelledError, KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # e.g. pyo3's PanicException from a native library
        raise HandlerCrashError(f"{type(exc).__name__}: {exc}") from exc


async def _handle(
    broker: Broker,
    body: bytes | memoryview,
    client_host: str,
    principal: str,
    listener: str,
    connection: int,
) -> Reply:
    started = perf_counter()
    api_key, api_version, correlation_id = codec.peek_header(body)
    if not is_supported(api_key, api_version):
        if api_key == ApiKey.API_VERSIONS:
            return unsupported_version_frame(correlation_id)
        raise UnsupportedVersionError(api_key, api_version, correlation_id)
    reg = registration(api_key)
    assert reg is not None  # is_supported() said so
    if reg.legacy is not None and not codec.can_parse(api_key, api_version):
        ctx = RequestContext(
            api_key, api_version, correlation_id, None, client_host, principal, listener, connection
        )
        return reg.legacy(ctx, bytes(body))
    timer = request_quota.timer(broker, api_key)
    header, request = codec.decode_request(body)
    ctx = RequestContext(
        api_key,
        api_version,
        correlation_id,
        header.client_id,
        client_host,
        principal,
        listener,
        connection,
        len(body),
        timer,
    )
    if timer is None:
        response = await reg.handler(broker, ctx, request)
    else:
        timer.add(started)  # the header and the decoding count too
        response = await timer.run(reg.handler(broker, ctx, request))
        response = request_quota.settle(broker, ctx, response)
    broker.requests.done(ctx, started, response)  # metrics and the request log
    if response is None or isinstance(response, RawReply | bytes):
        return response
    return codec.encode_response(api_key, api_version, correlation_id, response)
