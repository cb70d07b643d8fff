"""The message browser, export, record download and produce pages, against both clusters."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from console.browse import Query
from console.kafka.config import bare
from console.message_pages import browse
from console.models import AuditEntry
from tests.clusters import (
    Cluster,
    cluster_or_three_nodes,  # noqa: F401 (this module's `cluster`)
)
from tests.console.messages_data import KNOWN, create_topic, known_topic

pytestmark = pytest.mark.django_db

_topics: dict[str, str] = {}


@pytest.fixture
def on_cluster(cluster: Cluster) -> Iterator[Cluster]:
    """The console's `local` cluster pointed at the test cluster."""
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP=cluster.bootstrap):
        yield cluster


@pytest.fixture
def topic(on_cluster: Cluster) -> str:
    if on_cluster.bootstrap not in _topics:
        _topics[on_cluster.bootstrap] = known_topic(on_cluster.bootstrap)
    return _topics[on_cluster.bootstrap]


@pytest.fixture
def admin(client: Client, admin_user: Any) -> Client:
    client.force_login(admin_user)
    return client


def url(topic: str, rest: str = "messages/") -> str:
    return f"/clusters/local/topics/{topic}/{rest}"


def test_browser_shows_known_records_decoded(admin: Client, topic: str) -> None:
    body = admin.get(url(topic), {"start": "oldest", "limit": "30"}).content.decode()
    assert "Showing 30 records" in body
    # One line per record: JSON pretty-printed in a block that opens on click, short text
    # as text, binary as hex, nulls named.
    assert '<details class="json">' in body
    assert '<details class="json" open>' not in body
    assert "&quot;customer&quot;: {" in body
    assert "plain text line 4" in body
    assert "00 01 fe ff" in body
    assert "null (no value" in body
    assert "tr-6" in body
    assert "CreateTime" in body
    assert 'title="2023-11-14 22:13:20.000 UTC (1700000000000 ms)"' in body


def test_decoder_override_and_htmx_fragment(admin: Client, topic: str) -> None:
    response = admin.get(
        url(topic),
        {"start": "offset", "at": "0", "p": "0", "limit": "1", "value_as": "hex"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert "<html" not in body  # a fragment for htmx
    assert KNOWN[0].value is not None
    assert KNOWN[0].value.hex(" ")[:30] in body
    forced = admin.get(
        url(topic), {"start": "offset", "at": "3", "p": "1", "limit": "1", "value_as": "json"}
    )
    assert "not JSON" in forced.content.decode()  # index 7 (binary) is at offset 3 of p1


def test_filters_and_paging_links(admin: Client, topic: str) -> None:
    body = admin.get(
        url(topic), {"start": "oldest", "jpath": "$.customer.vip", "jval": "true"}
    ).content.decode()
    assert "Showing 3 records" in body
    assert "customer-20" in body
    assert "customer-12" not in body
    first = admin.get(url(topic), {"start": "oldest", "limit": "25"}).content.decode()
    assert 'rel="next"' in first
    newer = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    rest = admin.get(url(topic) + newer).content.decode()
    assert "Showing 5 records" in rest
    assert "customer-28" in rest


def test_bad_input_is_a_sentence(admin: Client, topic: str) -> None:
    for params, text in (
        ({"start": "offset", "at": "ten"}, "whole number"),
        ({"start": "ago", "at": "soon"}, "duration"),
        ({"p": "x"}, "partitions are whole numbers"),
        ({"p": "9"}, "no partition 9"),
        ({"jpath": "$..["}, "JSON path"),
        ({"limit": "100000"}, "between 1 and 500"),
    ):
        response = admin.get(url(topic), params)
        assert response.status_code == 200
        assert text in response.content.decode(), params
    assert admin.get(url(f"{topic}-nope")).status_code == 200
    assert "does not exist" in admin.get(url(f"{topic}-nope")).content.decode()
    assert admin.get(f"/clusters/nowhere/topics/{topic}/messages/").status_code == 404


def test_export_json_lines_and_csv(admin: Client, topic: str) -> None:
    params = {"start": "oldest", "q": "plain text"}
    lines = b"".join(admin.get(url(topic, "messages/export.jsonl"), params).streaming_content)
    rows = [json.loads(line) for line in lines.decode().splitlines()]
    assert [r["value"] for r in rows] == [f"plain text line {i}" for i in (4, 9, 14, 19, 24, 29)]
    assert rows[0] == {
        "partition": 0,
        "offset": 2,
        "timestamp": KNOWN[4].timestamp,
        "timestamp_type": "CreateTime",
        "key": "key-4",
        "key_format": "text",
        "value": "plain text line 4",
        "value_format": "text",
        "headers": {},
        "size": len(b"key-4") + len(b"plain text line 4"),
    }
    response = admin.get(url(topic, "messages/export.csv"), {"start": "oldest", "limit": "2"})
    assert response["Content-Disposition"].endswith('.csv"')
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["offset"] for r in table] == ["0", "0"]
    assert json.loads(table[0]["value"]) == json.loads(KNOWN[0].value or b"")
    assert json.loads(table[0]["headers"]) == {"trace": "tr-0"}
    assert admin.get(url(topic, "messages/export.xml")).status_code == 404


def test_raw_download_and_show_all(admin: Client, on_cluster: Cluster) -> None:
    topic = create_topic(on_cluster.bootstrap, partitions=1, prefix="big")
    from console.kafka.records import produce

    big = json.dumps({"blob": "x" * 5000}).encode()
    produce(bare(on_cluster.bootstrap), topic, big, key=b"k")
    raw = admin.get(url(topic, "messages/0/0/raw"))
    assert raw.content == big
    assert raw["Content-Type"] == "application/octet-stream"
    page = admin.get(url(topic), {"start": "oldest"}).content.decode()
    assert "show all" in page
    assert "x" * 5000 not in page
    full = admin.get(url(topic, "messages/0/0/value")).content.decode()
    assert "x" * 5000 in full
    missing = admin.get(url(topic, "messages/0/9/raw"))
    assert missing.status_code == 404
    assert b"no record at offset 9" in missing.content


def test_produce_round_trip_is_audited(admin: Client, on_cluster: Cluster) -> None:
    topic = create_topic(on_cluster.bootstrap, partitions=2, prefix="ui-produce")
    response = admin.post(
        url(topic, "produce/"),
        {
            "partition": "1",
            "key": "order-1",
            "headers": "source: console\ntrace=abc",
            "value": '{"total": 12.5}',
            "value_format": "json",
        },
    )
    assert response.status_code == 200
    assert (
        "Written to partition <strong>1</strong> at offset <strong>0</strong>"
        in response.content.decode()
    )
    page = browse(bare(on_cluster.bootstrap), Query(topic, start="oldest"))
    (record,) = page.records
    assert (record.partition, record.key, record.value) == (1, b"order-1", b'{"total":12.5}')
    assert record.headers == (("source", b"console"), ("trace", b"abc"))
    entry = AuditEntry.objects.get(action="message.produce", target=topic)
    assert entry.username == "admin"
    assert entry.after["offset"] == 0
    assert entry.after["partition"] == 1
    # A second record goes by key (no partition given) and shows its offset too.
    again = admin.post(
        url(topic, "produce/"), {"key": "order-1", "value": "hello", "value_format": "text"}
    )
    assert "Written to partition" in again.content.decode()


def test_produce_rejects_bad_input_readably(admin: Client, on_cluster: Cluster) -> None:
    topic = create_topic(on_cluster.bootstrap, partitions=1, prefix="ui-bad")
    bad = admin.post(url(topic, "produce/"), {"value": "{oops", "value_format": "json"})
    assert bad.status_code == 400
    assert "not valid JSON" in bad.content.decode()
    headers = admin.post(url(topic, "produce/"), {"value": "x", "headers": "no separator"})
    assert "header line 1" in headers.content.decode()
    partition = admin.post(url(topic, "produce/"), {"value": "x", "partition": "-2"})
    assert "whole number" in partition.content.decode()
    assert AuditEntry.objects.filter(action="message.produce").count() == 0


def test_produce_needs_permission(client: Client, viewer_user: Any, on_cluster: Cluster) -> None:
    topic = create_topic(on_cluster.bootstrap, partitions=1, prefix="ui-perm")
    client.force_login(viewer_user)
    form = client.get(url(topic, "produce/"))
    assert "not write to it" in form.content.decode()
    denied = client.post(url(topic, "produce/"), {"value": "x"})
    assert denied.status_code == 403
    page = browse(bare(on_cluster.bootstrap), Query(topic, start="oldest"))
    assert page.records == []
    assert not AuditEntry.objects.exists()


def test_pages_need_login(client: Client) -> None:
    response = client.get("/clusters/local/topics/t/messages/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
