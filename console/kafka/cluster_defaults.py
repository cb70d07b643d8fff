"""A cluster's cluster-wide default broker configs: the BROKER resource named "" (what
`kafka-configs.sh --entity-type brokers --entity-default` changes), read with
DescribeConfigs (32) and changed with IncrementalAlterConfigs (44), sent raw on
kafka-python's network thread because confluent-kafka's AdminClient refuses a BROKER
resource with an empty name (ValueError).

Owns listing the defaults as (name, value) pairs (value None where Kafka hides a sensitive
one), setting or removing one, turning the cluster's answer into a `ClusterError` that
carries Kafka's own message, and waiting after a change until the cluster lists it (Apache
Kafka applies it through its metadata log). It must never judge a name or a value (the
cluster does, in Kafka's words) nor decide who may call it.
"""

from __future__ import annotations

from console.kafka import wire
from console.kafka.brokers import same_value
from console.kafka.config import ClusterConfig
from console.kafka.errors import NotAuthorized, Refused
from console.kafka.settle import until_shown

BROKER = 4  # Kafka's ConfigResource type
EVERY_BROKER = ""  # the resource name of the cluster-wide layer
SET, DELETE = 0, 1  # IncrementalAlterConfigs operations
DYNAMIC_DEFAULT_BROKER_CONFIG = 3
CLUSTER_AUTHORIZATION_FAILED = 31

_UNSERVED = "the cluster does not serve IncrementalAlterConfigs (it came with Kafka 2.3)."

Default = tuple[str, str | None]


def describe(cluster: ClusterConfig) -> list[Default]:
    """Every cluster-wide default as (name, value), sorted by name; value None where the
    cluster hides it (a sensitive config)."""
    from kafka.protocol.admin import DescribeConfigsRequest

    what = "read the cluster-wide default broker configs"
    resource = DescribeConfigsRequest.DescribeConfigsResource(
        resource_type=BROKER, resource_name=EVERY_BROKER, configuration_keys=None
    )
    request = DescribeConfigsRequest(
        resources=[resource], include_synonyms=False, include_documentation=False
    )
    answer = wire.ask(cluster, request, what, _UNSERVED)
    result = answer.results[0]
    if result.error_code == CLUSTER_AUTHORIZATION_FAILED:
        raise NotAuthorized("DESCRIBE_CONFIGS", "the cluster", what)
    if result.error_code:
        raise Refused(f"Could not {what}: {wire.reason(result)}")
    return sorted(
        (c.name, None if c.is_sensitive else c.value)
        for c in result.configs or ()
        # The resource lists only this layer; anything else would not be a default here.
        if c.config_source == DYNAMIC_DEFAULT_BROKER_CONFIG
    )


def alter(cluster: ClusterConfig, name: str, value: str | None) -> list[Default]:
    """Set the cluster-wide default `name` to `value`, or remove it where `value` is None.
    Raises `Refused` with Kafka's message when the cluster refuses; returns the defaults
    once the cluster lists the change (bounded by the cluster's timeout)."""
    from kafka.protocol.admin import IncrementalAlterConfigsRequest

    resource_cls = IncrementalAlterConfigsRequest.AlterConfigsResource
    what = f"{'remove' if value is None else 'set'} the cluster-wide default {name}"
    request = IncrementalAlterConfigsRequest(
        resources=[
            resource_cls(
                resource_type=BROKER,
                resource_name=EVERY_BROKER,
                configs=[
                    resource_cls.AlterableConfig(
                        name=name, config_operation=DELETE if value is None else SET, value=value
                    )
                ],
            )
        ],
        validate_only=False,
    )
    answer = wire.ask(cluster, request, what, _UNSERVED)
    for item in answer.responses:
        if item.error_code == CLUSTER_AUTHORIZATION_FAILED:
            raise NotAuthorized("ALTER_CONFIGS", "the cluster", what)
        if item.error_code:
            raise Refused(f"Could not {what}: {wire.reason(item)}")
    listed: list[Default] = []

    def shown() -> bool:
        listed[:] = describe(cluster)
        return _shows(dict(listed), name, value)

    until_shown(
        cluster.timeout_s,
        shown,
        f"The cluster accepted the cluster-wide default {name} but does not list it as "
        "changed yet; reload in a moment.",
    )
    return listed


def _shows(found: dict[str, str | None], name: str, value: str | None) -> bool:
    if value is None:
        return name not in found
    if name not in found:
        return False
    listed = found[name]
    # A sensitive value is listed hidden: being there is all the cluster shows.
    return listed is None or same_value(listed, value)
