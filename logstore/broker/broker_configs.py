"""Broker configs: the registry of names this broker reports, which of them may change at
runtime, their validation, the per-broker dynamic overrides and the cluster-wide dynamic
defaults beneath them.

Kafka distinguishes static broker configs (server.properties, fixed until restart) from
dynamic ones changed through AlterConfigs / IncrementalAlterConfigs on the BROKER resource
and kept in its metadata log: per broker (the resource named by its id) and for every
broker of the cluster (the resource named "", `kafka-configs.sh --entity-default`), the
broker's own winning. Here the static values come from `BrokerConfig` (the config file and
the command line, through the table in `broker_settings`), the overrides from
`.state/broker/dynamic-configs.json` and the cluster-wide defaults from
`.state/broker/dynamic-default-configs.json`, each written durably before an alteration is
answered, and re-applied at start-up. Errors and messages are Kafka's: a name that cannot
change at runtime refuses the whole resource with INVALID_REQUEST "Cannot update these
configs dynamically: [...]", a bad value with INVALID_REQUEST "Invalid value ...".

Owns the dynamic state. It must never parse wire formats (handlers do)
nor keep topic configs (the storage catalogue does).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from logstore.broker.broker_settings import (
    DEFAULT_CONFIG,
    DYNAMIC_BROKER_CONFIG,
    DYNAMIC_DEFAULT_BROKER_CONFIG,
    INVALID_REQUEST,
    REGISTRY,
    STATIC_BROKER_CONFIG,
    TOPIC_DEFAULTS,
    BrokerConfigRefused,
    topic_defaults,
)
from logstore.broker.config_synonyms import (
    TOPIC_SYNONYMS,
    UNSET_DEFAULTS,
    Layer,
    Synonym,
    broker_synonyms,
    chain,
    topic_chain,
)
from logstore.config import BrokerConfig
from logstore.error_codes import KAFKA_STORAGE_ERROR
from logstore.in_turn import InTurn
from logstore.storage.configs import canonical_choice

if TYPE_CHECKING:
    from logstore.storage import LogManager

log = logging.getLogger(__name__)

STATE_NAME = "broker"
STATE_FILE = "dynamic-configs.json"
# Names earlier versions let AlterConfigs set, which Kafka (and now Odradek) refuses there:
# a stored value still applies, so an upgrade changes no retention or roll. The finer name
# to set instead, for the warning.
ONCE_DYNAMIC = {
    "log.retention.hours": "log.retention.ms",
    "log.retention.minutes": "log.retention.ms",
    "log.roll.hours": "log.roll.ms",
}
DEFAULTS_FILE = "dynamic-default-configs.json"

# name, value, read only, source, sensitive, synonyms, config type
Row = tuple[str, str | None, bool, int, bool, tuple[Synonym, ...], int]


def _respelt(name: str, value: str) -> str:
    """A stored topic default as Kafka spells its choices: Odradek accepted any case
    before it compared as Kafka does, and such a value must still apply after an upgrade."""
    topic = TOPIC_DEFAULTS.get(name)
    if topic is None:
        return value
    return canonical_choice(topic[0], value) or value


class DynamicBrokerConfigs:
    """The broker's dynamic overrides over its static configs, and the cluster-wide dynamic
    defaults beneath the overrides (the BROKER resource named "", which Kafka keeps for
    every broker of a cluster), applied and persisted."""

    def __init__(self, config: BrokerConfig, logs: LogManager) -> None:
        self.config = config
        self.logs = logs
        # Both layers keep values as they were given (Kafka's synonyms show them so; the
        # value in force is the parsed one).
        self.overrides: dict[str, str] = {}
        self.cluster_defaults: dict[str, str] = {}
        self.max_connections = config.max_connections
        self._static = _static_layer(config)
        self._topic_synonyms: tuple[tuple[str, tuple[Synonym, ...]], ...] | None = None
        self._turns = InTurn()

    def load(self) -> None:
        """Read the persisted overrides and cluster defaults and apply them (at start-up)."""
        self.overrides = self._read(STATE_FILE)
        self.cluster_defaults = self._read(DEFAULTS_FILE)
        self._apply()

    def _read(self, file: str) -> dict[str, str]:
        path = self.logs.state_dir(STATE_NAME) / file
        try:
            stored = json.loads(path.read_bytes())
        except FileNotFoundError:
            stored = {}
        except ValueError as exc:
            raise RuntimeError(f"{path} is not valid JSON: {exc}") from exc
        values: dict[str, str] = {}
        for name, value in stored.items():
            definition = REGISTRY.get(name)
            try:
                if definition is None:
                    raise BrokerConfigRefused(INVALID_REQUEST, "not a dynamic broker config")
                if not definition.dynamic and name not in ONCE_DYNAMIC:
                    raise BrokerConfigRefused(INVALID_REQUEST, "not a dynamic broker config")
                raw = _respelt(name, str(value))
                definition.normalise(raw)  # still valid
                values[name] = raw
                if name in ONCE_DYNAMIC:
                    log.warning(
                        "%s=%s in %s was set at runtime by an earlier Odradek and still "
                        "applies; Kafka sets it only in the config file: delete it "
                        "(kafka-configs.sh --delete-config %s) and set %s instead",
                        name,
                        raw,
                        path,
                        name,
                        ONCE_DYNAMIC[name],
                    )
            except BrokerConfigRefused as exc:
                # Written by another version or by hand: the layer beneath stands.
                log.warning(
                    "ignoring dynamic broker config %s=%r from %s: %s", name, value, path, exc
                )
        return values

    def effective(self, name: str) -> str:
        for layer in (self.overrides, self.cluster_defaults):
            if name in layer:
                return REGISTRY[name].normalise(layer[name])
        return REGISTRY[name].static(self.config) or ""

    async def alter(
        self,
        set_: Mapping[str, str],
        delete: Iterable[str],
        *,
        replace: bool,
        validate_only: bool,
        cluster_default: bool = False,
    ) -> None:
        """Set and remove overrides, or with `cluster_default` the cluster-wide defaults
        (`replace`: legacy AlterConfigs, every value of that layer not in `set_` goes);
        raises BrokerConfigRefused with Kafka's code and message. The file is written in a
        thread, one change at a time: a stalled disk holds up this change, not the broker."""
        refused = [n for n in set_ if n not in REGISTRY or not REGISTRY[n].dynamic]
        if refused:
            raise BrokerConfigRefused(
                INVALID_REQUEST, f"Cannot update these configs dynamically: [{', '.join(refused)}]"
            )
        for name, raw in set_.items():
            REGISTRY[name].normalise(raw)
        values = dict(set_)
        if validate_only:
            return
        removals = list(delete)
        file = DEFAULTS_FILE if cluster_default else STATE_FILE

        async def change() -> None:
            current = self.cluster_defaults if cluster_default else self.overrides
            updated = {} if replace else dict(current)
            for name in removals:
                updated.pop(name, None)
            updated.update(values)
            if updated == current:
                return
            # Durable before it is answered: Kafka's dynamic configs survive a restart. A
            # write the disk refuses changes nothing.
            data = json.dumps(updated, sort_keys=True).encode()
            try:
                await asyncio.to_thread(self.logs.write_state, STATE_NAME, file, data)
            except OSError as exc:
                raise BrokerConfigRefused(
                    KAFKA_STORAGE_ERROR, f"could not write the broker configs: {exc}"
                ) from exc
            if cluster_default:
                self.cluster_defaults = updated
            else:
                self.overrides = updated
            self._apply()

        await self._turns.run(change)

    def _apply(self) -> None:
        self._topic_synonyms = None
        self.max_connections = int(self.effective("max.connections"))
        rate = float(self.effective("log.cleaner.io.max.bytes.per.second"))
        self.logs.cleaner_io_max_bytes_per_second = None if rate >= 1.7976931348623157e308 else rate
        cluster = {n: REGISTRY[n].normalise(v) for n, v in self.cluster_defaults.items()}
        mine = {n: REGISTRY[n].normalise(v) for n, v in self.overrides.items()}
        defaults, dynamic = topic_defaults(self.config, mine, cluster)
        if (defaults, dynamic) != (self.logs.topic_defaults, self.logs.dynamic_topic_defaults):
            self.logs.set_topic_defaults(defaults, dynamic)

    def _layers(self) -> list[Layer]:
        """Where a broker config may be set, strongest first, as Kafka lists synonyms."""
        return [
            (self.overrides, DYNAMIC_BROKER_CONFIG),
            (self.cluster_defaults, DYNAMIC_DEFAULT_BROKER_CONFIG),
            (self._static, STATIC_BROKER_CONFIG),
            (_KAFKA_DEFAULTS, DEFAULT_CONFIG),
        ]

    def topic_synonyms(self) -> tuple[tuple[str, tuple[Synonym, ...]], ...]:
        """Topic config -> the broker part of its synonyms, for every topic config with a
        broker default (one answer per change of the layers: topics ask per request)."""
        if self._topic_synonyms is None:
            layers = self._layers()
            self._topic_synonyms = tuple(
                (topic, tuple(topic_chain(topic, layers))) for topic in TOPIC_SYNONYMS
            )
        return self._topic_synonyms

    def default_rows(self, keys: frozenset[str] | None, synonyms: bool) -> list[Row]:
        """DescribeConfigs entries of the BROKER resource named "": only the cluster-wide
        defaults set, as given, with the synonyms from that layer (as Kafka answers)."""
        rows: list[Row] = []
        layers = self._layers()
        for name, raw in sorted(self.cluster_defaults.items()):
            if keys is not None and name not in keys:
                continue
            links = [s for s in chain(name, layers) if s[2] == DYNAMIC_DEFAULT_BROKER_CONFIG]
            kind = REGISTRY[name].kind
            source = links[0][2] if links else DEFAULT_CONFIG
            rows.append((name, raw, False, source, False, tuple(links) if synonyms else (), kind))
        return rows

    def rows(self, keys: frozenset[str] | None, synonyms: bool) -> list[Row]:
        """DescribeConfigs entries of the BROKER resource: each value is the name's own
        (its coarser synonyms decide only the topics' value), its source its chain's head."""
        rows: list[Row] = []
        layers = self._layers()
        dynamic = {*self.overrides, *self.cluster_defaults}
        for name, definition in REGISTRY.items():
            if not definition.described or (keys is not None and name not in keys):
                continue
            value = definition.static(self.config)
            if any(name in broker_synonyms(n) for n in dynamic if n != name):
                # Kafka drops a name's static value when a synonym of it is set at
                # runtime (log.retention.hours under a dynamic log.retention.ms).
                value = definition.kafka_default
            for layer in (self.overrides, self.cluster_defaults):
                if name in layer:
                    # The value as parsed; the synonym as given.
                    value = definition.normalise(layer[name])
                    break
            links = chain(name, layers)
            rows.append(
                (
                    name,
                    value,
                    not definition.dynamic,
                    links[0][2] if links else DEFAULT_CONFIG,
                    False,
                    tuple(links) if synonyms else (),
                    definition.kind,
                )
            )
        return rows


def _static_layer(config: BrokerConfig) -> dict[str, str]:
    """The broker configs the config file or a flag set, as Kafka's static layer holds
    them (a value Odradek's defaults give differently from Kafka's counts as set)."""
    given = dict(config.topic_defaults)
    layer: dict[str, str] = {}
    for name, definition in REGISTRY.items():
        if name in TOPIC_DEFAULTS:
            if name in given:
                layer[name] = given[name]
            continue
        value = definition.static(config)
        if value is not None and (value != definition.kafka_default or name in config.explicit):
            layer[name] = value
    return layer


_KAFKA_DEFAULTS = {
    **UNSET_DEFAULTS,
    **{n: d.kafka_default for n, d in REGISTRY.items() if d.kafka_default is not None},
}
