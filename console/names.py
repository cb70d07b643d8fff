"""Kafka names in URLs: one path segment for any group id, transactional id or topic name.

Owns the reversible escape that lets every name Kafka allows travel as a single URL path
segment (`NameConverter`, registered as `<kafka:...>` when this module is imported). A group id may hold `/` (any
client can commit one), and `.` or `..` as a whole segment is rewritten by browsers
before the request leaves, even percent-encoded. So `~` escapes `~` and `/`, and a name
made only of dots has its dots escaped; every other character is left to Django's own
percent-encoding. It must never look names up or reject a name Kafka accepts: a name that
round-trips here and reaches a missing group is the view's 404 to give, not the router's.
"""

from __future__ import annotations

import re

from django.urls import register_converter

_ESCAPE = re.compile(r"~([0-9A-F]{2})")


def to_segment(name: str) -> str:
    """`name` as one URL path segment; `from_segment` gives it back exactly."""
    out = name.replace("~", "~7E").replace("/", "~2F")
    if out and set(out) == {"."}:
        out = "~2E" * len(out)
    return out or "~"


def from_segment(segment: str) -> str:
    if segment == "~":
        return ""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), segment)


class NameConverter:
    """Django path converter for Kafka names: `<kafka:group>`."""

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        return from_segment(value)

    def to_url(self, value: str) -> str:
        return to_segment(value)


register_converter(NameConverter, "kafka")
