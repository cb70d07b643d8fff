"""DescribeClientQuotas (48) and AlterClientQuotas (49), v0–1: the stored client quotas.

Owns validating a describe filter and an alteration exactly as Kafka's controller does (so
bad input gets Kafka's error and message), applying a request's accepted alterations all
at once and durably, and putting them in force. Kafka's own `kafka-configs.sh
--entity-type users/clients/ips` speaks these. It must never enforce a quota itself
(logstore.quotas.enforcer does) nor resolve a host itself (logstore.broker.ip_lookup does,
off the event loop).
"""

from __future__ import annotations

import asyncio
from typing import Any

from logstore.broker import access, ip_lookup
from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.error_codes import (
    INVALID_REQUEST,
    KAFKA_STORAGE_ERROR,
    POLICY_VIOLATION,
    UNSUPPORTED_VERSION,
)
from logstore.protocol.api_keys import ApiKey
from logstore.quotas import rules
from logstore.quotas.store import Change
from logstore.security.acls import Operation

ENTITY_TYPES = (rules.USER, rules.CLIENT_ID, rules.IP)
EXACT, DEFAULT, SPECIFIED = 0, 1, 2
# Kafka's controller writes at most this many records for one request (its
# MAX_RECORDS_PER_USER_OP); a larger one is refused whole, with the error's own sentence.
MAX_RECORDS_PER_USER_OP = 10_000
TOO_LARGE = "Request parameters do not satisfy the configured policy."


class _Refused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _check(components: Any) -> tuple[dict[str, str | None], set[str]]:
    """The filter's exact matches and specified types, or Kafka's refusal."""
    exact: dict[str, str | None] = {}
    specified: set[str] = set()
    for component in components:
        kind = component.entity_type
        if not kind:
            raise _Refused(INVALID_REQUEST, "Invalid empty entity type.")
        if kind in exact or kind in specified:
            raise _Refused(
                INVALID_REQUEST, f"Entity type {kind} cannot appear more than once in the filter."
            )
        if kind not in ENTITY_TYPES:
            raise _Refused(UNSUPPORTED_VERSION, f"Unsupported entity type {kind}")
        if component.match_type == EXACT:
            if component.match is None:
                raise _Refused(
                    INVALID_REQUEST,
                    "Request specified MATCH_TYPE_EXACT, but set match string to null.",
                )
            exact[kind] = component.match
        elif component.match_type in (DEFAULT, SPECIFIED):
            name = (
                "MATCH_TYPE_DEFAULT" if component.match_type == DEFAULT else "MATCH_TYPE_SPECIFIED"
            )
            if component.match is not None:
                raise _Refused(
                    INVALID_REQUEST, f"Request specified {name}, but also specified a match string."
                )
            if component.match_type == DEFAULT:
                exact[kind] = None
            else:
                specified.add(kind)
        else:
            raise _Refused(INVALID_REQUEST, f"Unknown match type {component.match_type}")
    named = set(exact) | specified
    if rules.IP in named and named & {rules.USER, rules.CLIENT_ID}:
        raise _Refused(
            INVALID_REQUEST,
            "Invalid entity filter component combination. IP filter component should not be "
            "used with user or clientId filter component.",
        )
    return exact, specified


@handles(ApiKey.DESCRIBE_CLIENT_QUOTAS, min_version=0, max_version=1)
async def describe_client_quotas(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    def answer(code: int, message: str | None, entries: tuple[Any, ...] | None) -> Any:
        return make(
            ctx.response_class,
            throttle_time=0,
            error_code=code,
            error_message=message,
            entries=entries,
        )

    if not access.allowed(broker, ctx, Operation.DESCRIBE_CONFIGS, access.CLUSTER):
        code = access.REFUSED[access.CLUSTER]
        return answer(code, "Cluster authorization failed.", None)
    try:
        exact, specified = _check(request.components)
    except _Refused as exc:
        return answer(exc.code, str(exc), None)
    schema = ctx.schema
    entries = tuple(
        make(
            schema.EntryData,
            entity=tuple(
                make(schema.EntityData, entity_type=kind, entity_name=name)
                for kind, name in rules.java_order(entity)
            ),
            values=tuple(
                make(schema.ValueData, key=key, value=value) for key, value in values.items()
            ),
        )
        for entity, values in broker.quota_store.matching(exact, specified, request.strict)
    )
    return answer(0, "", entries)


async def _judged(
    entity: rules.Entity, ops: Any, hosts: dict[str, str]
) -> tuple[rules.Problem | None, Change]:
    """One entry as Kafka's controller judges it: the entity (an ip must be the default,
    an address, or a name that resolves; a name's address goes into `hosts`), then each
    key set (a removal is not checked), every fault or none."""
    names = dict(entity)
    resolves = True
    host = names.get(rules.IP)
    if host is not None:
        address = await ip_lookup.address_of(host)
        resolves = address is not None
        if address is not None and address != host:
            hosts[host] = address
    problem = rules.entity_problem(entity, resolves)
    changes: dict[str, float | None] = {}
    for op in ops:
        changes[op.key] = None if op.remove else float(op.value)
    if problem is None:
        keys = rules.keys_for(entity)
        for key, value in rules.java_order(changes.items()):
            if value is not None:
                problem = rules.value_problem(keys, key, value)
                if problem is not None:
                    break
    return problem, (entity, changes)


def _records(broker: Broker, accepted: list[Change]) -> int:
    """How many metadata records Kafka's controller would write: one per value that
    changes, one per key removed that was set (validate-only requests count too)."""
    count = 0
    for entity, change in accepted:
        current = broker.quota_store.values(entity)
        for key, value in change.items():
            count += key in current if value is None else current.get(key) != value
    return count


@handles(ApiKey.ALTER_CLIENT_QUOTAS, min_version=0, max_version=1)
async def alter_client_quotas(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema

    def entry(entity: Any, code: int, message: str | None) -> Any:
        return make(
            schema.EntryData,
            error_code=code,
            error_message=message,
            entity=tuple(
                make(schema.EntityData, entity_type=kind, entity_name=name) for kind, name in entity
            ),
        )

    def answer(entries: list[Any]) -> Any:
        return make(ctx.response_class, throttle_time=0, entries=tuple(entries))

    def refused_whole(code: int, message: str) -> Any:
        # Kafka's error response: every entry as sent, with the error's own sentence.
        return answer(
            [
                entry([(e.entity_type, e.entity_name) for e in item.entity], code, message)
                for item in request.entries
            ]
        )

    if not access.allowed(broker, ctx, Operation.ALTER_CONFIGS, access.CLUSTER):
        return refused_whole(access.REFUSED[access.CLUSTER], "Cluster authorization failed.")
    # Kafka keys the answer by entity: an entity named again is refused (its first
    # alteration still applies), and so is one naming a key twice.
    results: dict[frozenset[tuple[str, str | None]], tuple[rules.Entity, rules.Problem | None]]
    results = {}
    accepted: list[Change] = []
    hosts: dict[str, str] = {}  # host names of ip entities, resolved as Kafka's broker does
    for item in request.entries:
        entity = rules.java_order((e.entity_type, e.entity_name) for e in item.entity)
        key = frozenset(entity)
        keys = [op.key for op in item.ops]
        if key in results or len(set(keys)) != len(keys):
            again = (INVALID_REQUEST, f"Ignoring duplicate entity {rules.shown(entity)}")
            results[key] = (results.get(key, (entity, None))[0], again)
            continue
        problem, change = await _judged(entity, item.ops, hosts)
        results[key] = (entity, problem)
        if problem is None:
            accepted.append(change)
    if _records(broker, accepted) > MAX_RECORDS_PER_USER_OP:
        return refused_whole(POLICY_VIOLATION, TOO_LARGE)
    if accepted and not request.validate_only:
        try:
            await asyncio.to_thread(broker.quota_store.apply, accepted)
        except OSError as exc:
            failed = (KAFKA_STORAGE_ERROR, f"could not write the client quotas: {exc}")
            results = {k: (e, p or failed) for k, (e, p) in results.items()}
        else:
            broker.quotas.load(broker.quota_store.entries(), hosts)
    return answer([entry(entity, *(problem or (0, None))) for entity, problem in results.values()])
