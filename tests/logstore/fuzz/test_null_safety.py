"""Every advertised API version answers a request whose nullable fields are all null.

Kafka's schemas allow null in places a handler can easily forget (Metadata topics = all
topics, OffsetFetch topics = all, DescribeConfigs keys = all, Produce records, ...). Each
request is built from kio's schema, so a new API or version is covered without listing it.
"""

from __future__ import annotations

import struct

import pytest

from logstore.broker.api import supported_ranges
from logstore.protocol import codec
from tests.broker_fixture import BrokerProcess
from tests.logstore.broker.wire import Wire
from tests.logstore.fuzz import synth


def _versions() -> list[tuple[int, int]]:
    import logstore.broker.handlers  # noqa: F401  (registers every handler)

    return [
        (k, v)
        for k, lo, hi in supported_ranges()
        for v in range(lo, hi + 1)
        if codec.request_class(k, v) is not None
    ]


@pytest.mark.parametrize(
    ("nulls", "null_arrays"),
    [(True, True), (True, False), (False, False)],
    ids=["all-nulls", "nulls-inside-arrays", "filled"],
)
def test_every_version_answers_with_nulls_and_without(
    shared_broker: BrokerProcess, nulls: bool, null_arrays: bool
) -> None:
    failures = []
    for correlation_id, (api_key, version) in enumerate(_versions(), start=1):
        with Wire(shared_broker.bootstrap) as w:
            raw = synth.frame(
                api_key, version, nulls=nulls, null_arrays=null_arrays,
                correlation_id=correlation_id,
            )  # fmt: skip
            w.send_raw(raw)
            try:
                (answered,) = struct.unpack_from(">i", w.read_frame())
            except OSError as exc:  # ConnectionError included: the broker hung up
                failures.append((api_key, version, repr(exc)))
                continue
        if answered != correlation_id:
            failures.append((api_key, version, f"correlation {answered}"))
    assert not failures, f"{failures}\n{shared_broker.log()}"
    assert "Traceback" not in shared_broker.log_path.read_text(errors="replace")
