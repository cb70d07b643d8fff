"""Kafka's synonym chains for DescribeConfigs: which broker config names stand for one
value, which broker name is a topic config's default, and the ordered (name, value,
source) list Kafka reports beside a config.

Kafka's rule (`ConfigHelper.configSynonyms`): for a config whose broker synonyms are
N1..Nk (finest unit first: `log.retention.ms`, `.minutes`, `.hours`), list each Ni this
broker set at runtime, then each Ni set cluster-wide at runtime, then each Ni in the
config file, then each Ni that has a Kafka default; then drop the leading entries until
the config's own name. A topic config's chain is that of its broker name
(`retention.ms` lists `log.retention.ms`, ... `log.retention.hours`), after the topic's
own value when the topic sets one. The head's source is the config's source, and an
empty chain means DEFAULT_CONFIG: a topic whose retention comes only from a static
`log.retention.hours` is reported as DEFAULT_CONFIG with the file's value, as Kafka
reports it.

Owns these tables and the pure rule. It must never read configs or broker state: callers
pass the layers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# (name, value, source code)
Synonym = tuple[str, str | None, int]
Layer = tuple[Mapping[str, str], int]

# Kafka's DynamicBrokerConfig.brokerConfigSynonyms: the broker names that set one value,
# finest unit first. A name not here is its own only synonym.
_GROUPS = (
    ("log.roll.ms", "log.roll.hours"),
    ("log.roll.jitter.ms", "log.roll.jitter.hours"),
    ("log.retention.ms", "log.retention.minutes", "log.retention.hours"),
)
_BROKER_SYNONYMS = {name: group for group in _GROUPS for name in group}
# The flush interval falls back on the flusher's period; not the other way round.
_BROKER_SYNONYMS["log.flush.interval.ms"] = (
    "log.flush.interval.ms",
    "log.flush.scheduler.interval.ms",
)

# Kafka's ServerTopicConfigSynonyms.TOPIC_CONFIG_SYNONYMS (as Kafka 4.4 describes them):
# topic config -> the broker config that is its default. Topic configs missing here have
# no broker default and list no synonym.
TOPIC_SYNONYMS = {
    "segment.bytes": "log.segment.bytes",
    "segment.ms": "log.roll.ms",
    "segment.jitter.ms": "log.roll.jitter.ms",
    "segment.index.bytes": "log.index.size.max.bytes",
    "flush.messages": "log.flush.interval.messages",
    "flush.ms": "log.flush.interval.ms",
    "retention.bytes": "log.retention.bytes",
    "retention.ms": "log.retention.ms",
    "max.message.bytes": "message.max.bytes",
    "max.decompressed.message.bytes": "max.decompressed.message.bytes",
    "index.interval.bytes": "log.index.interval.bytes",
    "delete.retention.ms": "log.cleaner.delete.retention.ms",
    "min.compaction.lag.ms": "log.cleaner.min.compaction.lag.ms",
    "max.compaction.lag.ms": "log.cleaner.max.compaction.lag.ms",
    "file.delete.delay.ms": "log.segment.delete.delay.ms",
    "min.cleanable.dirty.ratio": "log.cleaner.min.cleanable.ratio",
    "cleanup.policy": "log.cleanup.policy",
    "unclean.leader.election.enable": "unclean.leader.election.enable",
    "min.insync.replicas": "min.insync.replicas",
    "compression.type": "compression.type",
    "compression.gzip.level": "compression.gzip.level",
    "compression.lz4.level": "compression.lz4.level",
    "compression.zstd.level": "compression.zstd.level",
    "preallocate": "log.preallocate",
    "message.timestamp.type": "log.message.timestamp.type",
    "message.timestamp.before.max.ms": "log.message.timestamp.before.max.ms",
    "message.timestamp.after.max.ms": "log.message.timestamp.after.max.ms",
    "local.retention.ms": "log.local.retention.ms",
    "local.retention.bytes": "log.local.retention.bytes",
    "remote.copy.lag.ms": "log.remote.copy.lag.ms",
    "remote.copy.lag.bytes": "log.remote.copy.lag.bytes",
}

# Kafka's defaults of the broker names above that Odradek has no broker setting for (it
# has no replicas or tiered storage, and takes these from the topic alone): they end the
# topic's chain.
UNSET_DEFAULTS = {
    "unclean.leader.election.enable": "false",
    "min.insync.replicas": "1",
    "max.decompressed.message.bytes": "2147483639",
    "compression.gzip.level": "-1",
    "compression.lz4.level": "9",
    "compression.zstd.level": "3",
    "log.preallocate": "false",
    "log.local.retention.ms": "-2",
    "log.local.retention.bytes": "-2",
    "log.remote.copy.lag.ms": "0",
    "log.remote.copy.lag.bytes": "-1",
}


def broker_synonyms(name: str) -> tuple[str, ...]:
    """The broker names that set `name`'s value, finest first (`name` among them)."""
    return _BROKER_SYNONYMS.get(name, (name,))


def chain(name: str, layers: Sequence[Layer]) -> list[Synonym]:
    """Kafka's synonyms of broker config `name` over `layers` (strongest first, each a
    mapping of the names set there and its source code)."""
    names = broker_synonyms(name)
    links: list[Synonym] = [
        (n, values[n], source) for values, source in layers for n in names if n in values
    ]
    for i, (linked, _, _) in enumerate(links):
        if linked == name:
            return links[i:]
    return []


def topic_chain(topic_config: str, layers: Sequence[Layer]) -> list[Synonym]:
    """The broker part of a topic config's synonyms (the topic's own value goes first)."""
    name = TOPIC_SYNONYMS.get(topic_config)
    return chain(name, layers) if name is not None else []
