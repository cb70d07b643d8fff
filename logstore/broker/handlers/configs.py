"""DescribeConfigs (v1–4), AlterConfigs (v0–2), IncrementalAlterConfigs (v0–1).

BROKER_LOGGER resources go to `logstore.broker.broker_loggers` (IncrementalAlterConfigs
only; legacy AlterConfigs refuses the type, as Kafka does).

Owns the mapping between storage's topic config entries and Kafka's config sources and
types, and routing BROKER resources to `logstore.broker.broker_configs` (their dynamic
overrides over the table of `logstore.broker.broker_settings`). Topic overrides live in
the storage catalogue; this module must never keep its own copy of either. An alter
request naming a resource, or a resource's config, twice has those resources refused
before anything is changed, as Kafka refuses them. DescribeConfigs answers are packed by
`logstore.protocol.admin_replies`: a console asks for three keys of every topic at once,
and kio objects per entry cost more than the lookups.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from typing import Any

from logstore.broker import access, broker_loggers
from logstore.broker.api import RequestContext, handles
from logstore.broker.broker_configs import DynamicBrokerConfigs
from logstore.broker.broker_settings import BrokerConfigRefused
from logstore.broker.build import make
from logstore.broker.config_synonyms import Synonym
from logstore.broker.context import Broker
from logstore.broker.errors import (
    INVALID_CONFIG,
    INVALID_REQUEST,
    INVALID_TOPIC_EXCEPTION,
    UNKNOWN_SERVER_ERROR,
    UNKNOWN_TOPIC_OR_PARTITION,
    code_of,
    message_of,
)
from logstore.protocol.admin_replies import ConfigResult, ConfigRow, describe_configs_frame
from logstore.protocol.api_keys import ApiKey
from logstore.security.acls import Operation
from logstore.shares.group_configs import AUTO_OFFSET_RESET, GroupConfigRefused
from logstore.shares.store import ShareStateWriteError
from logstore.storage import InvalidTopicError, validate_topic_name

TOPIC = 2
BROKER_LOGGER = 8
BROKER = 4
GROUP = 32
GROUP_CONFIG_SOURCE = 8
SOURCE_CODES = {
    "DYNAMIC_TOPIC_CONFIG": 1,
    "DYNAMIC_BROKER_CONFIG": 2,
    "DYNAMIC_DEFAULT_BROKER_CONFIG": 3,
    "STATIC_BROKER_CONFIG": 4,
    "DEFAULT_CONFIG": 5,
}
# Kafka's ConfigEntry.ConfigType codes.
_UNKNOWN_TYPE, _BOOLEAN, _STRING, _INT, _LONG, _DOUBLE, _LIST = 0, 1, 2, 3, 5, 6, 7
_TYPES = {
    "cleanup.policy": _LIST,
    "compression.type": _STRING,
    "message.timestamp.type": _STRING,
    "min.cleanable.dirty.ratio": _DOUBLE,
    "min.insync.replicas": _INT,
    "max.message.bytes": _INT,
    "index.interval.bytes": _INT,
    "segment.bytes": _INT,
    "segment.index.bytes": _INT,
    "unclean.leader.election.enable": _BOOLEAN,
    "preallocate": _BOOLEAN,
    "message.downconversion.enable": _BOOLEAN,
}
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


def config_type(name: str, value: str | None) -> int:
    if name in _TYPES:
        return _TYPES[name]
    if value is not None and value.lstrip("-").isdigit():
        return _LONG
    return _STRING


def _dynamic(broker: Broker) -> DynamicBrokerConfigs:
    return broker.dynamic_configs


@functools.lru_cache(maxsize=1024)
def _topic_rows(
    overrides: tuple[tuple[str, str], ...],
    keys: frozenset[str] | None,
    synonyms: bool,
    defaults: tuple[tuple[str, str], ...],
    broker_synonyms: tuple[tuple[str, tuple[Synonym, ...]], ...],
) -> tuple[ConfigRow, ...]:
    """The described entries of a topic with these overrides (a pure function of them:
    most topics share their overrides, so a console asking about 1,000 topics builds a
    handful of descriptions instead of 1,000). Sources and synonyms are Kafka's: the
    topic's own value, then its broker default's chain (`logstore.broker.config_synonyms`)."""
    from logstore.storage.configs import describe

    chains, own = dict(broker_synonyms), dict(overrides)
    rows: list[ConfigRow] = []
    for e in describe(own, dict(defaults)):
        if keys is not None and e.name not in keys:
            continue
        links = chains.get(e.name, ())
        if e.name in own:
            links = ((e.name, e.value, SOURCE_CODES["DYNAMIC_TOPIC_CONFIG"]), *links)
        rows.append(
            (
                e.name,
                e.value,
                e.read_only,
                links[0][2] if links else SOURCE_CODES["DEFAULT_CONFIG"],
                e.sensitive,
                links if synonyms else (),
                config_type(e.name, e.value),
            )
        )
    return tuple(rows)


def _describe_one(broker: Broker, res: Any, synonyms: bool) -> ConfigResult:
    keys = frozenset(res.configuration_keys) if res.configuration_keys is not None else None
    entries: list[ConfigRow] = []
    if res.resource_type == TOPIC:
        info = broker.logs.topic(res.resource_name)
        if info is None:
            code, message = UNKNOWN_TOPIC_OR_PARTITION, f"unknown topic {res.resource_name!r}"
            try:
                validate_topic_name(res.resource_name)
            except InvalidTopicError as exc:
                code, message = INVALID_TOPIC_EXCEPTION, str(exc)
            return code, message, res.resource_type, res.resource_name, []
        overrides = tuple(sorted(info.configs.items()))
        defaults = tuple(sorted(getattr(broker.logs, "topic_defaults", {}).items()))
        chains = _dynamic(broker).topic_synonyms()
        rows = _topic_rows(overrides, keys, synonyms, defaults, chains)
        return 0, "", res.resource_type, res.resource_name, rows
    if res.resource_type == BROKER:
        refused = _other_broker(broker, res.resource_name, describe=True)
        if refused:
            return INVALID_REQUEST, refused, res.resource_type, res.resource_name, []
        if res.resource_name == "":
            entries = list(_dynamic(broker).default_rows(keys, synonyms))
        else:
            entries = list(_dynamic(broker).rows(keys, synonyms))
        return 0, "", res.resource_type, res.resource_name, entries
    if res.resource_type == BROKER_LOGGER:
        node = broker.config.node_id
        refused = broker_loggers.other_node(node, res.resource_name, describe=True)
        if refused:
            return INVALID_REQUEST, refused, res.resource_type, res.resource_name, []
        source = broker_loggers.SOURCE
        for name, level in broker_loggers.describe(keys):
            entries.append((name, level, False, source, False, (), _UNKNOWN_TYPE))
        return 0, "", res.resource_type, res.resource_name, entries
    if res.resource_type == GROUP:
        for name, value, override in broker.shares.describe_configs(res.resource_name):
            if keys is not None and name not in keys:
                continue
            source = GROUP_CONFIG_SOURCE if override else SOURCE_CODES["DEFAULT_CONFIG"]
            synonym = ((name, value, source),) if synonyms else ()
            ctype = _STRING if name == AUTO_OFFSET_RESET else _INT
            entries.append((name, value, False, source, False, synonym, ctype))
        return 0, "", res.resource_type, res.resource_name, entries
    message = f"resource type {res.resource_type} is not supported"
    return INVALID_REQUEST, message, res.resource_type, res.resource_name, []


def _other_broker(broker: Broker, name: str, *, describe: bool) -> str | None:
    """Kafka's refusal of a BROKER resource naming another broker (or no number at all).
    "" is the cluster-wide default layer."""
    node = broker.config.node_id
    if name == "":
        return None
    try:
        named = int(name)
    except ValueError:
        return f"Broker id must be an integer, but it is: {name}"
    if named == node:
        return None
    expected = f"{node} or empty string" if describe else str(node)
    return f"Unexpected broker id, expected {expected}, but received {name}"


def _refused(broker: Broker, ctx: RequestContext, res: Any, operation: Operation) -> int:
    """Kafka's check of a config resource: a topic by name, a broker as the cluster."""
    if res.resource_type == TOPIC:
        return access.refusal(broker, ctx, operation, access.TOPIC, res.resource_name)
    if res.resource_type in (BROKER, BROKER_LOGGER):
        return access.refusal(broker, ctx, operation, access.CLUSTER)
    return 0


@handles(ApiKey.DESCRIBE_CONFIGS, min_version=1, max_version=4)
async def describe_configs(broker: Broker, ctx: RequestContext, request: Any) -> bytes:
    synonyms = bool(getattr(request, "include_synonyms", False))
    results: list[ConfigResult] = []
    for r in request.resources:
        refused = _refused(broker, ctx, r, Operation.DESCRIBE_CONFIGS)
        if refused:
            results.append((refused, access.DENIED, r.resource_type, r.resource_name, []))
        else:
            results.append(_describe_one(broker, r, synonyms))
    return describe_configs_frame(ctx.api_version, ctx.correlation_id, results)


def _validate(set_: dict[str, str]) -> None:
    """Check names/values without changing anything (raises InvalidConfigError)."""
    # Not in storage's exported API yet; asked for in the broker report.
    from logstore.storage.configs import validate_configs

    validate_configs(set_)


async def _apply_broker(
    broker: Broker,
    resource: Any,
    set_: dict[str, str],
    delete: list[str],
    *,
    replace: bool,
    validate_only: bool,
) -> tuple[int, str | None]:
    refused = _other_broker(broker, resource.resource_name, describe=False)
    if refused:
        return INVALID_REQUEST, refused
    try:
        await _dynamic(broker).alter(
            set_,
            delete,
            replace=replace,
            validate_only=validate_only,
            cluster_default=resource.resource_name == "",
        )
    except BrokerConfigRefused as exc:
        return exc.code, str(exc)
    return 0, None


async def _apply(
    broker: Broker, resource: Any, set_: dict[str, str], delete: list[str], validate_only: bool
) -> tuple[int, str | None]:
    if resource.resource_type != TOPIC:
        return INVALID_REQUEST, f"Unknown resource type {resource.resource_type}"
    if not resource.resource_name:
        return INVALID_REQUEST, "Default topic resources are not allowed."
    if broker.logs.topic(resource.resource_name) is None:
        return UNKNOWN_TOPIC_OR_PARTITION, f"The topic '{resource.resource_name}' does not exist."
    try:
        if validate_only:
            _validate(set_)
        else:
            await broker.logs.admin.alter_configs(resource.resource_name, set_, delete)
    except Exception as exc:
        return code_of(exc), message_of(exc)
    return 0, None


def _malformed(resources: Any) -> dict[int, str]:
    """Kafka's first pass over an alter request: every resource named twice, and every
    resource naming a config twice, is refused (INVALID_REQUEST) before any is looked at;
    the message of each by its position."""
    seen = Counter((r.resource_type, r.resource_name) for r in resources)
    refused = {}
    for i, r in enumerate(resources):
        if seen[(r.resource_type, r.resource_name)] > 1:
            refused[i] = "Each resource must appear at most once."
        elif max(Counter(c.name for c in r.configs).values(), default=0) > 1:
            refused[i] = "Error due to duplicate config keys"
    return refused


@handles(ApiKey.ALTER_CONFIGS, min_version=0, max_version=2)
async def alter_configs(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    responses = []
    error: int
    message: str | None
    malformed = _malformed(request.resources)
    for i, res in enumerate(request.resources):
        if i in malformed:
            responses.append(_altered(schema, res, INVALID_REQUEST, malformed[i]))
            continue
        set_ = {c.name: c.value for c in res.configs if c.value is not None}
        delete = [c.name for c in res.configs if c.value is None]
        # AlterConfigs replaces the whole override set: drop overrides not mentioned.
        info = broker.logs.topic(res.resource_name) if res.resource_type == TOPIC else None
        if info is not None:
            delete += [name for name in info.configs if name not in set_]
        refused = _refused(broker, ctx, res, Operation.ALTER_CONFIGS)
        if refused:
            error, message = refused, access.DENIED
        elif res.resource_type == BROKER:
            error, message = await _apply_broker(
                broker, res, set_, [], replace=True, validate_only=request.validate_only
            )
        else:
            error, message = await _apply(broker, res, set_, delete, request.validate_only)
        responses.append(_altered(schema, res, error, message))
    return make(ctx.response_class, throttle_time=0, responses=tuple(responses))


@dataclass(frozen=True)
class _Refused:
    error: int
    message: str


def _incremental_changes(broker: Broker, res: Any) -> tuple[dict[str, str], list[str]] | _Refused:
    set_: dict[str, str] = {}
    delete: list[str] = []
    current: dict[str, str | None] = {}
    if res.resource_type == TOPIC and broker.logs.topic(res.resource_name) is not None:
        current = {e.name: e.value for e in broker.logs.describe_configs(res.resource_name)}
    for c in res.configs:
        op = c.config_operation
        if op == SET:
            if c.value is None:
                return _Refused(INVALID_REQUEST, f"Null value not supported for : {c.name}")
            set_[c.name] = c.value
        elif op == DELETE:
            delete.append(c.name)
        elif op in (APPEND, SUBTRACT):
            if config_type(c.name, None) != _LIST:
                # Kafka's controller (topics) and its broker (the rest) word this apart.
                if res.resource_type == TOPIC:
                    verb = "APPEND" if op == APPEND else "SUBTRACT"
                    why = f"Can't {verb} to key {c.name} because its type is not LIST."
                else:
                    verb = "append" if op == APPEND else "subtract"
                    why = f"Config value {verb} is not allowed for config key: {c.name}"
                return _Refused(INVALID_CONFIG, why)
            items = [v for v in (set_.get(c.name) or current.get(c.name) or "").split(",") if v]
            given = [v for v in (c.value or "").split(",") if v]
            if op == APPEND:
                items += [v for v in given if v not in items]
            else:
                items = [v for v in items if v not in given]
            set_[c.name] = ",".join(items)
        else:
            # Kafka fails on an operation it does not know (UNKNOWN_SERVER_ERROR).
            return _Refused(UNKNOWN_SERVER_ERROR, f"Unknown config operation {op}")
    return set_, delete


async def _apply_group(
    broker: Broker, group_id: str, set_: dict[str, str], delete: list[str], validate_only: bool
) -> tuple[int, str | None]:
    """Share-group configs: validated against the broker's bounds, stored with the group
    before they are in force (a write the disk refuses changes nothing)."""
    try:
        if validate_only:
            broker.shares.validate_configs(set_, delete)
        else:
            await broker.shares.alter_configs(group_id, set_, delete)
    except (GroupConfigRefused, ShareStateWriteError) as exc:
        return exc.code, str(exc)
    return 0, None


@handles(ApiKey.INCREMENTAL_ALTER_CONFIGS, min_version=0, max_version=1)
async def incremental_alter_configs(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    responses = []
    malformed = _malformed(request.resources)
    error: int
    message: str | None
    for i, res in enumerate(request.resources):
        if i in malformed:
            responses.append(_altered(schema, res, INVALID_REQUEST, malformed[i]))
            continue
        if res.resource_type == BROKER_LOGGER:
            error, message = _alter_loggers(broker, ctx, res, request.validate_only)
            responses.append(_altered(schema, res, error, message))
            continue
        changes = _incremental_changes(broker, res)
        refused = _refused(broker, ctx, res, Operation.ALTER_CONFIGS)
        if refused:
            error, message = refused, access.DENIED
        elif isinstance(changes, _Refused):
            error, message = changes.error, changes.message
        else:
            set_, delete = changes
            if res.resource_type == BROKER:
                error, message = await _apply_broker(
                    broker, res, set_, delete, replace=False, validate_only=request.validate_only
                )
            elif res.resource_type == GROUP:
                error, message = await _apply_group(
                    broker, res.resource_name, set_, delete, request.validate_only
                )
            else:
                error, message = await _apply(broker, res, set_, delete, request.validate_only)
        responses.append(_altered(schema, res, error, message))
    return make(ctx.response_class, throttle_time=0, responses=tuple(responses))


def _alter_loggers(
    broker: Broker, ctx: RequestContext, res: Any, validate_only: bool
) -> tuple[int, str | None]:
    refused = _refused(broker, ctx, res, Operation.ALTER_CONFIGS)
    if refused:
        return refused, access.DENIED
    node = broker.config.node_id
    other = broker_loggers.other_node(node, res.resource_name, describe=False)
    if other:
        return INVALID_REQUEST, other
    changes = [(c.name, c.config_operation, c.value) for c in res.configs]
    try:
        broker_loggers.alter(changes, validate_only=validate_only)
    except broker_loggers.LoggerRefused as exc:
        return exc.code, str(exc)
    return 0, None


def _altered(schema: Any, res: Any, error: int, message: str | None) -> Any:
    """One resource's answer to AlterConfigs or IncrementalAlterConfigs."""
    return make(
        schema.AlterConfigsResourceResponse,
        error_code=error,
        error_message=message,
        resource_type=res.resource_type,
        resource_name=res.resource_name,
    )
