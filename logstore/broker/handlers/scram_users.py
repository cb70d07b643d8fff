"""DescribeUserScramCredentials (50) and AlterUserScramCredentials (51), v0.

Owns turning those requests into reads and changes of the broker's `CredentialStore`, with
the validation and messages of Kafka's controller (`ScramControlManager`, `ScramImage`):
one change per user per request, iterations within 4096..16384, known mechanisms only,
deleting only what exists. DESCRIBE / ALTER on the cluster are required. It must never see
a password: clients send the salted password, and only the derived keys are stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any

from logstore.broker import access
from logstore.broker.api import RequestContext, handles
from logstore.broker.build import make
from logstore.broker.context import Broker
from logstore.error_codes import (
    DUPLICATE_RESOURCE,
    KAFKA_STORAGE_ERROR,
    RESOURCE_NOT_FOUND,
    UNACCEPTABLE_CREDENTIAL,
    UNSUPPORTED_SASL_MECHANISM,
)
from logstore.protocol.api_keys import ApiKey
from logstore.security.acls import Operation
from logstore.security.scram import MAX_ITERATIONS, MIN_ITERATIONS, credential_from_salted

# Kafka's ScramMechanism types on the wire.
MECHANISM_TYPES = {1: "SCRAM-SHA-256", 2: "SCRAM-SHA-512"}
TYPE_OF = {name: kind for kind, name in MECHANISM_TYPES.items()}

_CLUSTER_DENIED = "Cluster authorization failed."
_TWICE = "A user credential cannot be altered twice in the same request"
_DESCRIBE_TWICE = "Cannot describe SCRAM credentials for the same user twice in a single request: "
_NO_SUCH_USER = "Attempt to describe a user credential that does not exist: "
_NO_SUCH_CREDENTIAL = "Attempt to delete a user credential that does not exist"

Outcome = tuple[int, str | None]
OK: Outcome = (0, None)
# Kafka answers a describe's successes with an empty message, not a null one.
DESCRIBED: Outcome = (0, "")


@handles(ApiKey.DESCRIBE_USER_SCRAM_CREDENTIALS, min_version=0, max_version=0)
async def describe_user_scram_credentials(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema
    asked = [user.name for user in request.users or ()]
    if not access.allowed(broker, ctx, Operation.DESCRIBE, access.CLUSTER):
        code = access.REFUSED[access.CLUSTER]
        refused = make(
            schema.DescribeUserScramCredentialsResult,
            user="",
            error_code=code,
            error_message=_CLUSTER_DENIED,
            credential_infos=(),
        )
        return make(
            ctx.response_class,
            throttle_time=0,
            error_code=code,
            error_message=_CLUSTER_DENIED,
            results=tuple(refused for _ in asked),
        )
    assert broker.credentials is not None  # open_broker sets it
    users = broker.credentials.users()
    wanted: dict[str, bool] = {}  # user -> asked for twice
    for name in asked or sorted(users):
        wanted[name] = name in wanted
    results = []
    for name, twice in wanted.items():
        infos: tuple[Any, ...] = ()
        outcome = DESCRIBED
        if twice:
            outcome = (DUPLICATE_RESOURCE, _DESCRIBE_TWICE + name)
        elif name not in users:
            outcome = (RESOURCE_NOT_FOUND, _NO_SUCH_USER + name)
        else:
            infos = tuple(
                make(schema.CredentialInfo, mechanism=TYPE_OF[mech], iterations=cred.iterations)
                for mech, cred in sorted(users[name].items())
            )
        results.append(
            make(
                schema.DescribeUserScramCredentialsResult,
                user=name,
                error_code=outcome[0],
                error_message=outcome[1],
                credential_infos=infos,
            )
        )
    return make(
        ctx.response_class,
        throttle_time=0,
        error_code=0,
        error_message="",
        results=tuple(results),
    )


def _check_name_and_mechanism(name: str, mechanism: int) -> Outcome:
    if not name:
        return (UNACCEPTABLE_CREDENTIAL, "Username must not be empty")
    if mechanism not in MECHANISM_TYPES:
        return (UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism")
    return OK


async def _stored(change: Callable[[], object]) -> Outcome:
    """OK once the change is on disk; KAFKA_STORAGE_ERROR if the disk refused it (then
    nothing changed). Written in a thread: the event loop never waits for the disk."""
    try:
        await asyncio.to_thread(change)
    except OSError as exc:
        return (KAFKA_STORAGE_ERROR, f"could not write the credentials: {exc}")
    return OK


def _check_upsertion(item: Any) -> Outcome:
    outcome = _check_name_and_mechanism(item.name, item.mechanism)
    if outcome != OK:
        return outcome
    if item.iterations < MIN_ITERATIONS:
        return (UNACCEPTABLE_CREDENTIAL, "Too few iterations")
    if item.iterations > MAX_ITERATIONS:
        return (UNACCEPTABLE_CREDENTIAL, "Too many iterations")
    return OK


@handles(ApiKey.ALTER_USER_SCRAM_CREDENTIALS, min_version=0, max_version=0)
async def alter_user_scram_credentials(broker: Broker, ctx: RequestContext, request: Any) -> Any:
    schema = ctx.schema

    def answer(outcomes: dict[str, Outcome]) -> Any:
        return make(
            ctx.response_class,
            throttle_time=0,
            results=tuple(
                make(
                    schema.AlterUserScramCredentialsResult,
                    user=user,
                    error_code=code,
                    error_message=message,
                )
                for user, (code, message) in outcomes.items()
            ),
        )

    if not access.allowed(broker, ctx, Operation.ALTER, access.CLUSTER):
        names = sorted({item.name for item in (*request.deletions, *request.upsertions)})
        refused = (access.REFUSED[access.CLUSTER], _CLUSTER_DENIED)
        return answer({name: refused for name in names})
    store = broker.credentials
    assert store is not None  # open_broker sets it
    deletions: dict[str, Any] = {}
    upsertions: dict[str, Any] = {}
    errors: dict[str, Outcome] = {}
    # As Kafka: a user named twice is refused once, whatever else was asked for it.
    for item in request.deletions:
        if item.name in errors:
            continue
        if deletions.pop(item.name, None) is not None:
            errors[item.name] = (DUPLICATE_RESOURCE, _TWICE)
            continue
        outcome = _check_name_and_mechanism(item.name, item.mechanism)
        if outcome == OK and store.get(item.name, MECHANISM_TYPES[item.mechanism]) is None:
            outcome = (RESOURCE_NOT_FOUND, _NO_SUCH_CREDENTIAL)
        if outcome == OK:
            deletions[item.name] = item
        else:
            errors[item.name] = outcome
    for item in request.upsertions:
        if item.name in errors:
            continue
        if deletions.pop(item.name, None) is not None or upsertions.pop(item.name, None):
            errors[item.name] = (DUPLICATE_RESOURCE, _TWICE)
            continue
        outcome = _check_upsertion(item)
        if outcome == OK:
            upsertions[item.name] = item
        else:
            errors[item.name] = outcome
    outcomes: dict[str, Outcome] = {}
    for name, item in deletions.items():
        outcomes[name] = await _stored(partial(store.delete, name, MECHANISM_TYPES[item.mechanism]))
    for name, item in upsertions.items():
        credential = credential_from_salted(
            MECHANISM_TYPES[item.mechanism], item.salted_password, item.salt, item.iterations
        )
        outcomes[name] = await _stored(partial(store.upsert, name, credential))
    outcomes.update(errors)
    return answer(outcomes)
