"""The console's cluster errors and how client exceptions become sentences.

Owns the one `ClusterError` hierarchy every gateway call raises — `Unreachable` (no
answer at all), `NotFound` (a topic or group that is not there), `Refused` (the cluster,
or the console's own safety rule, said no; `NotAuthorized` when the cluster's authorizer
refused the console's principal, naming the operation and resource), `Timeout` — and turning confluent-kafka and
kafka-python exceptions into text a person can act on. It must never log or swallow:
callers decide whether an error is a banner or a form message.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import TypeVar

from confluent_kafka import KafkaError, KafkaException

T = TypeVar("T")

# Kafka's authorization error codes and the resource type each one is about.
AUTHORIZATION_FAILURES = {
    KafkaError.TOPIC_AUTHORIZATION_FAILED: "TOPIC",
    KafkaError.GROUP_AUTHORIZATION_FAILED: "GROUP",
    KafkaError.CLUSTER_AUTHORIZATION_FAILED: "CLUSTER",
    KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: "TRANSACTIONAL_ID",
}


class ClusterError(Exception):
    """A cluster call failed; `str()` is a sentence a person can act on."""


class Unreachable(ClusterError):
    """The cluster did not answer at all (as opposed to refusing one request)."""


class Timeout(ClusterError):
    """The cluster answered too slowly for this call."""


class NotFound(ClusterError):
    """What the call is about (a topic, a partition, a group's offsets) is not there."""


class TopicNotFound(NotFound):
    def __init__(self, topic: str) -> None:
        super().__init__(f"There is no topic called {topic!r} on this cluster.")
        self.topic = topic


class Refused(ClusterError):
    """The change may not happen now (active group members, a refused record…)."""


# Every authorization refusal's text holds this, so a banner given only the text says
# "refused" rather than "unreachable" (`refused_text`).
NOT_AUTHORIZED = "the console's credentials lack"
_ASK_FOR_IT = "A cluster administrator can grant it with an ACL."


class NotAuthorized(Refused):
    """The cluster's authorizer refused the console's own principal; names what is missing."""

    def __init__(self, operation: str, resource: str, what: str = "") -> None:
        needed = f" (needed to {what})" if what else ""
        super().__init__(
            f"Not authorized: {NOT_AUTHORIZED} the {operation} permission on {resource}{needed}. "
            + _ASK_FOR_IT
        )
        self.operation = operation
        self.resource = resource


def _code(exc: BaseException) -> int | None:
    """Kafka's error code of a confluent-kafka or kafka-python exception (their codes are
    Kafka's own, negative ones librdkafka's)."""
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return int(exc.args[0].code())
    from kafka import errors as kp_errors

    errno = getattr(exc, "errno", None)
    if isinstance(exc, kp_errors.BrokerResponseError) and isinstance(errno, int):
        return errno
    return None


# COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR: a group's or
# transaction's coordinator moved (a leader election, a node restarting) or is loading.
COORDINATOR_MOVED = frozenset({14, 15, 16})


def coordinator_moved(exc: BaseException | None) -> bool:
    """Whether the cluster answered that the coordinator asked is not (yet) the one: asking
    again, after the client looked the coordinator up afresh, is the remedy."""
    return exc is not None and _code(exc) in COORDINATOR_MOVED


def authorization_failure(exc: BaseException) -> str | None:
    """The resource type an authorization error is about ("TOPIC", "GROUP", ...), or None
    when `exc` is no authorization error."""
    code = _code(exc)
    return None if code is None else AUTHORIZATION_FAILURES.get(code)


def security_disabled(exc: BaseException) -> bool:
    """Whether the cluster answered that it has no authorizer."""
    return _code(exc) == KafkaError.SECURITY_DISABLED


def refused_text(text: str) -> bool:
    """Whether an error's text is an authorization refusal (the cluster answered)."""
    return NOT_AUTHORIZED in text


def _unnamed_refusal(code: int, name: str) -> str:
    kind = AUTHORIZATION_FAILURES[code].lower().replace("_", " ")
    return (
        f"not authorized ({name}): {NOT_AUTHORIZED} a permission Kafka requires on "
        f"this {kind}. {_ASK_FOR_IT}"
    )


def refusal(exc: BaseException, what: str, operation: str, resource: str) -> ClusterError:
    """The `ClusterError` for a failed call that needed `operation` on `resource`."""
    if authorization_failure(exc) is not None:
        return NotAuthorized(operation, resource, what)
    if _code(exc) == KafkaError._UNSUPPORTED_FEATURE:
        return Refused(f"Could not {what}: the cluster does not support it ({readable(exc)}).")
    if _code(exc) == KafkaError.SECURITY_DISABLED:
        return Refused(
            f"Could not {what}: the cluster runs without an authorizer, so it keeps no "
            "ACLs (Kafka: set authorizer.class.name)."
        )
    return ClusterError(f"Could not {what}: {readable(exc)}")


def answer(timeout_s: float, future: Future[T], what: str, operation: str, resource: str) -> T:
    """The result of one admin call that needs `operation` on `resource`, or its refusal."""
    try:
        return future.result(timeout=timeout_s + 1)
    except Exception as exc:
        raise refusal(exc, what, operation, resource) from exc


def readable(exc: BaseException) -> str:
    """What went wrong, in words (client exceptions carry codes and class names)."""
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        err: KafkaError = exc.args[0]
        if err.code() in AUTHORIZATION_FAILURES:
            return _unnamed_refusal(err.code(), err.name())
        text = err.str() or err.name()
        if err.code() in (KafkaError._TRANSPORT, KafkaError._TIMED_OUT):
            return f"the cluster did not answer in time ({text})"
        return text
    if isinstance(exc, TimeoutError):
        return "the cluster did not answer in time"
    from kafka import errors as kp_errors

    errno = getattr(exc, "errno", None)
    if isinstance(exc, kp_errors.BrokerResponseError) and errno in AUTHORIZATION_FAILURES:
        return _unnamed_refusal(errno, type(exc).__name__)

    if isinstance(exc, kp_errors.KafkaTimeoutError | kp_errors.RequestTimedOutError):
        return "the cluster did not answer in time"
    if isinstance(exc, kp_errors.KafkaConnectionError | kp_errors.NodeNotReadyError):
        return f"the connection failed ({exc})"
    return str(exc) or type(exc).__name__


def kafka_reason(exc: KafkaException) -> str:
    """librdkafka's own sentence for a failed call, without the timeout rewording."""
    err = exc.args[0] if exc.args else None
    if isinstance(err, KafkaError):
        if err.code() in AUTHORIZATION_FAILURES:
            return _unnamed_refusal(err.code(), err.name())
        return err.str() or err.name()
    return str(exc)
