"""The handler registry: which API versions we serve, and who serves them.

A handler is `async def handler(broker, ctx, request) -> response | None`, registered with
`@handles(ApiKey.X, min_version=a, max_version=b)`. `request` is kio's request object of
the exact version received; the handler answers with the same version's response class
(`ctx.response_class` / `ctx.schema` for nested entities), a pre-encoded `RawReply`, or
None when no answer is sent (Produce with acks=0). ApiVersions advertises exactly these
ranges, so registering is advertising. It must never touch sockets or files.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from logstore.protocol import codec
from logstore.quotas.request_time import RequestTimer

if TYPE_CHECKING:
    from logstore.broker.context import Broker


# The principal of a client that did not authenticate (Kafka's KafkaPrincipal.ANONYMOUS).
ANONYMOUS = "User:ANONYMOUS"


@dataclass(frozen=True, slots=True)
class RequestContext:
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    client_host: str
    # Who sent the request, in Kafka's "User:name" form: the authenticated SASL or TLS
    # identity, ANONYMOUS on a PLAINTEXT listener. The authorizer decides by it.
    principal: str = ANONYMOUS
    # The listener the request came in on ("" = the first one): addresses in answers
    # are that listener's advertised ones.
    listener: str = ""
    # Which client connection sent it (0: none, e.g. a request made up inside the broker):
    # state Kafka ties to a connection (share sessions) ends when that connection does.
    connection: int = 0
    # The request's size in bytes, header and body (what Kafka's produce quota counts).
    size: int = 0
    # The time the request ran, when a request_percentage quota is in force
    # (logstore.broker.request_quota charges it).
    timer: RequestTimer | None = None

    @property
    def user(self) -> str:
        """The principal's name, as client quotas name users ("User:alice" -> "alice")."""
        return self.principal.partition(":")[2] or self.principal

    @property
    def response_class(self) -> type:
        """kio's response class for this exact API version."""
        cls = codec.response_class(self.api_key, self.api_version)
        if cls is None:
            raise LookupError(f"no response class for {self.api_key} v{self.api_version}")
        return cls

    @property
    def schema(self) -> ModuleType:
        """The kio response module (nested entity classes live there)."""
        return codec.response_module(self.api_key, self.api_version)


@dataclass(frozen=True, slots=True)
class RawReply:
    """A response already encoded: frame parts (bytes or sized file slices) and their total."""

    parts: Sequence[Any]
    total: int


Handler = Callable[["Broker", RequestContext, Any], Awaitable[Any]]
# For versions kio cannot parse (Produce v0–2): raw frame body -> full frame bytes.
LegacyHandler = Callable[[RequestContext, bytes], bytes]


@dataclass(frozen=True, slots=True)
class Registration:
    api_key: int
    min_version: int
    max_version: int
    handler: Handler
    legacy: LegacyHandler | None = None


_REGISTRY: dict[int, Registration] = {}

H = TypeVar("H", bound=Handler)


def handles(
    api_key: int, *, min_version: int, max_version: int, legacy: LegacyHandler | None = None
) -> Callable[[H], H]:
    """Register a handler for `api_key` versions min..max (inclusive).

    Every version in the range must be parseable by the codec, or be covered by `legacy`.
    """

    def register(fn: H) -> H:
        if api_key in _REGISTRY and _REGISTRY[api_key].handler is not fn:
            raise ValueError(f"api key {api_key} already has a handler")
        for version in range(min_version, max_version + 1):
            if not codec.can_parse(api_key, version) and legacy is None:
                raise ValueError(f"api key {api_key} v{version} cannot be parsed")
        _REGISTRY[api_key] = Registration(api_key, min_version, max_version, fn, legacy)
        return fn

    return register


def registration(api_key: int) -> Registration | None:
    return _REGISTRY.get(api_key)


def supported_ranges() -> list[tuple[int, int, int]]:
    """(api_key, min, max) for every registered API, sorted by key."""
    return [(r.api_key, r.min_version, r.max_version) for _, r in sorted(_REGISTRY.items())]


def is_supported(api_key: int, api_version: int) -> bool:
    reg = _REGISTRY.get(api_key)
    return reg is not None and reg.min_version <= api_version <= reg.max_version
