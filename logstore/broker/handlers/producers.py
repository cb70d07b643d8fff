"""InitProducerId (v0–4): producer ids and epochs for idempotent producers.

Owns the mapping from the request onto `logstore.producers`, as Kafka's broker does it:
a producer id and epoch presented (KIP-360, v3+) must come together (INVALID_REQUEST
otherwise); without a transactional id the answer is always a new id at epoch 0, whatever
was presented (Kafka's coordinator "blindly accepts" those; idempotent producers bump
their epoch themselves). A transactional id goes to the transaction coordinator, its
PRODUCER_FENCED worded as INVALID_PRODUCER_EPOCH before v4. It must never touch
partition state.
"""

from __future__ import annotations

from typing import Any

from logstore.broker import access
from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make, millis
from logstore.broker.context import Broker
from logstore.broker.handlers.transactions import unless_log_failed, worded
from logstore.groups import errors as err
from logstore.producers.state import ProducerStateError
from logstore.protocol.api_keys import ApiKey
from logstore.security.acls import Operation
from logstore.transactions.coordinator import InitResult


@handles(ApiKey.INIT_PRODUCER_ID, min_version=0, max_version=4)
async def init_producer_id(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    manager = broker.producers

    def answer(code: int, pid: int = -1, epoch: int = -1) -> Any:
        return make(
            ctx.response_class,
            throttle_time=0,
            error_code=code,
            producer_id=pid,
            producer_epoch=epoch,
        )

    pid = getattr(request, "producer_id", -1)
    epoch = getattr(request, "producer_epoch", -1)
    if (pid == -1) != (epoch == -1):
        return answer(err.INVALID_REQUEST)
    if request.transactional_id is not None:
        refused = access.refusal(
            broker, ctx, Operation.WRITE, access.TRANSACTIONAL_ID, request.transactional_id
        )
        if refused:
            return answer(refused)
        coord = broker.transactions
        if coord is None:
            return answer(err.COORDINATOR_NOT_AVAILABLE)
        try:
            result = await unless_log_failed(
                coord.init_producer(
                    request.transactional_id, millis(request.transaction_timeout), pid, epoch
                ),
                InitResult(err.NOT_COORDINATOR),
            )
        except ProducerStateError as exc:  # no producer id could be reserved
            return answer(exc.code)
        code = worded(result.error, ApiKey.INIT_PRODUCER_ID, ctx.api_version)
        return answer(code, result.producer_id, result.producer_epoch)
    if not access.may_write_idempotently(broker, ctx):
        return answer(access.REFUSED[access.CLUSTER])
    try:
        new_pid, new_epoch = manager.init_producer()
    except Exception as exc:
        code = getattr(exc, "code", err.UNKNOWN_SERVER_ERROR)
        return answer(code if isinstance(code, int) else err.UNKNOWN_SERVER_ERROR)
    return answer(err.NONE, new_pid, new_epoch)
