"""Errors raised while turning bytes into requests.

Owns the distinction between "close this connection" (the frame cannot be trusted) and
"answer with an error" (the frame is fine but asks for something we do not speak). It must
never know about sockets: the server decides what closing means.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """The peer broke the framing or schema rules; its connection must be closed."""


class FrameTooLargeError(ProtocolError):
    """A length prefix is negative or above `socket.request.max.bytes`."""


class MalformedFrameError(ProtocolError):
    """A frame whose header or body cannot be parsed."""


class UnsupportedVersionError(ProtocolError):
    """An API key/version pair we neither parse nor advertise.

    Kafka closes the connection for these (except ApiVersions, which the codec answers).
    """

    def __init__(self, api_key: int, api_version: int, correlation_id: int) -> None:
        super().__init__(f"unsupported api_key={api_key} version={api_version}")
        self.api_key = api_key
        self.api_version = api_version
        self.correlation_id = correlation_id
