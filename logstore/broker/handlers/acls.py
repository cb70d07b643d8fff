"""CreateAcls (30), DescribeAcls (29), DeleteAcls (31), v1–3: administering the ACLs.

Owns turning those requests into `AclStore` changes and answers with Kafka's validation
errors: SECURITY_DISABLED without an authorizer, CLUSTER_AUTHORIZATION_FAILED without ALTER
(create, delete) or DESCRIBE (describe) on the cluster, INVALID_REQUEST for bindings Kafka
refuses. It must never decide whether some other request is allowed.
"""

from __future__ import annotations

import asyncio
from itertools import groupby
from typing import Any

from logstore.broker import access
from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.error_codes import INVALID_REQUEST, KAFKA_STORAGE_ERROR, SECURITY_DISABLED
from logstore.protocol.api_keys import ApiKey
from logstore.security.acls import (
    CLUSTER_NAME,
    AclBinding,
    AclFilter,
    Operation,
    PatternType,
    Permission,
    ResourceType,
)
from logstore.security.authorizer import Authorizer

_NO_AUTHORIZER = "No Authorizer is configured."
_CLUSTER_DENIED = "Cluster authorization failed."


class _Invalid(Exception):
    pass


def _enum(kind: Any, value: int, what: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise _Invalid(f"Unknown {what} {value}") from None


def _binding(item: Any) -> AclBinding:
    resource_type = _enum(ResourceType, item.resource_type, "resourceType")
    pattern = _enum(PatternType, item.resource_pattern_type, "patternType")
    operation = _enum(Operation, item.operation, "operation")
    permission = _enum(Permission, item.permission_type, "permissionType")
    if resource_type in (ResourceType.ANY, ResourceType.UNKNOWN):
        raise _Invalid(f"Invalid resourceType {resource_type.name}")
    if pattern not in (PatternType.LITERAL, PatternType.PREFIXED):
        raise _Invalid(f"Invalid patternType {pattern.name}")
    if operation in (Operation.ANY, Operation.UNKNOWN):
        raise _Invalid(f"Invalid operation {operation.name}")
    if permission not in (Permission.ALLOW, Permission.DENY):
        raise _Invalid(f"Invalid permissionType {permission.name}")
    if not item.resource_name:
        raise _Invalid("Resource name should not be empty")
    if resource_type == ResourceType.CLUSTER and item.resource_name != CLUSTER_NAME:
        raise _Invalid("The only valid name for the CLUSTER resource is kafka-cluster")
    if ":" not in item.principal:
        raise _Invalid(
            f"Could not parse principal from `{item.principal}` (no colon is present "
            "separating the principal type from name)"
        )
    if not item.host:
        raise _Invalid("Invalid host: host must not be empty")
    return AclBinding(
        resource_type,
        item.resource_name,
        pattern,
        item.principal,
        item.host,
        operation,
        permission,
    )


def _filter(item: Any) -> AclFilter:
    resource_type = _enum(ResourceType, item.resource_type_filter, "resourceType")
    pattern = _enum(PatternType, item.pattern_type_filter, "patternType")
    operation = _enum(Operation, item.operation, "operation")
    permission = _enum(Permission, item.permission_type, "permissionType")
    unknown = (resource_type, pattern, operation, permission)
    if any(value == 0 for value in unknown):
        raise _Invalid("The filter contains an UNKNOWN element")
    return AclFilter(
        resource_type,
        item.resource_name_filter,
        pattern,
        item.principal_filter,
        item.host_filter,
        operation,
        permission,
    )


def _authorizer(broker: Broker) -> Authorizer | None:
    return broker.authorizer


@handles(ApiKey.CREATE_ACLS, min_version=1, max_version=3)
async def create_acls(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    authorizer = _authorizer(broker)
    results: list[tuple[int, str | None]] = []
    valid: list[AclBinding] = []
    denied = not access.allowed(broker, ctx, Operation.ALTER, access.CLUSTER)
    for item in request.creations:
        if authorizer is None:
            results.append((SECURITY_DISABLED, _NO_AUTHORIZER))
        elif denied:
            results.append((access.REFUSED[access.CLUSTER], _CLUSTER_DENIED))
        else:
            try:
                valid.append(_binding(item))
                results.append((0, None))
            except _Invalid as exc:
                results.append((INVALID_REQUEST, str(exc)))
    if authorizer is not None and valid:
        try:
            await asyncio.to_thread(authorizer.store.add, valid)  # never fsync on the loop
        except OSError as exc:  # nothing was added
            failed = (KAFKA_STORAGE_ERROR, f"could not write the ACLs: {exc}")
            results = [failed if code == 0 else (code, message) for code, message in results]
    return make(
        ctx.response_class,
        throttle_time=0,
        results=tuple(
            make(schema.AclCreationResult, error_code=code, error_message=message)
            for code, message in results
        ),
    )


def _resource_key(acl: AclBinding) -> tuple[int, str, int]:
    return (acl.resource_type, acl.resource_name, acl.pattern_type)


@handles(ApiKey.DESCRIBE_ACLS, min_version=1, max_version=3)
async def describe_acls(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    authorizer = _authorizer(broker)

    def answer(code: int, message: str | None, acls: list[AclBinding]) -> Any:
        ordered = sorted(acls, key=_resource_key)
        return make(
            ctx.response_class,
            throttle_time=0,
            error_code=code,
            error_message=message,
            resources=tuple(
                make(
                    schema.DescribeAclsResource,
                    resource_type=key[0],
                    resource_name=key[1],
                    pattern_type=key[2],
                    acls=tuple(
                        make(
                            schema.AclDescription,
                            principal=acl.principal,
                            host=acl.host,
                            operation=acl.operation,
                            permission_type=acl.permission,
                        )
                        for acl in group
                    ),
                )
                for key, group in groupby(ordered, key=_resource_key)
            ),
        )

    if authorizer is None:
        return answer(SECURITY_DISABLED, _NO_AUTHORIZER, [])
    if not access.allowed(broker, ctx, Operation.DESCRIBE, access.CLUSTER):
        return answer(access.REFUSED[access.CLUSTER], _CLUSTER_DENIED, [])
    try:
        wanted = _filter(request)
    except _Invalid as exc:
        return answer(INVALID_REQUEST, str(exc), [])
    return answer(0, None, [acl for acl in authorizer.store.all() if wanted.matches(acl)])


@handles(ApiKey.DELETE_ACLS, min_version=1, max_version=3)
async def delete_acls(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    authorizer = _authorizer(broker)
    denied = not access.allowed(broker, ctx, Operation.ALTER, access.CLUSTER)
    results: list[tuple[int, str | None, list[AclBinding]]] = []
    doomed: dict[AclBinding, None] = {}
    for item in request.filters:
        if authorizer is None:
            results.append((SECURITY_DISABLED, _NO_AUTHORIZER, []))
            continue
        if denied:
            results.append((access.REFUSED[access.CLUSTER], _CLUSTER_DENIED, []))
            continue
        try:
            wanted = _filter(item)
        except _Invalid as exc:
            results.append((INVALID_REQUEST, str(exc), []))
            continue
        matched = [acl for acl in authorizer.store.all() if wanted.matches(acl)]
        doomed.update(dict.fromkeys(matched))
        results.append((0, None, matched))
    if authorizer is not None and doomed:
        try:
            await asyncio.to_thread(authorizer.store.remove, doomed)
        except OSError as exc:  # nothing was removed
            message = f"could not write the ACLs: {exc}"
            results = [(KAFKA_STORAGE_ERROR, message, []) if r[0] == 0 else r for r in results]
    return make(
        ctx.response_class,
        throttle_time=0,
        filter_results=tuple(
            make(
                schema.DeleteAclsFilterResult,
                error_code=code,
                error_message=message,
                matching_acls=tuple(
                    make(
                        schema.DeleteAclsMatchingAcl,
                        error_code=0,
                        error_message=None,
                        resource_type=acl.resource_type,
                        resource_name=acl.resource_name,
                        pattern_type=acl.pattern_type,
                        principal=acl.principal,
                        host=acl.host,
                        operation=acl.operation,
                        permission_type=acl.permission,
                    )
                    for acl in matched
                ),
            )
            for code, message, matched in results
        ),
    )
