"""What each request needs the authorizer to allow, and the helpers handlers ask it with.

Owns the broker side of authorization: the error code Kafka answers when each resource type
is refused, and `allowed` / `refusal` / `authorized_operations`, which every handler calls
at the point Kafka's `KafkaApis` checks. With no authorizer configured everything is
allowed. It must never decide a rule itself (that is `logstore.security.authorizer`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from logstore.error_codes import (
    CLUSTER_AUTHORIZATION_FAILED,
    GROUP_AUTHORIZATION_FAILED,
    TOPIC_AUTHORIZATION_FAILED,
    TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
)
from logstore.security.acls import CLUSTER_NAME, Operation, ResourceType

if TYPE_CHECKING:
    from logstore.broker.api import RequestContext
    from logstore.broker.context import Broker

TOPIC, GROUP, CLUSTER = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.CLUSTER
TRANSACTIONAL_ID = ResourceType.TRANSACTIONAL_ID

REFUSED: dict[ResourceType, int] = {
    TOPIC: TOPIC_AUTHORIZATION_FAILED,
    GROUP: GROUP_AUTHORIZATION_FAILED,
    CLUSTER: CLUSTER_AUTHORIZATION_FAILED,
    TRANSACTIONAL_ID: TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
}

# Kafka's message with a refused resource in a per-resource result.
DENIED = "Authorization failed."

# Kafka's "not asked for" value of an authorized-operations field.
NOT_REQUESTED = -(2**31)


def allowed(
    broker: Broker,
    ctx: RequestContext,
    operation: Operation,
    resource_type: ResourceType,
    name: str = CLUSTER_NAME,
) -> bool:
    authorizer = broker.authorizer
    if authorizer is None:
        return True
    return authorizer.authorize(ctx.principal, ctx.client_host, operation, resource_type, name)


def refusal(
    broker: Broker,
    ctx: RequestContext,
    operation: Operation,
    resource_type: ResourceType,
    name: str = CLUSTER_NAME,
) -> int:
    """0 when allowed, else Kafka's *_AUTHORIZATION_FAILED code for the resource type."""
    if allowed(broker, ctx, operation, resource_type, name):
        return 0
    return REFUSED[resource_type]


def may_write_idempotently(broker: Broker, ctx: RequestContext) -> bool:
    """Kafka's check for an idempotent InitProducerId: IDEMPOTENT_WRITE on the cluster, or
    WRITE allowed on some topic."""
    authorizer = broker.authorizer
    if authorizer is None or allowed(broker, ctx, Operation.IDEMPOTENT_WRITE, CLUSTER):
        return True
    return authorizer.allows_any(ctx.principal, ctx.client_host, Operation.WRITE, TOPIC)


def authorized_operations(
    broker: Broker, ctx: RequestContext, resource_type: ResourceType, name: str = CLUSTER_NAME
) -> int:
    """The bitfield Kafka answers when a client asks for authorized operations."""
    authorizer = broker.authorizer
    if authorizer is None:
        from logstore.security.authorizer import OPERATIONS

        return sum(1 << op for op in OPERATIONS.get(resource_type, ()))
    return authorizer.authorized_operations(ctx.principal, ctx.client_host, resource_type, name)


def subscription_refused(broker: Broker, ctx: RequestContext, topics: list[str] | None) -> bool:
    """Some subscribed topic may not be described: Kafka refuses the whole heartbeat
    (consumer and share groups alike) rather than leave the topic out."""
    return any(not allowed(broker, ctx, Operation.DESCRIBE, TOPIC, t) for t in topics or ())
