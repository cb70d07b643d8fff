"""Kafka's request_percentage quota at the broker's edge: charging a request's time, muting
the connection, and writing the wait into the answer.

Owns when a request's time is charged (once, when its answer is decided: Produce and Fetch
charge it themselves where Kafka does, beside their byte quotas; every other answer is
settled here after its handler returned), which requests are exempt (cluster actions, as
Kafka's `sendResponseExemptThrottle`; Produce with acks=0, which has no answer), and how
the wait reaches the client: the answer's throttle_time_ms, the larger of this wait and
any the handler already gave, and the connection read no further meanwhile. It must never
measure time itself (logstore.quotas.request_time does) nor decide what a request
answers beyond its throttle time.
"""

from __future__ import annotations

import dataclasses
import datetime
import struct
from typing import Any

from logstore.broker.api import RawReply, RequestContext
from logstore.broker.build import millis
from logstore.broker.context import Broker
from logstore.protocol import codec
from logstore.protocol.api_keys import ApiKey
from logstore.quotas.enforcer import REQUEST
from logstore.quotas.request_time import RequestTimer

# Kafka answers these with sendResponseExemptThrottle: brokers' own traffic.
EXEMPT = frozenset({ApiKey.WRITE_TXN_MARKERS})
_I32 = struct.Struct(">i")


def timer(broker: Broker, api_key: int) -> RequestTimer | None:
    """A timer for a request, when a request_percentage quota is in force and the API is
    not exempt; None otherwise (the request then runs untimed)."""
    if api_key in EXEMPT or not broker.quotas.enforces(REQUEST):
        return None
    return RequestTimer()


def charge(broker: Broker, ctx: RequestContext) -> int:
    """Charge the request's time so far to its client (once) and answer the wait in ms
    it earned (0: within quota, untimed, or already charged). Kafka bounds this wait by
    one quota window."""
    timer = ctx.timer
    if timer is None or timer.charged:
        return 0
    timer.charged = True
    return broker.quotas.record(REQUEST, ctx.user, ctx.client_id or "", timer.percentage)


def settle(broker: Broker, ctx: RequestContext, reply: Any) -> Any:
    """After the handler: charge a request its handler did not charge, mute the connection
    for its wait when that is longer than the one the handler gave, and answer with the
    longer wait."""
    if reply is None or ctx.timer is None or ctx.timer.charged:
        return reply
    wait = charge(broker, ctx)
    if wait <= 0:
        return reply
    given = given_wait(ctx.api_key, ctx.api_version, reply)
    if given is not None and given >= wait:
        return reply  # the handler's own wait is the longer, and it muted for it
    broker.quotas.mute(ctx.connection, wait, REQUEST)
    return reply if given is None else with_wait(ctx.api_key, ctx.api_version, reply, wait)


# Hand-encoded answers whose first field is throttle_time_ms, from this version on.
_LEADING_WAIT: dict[int, int] = {
    ApiKey.FETCH: 1,
    ApiKey.LIST_OFFSETS: 2,
    ApiKey.METADATA: 3,
    ApiKey.DESCRIBE_CONFIGS: 1,
    ApiKey.DESCRIBE_LOG_DIRS: 1,
}


def _frame_offset(api_key: int, version: int) -> int | None:
    """Where a hand-encoded frame (length prefix included) holds throttle_time_ms, counted
    from its start (>= 0) or its end (< 0); None when this version has none."""
    since = _LEADING_WAIT.get(api_key)
    if since is not None:
        if version < since:
            return None
        # Length, correlation id, the flexible header's empty tags, then the wait.
        return 8 + codec.response_header_is_flexible(api_key, version)
    if api_key == ApiKey.PRODUCE and version >= 1:
        return -5 if version >= 9 else -4  # last field, before the body's tags
    return None


def given_wait(api_key: int, version: int, reply: Any) -> int | None:
    """The throttle_time_ms an answer carries; None when it has no such field."""
    if isinstance(reply, RawReply | bytes):
        offset = _frame_offset(api_key, version)
        if offset is None:
            return None
        head = reply.parts[0] if isinstance(reply, RawReply) else reply
        if offset < 0:
            offset += len(head)
        return int(_I32.unpack_from(head, offset)[0])
    if not any(f.name == "throttle_time" for f in dataclasses.fields(reply)):
        return None
    return millis(reply.throttle_time)


def with_wait(api_key: int, version: int, reply: Any, wait_ms: int) -> Any:
    """`reply` carrying `wait_ms` as its throttle_time_ms (it must have that field)."""
    if isinstance(reply, RawReply | bytes):
        offset = _frame_offset(api_key, version)
        assert offset is not None
        head = bytearray(reply.parts[0] if isinstance(reply, RawReply) else reply)
        _I32.pack_into(head, offset if offset >= 0 else offset + len(head), wait_ms)
        if isinstance(reply, RawReply):
            return RawReply([bytes(head), *reply.parts[1:]], reply.total)
        return bytes(head)
    return dataclasses.replace(reply, throttle_time=datetime.timedelta(milliseconds=wait_ms))
