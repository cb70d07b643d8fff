"""What we advertise is exactly what we registered, and every advertised version parses."""

from __future__ import annotations

import struct

import logstore.broker.handlers  # noqa: F401  (registers handlers)
from logstore.broker.api import supported_ranges
from logstore.broker.handlers.api_versions import unsupported_version_frame
from logstore.protocol import codec
from logstore.protocol.api_keys import ApiKey


def _ranges() -> dict[int, tuple[int, int]]:
    return {k: (lo, hi) for k, lo, hi in supported_ranges()}


def test_design_rules_for_advertised_ranges() -> None:
    ranges = _ranges()
    assert ranges[ApiKey.PRODUCE] == (0, 11)
    assert ranges[ApiKey.FETCH] == (4, 12)
    assert ranges[ApiKey.API_VERSIONS] == (0, 4)
    assert ranges[ApiKey.METADATA] == (0, 12)
    assert ranges[ApiKey.LIST_OFFSETS] == (1, 7)
    assert ApiKey.GET_TELEMETRY_SUBSCRIPTIONS not in ranges


def test_every_advertised_version_can_be_parsed() -> None:
    for api_key, lo, hi in supported_ranges():
        for version in range(lo, hi + 1):
            if api_key == ApiKey.PRODUCE and version < 3:
                continue  # refused by the hand-written legacy reader (tested in protocol)
            assert codec.can_parse(api_key, version), (api_key, version)


def test_unknown_api_versions_version_gets_v0_body_with_error_35() -> None:
    frame = unsupported_version_frame(7)
    (length,) = struct.unpack_from(">i", frame)
    assert length == len(frame) - 4
    correlation_id, response = codec.decode_response(18, 0, frame[4:])
    assert correlation_id == 7
    assert response.error_code == 35
    advertised = {k.api_key: (k.min_version, k.max_version) for k in response.api_keys}
    assert advertised == _ranges()
