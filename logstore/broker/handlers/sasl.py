"""SaslHandshake (key 17, v0–1) and SaslAuthenticate (key 36, v0–2) once no exchange is due.

Owns the answers these APIs get when they reach ordinary dispatch: on a PLAINTEXT listener,
or after the connection authenticated when no re-authentication is offered (no session
lifetime, or one began less than a second ago), Kafka answers ILLEGAL_SASL_STATE. The
exchange itself, re-authentication included, runs before dispatch, in
logstore.broker.sasl_gate. It must never authenticate anyone.
"""

from __future__ import annotations

from typing import Any

from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.error_codes import ILLEGAL_SASL_STATE
from logstore.protocol.api_keys import ApiKey


@handles(ApiKey.SASL_HANDSHAKE, min_version=0, max_version=1)
async def sasl_handshake(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    return make(ctx.response_class, error_code=ILLEGAL_SASL_STATE, mechanisms=())


@handles(ApiKey.SASL_AUTHENTICATE, min_version=0, max_version=2)
async def sasl_authenticate(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    return make(
        ctx.response_class,
        error_code=ILLEGAL_SASL_STATE,
        error_message="SaslAuthenticate request received after successful authentication",
        auth_bytes=b"",
        session_lifetime=0,
    )
