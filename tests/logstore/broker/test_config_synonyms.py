"""The synonym tables agree with the broker settings and topic configs they describe, and
the chain rule drops what comes before a config's own name (Kafka's `dropWhile`)."""

from __future__ import annotations

from logstore.broker.broker_settings import REGISTRY, TOPIC_DEFAULTS
from logstore.broker.config_synonyms import (
    TOPIC_SYNONYMS,
    UNSET_DEFAULTS,
    broker_synonyms,
    chain,
    topic_chain,
)
from logstore.storage.configs import CONFIG_DEFS


def test_every_broker_default_of_a_topic_config_is_in_its_chain() -> None:
    strongest: dict[str, str] = {}
    for name, (topic, _) in TOPIC_DEFAULTS.items():  # weakest first
        strongest[topic] = name
    for name, (topic, _) in TOPIC_DEFAULTS.items():
        assert TOPIC_SYNONYMS[topic] == strongest[topic], topic
        assert name in broker_synonyms(strongest[topic]), name


def test_the_tables_name_real_configs() -> None:
    assert set(TOPIC_SYNONYMS) <= set(CONFIG_DEFS)
    for broker_name in TOPIC_SYNONYMS.values():
        assert (broker_name in REGISTRY) != (broker_name in UNSET_DEFAULTS), broker_name
    assert not set(UNSET_DEFAULTS) & set(REGISTRY)


def test_a_chain_starts_at_the_configs_own_name() -> None:
    mine = ({"log.retention.hours": "3"}, 2)
    static = ({"log.retention.ms": "60000", "log.retention.hours": "2"}, 4)
    defaults = ({"log.retention.hours": "168"}, 5)
    assert chain("log.retention.ms", [mine, static, defaults]) == [
        ("log.retention.ms", "60000", 4),
        ("log.retention.hours", "2", 4),
        ("log.retention.hours", "168", 5),
    ]
    assert chain("log.retention.hours", [mine, static, defaults]) == [
        ("log.retention.hours", "3", 2),
        ("log.retention.ms", "60000", 4),
        ("log.retention.hours", "2", 4),
        ("log.retention.hours", "168", 5),
    ]
    # Only a coarser unit is set: nothing from the finest name on.
    assert topic_chain("retention.ms", [mine, defaults]) == []
    assert topic_chain("remote.storage.enable", [mine, static, defaults]) == []
    # The scheduler interval stands in for the flush interval, not the reverse.
    flusher = ({"log.flush.scheduler.interval.ms": "1000"}, 4)
    assert chain("log.flush.scheduler.interval.ms", [flusher]) == [
        ("log.flush.scheduler.interval.ms", "1000", 4)
    ]
    assert chain("log.flush.interval.ms", [flusher]) == []
