"""ApiVersions (key 18, v0–4): advertise exactly the registered version ranges.

Owns the advertisement and the KIP-511 answer to a version we do not know (a v0 body with
UNSUPPORTED_VERSION and our ranges). It must never list an API nobody registered.
"""

from __future__ import annotations

import struct
from typing import Any

from kio.schema.api_versions.v0.response import ApiVersion as ApiVersionV0
from kio.schema.api_versions.v0.response import ApiVersionsResponse as ApiVersionsResponseV0

from logstore.broker.api import RequestContext, handles, supported_ranges
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.error_codes import UNSUPPORTED_VERSION
from logstore.protocol import codec
from logstore.protocol.api_keys import ApiKey


@handles(ApiKey.API_VERSIONS, min_version=0, max_version=4)
async def api_versions(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    # librdkafka and the Java client send client_software_name/version; we accept any
    # value (even empty) because librdkafka falls back to v0 on INVALID_REQUEST anyway.
    schema = ctx.schema
    keys = tuple(
        make(schema.ApiVersion, api_key=k, min_version=lo, max_version=hi)
        for k, lo, hi in supported_ranges()
    )
    return make(ctx.response_class, error_code=0, api_keys=keys, throttle_time=0)


def unsupported_version_frame(correlation_id: int) -> bytes:
    """Full frame answering an ApiVersions request at a version we do not speak."""
    body = make(
        ApiVersionsResponseV0,
        error_code=UNSUPPORTED_VERSION,
        api_keys=tuple(
            make(ApiVersionV0, api_key=k, min_version=lo, max_version=hi)
            for k, lo, hi in supported_ranges()
        ),
    )
    payload = struct.pack(">i", correlation_id) + codec.encode_body(body)
    return struct.pack(">i", len(payload)) + payload
