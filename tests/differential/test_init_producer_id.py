"""Differential: InitProducerId without a transactional id.

Kafka's transaction coordinator "blindly accepts" such a request: whatever producer id and
epoch the producer presents (KIP-360 lets it present its current ones), it answers a new
id at epoch 0; idempotent producers bump their epoch themselves. Presenting only one of
the two is INVALID_REQUEST.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

import pytest
from kio.schema.init_producer_id.v4.request import InitProducerIdRequest
from kio.schema.init_producer_id.v4.response import InitProducerIdResponse
from kio.schema.types import ProducerId
from kio.static.primitive import i16, i32Timedelta

from tests.clusters import Cluster
from tests.differential.harness import assert_same, observe
from tests.differential.wire import decode, encode, exchange, frame

pytestmark = pytest.mark.kafka

INIT_PRODUCER_ID = 22
COORDINATOR_LOAD_IN_PROGRESS = 14


def _init(cluster: Cluster, pid: int = -1, epoch: int = -1) -> tuple[int, int, int]:
    """(error, producer id, epoch), asked again while the broker answers
    COORDINATOR_LOAD_IN_PROGRESS (retriable: a broker just started)."""
    deadline = time.monotonic() + 30
    while (answer := _init_once(cluster, pid, epoch))[0] == COORDINATOR_LOAD_IN_PROGRESS:
        assert time.monotonic() < deadline, "producer ids never became available"
        time.sleep(0.1)
    return answer


def _init_once(cluster: Cluster, pid: int, epoch: int) -> tuple[int, int, int]:
    request = InitProducerIdRequest(
        transactional_id=None,
        transaction_timeout=i32Timedelta.parse(datetime.timedelta(seconds=60)),
        producer_id=ProducerId(pid),
        producer_epoch=i16(epoch),
    )
    reply = exchange(cluster.bootstrap, frame(INIT_PRODUCER_ID, 4, 3, encode(request), True))
    assert isinstance(reply, bytes), reply
    answer = decode(InitProducerIdResponse, reply[5:])  # correlation id, header tags
    return int(answer.error_code), int(answer.producer_id), int(answer.producer_epoch)


def test_a_producer_without_transactional_id_always_gets_a_new_id(
    clusters: tuple[Cluster, ...],
) -> None:
    def scenario(cluster: Cluster) -> dict[str, Any]:
        error, pid, epoch = _init(cluster)
        assert error == 0
        presented = _init(cluster, pid, epoch)
        stale = _init(cluster, pid, epoch + 5)
        return {
            "first": (error, epoch),
            "current presented": (presented[0], presented[2], presented[1] != pid),
            "other epoch presented": (stale[0], stale[2], stale[1] not in (pid, presented[1])),
            "only an id": _init(cluster, pid, -1),
            "only an epoch": _init(cluster, -1, 0),
        }

    seen = observe(clusters, scenario)
    assert seen["kafka"]["current presented"] == (0, 0, True)
    assert seen["kafka"]["only an id"][0] == 42  # INVALID_REQUEST
    assert_same(seen)
