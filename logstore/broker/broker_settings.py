"""The table of broker settings: one row per setting with its Kafka name, type, Kafka's
default, whether it may change at runtime, how a text value is checked and which
`BrokerConfig` field it sets. The config file (`logstore.config_file`), the command line,
DescribeConfigs and AlterConfigs (`logstore.broker.broker_configs`) all read this table.

Values are checked as Kafka checks them, with Kafka's messages ("Invalid value X for
configuration N: ..."). Names Kafka has are Kafka's; settings Kafka lacks carry the
`odradek.` prefix. It must never hold state, read files or parse wire formats.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from logstore.broker.errors import INVALID_REQUEST
from logstore.config import FSYNC_POLICIES, LOG_FORMATS, LOG_LEVELS, BrokerConfig, parse_listen
from logstore.groups.settings import GroupSettings, kafka_names

# Kafka's ConfigEntry.ConfigType codes and DescribeConfigs source codes.
BOOLEAN, STRING, INT, LONG, DOUBLE, LIST = 1, 2, 3, 5, 6, 7
DYNAMIC_BROKER_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG = (
    2,
    3,
    4,
    5,
)
JAVA_DOUBLE_MAX = "1.7976931348623157E308"
_TYPE_NAMES = {INT: "INT", LONG: "LONG", DOUBLE: "DOUBLE"}


class BrokerConfigRefused(Exception):
    """An alteration Kafka would refuse; carries its error code and message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def java_double(value: float) -> str:
    """`value` as Java's Double.toString writes it (what Kafka's DescribeConfigs shows)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(value)  # positional in this range, as Java's
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    mantissa = text[0] + "." + (text[1:] or "0")
    return f"{'-' if sign else ''}{mantissa}E{exponent + len(text) - 1}"


def _number(name: str, kind: int, raw: str) -> float | int:
    try:
        return float(raw.strip()) if kind == DOUBLE else int(raw.strip())
    except ValueError:
        raise BrokerConfigRefused(
            INVALID_REQUEST,
            f"Invalid value {raw} for configuration {name}: Not a number of type "
            f"{_TYPE_NAMES[kind]}",
        ) from None


def _at_least(minimum: int) -> Callable[[str, float | int], None]:
    def check(name: str, value: float | int) -> None:
        if value < minimum:
            raise BrokerConfigRefused(
                INVALID_REQUEST,
                f"Invalid value {value} for configuration {name}: Value must be at least {minimum}",
            )

    return check


def _not_zero(name: str, value: float | int) -> None:
    # Kafka's ConfigDef allows 0, its dynamic validation then refuses it.
    if value == 0:
        raise BrokerConfigRefused(INVALID_REQUEST, f"Invalid {name} {value}: must be at least 1")


def _one(name: str, value: float | int) -> None:
    if value != 1:
        raise BrokerConfigRefused(
            INVALID_REQUEST,
            f"Invalid value {value} for configuration {name}: a single node holds one replica",
        )


def _positive(name: str, value: float | int) -> None:
    if not value > 0:
        raise BrokerConfigRefused(
            INVALID_REQUEST,
            f"Invalid value {java_double(float(value))} for configuration {name}: "
            "Value must be positive",
        )


def _boolean(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise BrokerConfigRefused(
            INVALID_REQUEST,
            f"Invalid value {raw} for configuration {name}: Expected value to "
            "be either true or false",
        )
    return value == "true"


def _text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return java_double(value)
    return "" if value is None else str(value)


@dataclass(frozen=True)
class ConfigDef:
    """One broker setting: its Kafka name, type, Kafka's default, whether it may change at
    runtime, and the `BrokerConfig` fields it sets (`parse`: text -> those fields' values;
    raises BrokerConfigRefused). The config file, DescribeConfigs and AlterConfigs all read
    this one row."""

    name: str
    kind: int
    static: Callable[[BrokerConfig], str | None]
    # Kafka's default: a static value equal to it is reported as DEFAULT_CONFIG unless the
    # file or a flag set it. None = always reported as STATIC_BROKER_CONFIG.
    kafka_default: str | None = None
    dynamic: bool = False
    checks: tuple[Callable[[str, float | int], None], ...] = ()
    fields: tuple[str, ...] = ()
    parse: Callable[[str], dict[str, Any]] | None = None
    # A check of the whole text (for values whose rules are not numeric bounds).
    validate: Callable[[str], None] | None = None
    # False for settings Kafka reads outside its KafkaConfig (the authorizer's own), which
    # its DescribeConfigs never lists.
    described: bool = True

    def normalise(self, raw: str) -> str:
        """The value as Kafka reports it after parsing; raises BrokerConfigRefused."""
        if self.validate is not None:
            self.validate(raw)
        if self.kind == BOOLEAN:
            return str(_boolean(self.name, raw)).lower()
        if self.kind not in (INT, LONG, DOUBLE):
            return raw
        value = _number(self.name, self.kind, raw)
        for check in self.checks:
            check(self.name, value)
        return java_double(float(value)) if self.kind == DOUBLE else str(value)

    def field_values(self, raw: str) -> dict[str, Any]:
        """The `BrokerConfig` keyword arguments a file line `name=raw` stands for."""
        if self.parse is not None:
            return self.parse(raw)
        text = self.normalise(raw.strip())
        if self.kind == BOOLEAN:
            value: Any = text == "true"
        elif self.kind in (INT, LONG):
            value = int(text)
        elif self.kind == DOUBLE:
            value = float(text)
        else:
            value = text
        return dict.fromkeys(self.fields, value)


def setting(
    name: str,
    kind: int,
    field: str,
    *,
    kafka_default: str | None = None,
    dynamic: bool = False,
    checks: tuple[Callable[[str, float | int], None], ...] = (),
    parse: Callable[[str], Any] | None = None,
    show: Callable[[Any], str] = _text,
    described: bool = True,
) -> ConfigDef:
    """The usual row: one Kafka name for one `BrokerConfig` field."""
    return ConfigDef(
        name,
        kind,
        lambda c: show(getattr(c, field)),
        kafka_default=kafka_default,
        dynamic=dynamic,
        checks=checks,
        fields=(field,),
        parse=None if parse is None else (lambda raw: {field: parse(raw)}),
        described=described,
    )


def _refuse(name: str, raw: str, why: str) -> BrokerConfigRefused:
    return BrokerConfigRefused(
        INVALID_REQUEST, f"Invalid value {raw} for configuration {name}: {why}"
    )


def _listener_name(scheme: str) -> str | None:
    name = scheme.strip().upper()
    return name if name and name.replace("_", "").isalnum() else None


def _address(name: str, raw: str, item: str) -> tuple[str, str, int]:
    """One `NAME://HOST:PORT` entry of `listeners` or `advertised.listeners`."""
    scheme, sep, address = item.partition("://")
    listener = _listener_name(scheme)
    if not sep or listener is None:
        raise _refuse(name, raw, "expected NAME://HOST:PORT, e.g. PLAINTEXT://HOST:PORT")
    try:
        host, port = parse_listen(address)
    except ValueError as exc:
        raise _refuse(name, raw, str(exc)) from None
    return listener, host, port


def _entries(name: str, raw: str) -> list[tuple[str, str, int]]:
    entries = [_address(name, raw, i.strip()) for i in raw.split(",") if i.strip()]
    if not entries:
        raise _refuse(name, raw, "expected NAME://HOST:PORT, e.g. PLAINTEXT://HOST:PORT")
    names = [listener for listener, _, _ in entries]
    if len(set(names)) != len(names):
        raise _refuse(name, raw, "Each listener must have a different name")
    return entries


def _listeners(raw: str) -> dict[str, Any]:
    """`NAME://HOST:PORT,...`: each listener's protocol is given by the protocol map; the
    first one is the one `--listen` overrides."""
    entries = []
    for item, (name, host, port) in zip(
        (i.strip() for i in raw.split(",") if i.strip()), _entries("listeners", raw), strict=True
    ):
        if not item.partition("://")[2].rpartition(":")[0]:
            host = "0.0.0.0"  # Kafka: an empty host binds every interface
        entries.append((name, host, port))
    (name, host, port), *extra = entries
    return {"host": host, "port": port, "listener_name": name, "extra_listeners": tuple(extra)}


def _advertised(raw: str) -> dict[str, Any]:
    entries = _entries("advertised.listeners", raw)
    for item in (i.strip() for i in raw.split(",") if i.strip()):
        if not item.partition("://")[2].rpartition(":")[0].strip("[]"):
            raise _refuse("advertised.listeners", raw, "a host clients can reach is required")
    return {"advertised_listeners": tuple(entries)}


def _listeners_text(c: BrokerConfig) -> str:
    return ",".join(f"{name}://{host}:{port}" for name, host, port in c.listeners)


def _advertised_text(c: BrokerConfig) -> str:
    entries = {name: (host, port) for name, host, port in c.advertised_listeners}
    if c.advertised_host or c.advertised_port:  # --advertised-host over the file
        host, port = c.advertised(c.listener_name)
        entries[c.listener_name] = (host or c.host, port or c.port)
    return ",".join(f"{name}://{host}:{port}" for name, (host, port) in entries.items())


def _protocol_map(raw: str) -> tuple[tuple[str, str], ...]:
    """`NAME:PROTOCOL,...` as Kafka's listener.security.protocol.map."""
    pairs = []
    for item in (i.strip() for i in raw.split(",") if i.strip()):
        name, sep, protocol = item.partition(":")
        protocol = protocol.strip().upper()
        if not sep or _listener_name(name) is None or protocol not in SECURITY_PROTOCOLS:
            raise _refuse(
                "listener.security.protocol.map",
                raw,
                f"expected NAME:PROTOCOL with PROTOCOL one of {', '.join(SECURITY_PROTOCOLS)}",
            )
        pairs.append((name.strip().upper(), protocol))
    return tuple(pairs)


def _mechanisms(raw: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in raw.split(",") if m.strip())


SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
DEFAULT_PROTOCOL_MAP = ",".join(f"{p}:{p}" for p in SECURITY_PROTOCOLS)


def _log_dirs(raw: str) -> Path:
    dirs = [d.strip() for d in raw.split(",") if d.strip()]
    if len(dirs) != 1:
        raise _refuse("log.dirs", raw, "exactly one directory is supported")
    return Path(dirs[0])


def _choice(name: str, allowed: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw.strip() not in allowed:
            raise _refuse(name, raw, f"String must be one of: {', '.join(allowed)}")
        return raw.strip()

    return parse


def _listen_text(value: tuple[str, int] | None) -> str:
    return "" if value is None else f"{value[0]}:{value[1]}"


def _listen_or_none(raw: str) -> tuple[str, int] | None:
    if not raw.strip():
        return None
    try:
        return parse_listen(raw.strip())
    except ValueError as exc:
        raise _refuse("odradek.metrics.listen", raw, str(exc)) from None


def _rate_value(raw: str) -> float | None:
    rate = float(REGISTRY["log.cleaner.io.max.bytes.per.second"].normalise(raw))
    return None if rate >= 1.7976931348623157e308 else rate


def _rate(value: float | None) -> str:
    return JAVA_DOUBLE_MAX if value is None else java_double(value)


def _authorizer_class(raw: str) -> str:
    from logstore.security.authorizer import AUTHORIZER_CLASSES

    name = raw.strip()
    if name and name not in AUTHORIZER_CLASSES:
        raise _refuse("authorizer.class.name", raw, f"Class {name} cannot be found.")
    return name


def _users(raw: str) -> tuple[str, ...]:
    users = tuple(u.strip() for u in raw.split(";") if u.strip())
    for user in users:
        if ":" not in user:
            raise _refuse("super.users", raw, f"expected a principal like User:name, got {user}")
    return users


TLS_VERSIONS = ("TLSv1.2", "TLSv1.3")


def _tls_versions(raw: str) -> tuple[str, ...]:
    versions = tuple(v.strip() for v in raw.split(",") if v.strip())
    unknown = [v for v in versions if v not in TLS_VERSIONS]
    if unknown or not versions:
        raise _refuse(
            "ssl.enabled.protocols", raw, f"supported protocols are {', '.join(TLS_VERSIONS)}"
        )
    return versions


def _mapping_rules(raw: str) -> str:
    from logstore.security.ssl_principal import parse_rules

    try:
        parse_rules(raw)
    except ValueError as exc:
        raise _refuse("ssl.principal.mapping.rules", raw, str(exc)) from None
    return raw.strip()


def _ssl_settings() -> tuple[ConfigDef, ...]:
    """Kafka's ssl.* names (PEM keystores only: logstore.server.tls reads them). PEM text
    and passwords are never listed by DescribeConfigs (Kafka shows them as sensitive)."""
    client_auth = ("none", "requested", "required")
    return (
        setting("ssl.keystore.type", STRING, "ssl_keystore_type", kafka_default="JKS"),
        setting("ssl.keystore.location", STRING, "ssl_keystore_location", kafka_default=""),
        setting(
            "ssl.keystore.certificate.chain",
            STRING,
            "ssl_keystore_certificate_chain",
            described=False,
        ),
        setting("ssl.keystore.key", STRING, "ssl_keystore_key", described=False),
        setting("ssl.key.password", STRING, "ssl_key_password", described=False),
        setting("ssl.truststore.type", STRING, "ssl_truststore_type", kafka_default="JKS"),
        setting("ssl.truststore.location", STRING, "ssl_truststore_location", kafka_default=""),
        setting(
            "ssl.truststore.certificates",
            STRING,
            "ssl_truststore_certificates",
            described=False,
        ),
        setting(
            "ssl.client.auth",
            STRING,
            "ssl_client_auth",
            kafka_default="none",
            parse=_choice("ssl.client.auth", client_auth),
        ),
        setting(
            "ssl.enabled.protocols",
            LIST,
            "ssl_enabled_protocols",
            kafka_default="TLSv1.2,TLSv1.3",
            parse=_tls_versions,
            show=",".join,
        ),
        setting(
            "ssl.principal.mapping.rules",
            STRING,
            "ssl_principal_mapping_rules",
            kafka_default="DEFAULT",
            parse=_mapping_rules,
        ),
    )


LONG_MAX = str(2**63 - 1)
# Broker names of topic-config defaults: (topic config, factor to its unit), lowest
# precedence first (Kafka: log.retention.ms over .minutes over .hours).
TOPIC_DEFAULTS: dict[str, tuple[str, int]] = {}


def _topic_default(
    name: str,
    kind: int,
    topic: str,
    kafka_default: str | None,
    factor: int = 1,
    *,
    dynamic: bool = True,
) -> ConfigDef:
    """A broker-wide default of topic config `topic`, checked by the topic config's rules;
    dynamic, as in Kafka (every topic without its own value follows a change), unless it is
    only a coarser synonym (`dynamic=False`): Kafka changes `log.retention.ms` and
    `log.roll.ms` at runtime, never their minutes and hours."""
    TOPIC_DEFAULTS[name] = (topic, factor)

    def validate(raw: str) -> None:
        value = raw.strip()
        try:
            topic_value = str(int(value) * factor) if factor != 1 else value
        except ValueError:
            raise _refuse(name, raw, "Not a number of type LONG") from None
        from logstore.storage.configs import CONFIG_DEFS, config_problem

        problem = CONFIG_DEFS[topic].check(topic_value)
        if problem:
            raise BrokerConfigRefused(INVALID_REQUEST, config_problem(name, raw, problem))

    def parse(raw: str) -> dict[str, Any]:
        validate(raw)
        return {"topic_defaults": ((name, raw.strip()),)}

    return ConfigDef(
        name,
        kind,
        lambda c: dict(c.topic_defaults).get(name, kafka_default),
        kafka_default=kafka_default,
        dynamic=dynamic,
        fields=("topic_defaults",),
        parse=parse,
        validate=validate,
    )


def topic_defaults(
    config: BrokerConfig,
    overrides: Mapping[str, str] | None = None,
    cluster_defaults: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Topic config name -> the broker-wide default: the config file's value, a dynamic
    cluster-wide default of the same broker name over it, this broker's dynamic override
    over both (per name; and ms > minutes > hours after, whatever layer each came from, as
    Kafka orders synonyms); and, for the topic configs whose value came from a dynamic
    layer, that layer's source (DYNAMIC_BROKER_CONFIG or DYNAMIC_DEFAULT_BROKER_CONFIG)."""
    dynamic = overrides or {}
    cluster = cluster_defaults or {}
    given = {**dict(config.topic_defaults), **cluster, **dynamic}
    out: dict[str, str] = {}
    sources: dict[str, str] = {}
    for name, (topic, factor) in TOPIC_DEFAULTS.items():
        if name in given:
            out[topic] = str(int(given[name]) * factor) if factor != 1 else given[name]
            if name in dynamic:
                sources[topic] = "DYNAMIC_BROKER_CONFIG"
            elif name in cluster:
                sources[topic] = "DYNAMIC_DEFAULT_BROKER_CONFIG"
            else:  # a later (stronger) static name took over
                sources.pop(topic, None)
    return out, sources


# `BrokerConfig.groups` is one GroupSettings value: its rows (and flags) name the field
# with this prefix, and the command line folds them into it.
GROUP_PREFIX = "group_"
_GROUP_DEFAULTS = GroupSettings()
_LONG_GROUP_SETTINGS = frozenset({"offsets.retention.check.interval.ms"})


def _group_setting(name: str, attr: str) -> ConfigDef:
    return ConfigDef(
        name,
        LONG if name in _LONG_GROUP_SETTINGS else INT,
        lambda c: str(getattr(c.groups, attr)),
        kafka_default=str(getattr(_GROUP_DEFAULTS, attr)),
        checks=(_at_least(0),),
        fields=(GROUP_PREFIX + attr,),
    )


def _unlimited(value: int | None) -> str:
    return "2147483647" if value is None else str(value)


# One row per broker setting, in the order DescribeConfigs lists them. Names Kafka has are
# Kafka's; settings Kafka lacks carry the `odradek.` prefix.
REGISTRY: dict[str, ConfigDef] = {
    d.name: d
    for d in (
        setting("broker.id", INT, "node_id", checks=(_at_least(0),)),
        setting("node.id", INT, "node_id", checks=(_at_least(0),)),
        setting("log.dirs", STRING, "data_dir", parse=_log_dirs),
        ConfigDef(
            "listeners",
            STRING,
            _listeners_text,
            kafka_default="PLAINTEXT://:9092",
            fields=("host", "port", "listener_name", "extra_listeners"),
            parse=_listeners,
        ),
        ConfigDef(
            "advertised.listeners",
            STRING,
            _advertised_text,
            fields=("advertised_listeners",),
            parse=_advertised,
        ),
        setting(
            "listener.security.protocol.map",
            STRING,
            "security_protocol_map",
            kafka_default=DEFAULT_PROTOCOL_MAP,
            parse=_protocol_map,
            show=lambda pairs: ",".join(f"{n}:{p}" for n, p in pairs),
        ),
        setting(
            "sasl.enabled.mechanisms",
            LIST,
            "sasl_enabled_mechanisms",
            kafka_default="GSSAPI",
            parse=_mechanisms,
            show=",".join,
        ),
        # Kafka checks no bounds: zero or less leaves sessions unlimited.
        setting("connections.max.reauth.ms", LONG, "connections_max_reauth_ms", kafka_default="0"),
        *_ssl_settings(),
        setting(
            "num.partitions", INT, "default_partitions", kafka_default="1", checks=(_at_least(1),)
        ),
        setting("auto.create.topics.enable", BOOLEAN, "auto_create_topics", kafka_default="true"),
        setting(
            "socket.request.max.bytes",
            INT,
            "max_request_bytes",
            kafka_default="104857600",
            checks=(_at_least(1),),
        ),
        setting(
            "queued.max.request.bytes",
            LONG,
            "max_inflight_bytes",
            kafka_default="-1",
            checks=(_at_least(1),),
        ),
        # A single node holds one replica: accepted in a file only as 1.
        ConfigDef(
            "default.replication.factor", INT, lambda c: "1", kafka_default="1", checks=(_one,)
        ),
        ConfigDef("offsets.topic.replication.factor", INT, lambda c: "1", checks=(_one,)),
        setting(
            "log.retention.check.interval.ms",
            LONG,
            "log_retention_check_interval_ms",
            kafka_default="300000",
            checks=(_at_least(1),),
        ),
        setting(
            "transaction.max.timeout.ms",
            INT,
            "transaction_max_timeout_ms",
            kafka_default="900000",
            checks=(_at_least(1),),
        ),
        setting(
            "transactional.id.expiration.ms",
            INT,
            "transactional_id_expiration_ms",
            kafka_default="604800000",
            checks=(_at_least(1),),
        ),
        setting(
            "transaction.abort.timed.out.transaction.cleanup.interval.ms",
            INT,
            "transaction_cleanup_interval_ms",
            kafka_default="10000",
            checks=(_at_least(1),),
        ),
        setting(
            "max.incremental.fetch.session.cache.slots",
            INT,
            "max_incremental_fetch_session_cache_slots",
            kafka_default="1000",
            checks=(_at_least(0),),
        ),
        setting(
            "max.connections",
            INT,
            "max_connections",
            kafka_default="2147483647",
            dynamic=True,
            checks=(_at_least(0), _not_zero),
        ),
        setting(
            "log.cleaner.io.max.bytes.per.second",
            DOUBLE,
            "cleaner_io_max_bytes_per_second",
            kafka_default=JAVA_DOUBLE_MAX,
            dynamic=True,
            checks=(_positive,),
            parse=_rate_value,
            show=_rate,
        ),
        setting(
            "quota.window.num",
            INT,
            "quota_window_num",
            kafka_default="11",
            checks=(_at_least(1),),
        ),
        setting(
            "quota.window.size.seconds",
            INT,
            "quota_window_size_seconds",
            kafka_default="1",
            checks=(_at_least(1),),
        ),
        setting(
            "controller.quota.window.num",
            INT,
            "controller_quota_window_num",
            kafka_default="11",
            checks=(_at_least(1),),
        ),
        setting(
            "controller.quota.window.size.seconds",
            INT,
            "controller_quota_window_size_seconds",
            kafka_default="1",
            checks=(_at_least(1),),
        ),
        setting(
            "connections.max.idle.ms",
            LONG,
            "connections_max_idle_ms",
            kafka_default="600000",
            checks=(_at_least(1),),
        ),
        setting(
            "connection.failed.authentication.delay.ms",
            INT,
            "connection_failed_authentication_delay_ms",
            kafka_default="100",
            checks=(_at_least(0),),
        ),
        setting(
            "max.connections.per.ip",
            INT,
            "max_connections_per_ip",
            kafka_default="2147483647",
            checks=(_at_least(1),),
            show=_unlimited,
        ),
        setting(
            "odradek.request.body.timeout.ms",
            LONG,
            "request_body_timeout_ms",
            kafka_default="30000",
            checks=(_at_least(1),),
        ),
        # None = derived from the open-files limit at start (logstore.server.resources).
        setting(
            "odradek.max.broker.partitions",
            INT,
            "max_broker_partitions",
            kafka_default="",
            checks=(_at_least(1),),
        ),
        setting(
            "odradek.max.partitions.per.topic",
            INT,
            "max_partitions_per_topic",
            kafka_default="",
            checks=(_at_least(1),),
        ),
        setting(
            "odradek.max.open.segment.files",
            INT,
            "max_open_segment_files",
            kafka_default="",
            checks=(_at_least(1),),
        ),
        *(_group_setting(name, attr) for name, attr in kafka_names().items()),
        setting(
            "odradek.fsync.policy",
            STRING,
            "fsync",
            kafka_default="always",
            parse=_choice("odradek.fsync.policy", FSYNC_POLICIES),
        ),
        setting(
            "odradek.fsync.interval.ms",
            LONG,
            "fsync_interval_ms",
            kafka_default="1000",
            checks=(_at_least(1),),
        ),
        setting(
            "odradek.log.level",
            STRING,
            "log_level",
            kafka_default="INFO",
            parse=_choice("odradek.log.level", LOG_LEVELS),
        ),
        setting(
            "odradek.log.format",
            STRING,
            "log_format",
            kafka_default="text",
            parse=_choice("odradek.log.format", LOG_FORMATS),
        ),
        setting(
            "odradek.metrics.listen",
            STRING,
            "metrics_listen",
            kafka_default="",
            parse=_listen_or_none,
            show=_listen_text,
        ),
        setting(
            "authorizer.class.name",
            STRING,
            "authorizer_class",
            kafka_default="",
            parse=_authorizer_class,
        ),
        setting(
            "super.users",
            STRING,
            "super_users",
            kafka_default="",
            parse=_users,
            show=";".join,
            described=False,
        ),
        setting(
            "allow.everyone.if.no.acl.found",
            BOOLEAN,
            "allow_everyone_if_no_acl_found",
            kafka_default="false",
            described=False,
        ),
        _topic_default("log.retention.hours", INT, "retention.ms", "168", 3_600_000, dynamic=False),
        _topic_default("log.retention.minutes", INT, "retention.ms", None, 60_000, dynamic=False),
        _topic_default("log.retention.ms", LONG, "retention.ms", None),
        _topic_default("log.retention.bytes", LONG, "retention.bytes", "-1"),
        _topic_default("log.segment.bytes", INT, "segment.bytes", "1073741824"),
        _topic_default("log.roll.hours", INT, "segment.ms", "168", 3_600_000, dynamic=False),
        _topic_default("log.roll.ms", LONG, "segment.ms", None),
        _topic_default(
            "log.roll.jitter.hours", INT, "segment.jitter.ms", "0", 3_600_000, dynamic=False
        ),
        _topic_default("log.roll.jitter.ms", LONG, "segment.jitter.ms", None),
        _topic_default("log.index.interval.bytes", INT, "index.interval.bytes", "4096"),
        _topic_default("log.index.size.max.bytes", INT, "segment.index.bytes", "10485760"),
        _topic_default("log.segment.delete.delay.ms", LONG, "file.delete.delay.ms", "60000"),
        _topic_default("log.cleanup.policy", LIST, "cleanup.policy", "delete"),
        _topic_default("log.cleaner.delete.retention.ms", LONG, "delete.retention.ms", "86400000"),
        _topic_default(
            "log.cleaner.min.cleanable.ratio", DOUBLE, "min.cleanable.dirty.ratio", "0.5"
        ),
        _topic_default("log.cleaner.min.compaction.lag.ms", LONG, "min.compaction.lag.ms", "0"),
        _topic_default(
            "log.cleaner.max.compaction.lag.ms", LONG, "max.compaction.lag.ms", LONG_MAX
        ),
        _topic_default("message.max.bytes", INT, "max.message.bytes", "1048588"),
        _topic_default(
            "log.message.timestamp.type", STRING, "message.timestamp.type", "CreateTime"
        ),
        _topic_default(
            "log.message.timestamp.before.max.ms",
            LONG,
            "message.timestamp.before.max.ms",
            LONG_MAX,
        ),
        _topic_default(
            "log.message.timestamp.after.max.ms", LONG, "message.timestamp.after.max.ms", "3600000"
        ),
        _topic_default("compression.type", STRING, "compression.type", "producer"),
        _topic_default("log.flush.interval.messages", LONG, "flush.messages", LONG_MAX),
        # Kafka's flusher period, which is also topics' flush interval while
        # log.flush.interval.ms is unset.
        _topic_default(
            "log.flush.scheduler.interval.ms", LONG, "flush.ms", LONG_MAX, dynamic=False
        ),
        _topic_default("log.flush.interval.ms", LONG, "flush.ms", None),
    )
}
