"""Every version we advertise for the broker's own APIs parses and answers over the wire.

A minimal request of each (api, version) goes through the real broker; its response must
decode with the same version's schema and carry our correlation id. This is what "never
advertise a version we cannot parse" means in practice.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from typing import Any

import pytest

import logstore.broker.handlers  # noqa: F401  (registers handlers)
from logstore.broker.api import supported_ranges
from logstore.protocol import codec
from logstore.protocol.api_keys import ApiKey
from tests.broker_fixture import BrokerProcess
from tests.logstore.broker.wire import Wire

MINE = {
    ApiKey.PRODUCE, ApiKey.FETCH, ApiKey.LIST_OFFSETS, ApiKey.METADATA, ApiKey.API_VERSIONS,
    ApiKey.CREATE_TOPICS, ApiKey.DELETE_TOPICS, ApiKey.DELETE_RECORDS,
    ApiKey.OFFSET_FOR_LEADER_EPOCH, ApiKey.DESCRIBE_CONFIGS, ApiKey.ALTER_CONFIGS,
    ApiKey.DESCRIBE_LOG_DIRS, ApiKey.CREATE_PARTITIONS, ApiKey.INCREMENTAL_ALTER_CONFIGS,
    ApiKey.DESCRIBE_CLUSTER,
    ApiKey.DESCRIBE_PRODUCERS, ApiKey.DESCRIBE_CLIENT_QUOTAS, ApiKey.ALTER_CLIENT_QUOTAS,
}  # fmt: skip
CASES = [
    (api, version)
    for api, lo, hi in supported_ranges()
    if api in MINE
    for version in range(max(lo, 3) if api == ApiKey.PRODUCE else lo, hi + 1)
]


def _minimal(cls: type) -> Any:
    """An instance with every required field at its emptiest legal value."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            continue
        kind = f.metadata.get("kafka_type", "")
        if kind.startswith("timedelta"):
            values[f.name] = datetime.timedelta(0)
        elif kind.startswith(("int", "uint")):
            values[f.name] = 0
        elif kind == "bool":
            values[f.name] = False
        elif kind == "string":
            values[f.name] = ""
        elif kind == "uuid":
            values[f.name] = uuid.UUID(int=0)
        elif kind in ("bytes", "records"):
            values[f.name] = b""
        else:  # arrays of entities or primitives
            values[f.name] = ()
    if "acks" in values:
        values["acks"] = 1  # acks=0 would get no answer at all
    return cls(**values)


@pytest.mark.parametrize(("api", "version"), CASES, ids=lambda v: str(int(v)))
def test_advertised_version_answers(shared_broker: BrokerProcess, api: int, version: int) -> None:
    cls = codec.request_class(api, version)
    assert cls is not None
    with Wire(shared_broker.bootstrap) as w:
        w.correlation = 1000 + version
        header = codec.RequestHeader(api, version, w.correlation, "every-version")
        w.send_raw(codec.encode_request(header, _minimal(cls)))
        correlation_id, response = codec.decode_response(api, version, w.read_frame())
    assert correlation_id == 1000 + version
    assert type(response) is codec.response_class(api, version)
