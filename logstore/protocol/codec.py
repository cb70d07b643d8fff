"""The codec wrapper over kio: frame bodies ⇄ (header, typed request), typed response ⇄ bytes.

Owns which header version goes with which API version (the schemas' `flexibleVersions`,
plus the ApiVersions exception: its response header is always v0) and the only imports of
kio's serializers, so kio can be swapped behind this module. It must never do I/O and
never decide what a request means.
"""

from __future__ import annotations

import functools
import io
import struct
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from kio.index import load_payload_module
from kio.schema.request_header.v1.header import RequestHeader as RequestHeaderV1
from kio.schema.request_header.v2.header import RequestHeader as RequestHeaderV2
from kio.schema.response_header.v0.header import ResponseHeader as ResponseHeaderV0
from kio.schema.response_header.v1.header import ResponseHeader as ResponseHeaderV1
from kio.serial import entity_reader, entity_writer
from kio.static.constants import EntityType
from kio.static.primitive import i16, i32

from logstore.protocol import guard
from logstore.protocol.api_keys import ApiKey
from logstore.protocol.errors import MalformedFrameError, UnsupportedVersionError
from logstore.protocol.framing import MIN_REQUEST_BYTES

_PEEK = struct.Struct(">hhi")


@dataclass(frozen=True, slots=True)
class RequestHeader:
    """The parts of a request header a handler may care about."""

    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None


def peek_header(body: bytes | memoryview) -> tuple[int, int, int]:
    """(api_key, api_version, correlation_id): readable even when the version is unknown."""
    if len(body) < MIN_REQUEST_BYTES:
        raise MalformedFrameError("frame shorter than a request header")
    api_key, api_version, correlation_id = _PEEK.unpack_from(body, 0)
    return api_key, api_version, correlation_id


@functools.cache
def _module(api_key: int, api_version: int, kind: EntityType) -> ModuleType | None:
    try:
        return load_payload_module(api_key, api_version, kind)  # type: ignore[arg-type]
    except Exception:
        return None


def _entity_class(module: ModuleType, kind: EntityType) -> type:
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and getattr(value, "__type__", None) is kind
            and value.__module__ == module.__name__
        ):
            return value
    raise LookupError(f"no {kind.name} entity in {module.__name__}")


@functools.cache
def request_class(api_key: int, api_version: int) -> type | None:
    """kio's request class for this version, or None when kio cannot parse it."""
    module = _module(api_key, api_version, EntityType.request)
    return None if module is None else _entity_class(module, EntityType.request)


@functools.cache
def response_class(api_key: int, api_version: int) -> type | None:
    """kio's response class for this version, or None when kio cannot encode it."""
    module = _module(api_key, api_version, EntityType.response)
    return None if module is None else _entity_class(module, EntityType.response)


def response_module(api_key: int, api_version: int) -> ModuleType:
    """The module holding the response class and its nested entity classes."""
    module = _module(api_key, api_version, EntityType.response)
    if module is None:
        raise LookupError(f"kio has no response for api_key={api_key} v{api_version}")
    return module


def can_parse(api_key: int, api_version: int) -> bool:
    """True when both the request and the response of this version are in kio."""
    return (
        request_class(api_key, api_version) is not None
        and response_class(api_key, api_version) is not None
    )


@functools.cache
def _reader(cls: Any) -> Any:
    return entity_reader(cls)


@functools.cache
def _writer(cls: Any) -> Any:
    return entity_writer(cls)


def request_header_is_flexible(api_key: int, api_version: int) -> bool:
    cls = request_class(api_key, api_version)
    return cls is not None and cls.__header_schema__ is RequestHeaderV2  # type: ignore[attr-defined]


def response_header_is_flexible(api_key: int, api_version: int) -> bool:
    # KIP-511: ApiVersions answers with header v0 so a client that guessed too high a
    # version can still read the error and our ranges.
    if api_key == ApiKey.API_VERSIONS:
        return False
    cls = response_class(api_key, api_version)
    return cls is not None and cls.__header_schema__ is ResponseHeaderV1  # type: ignore[attr-defined]


def decode_request(body: bytes | memoryview) -> tuple[RequestHeader, Any]:
    """Parse a frame body into its header and kio request object.

    Raises UnsupportedVersionError when kio has no schema for the pair (the caller decides
    whether to answer or close) and MalformedFrameError when the bytes do not parse. The
    structural guard walks the frame first: kio never sees a length it could not satisfy.
    """
    api_key, api_version, correlation_id = peek_header(body)
    cls = request_class(api_key, api_version)
    if cls is None or response_class(api_key, api_version) is None:
        raise UnsupportedVersionError(api_key, api_version, correlation_id)
    header_cls = (
        RequestHeaderV2 if request_header_is_flexible(api_key, api_version) else RequestHeaderV1
    )
    guard.check_request(body, header_cls, cls)
    try:
        kio_header, used = _reader(header_cls)(body, 0)
        request, _ = _reader(cls)(body, used)
    except Exception as exc:  # kio raises many types on garbage; all mean "malformed"
        raise MalformedFrameError(f"cannot parse api_key={api_key} v{api_version}: {exc}") from exc
    header = RequestHeader(api_key, api_version, correlation_id, kio_header.client_id)
    return header, request


def encode_response_header(api_key: int, api_version: int, correlation_id: int) -> bytes:
    """Response header bytes (v0 or v1) for this API version."""
    if response_header_is_flexible(api_key, api_version):
        return struct.pack(">iB", correlation_id, 0)  # v1: correlation id + empty tag buffer
    return struct.pack(">i", correlation_id)


def encode_body(response: Any) -> bytes:
    """Serialize a kio response entity (no header, no length prefix)."""
    buffer = io.BytesIO()
    _writer(response.__class__)(buffer, response)
    return buffer.getvalue()


def encode_response(api_key: int, api_version: int, correlation_id: int, response: Any) -> bytes:
    """A complete, length-prefixed response frame."""
    payload = encode_response_header(api_key, api_version, correlation_id) + encode_body(response)
    return struct.pack(">i", len(payload)) + payload


def encode_request(header: RequestHeader, request: Any) -> bytes:
    """A complete, length-prefixed request frame (for tests and tools)."""
    flexible = request_header_is_flexible(header.api_key, header.api_version)
    header_cls = RequestHeaderV2 if flexible else RequestHeaderV1
    kio_header = header_cls(
        request_api_key=i16(header.api_key),
        request_api_version=i16(header.api_version),
        correlation_id=i32(header.correlation_id),
        client_id=header.client_id,
    )
    buffer = io.BytesIO()
    _writer(header_cls)(buffer, kio_header)
    _writer(request.__class__)(buffer, request)
    payload = buffer.getvalue()
    return struct.pack(">i", len(payload)) + payload


def decode_response(api_key: int, api_version: int, payload: bytes) -> tuple[int, Any]:
    """Parse a response payload (after the length prefix) into (correlation_id, entity)."""
    cls = response_class(api_key, api_version)
    if cls is None:
        raise UnsupportedVersionError(api_key, api_version, -1)
    header_cls = (
        ResponseHeaderV1 if response_header_is_flexible(api_key, api_version) else ResponseHeaderV0
    )
    header, used = _reader(header_cls)(payload, 0)
    response, _ = _reader(cls)(payload, used)
    return header.correlation_id, response
