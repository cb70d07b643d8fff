"""Differential: the BROKER_LOGGER config resource (`kafka-configs.sh --entity-type
broker-loggers`), read and changed with raw DescribeConfigs and IncrementalAlterConfigs.

The loggers differ (Kafka's `kafka.server.KafkaApis`, Odradek's `logstore.request`, each
the broker's per-request logger), and so do the node ids (1 and 0): both are labelled.
Each broker's root level is read first and put back at the end, since the brokers are
shared with other tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.clusters import Cluster
from tests.differential.harness import assert_same, observe
from tests.differential.test_named_twice import _call, _flat, _m

pytestmark = pytest.mark.kafka

DESCRIBE_CONFIGS, INCREMENTAL_ALTER_CONFIGS, ALTER_CONFIGS = 32, 44, 33
BROKER_LOGGER = 8
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
FOREIGN = "77"


def scenario(cluster: Cluster) -> dict[str, Any]:
    node, logger = (
        ("1", "kafka.server.KafkaApis") if cluster.is_kafka else ("0", "logstore.request")
    )
    labels = {logger: "LOGGER", f"expected {node}": "expected N", f"Expected {node}": "Expected N"}
    out: dict[str, Any] = {}
    d = _m(DESCRIBE_CONFIGS, 4)

    def _numbered(seen: Any) -> Any:
        """`seen` with this broker's id, where it names the resource, as N."""
        if isinstance(seen, list):
            return [_numbered(x) for x in seen]
        if isinstance(seen, tuple):
            return tuple(_numbered(x) for x in seen)
        return "resource_name=N" if seen == f"resource_name={node}" else seen

    def describe(label: str, name: str, keys: tuple[str, ...] | None) -> list[Any]:
        reply = _call(
            cluster, DESCRIBE_CONFIGS, 4, "DescribeConfigsRequest",
            resources=(d.DescribeConfigsResource(
                resource_type=BROKER_LOGGER, resource_name=name, configuration_keys=keys,
            ),),
            include_synonyms=True, include_documentation=True,
        )  # fmt: skip
        (result,) = reply.results
        # (Documentation is left out: Odradek sends none for any config.)
        rows = sorted(
            (labels.get(c.name, c.name), c.value, c.read_only, c.config_source,
             c.is_sensitive, c.synonyms, c.config_type)
            for c in result.configs
        )  # fmt: skip
        out[label] = [*_numbered(_flat(reply, labels)), rows]
        return rows

    i = _m(INCREMENTAL_ALTER_CONFIGS, 1)

    def alter(label: str, name: str, *changes: tuple[str, int, str | None]) -> None:
        for validate_only in (True, False):
            out[f"{label}, validate only {validate_only}"] = _numbered(_flat(_call(
                cluster, INCREMENTAL_ALTER_CONFIGS, 1, "IncrementalAlterConfigsRequest",
                resources=(i.AlterConfigsResource(
                    resource_type=BROKER_LOGGER, resource_name=name,
                    configs=tuple(i.AlterableConfig(name=n, config_operation=op, value=v)
                                  for n, op, v in changes),
                ),),
                validate_only=validate_only,
            ), labels))  # fmt: skip

    (root,) = (r for r in describe("everything", node, None) if r[0] == "root")
    # Which loggers exist, and their first levels, are each broker's own.
    out["everything"][-1] = [r[0] for r in out["everything"][-1] if r[0] in ("root", "LOGGER")]
    alter("the root at INFO", node, ("root", SET, "INFO"))
    describe("a logger, the root and one that does not exist", node, (logger, "root", "no.such"))
    describe("another broker", FOREIGN, None)
    describe("a broker that is no number", "abc", None)
    describe("the broker named ''", "", None)
    alter("DEBUG", node, (logger, SET, "DEBUG"))
    describe("after DEBUG", node, (logger,))
    alter("TRACE", node, (logger, SET, "TRACE"))
    describe("after TRACE", node, (logger,))
    alter("FATAL", node, (logger, SET, "FATAL"))
    describe("after FATAL", node, (logger,))
    alter("back to the root's level", node, (logger, DELETE, None))
    describe("after DELETE", node, (logger,))
    for level in ("LOUD", "debug", "ALL", "OFF", ""):
        alter(f"level {level!r}", node, (logger, SET, level))
    alter("a logger that does not exist", node, ("no.such.logger", SET, "INFO"))
    alter("the logger named ''", node, ("", SET, "INFO"))
    alter("a good change and a bad one", node, (logger, SET, "ERROR"), ("no.such", SET, "INFO"))
    describe("after the bad one", node, (logger,))
    alter("SET to null", node, ("no.such", SET, None))
    alter("DELETE the root", node, ("root", DELETE, None))
    alter("DELETE a logger that does not exist", node, ("no.such", DELETE, None))
    alter("APPEND", node, (logger, APPEND, "DEBUG"))
    alter("SUBTRACT", node, (logger, SUBTRACT, "DEBUG"))
    alter("another broker", FOREIGN, (logger, SET, "INFO"))
    alter("the broker named ''", "", (logger, SET, "INFO"))
    alter("a broker that is no number", "abc", (logger, SET, "INFO"))
    a = _m(ALTER_CONFIGS, 2)
    out["legacy AlterConfigs"] = _numbered(_flat(_call(
        cluster, ALTER_CONFIGS, 2, "AlterConfigsRequest",
        resources=(a.AlterConfigsResource(
            resource_type=BROKER_LOGGER, resource_name=node,
            configs=(a.AlterableConfig(name=logger, value="DEBUG"),),
        ),),
        validate_only=False,
    ), labels))  # fmt: skip
    describe("after legacy AlterConfigs", node, (logger,))
    alter("the root as it was", node, ("root", SET, root[1]))
    return out


def test_broker_loggers_as_kafka(clusters: tuple[Cluster, Cluster]) -> None:
    seen = observe(clusters, scenario)
    assert_same(seen)
    assert seen["odradek"]["after DEBUG"][-1][0][:2] == ("LOGGER", "DEBUG")
    assert seen["odradek"]["after DELETE"][-1][0][:2] == ("LOGGER", "INFO")
