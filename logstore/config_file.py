"""The broker's configuration file, in Kafka's `server.properties` format.

Owns reading a Java properties file (comments `#`/`!`, `key=value`, `key: value` or
`key value`, backslash continuations and escapes) and turning each line into `BrokerConfig`
keyword arguments through the one table of broker settings
(`logstore.broker.broker_settings.REGISTRY`); Kafka's per-listener forms of the TLS and SASL
settings (`listener.name.<listener>.ssl.client.auth=required`) become listener overrides, and
`listener.name.<listener>.<mechanism>.connections.max.reauth.ms` a per-mechanism session
lifetime. An unknown key or a bad value is refused with the file, line and key named. It
must never start anything, nor know the command line (the CLI merges flags over what this
returns).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logstore.broker.broker_settings import REGISTRY, BrokerConfigRefused


class ConfigFileError(ValueError):
    """A config file that cannot be used; the message names the file, line and key."""


@dataclass(frozen=True)
class FileSettings:
    """What a config file sets: `BrokerConfig` keyword arguments and the names given."""

    values: dict[str, Any]
    names: frozenset[str]


_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
# `listener.name.<listener>.<setting>`: a setting for that listener only.
_PER_LISTENER = re.compile(
    r"listener\.name\.([A-Za-z0-9_]+)\."
    r"(ssl\..+|sasl\.enabled\.mechanisms|connections\.max\.reauth\.ms)"
)
# `listener.name.<listener>.<mechanism in lower case>.connections.max.reauth.ms`.
_PER_MECHANISM = re.compile(
    r"listener\.name\.([A-Za-z0-9_]+)\.([a-z0-9-]+)\.connections\.max\.reauth\.ms"
)
_SEPARATOR = re.compile(r"(?<!\\)(?:\s*[=:]\s*|\s+)")


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _continues(line: str) -> bool:
    """An odd number of trailing backslashes joins the next line."""
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def read_properties(text: str) -> list[tuple[int, str, str]]:
    """(line number, key, value) for every entry, in file order."""
    entries: list[tuple[int, str, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        number = i + 1
        logical = lines[i].lstrip()
        i += 1
        if not logical or logical[0] in "#!":
            continue
        while _continues(logical) and i < len(lines):
            logical = logical[:-1] + lines[i].lstrip()
            i += 1
        if _continues(logical):
            logical = logical[:-1]
        match = _SEPARATOR.search(logical)
        if match is None:
            key, value = logical, ""
        else:
            key, value = logical[: match.start()], logical[match.end() :]
        entries.append((number, _unescape(key), _unescape(value)))
    return entries


def load_config_file(path: Path) -> FileSettings:
    """Parse `path` into settings; raises ConfigFileError naming the line and key."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"cannot read config file {path}: {exc}") from None
    values: dict[str, Any] = {}
    names: dict[str, int] = {}
    for number, key, raw in read_properties(text):
        per_mechanism = _PER_MECHANISM.fullmatch(key)
        if per_mechanism is not None:
            try:
                parsed = REGISTRY["connections.max.reauth.ms"].field_values(raw)
            except BrokerConfigRefused as exc:
                raise ConfigFileError(f"{path}:{number}: {key}: {exc}") from None
            listener, mechanism = per_mechanism.group(1).upper(), per_mechanism.group(2).upper()
            values["mechanism_reauth_ms"] = (
                *values.get("mechanism_reauth_ms", ()),
                (listener, mechanism, parsed["connections_max_reauth_ms"]),
            )
            continue
        per_listener = _PER_LISTENER.fullmatch(key)
        if per_listener is not None and per_listener.group(2) in REGISTRY:
            listener, name = per_listener.group(1).upper(), per_listener.group(2)
            try:
                parsed = REGISTRY[name].field_values(raw)
            except BrokerConfigRefused as exc:
                raise ConfigFileError(f"{path}:{number}: {key}: {exc}") from None
            values["listener_overrides"] = (
                *values.get("listener_overrides", ()),
                *((listener, field, value) for field, value in parsed.items()),
            )
            continue
        definition = REGISTRY.get(key)
        if definition is None:
            raise ConfigFileError(f"{path}:{number}: unknown broker config {key!r}")
        try:
            parsed = definition.field_values(raw)
        except BrokerConfigRefused as exc:
            raise ConfigFileError(f"{path}:{number}: {exc}") from None
        for field, value in parsed.items():
            if field == "topic_defaults":  # one field collecting many names' pairs
                values[field] = (*(p for p in values.get(field, ()) if p[0] != key), *value)
                continue
            # Two names for one setting (broker.id and node.id) must agree.
            other = next((n for n in names if field in REGISTRY[n].fields and n != key), None)
            if other is not None and values[field] != value:
                raise ConfigFileError(
                    f"{path}:{number}: {key}={raw.strip()} contradicts {other} "
                    f"on line {names[other]}"
                )
            values[field] = value
        names[key] = number
    return FileSettings(values, frozenset(names))


def names_setting(fields: set[str]) -> frozenset[str]:
    """The broker config names whose `BrokerConfig` fields are among `fields`."""
    return frozenset(name for name, d in REGISTRY.items() if fields.intersection(d.fields))
