"""Every advertised API version's answer carries the request_percentage wait.

With a request_percentage so small that any request is over it, set on the default client
id, each request kio's schema can build (filled, one connection each, as the null-safety
test sends them) must be answered, and its answer must decode, with throttle_time_ms at
Kafka's one-window bound wherever the version has that field: hand-encoded answers
(Produce, Fetch, Metadata) and kio ones alike, whatever the handler answered. Only the
exempt WriteTxnMarkers, which has no such field, is not charged.
"""

from __future__ import annotations

import dataclasses
import datetime
import struct
from pathlib import Path

from kio.serial.errors import OutOfBoundValue

from logstore.protocol import codec
from logstore.protocol.api_keys import ApiKey
from tests.broker_fixture import start_broker
from tests.logstore.broker.wire import Wire, schema
from tests.logstore.fuzz import synth
from tests.logstore.fuzz.test_null_safety import _versions

WINDOW_MS = 1000


def _wait_in(api_key: int, version: int, reply: bytes) -> tuple[bool, int | None]:
    """Whether the answer has throttle_time_ms, and what it says. kio reads it; where kio
    cannot read the answer (it refuses the -1 "no time" of DescribeTransactions' start
    time), the field is read where the schema puts it, first after the header."""
    cls = codec.response_class(api_key, version)
    assert cls is not None
    names = [f.name for f in dataclasses.fields(cls)]
    if "throttle_time" not in names:
        return False, None
    try:
        _, response = codec.decode_response(api_key, version, reply)
    except OutOfBoundValue:
        assert names[0] == "throttle_time", (api_key, version)
        header = 5 if codec.response_header_is_flexible(api_key, version) else 4
        return True, int.from_bytes(reply[header : header + 4], "big", signed=True)
    return True, response.throttle_time // datetime.timedelta(milliseconds=1)


def test_every_answer_carries_the_wait(tmp_path: Path) -> None:
    broker = start_broker(tmp_path / "data")
    try:
        with Wire(broker.bootstrap) as admin:
            s = schema(ApiKey.ALTER_CLIENT_QUOTAS, 1)
            entity = s.EntityData(entity_type="client-id", entity_name=None)
            op = s.OpData(key="request_percentage", value=1e-6, remove=False)
            answer = admin.request(
                ApiKey.ALTER_CLIENT_QUOTAS, 1,
                entries=(s.EntryData(entity=(entity,), ops=(op,)),), validate_only=False,
            )  # fmt: skip
            assert answer.entries[0].error_code == 0
        failures, waits = [], 0
        for correlation_id, (api_key, version) in enumerate(_versions(), start=1):
            with Wire(broker.bootstrap) as w:
                w.send_raw(
                    synth.frame(api_key, version, nulls=False, correlation_id=correlation_id)
                )
                try:
                    reply = w.read_frame()
                except OSError as exc:
                    failures.append((api_key, version, repr(exc)))
                    continue
            (answered,) = struct.unpack_from(">i", reply)
            has_field, waited = _wait_in(api_key, version, reply)
            if answered != correlation_id:
                failures.append((api_key, version, f"correlation {answered}"))
            elif has_field and waited != WINDOW_MS:
                failures.append((api_key, version, f"waited {waited} ms"))
            waits += has_field
        assert not failures, f"{failures}\n{broker.log()}"
        assert waits > 150  # most versions have the field (185 of them in Kafka 4.x)
        assert "Traceback" not in broker.log_path.read_text(errors="replace")
    finally:
        broker.stop()
