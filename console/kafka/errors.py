"""The console's cluster errors and how client exceptions become sentences.

Owns the one `ClusterError` hierarchy every gateway call raises — `Unreachable` (no
answer at all), `NotFound` (a topic or group that is not there), `Refused` (the cluster,
or the console's own safety rule, said no), `Timeout` — and turning confluent-kafka and
kafka-python exceptions into text a person can act on. It must never log or swallow:
callers decide whether an error is a banner or a form message.
"""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException


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


def readable(exc: BaseException) -> str:
    """What went wrong, in words (client exceptions carry codes and class names)."""
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        err: KafkaError = exc.args[0]
        text = err.str() or err.name()
        if err.code() in (KafkaError._TRANSPORT, KafkaError._TIMED_OUT):
            return f"the cluster did not answer in time ({text})"
        return text
    if isinstance(exc, TimeoutError):
        return "the cluster did not answer in time"
    from kafka import errors as kp_errors

    if isinstance(exc, kp_errors.KafkaTimeoutError | kp_errors.RequestTimedOutError):
        return "the cluster did not answer in time"
    if isinstance(exc, kp_errors.KafkaConnectionError | kp_errors.NodeNotReadyError):
        return f"the connection failed ({exc})"
    return str(exc) or type(exc).__name__


def kafka_reason(exc: KafkaException) -> str:
    """librdkafka's own sentence for a failed call, without the timeout rewording."""
    err = exc.args[0] if exc.args else None
    if isinstance(err, KafkaError):
        return err.str() or err.name()
    return str(exc)
