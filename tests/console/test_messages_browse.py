"""`console.message_pages.browse` and `console.kafka.records.produce` against real clusters, checked against known data."""

from __future__ import annotations

import itertools
import json

import pytest

from console.browse import Query, RecordFilter
from console.inputs import InputError
from console.kafka.config import ClusterConfig, bare
from console.kafka.errors import ClusterError
from console.kafka.records import produce
from console.message_pages import browse
from tests.clusters import (
    Cluster,
    cluster_or_three_nodes,  # noqa: F401 (this module's `cluster`)
)
from tests.console.messages_data import BASE_TS, KNOWN, create_topic, in_partition, known_topic

_topics: dict[str, str] = {}


@pytest.fixture
def known(cluster: Cluster) -> tuple[ClusterConfig, str]:
    """(client config, topic filled with KNOWN), one topic per cluster for this module."""
    if cluster.bootstrap not in _topics:
        _topics[cluster.bootstrap] = known_topic(cluster.bootstrap)
    return bare(cluster.bootstrap, timeout_s=5.0), _topics[cluster.bootstrap]


def values(page_records: list) -> list[bytes | None]:  # type: ignore[type-arg]
    return [r.value for r in page_records]


def test_oldest_reads_everything_in_time_order(known: tuple[dict[str, str], str]) -> None:
    conf, topic = known
    page = browse(conf, Query(topic, start="oldest", limit=100))
    assert values(page.records) == [k.value for k in KNOWN]
    assert [r.timestamp for r in page.records] == [k.timestamp for k in KNOWN]
    assert {r.timestamp_type for r in page.records} == {"CreateTime"}
    assert page.stopped == ""
    assert not page.has_newer
    assert not page.has_older
    first = page.records[0]
    assert (first.partition, first.offset, first.key) == (0, 0, b"key-0")
    assert first.headers == (("trace", b"tr-0"),)
    assert page.records[3].key is None


def test_newest_shows_the_last_records_and_pages_backward(
    known: tuple[dict[str, str], str],
) -> None:
    conf, topic = known
    page = browse(conf, Query(topic, start="newest", limit=8))
    assert values(page.records) == [k.value for k in KNOWN[-8:]]
    assert page.has_older
    assert not page.has_newer
    seen = list(page.records)
    while page.has_older:
        page = browse(conf, Query(topic, limit=8, cursor=page.prev_cursor, backward=True))
        seen = page.records + seen
    assert values(seen) == [k.value for k in KNOWN]


def test_forward_paging_covers_every_record_once(known: tuple[dict[str, str], str]) -> None:
    conf, topic = known
    page = browse(conf, Query(topic, start="oldest", limit=7))
    seen = list(page.records)
    while page.has_newer:
        page = browse(conf, Query(topic, limit=7, cursor=page.next_cursor))
        seen += page.records
    assert values(seen) == [k.value for k in KNOWN]
    # And back again from the end, one page.
    back = browse(conf, Query(topic, limit=7, cursor=page.prev_cursor, backward=True))
    assert values(back.records) == [
        k.value for k in KNOWN[-7 - len(page.records) : -len(page.records)]
    ]


def test_offset_start_in_one_partition(known: tuple[dict[str, str], str]) -> None:
    conf, topic = known
    page = browse(conf, Query(topic, partitions=(1,), start="offset", start_value="5", limit=3))
    expected = in_partition(1)[5:8]
    assert values(page.records) == [k.value for k in expected]
    assert [r.offset for r in page.records] == [5, 6, 7]
    assert {r.partition for r in page.records} == {1}


def test_timestamp_and_ago_starts(known: tuple[dict[str, str], str]) -> None:
    conf, topic = known
    page = browse(conf, Query(topic, start="timestamp", start_value=str(BASE_TS + 20_000), limit=3))
    assert values(page.records) == [k.value for k in KNOWN[20:23]]
    iso = browse(conf, Query(topic, start="timestamp", start_value="2023-11-14T22:13:45Z", limit=2))
    assert values(iso.records) == [k.value for k in KNOWN[25:27]]
    # "5 s ago" measured from a clock standing at the last record's timestamp.
    ago = browse(
        conf,
        Query(topic, start="ago", start_value="5s", limit=100),
        now_ms=lambda: BASE_TS + 29_000,
    )
    assert values(ago.records) == [k.value for k in KNOWN[24:]]


def test_text_filters(known: tuple[dict[str, str], str]) -> None:
    conf, topic = known
    by_value = browse(conf, Query(topic, start="oldest", filter=RecordFilter(text="PLAIN TEXT")))
    assert [r.value for r in by_value.records] == [
        k.value for k in KNOWN if k.value and b"plain text" in k.value
    ]
    by_key = browse(
        conf, Query(topic, start="oldest", filter=RecordFilter(text="key-1", text_in="key"))
    )
    assert [r.key for r in by_key.records] == [k.key for k in KNOWN if k.key and b"key-1" in k.key]
    by_header = browse(
        conf, Query(topic, start="oldest", filter=RecordFilter(text="tr-12", text_in="headers"))
    )
    assert [r.key for r in by_header.records] == [b"key-12"]
    # A header search never looks at values, which also contain "12".
    assert (
        browse(
            conf,
            Query(
                topic, start="oldest", filter=RecordFilter(text="customer-12", text_in="headers")
            ),
        ).records
        == []
    )


def test_json_path_filters(known: tuple[dict[str, str], str]) -> None:
    conf, topic = known
    vip = browse(
        conf,
        Query(
            topic,
            start="oldest",
            filter=RecordFilter(json_path="$.customer.vip", json_value="true"),
        ),
    )
    assert [json.loads(r.value)["id"] for r in vip.records] == [0, 10, 20]
    tag = browse(
        conf,
        Query(
            topic,
            start="oldest",
            filter=RecordFilter(json_path="tags[0]", json_op="eq", json_value="t2", text="odd"),
        ),
    )
    assert [json.loads(r.value)["id"] for r in tag.records] == [5, 17, 23]
    contains = browse(
        conf,
        Query(
            topic,
            start="newest",
            limit=2,
            filter=RecordFilter(json_path="$.customer.name", json_op="contains", json_value="-2"),
        ),
    )
    assert [json.loads(r.value)["id"] for r in contains.records] == [27, 28]


def test_filtered_backward_paging_finds_sparse_matches(known: tuple[dict[str, str], str]) -> None:
    conf, topic = known
    flt = RecordFilter(json_path="id", json_value="2")
    page = browse(conf, Query(topic, start="newest", limit=5, filter=flt))
    assert [json.loads(r.value)["id"] for r in page.records] == [2]
    assert not page.has_older


def test_byte_budget_stops_and_says_so(known: tuple[dict[str, str], str]) -> None:
    conf, topic = known
    page = browse(
        conf,
        Query(topic, start="oldest", filter=RecordFilter(text="no such text"), byte_budget=200),
    )
    assert page.records == []
    assert page.stopped == "bytes"
    assert 0 < page.scanned < len(KNOWN)
    # Paging on continues where the budget stopped, not from the start.
    assert sum(page.next_cursor.values()) >= 1


def test_time_budget_stops_and_says_so(known: tuple[dict[str, str], str]) -> None:
    conf, topic = known
    ticks = itertools.count()
    # Each clock reading is one second later; the 3 s budget runs out after a few reads.
    page = browse(
        conf,
        Query(topic, start="oldest", filter=RecordFilter(text="nothing"), time_budget=3),
        clock=lambda: float(next(ticks)),
    )
    assert page.stopped == "time"
    assert page.records == []


def test_readable_errors(known: tuple[dict[str, str], str]) -> None:
    conf, topic = known
    with pytest.raises(ClusterError, match="does not exist"):
        browse(conf, Query(f"{topic}-missing"))
    with pytest.raises(ClusterError, match="no partition 7"):
        browse(conf, Query(topic, partitions=(7,)))
    with pytest.raises(InputError, match="whole number"):
        browse(conf, Query(topic, start="offset", start_value="ten"))
    with pytest.raises(InputError, match="duration"):
        browse(conf, Query(topic, start="ago", start_value="yesterday"))
    with pytest.raises(InputError, match="cannot read the time"):
        browse(conf, Query(topic, start="timestamp", start_value="noon"))


def test_unreachable_cluster_is_an_error_not_a_hang() -> None:
    with pytest.raises(ClusterError, match="did not answer"):
        browse(bare("127.0.0.1:1", timeout_s=1), Query("anything"))


def test_produce_round_trip(cluster: Cluster) -> None:
    conf = bare(cluster.bootstrap, timeout_s=5.0)
    topic = create_topic(cluster.bootstrap, partitions=3, prefix="produce")
    first = produce(conf, topic, b'{"a":1}', key=b"k", headers=[("h", b"v")], partition=2)
    second = produce(conf, topic, b"second", partition=2)
    assert (first.partition, first.offset) == (2, 0)
    assert (second.partition, second.offset) == (2, 1)
    page = browse(conf, Query(topic, partitions=(2,), start="oldest"))
    assert [(r.key, r.value, r.headers) for r in page.records] == [
        (b"k", b'{"a":1}', (("h", b"v"),)),
        (None, b"second", ()),
    ]
    assert page.records[0].timestamp == first.timestamp
    with pytest.raises(ClusterError):
        produce(conf, topic, b"x", partition=9, timeout=3)
