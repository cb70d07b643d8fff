"""DescribeClientQuotas (48), v0–1: Odradek enforces no client quotas, so it has none to list.

Owns validating the filter exactly as Kafka's controller does (so a bad filter gets Kafka's
error and message) and answering an empty list for a good one. Kafka's own
`kafka-configs.sh --describe --entity-type users` asks this beside the SCRAM credentials.
It must never pretend a quota exists: AlterClientQuotas is not served.
"""

from __future__ import annotations

from typing import Any

from logstore.broker import access
from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.error_codes import INVALID_REQUEST, UNSUPPORTED_VERSION
from logstore.protocol.api_keys import ApiKey
from logstore.security.acls import Operation

ENTITY_TYPES = ("user", "client-id", "ip")
EXACT, DEFAULT, SPECIFIED = 0, 1, 2


class _Refused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _check(components: Any) -> None:
    seen: set[str] = set()
    for component in components:
        kind = component.entity_type
        if not kind:
            raise _Refused(INVALID_REQUEST, "Invalid empty entity type.")
        if kind in seen:
            raise _Refused(
                INVALID_REQUEST, f"Entity type {kind} cannot appear more than once in the filter."
            )
        seen.add(kind)
        if kind not in ENTITY_TYPES:
            raise _Refused(UNSUPPORTED_VERSION, f"Unsupported entity type {kind}")
        if component.match_type == EXACT and component.match is None:
            raise _Refused(
                INVALID_REQUEST, "Request specified MATCH_TYPE_EXACT, but set match string to null."
            )
        if component.match_type in (DEFAULT, SPECIFIED) and component.match is not None:
            name = (
                "MATCH_TYPE_DEFAULT" if component.match_type == DEFAULT else "MATCH_TYPE_SPECIFIED"
            )
            raise _Refused(
                INVALID_REQUEST, f"Request specified {name}, but also specified a match string."
            )
        if component.match_type not in (EXACT, DEFAULT, SPECIFIED):
            raise _Refused(INVALID_REQUEST, f"Unknown match type {component.match_type}")
    if "ip" in seen and seen & {"user", "client-id"}:
        raise _Refused(
            INVALID_REQUEST,
            "Invalid entity filter component combination. IP filter component should not be "
            "used with user or clientId filter component.",
        )


@handles(ApiKey.DESCRIBE_CLIENT_QUOTAS, min_version=0, max_version=1)
async def describe_client_quotas(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    def answer(code: int, message: str | None, entries: tuple[Any, ...] | None) -> Any:
        return make(
            ctx.response_class,
            throttle_time=0,
            error_code=code,
            error_message=message,
            entries=entries,
        )

    if not access.allowed(broker, ctx, Operation.DESCRIBE_CONFIGS, access.CLUSTER):
        code = access.REFUSED[access.CLUSTER]
        return answer(code, "Cluster authorization failed.", None)
    try:
        _check(request.components)
    except _Refused as exc:
        return answer(exc.code, str(exc), None)
    return answer(0, "", ())
