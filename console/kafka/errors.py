"""The console's cluster errors and how client exceptions become sentences.

Owns `ClusterError` (any failed cluster call, `str()` is readable), `TopicNotFound`, and
turning confluent-kafka and kafka-python exceptions into text a person can act on. It must
never log or swallow: callers decide whether an error is a banner or a form message.
"""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException


class ClusterError(Exception):
    """A cluster call failed; `str()` is a sentence a person can act on."""


class TopicNotFound(ClusterError):
    def __init__(self, topic: str) -> None:
        super().__init__(f"There is no topic called {topic!r} on this cluster.")
        self.topic = topic


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


class Unreachable(ClusterError):
    """The cluster did not answer at all (as opposed to refusing one request)."""
