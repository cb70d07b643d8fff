"""Broker configs: the registry of names this broker reports, which of them may change at
runtime, their validation, and the per-broker dynamic overrides.

Kafka distinguishes static broker configs (server.properties, fixed until restart) from
dynamic ones changed through AlterConfigs / IncrementalAlterConfigs on the BROKER resource
and kept in its metadata log. Here the static values come from `BrokerConfig` (the
command line; a config file would feed the same table), the dynamic overrides from
`.state/broker/dynamic-configs.json`, written durably before an alteration is answered,
and re-applied at start-up. Errors and messages are Kafka's: a name that cannot change at
runtime refuses the whole resource with INVALID_REQUEST "Cannot update these configs
dynamically: [...]", a bad value with INVALID_REQUEST "Invalid value ...".

Owns the table and the override state. It must never parse wire formats (handlers do)
nor keep topic configs (the storage catalogue does).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from logstore.broker.errors import INVALID_REQUEST
from logstore.config import BrokerConfig

if TYPE_CHECKING:
    from logstore.storage import LogManager

log = logging.getLogger(__name__)

STATE_NAME = "broker"
STATE_FILE = "dynamic-configs.json"
# Kafka's ConfigEntry.ConfigType codes and DescribeConfigs source codes.
BOOLEAN, STRING, INT, LONG, DOUBLE, LIST = 1, 2, 3, 5, 6, 7
DYNAMIC_BROKER_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG = 2, 4, 5
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


def _positive(name: str, value: float | int) -> None:
    if not value > 0:
        raise BrokerConfigRefused(
            INVALID_REQUEST,
            f"Invalid value {java_double(float(value))} for configuration {name}: "
            "Value must be positive",
        )


@dataclass(frozen=True)
class ConfigDef:
    """One broker config: how to read its static value and, when dynamic, to check one."""

    name: str
    kind: int
    static: Callable[[BrokerConfig], str]
    # Kafka's default: a static value equal to it is reported as DEFAULT_CONFIG.
    # None = always reported as STATIC_BROKER_CONFIG.
    kafka_default: str | None = None
    dynamic: bool = False
    checks: tuple[Callable[[str, float | int], None], ...] = ()

    def normalise(self, raw: str) -> str:
        """The value as Kafka reports it after parsing; raises BrokerConfigRefused."""
        if self.kind not in (INT, LONG, DOUBLE):
            return raw
        value = _number(self.name, self.kind, raw)
        for check in self.checks:
            check(self.name, value)
        return java_double(float(value)) if self.kind == DOUBLE else str(value)


def _rate(c: BrokerConfig) -> str:
    rate = c.cleaner_io_max_bytes_per_second
    return JAVA_DOUBLE_MAX if rate is None else java_double(rate)


# Names, in the order DescribeConfigs lists them.
REGISTRY: dict[str, ConfigDef] = {
    d.name: d
    for d in (
        ConfigDef("broker.id", INT, lambda c: str(c.node_id)),
        ConfigDef("node.id", INT, lambda c: str(c.node_id)),
        ConfigDef("log.dirs", STRING, lambda c: str(c.data_dir)),
        ConfigDef("num.partitions", INT, lambda c: str(c.default_partitions)),
        ConfigDef(
            "auto.create.topics.enable", BOOLEAN, lambda c: str(c.auto_create_topics).lower()
        ),
        ConfigDef("socket.request.max.bytes", INT, lambda c: str(c.max_request_bytes)),
        ConfigDef("default.replication.factor", INT, lambda c: "1"),
        ConfigDef("offsets.topic.replication.factor", INT, lambda c: "1"),
        ConfigDef(
            "log.retention.check.interval.ms",
            LONG,
            lambda c: str(c.log_retention_check_interval_ms),
            kafka_default="300000",
        ),
        ConfigDef(
            "max.connections",
            INT,
            lambda c: str(c.max_connections),
            kafka_default="2147483647",
            dynamic=True,
            checks=(_at_least(0), _not_zero),
        ),
        ConfigDef(
            "log.cleaner.io.max.bytes.per.second",
            DOUBLE,
            _rate,
            kafka_default=JAVA_DOUBLE_MAX,
            dynamic=True,
            checks=(_positive,),
        ),
    )
}

# name, value, read only, source, sensitive, synonyms (name, value, source), config type
Row = tuple[str, str | None, bool, int, bool, tuple[tuple[str, str | None, int], ...], int]


class DynamicBrokerConfigs:
    """The broker's dynamic overrides over its static configs, applied and persisted."""

    def __init__(self, config: BrokerConfig, logs: LogManager) -> None:
        self.config = config
        self.logs = logs
        self.overrides: dict[str, str] = {}
        self.max_connections = config.max_connections

    def load(self) -> None:
        """Read the persisted overrides and apply them (at start-up)."""
        path = self.logs.state_dir(STATE_NAME) / STATE_FILE
        try:
            stored = json.loads(path.read_bytes())
        except FileNotFoundError:
            stored = {}
        except ValueError as exc:
            raise RuntimeError(f"{path} is not valid JSON: {exc}") from exc
        self.overrides = {}
        for name, value in stored.items():
            definition = REGISTRY.get(name)
            try:
                if definition is None or not definition.dynamic:
                    raise BrokerConfigRefused(INVALID_REQUEST, "not a dynamic broker config")
                self.overrides[name] = definition.normalise(str(value))
            except BrokerConfigRefused as exc:
                # Written by another version or by hand: the static value stands.
                log.warning(
                    "ignoring dynamic broker config %s=%r from %s: %s", name, value, path, exc
                )
        self._apply()

    def effective(self, name: str) -> str:
        if name in self.overrides:
            return self.overrides[name]
        return REGISTRY[name].static(self.config)

    def alter(
        self,
        set_: Mapping[str, str],
        delete: Iterable[str],
        *,
        replace: bool,
        validate_only: bool,
    ) -> None:
        """Set and remove overrides (`replace`: legacy AlterConfigs, every override not in
        `set_` goes); raises BrokerConfigRefused with Kafka's code and message."""
        refused = [n for n in set_ if n not in REGISTRY or not REGISTRY[n].dynamic]
        if refused:
            raise BrokerConfigRefused(
                INVALID_REQUEST, f"Cannot update these configs dynamically: [{', '.join(refused)}]"
            )
        values = {name: REGISTRY[name].normalise(raw) for name, raw in set_.items()}
        if validate_only:
            return
        updated = {} if replace else dict(self.overrides)
        for name in delete:
            updated.pop(name, None)
        updated.update(values)
        if updated == self.overrides:
            return
        # Durable before it is answered: Kafka's dynamic configs survive a restart.
        self.logs.write_state(STATE_NAME, STATE_FILE, json.dumps(updated, sort_keys=True).encode())
        self.overrides = updated
        self._apply()

    def _apply(self) -> None:
        self.max_connections = int(self.effective("max.connections"))
        rate = float(self.effective("log.cleaner.io.max.bytes.per.second"))
        self.logs.cleaner_io_max_bytes_per_second = None if rate >= 1.7976931348623157e308 else rate

    def rows(self, keys: frozenset[str] | None, synonyms: bool) -> list[Row]:
        """DescribeConfigs entries of the BROKER resource."""
        rows: list[Row] = []
        for name, definition in REGISTRY.items():
            if keys is not None and name not in keys:
                continue
            static = definition.static(self.config)
            static_source = (
                DEFAULT_CONFIG if static == definition.kafka_default else STATIC_BROKER_CONFIG
            )
            chain: list[tuple[str, str | None, int]] = []
            if name in self.overrides:
                chain.append((name, self.overrides[name], DYNAMIC_BROKER_CONFIG))
            chain.append((name, static, static_source))
            if static_source != DEFAULT_CONFIG and definition.kafka_default is not None:
                chain.append((name, definition.kafka_default, DEFAULT_CONFIG))
            _, value, source = chain[0]
            rows.append(
                (
                    name,
                    value,
                    not definition.dynamic,
                    source,
                    False,
                    tuple(chain) if synonyms else (),
                    definition.kind,
                )
            )
        return rows
