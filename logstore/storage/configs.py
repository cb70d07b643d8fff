"""Per-topic configuration: Kafka's topic config names, defaults, validation and a typed view.

Owns the table of known topic configs and `TopicConfig`, the parsed values a PartitionLog
reads on its hot path. It must never persist anything (the catalogue does) nor know about
DescribeConfigs wire versions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from logstore.storage.errors import InvalidConfigError

LONG_MAX = 9223372036854775807
_CODECS = {"uncompressed": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
INT_MAX = 2147483647


@dataclass(frozen=True)
class ConfigDef:
    """One known topic config: Kafka's name, default, type and value check."""

    name: str
    default: str | None
    kind: str  # long | int | double | boolean | string | list
    check: Callable[[str], str | None]  # returns an error message, None if fine
    read_only: bool = False
    internal: bool = False  # accepted but never described (as Kafka's internal configs)
    choices: tuple[str, ...] | None = None  # the values a string or list config allows


def _bound(limit: float) -> str:
    return str(int(limit)) if float(limit).is_integer() else str(limit)


def _number(
    kind: str, lo: float | None = None, hi: float | None = None
) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        try:
            number: float = float(value) if kind == "double" else int(value.strip())
        except ValueError:
            return f"Not a number of type {kind.upper()}"
        if kind == "int" and not -(2**31) <= number <= INT_MAX:
            return "Not a number of type INT"
        if kind == "long" and not -(2**63) <= number <= LONG_MAX:
            return "Not a number of type LONG"
        if lo is not None and number < lo:
            return f"Value must be at least {_bound(lo)}"
        if hi is not None and number > hi:
            return f"Value must be no more than {_bound(hi)}"
        return None

    return check


class Whole(str):
    """A check's message that is the whole error, not a reason to put after Kafka's
    "Invalid value X for configuration Y: " (as Kafka words a list's items): a format
    string whose `{name}` is the config's name."""


def _choice(*allowed: str, many: bool = False) -> Callable[[str], str | None]:
    """Kafka's ValidString (case-sensitive, as Kafka compares) or, with `many`, its
    ValidList of them: an empty list is allowed (cleanup.policy="" keeps every segment),
    an empty item is not, and a bad item is named on its own."""
    why = f"String must be one of: {', '.join(allowed)}"

    def check(value: str) -> str | None:
        if not many:
            return None if value.strip() in allowed else why
        if not value.strip():
            return None
        for item in (v.strip() for v in value.split(",")):
            if not item:
                return Whole("Configuration '{name}' values must not be empty.")
            if item not in allowed:
                said = item.replace("{", "{{").replace("}", "}}")
                return Whole(f"Invalid value {said} for configuration {{name}}: {why}")
        return None

    return check


def canonical_choice(name: str, value: str) -> str | None:
    """`value` spelt as Kafka spells the choice it names in another case (such as
    "logappendtime"), for values an older Odradek accepted; None if there is none."""
    definition = CONFIG_DEFS.get(name)
    if definition is None or definition.choices is None:
        return None
    spelt = {c.lower(): c for c in definition.choices}
    items = [spelt.get(v.strip().lower()) for v in value.split(",")]
    if any(i is None for i in items) or not value.strip():
        return None
    return ",".join(i for i in items if i is not None)


def _any(value: str) -> str | None:
    return None


def _gzip_level(value: str) -> str | None:
    problem = _number("int")(value)
    if problem or int(value.strip()) == -1 or 1 <= int(value.strip()) <= 9:
        return problem
    return "Value must be between 1 and 9 or equal to -1"


def _bool(value: str) -> str | None:
    if value.strip().lower() in ("true", "false"):
        return None
    return "Expected value to be either true or false"


_POLICIES = ("compact", "delete")
_TYPES = ("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")
_STAMPS = ("CreateTime", "LogAppendTime")
_DEFS = [
    ConfigDef(
        "cleanup.policy",
        "delete",
        "list",
        _choice(*_POLICIES, many=True),
        choices=_POLICIES,
    ),
    ConfigDef("compression.type", "producer", "string", _choice(*_TYPES), choices=_TYPES),
    ConfigDef("compression.gzip.level", "-1", "int", _gzip_level),
    ConfigDef("compression.lz4.level", "9", "int", _number("int", 1, 17)),
    ConfigDef("compression.zstd.level", "3", "int", _number("int", -131072, 22)),
    ConfigDef("delete.retention.ms", "86400000", "long", _number("long", 0)),
    ConfigDef("errors.deadletterqueue.group.enable", "false", "boolean", _bool),
    ConfigDef("file.delete.delay.ms", "60000", "long", _number("long", 0)),
    ConfigDef("flush.messages", str(LONG_MAX), "long", _number("long", 1)),
    ConfigDef("flush.ms", str(LONG_MAX), "long", _number("long", 0)),
    ConfigDef("follower.replication.throttled.replicas", "", "list", _any),
    ConfigDef("index.interval.bytes", "4096", "int", _number("int", 0)),
    ConfigDef("leader.replication.throttled.replicas", "", "list", _any),
    ConfigDef("local.retention.bytes", "-2", "long", _number("long", -2)),
    ConfigDef("local.retention.ms", "-2", "long", _number("long", -2)),
    ConfigDef("max.compaction.lag.ms", str(LONG_MAX), "long", _number("long", 1)),
    ConfigDef("max.decompressed.message.bytes", "2147483639", "int", _number("int", 1, 2147483639)),
    ConfigDef("max.message.bytes", "1048588", "int", _number("int", 0)),
    ConfigDef("message.timestamp.after.max.ms", "3600000", "long", _number("long", 0)),
    ConfigDef("message.timestamp.before.max.ms", str(LONG_MAX), "long", _number("long", 0)),
    ConfigDef("message.timestamp.type", "CreateTime", "string", _choice(*_STAMPS), choices=_STAMPS),
    ConfigDef("min.cleanable.dirty.ratio", "0.5", "double", _number("double", 0, 1)),
    ConfigDef("min.compaction.lag.ms", "0", "long", _number("long", 0)),
    ConfigDef("min.insync.replicas", "1", "int", _number("int", 1)),
    ConfigDef("preallocate", "false", "boolean", _bool),
    ConfigDef("remote.copy.lag.bytes", "-1", "long", _number("long", -1)),
    ConfigDef("remote.copy.lag.ms", "0", "long", _number("long", -1)),
    ConfigDef("remote.log.copy.disable", "false", "boolean", _bool),
    ConfigDef("remote.log.delete.on.disable", "false", "boolean", _bool),
    ConfigDef("remote.storage.enable", "false", "boolean", _bool),
    ConfigDef("retention.bytes", "-1", "long", _number("long")),
    ConfigDef("retention.ms", "604800000", "long", _number("long", -1)),
    ConfigDef("segment.bytes", "1073741824", "int", _number("int", 1048576)),
    # Kafka's way around the 1 MiB floor for tests: overrides segment.bytes when set.
    ConfigDef("internal.segment.bytes", None, "int", _number("int", 1), internal=True),
    ConfigDef("segment.index.bytes", "10485760", "int", _number("int", 4)),
    ConfigDef("segment.jitter.ms", "0", "long", _number("long", 0)),
    ConfigDef("segment.ms", "604800000", "long", _number("long", 1)),
    ConfigDef("unclean.leader.election.enable", "false", "boolean", _bool),
]
CONFIG_DEFS: dict[str, ConfigDef] = {d.name: d for d in _DEFS}


@dataclass(frozen=True)
class ConfigEntry:
    """One row of DescribeConfigs for a topic."""

    name: str
    value: str | None
    is_default: bool
    source: str  # "DEFAULT_CONFIG" or "DYNAMIC_TOPIC_CONFIG"
    read_only: bool = False
    sensitive: bool = False


def config_problem(name: str, value: str, problem: str) -> str:
    """Kafka's ConfigException message for `problem`, a check's answer about `value`."""
    if isinstance(problem, Whole):
        return problem.format(name=name)
    return f"Invalid value {value} for configuration {name}: {problem}"


def validate_configs(configs: Mapping[str, str]) -> dict[str, str]:
    """Check names and values; return a normalised copy or raise InvalidConfigError."""
    out: dict[str, str] = {}
    for name, value in configs.items():
        definition = CONFIG_DEFS.get(name)
        if definition is None:
            raise InvalidConfigError(f"Unknown topic config name: {name}")
        if value is None:
            raise InvalidConfigError(f"Invalid value null for configuration {name}")
        problem = definition.check(str(value))
        if problem:
            raise InvalidConfigError(config_problem(name, str(value), problem))
        out[name] = str(value).strip()
    return out


def describe(
    overrides: Mapping[str, str],
    defaults: Mapping[str, str] | None = None,
    dynamic: Mapping[str, str] | None = None,
) -> list[ConfigEntry]:
    """Every known config with its effective value and where it comes from (`defaults`:
    the broker-wide defaults, from its config file (STATIC_BROKER_CONFIG) or, for the
    names in `dynamic`, set at runtime (the source it gives))."""
    dynamic = dynamic or {}
    entries = []
    for d in _DEFS:
        if d.internal:
            continue
        if d.name in overrides:
            entries.append(ConfigEntry(d.name, overrides[d.name], False, "DYNAMIC_TOPIC_CONFIG"))
        elif defaults and d.name in defaults:
            source = dynamic.get(d.name, "STATIC_BROKER_CONFIG")
            entries.append(ConfigEntry(d.name, defaults[d.name], False, source, d.read_only))
        else:
            entries.append(ConfigEntry(d.name, d.default, True, "DEFAULT_CONFIG", d.read_only))
    return entries


def _level(codec: int | None, get: Callable[[str], str]) -> int | None:
    """The compression level for the topic's codec (gzip's -1 means the default, 6)."""
    name = {1: "gzip", 3: "lz4", 4: "zstd"}.get(codec or 0)
    if name is None:
        return None
    level = int(get(f"compression.{name}.level"))
    return 6 if name == "gzip" and level == -1 else level


@dataclass(frozen=True)
class TopicConfig:
    """The parsed values storage acts on, built once per topic and per config change."""

    compact: bool = False
    delete: bool = True
    retention_ms: int = 604800000
    retention_bytes: int = -1
    segment_bytes: int = 1073741824
    segment_ms: int = 604800000
    segment_index_bytes: int = 10485760
    index_interval_bytes: int = 4096
    max_message_bytes: int = 1048588
    log_append_time: bool = False
    delete_retention_ms: int = 86400000
    min_cleanable_dirty_ratio: float = 0.5
    min_compaction_lag_ms: int = 0
    max_compaction_lag_ms: int = LONG_MAX
    flush_messages: int = LONG_MAX
    file_delete_delay_ms: int = 60000
    timestamp_before_max_ms: int = LONG_MAX
    timestamp_after_max_ms: int = 3600000
    codec: int | None = None  # compression.type; None = keep the producer's
    compression_level: int | None = None  # compression.<codec>.level; None = the default
    segment_jitter_ms: int = 0
    flush_ms: int = LONG_MAX

    # Appends need no decoding, recompression or restamping (the fast path); derived.
    # A lower timestamp bound needs every record's stamp (a batch header holds only
    # the first and the largest).
    plain_appends: bool = True

    def __post_init__(self) -> None:
        plain = not (
            self.compact
            or self.log_append_time
            or self.codec is not None
            or self.timestamp_before_max_ms != LONG_MAX
        )
        object.__setattr__(self, "plain_appends", plain)

    @classmethod
    def from_overrides(
        cls, overrides: Mapping[str, str], defaults: Mapping[str, str] | None = None
    ) -> TopicConfig:
        """Parse validated overrides on top of the broker's `defaults` (validated topic
        config values), then Kafka's."""
        fallback = defaults or {}

        def get(name: str) -> str:
            value = overrides.get(name, fallback.get(name, CONFIG_DEFS[name].default))
            assert value is not None
            return value

        policy = {p.strip().lower() for p in get("cleanup.policy").split(",")}
        codec = _CODECS.get(get("compression.type").lower())
        return cls(
            compact="compact" in policy,
            delete="delete" in policy,
            retention_ms=int(get("retention.ms")),
            retention_bytes=int(get("retention.bytes")),
            segment_bytes=int(overrides.get("internal.segment.bytes") or get("segment.bytes")),
            segment_ms=int(get("segment.ms")),
            segment_index_bytes=int(get("segment.index.bytes")),
            index_interval_bytes=int(get("index.interval.bytes")),
            max_message_bytes=int(get("max.message.bytes")),
            log_append_time=get("message.timestamp.type").lower() == "logappendtime",
            delete_retention_ms=int(get("delete.retention.ms")),
            min_cleanable_dirty_ratio=float(get("min.cleanable.dirty.ratio")),
            min_compaction_lag_ms=int(get("min.compaction.lag.ms")),
            max_compaction_lag_ms=int(get("max.compaction.lag.ms")),
            flush_messages=int(get("flush.messages")),
            file_delete_delay_ms=int(get("file.delete.delay.ms")),
            timestamp_before_max_ms=int(get("message.timestamp.before.max.ms")),
            timestamp_after_max_ms=int(get("message.timestamp.after.max.ms")),
            codec=codec,
            compression_level=_level(codec, get),
            segment_jitter_ms=int(get("segment.jitter.ms")),
            flush_ms=int(get("flush.ms")),
        )
