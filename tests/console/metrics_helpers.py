"""Helpers for the `/metrics` tests: a group with known lag on a real cluster, and a
scrape parsed with prometheus_client's own parser."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from console.kafka.snapshot import invalidate_all
from tests.console import groups_helpers as h

MINUTE = 60_000
Series = dict[str, list[tuple[dict[str, str], float]]]


@dataclass(frozen=True)
class Lagging:
    """`group` committed 3 of 10 records on partition 0 and 4 of 4 on partition 1."""

    topic: str
    group: str
    produced: dict[int, int]
    committed: dict[int, int]


def lagging_group(bootstrap: str) -> Lagging:
    topic = h.make_topic(bootstrap, partitions=2)
    now = int(time.time() * 1000)
    produced, committed = {0: 10, 1: 4}, {0: 3, 1: 4}
    for p, n in produced.items():
        # Minutes old, so the lag in time is at least the age of record 3.
        h.produce(bootstrap, topic, p, [now - (20 - i) * MINUTE for i in range(n)])
    group = h.unique("grp-metrics")
    h.consume_to(bootstrap, group, topic, committed)
    return Lagging(topic, group, produced, committed)


def parse(text: str) -> Series:
    series: Series = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            series.setdefault(sample.name, []).append((sample.labels, sample.value))
    return series


def scrape(client: Client | None = None, **headers: str) -> Series:
    """The console's `/metrics`, read fresh (no topic snapshot cached by earlier tests)."""
    invalidate_all()
    reply = (client or Client(REMOTE_ADDR="127.0.0.1")).get("/metrics", **headers)
    assert reply.status_code == 200, reply.content
    assert reply["Content-Type"].startswith("text/plain;")
    return parse(reply.content.decode())


def value(series: Series, name: str, **labels: str) -> float:
    matches = [
        v
        for have, v in series.get(name, [])
        if all(have.get(k) == want for k, want in labels.items())
    ]
    assert len(matches) == 1, (name, labels, series.get(name))
    return matches[0]
