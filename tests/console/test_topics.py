"""Topic pages and actions against both real clusters (bundled Odradek and Apache Kafka).

Each test points the console's `local` cluster at the `cluster` fixture and drives the
views through Django's test client; the effects are checked on the cluster itself.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from console.clusters import local_cluster
from console.kafka import admin
from console.models import AuditEntry
from tests.clusters import cluster_or_three_nodes  # noqa: F401 (this module's `cluster`)
from tests.console.topics_helpers import console_on, make_topic, produce, unique

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_cluster(cluster: Any) -> Any:
    with console_on(cluster.bootstrap):
        yield cluster


def _configs(topic: str) -> dict[str, admin.ConfigItem]:
    return {c.name: c for c in admin.describe_topic_configs(local_cluster(), topic)}


def test_list_shows_partitions_messages_and_size(
    client: Client, admin_user: Any, on_cluster: Any
) -> None:
    name = unique("list-")
    make_topic(on_cluster.bootstrap, name, partitions=3)
    produce(on_cluster.bootstrap, name, 7, partition=1)
    client.force_login(admin_user)
    response = client.get(f"/clusters/local/topics/?q={name}")
    assert response.status_code == 200
    row = next(r for r in response.context["rows"] if r["topic"].name == name)
    topic = row["topic"]
    assert len(topic.partitions) == 3
    assert topic.messages == 7
    assert topic.size
    assert topic.size > 700
    assert topic.newest_ts is not None
    assert topic.cleanup_policy == "delete"
    # Humanised with the exact value on hover.
    assert f'title="{topic.size:,} bytes"'.encode() in response.content


def test_list_filters_sorts_pages_and_hides_internal(
    client: Client, admin_user: Any, on_cluster: Any
) -> None:
    stem = unique("sort-")
    for i, partitions in enumerate((2, 1, 3)):
        make_topic(on_cluster.bootstrap, f"{stem}-{i}", partitions=partitions)
    client.force_login(admin_user)
    response = client.get(f"/clusters/local/topics/?q={stem}&sort=-partitions")
    names = [r["topic"].name for r in response.context["rows"]]
    assert names == [f"{stem}-2", f"{stem}-0", f"{stem}-1"]
    everything = client.get("/clusters/local/topics/?internal=1")
    visible = client.get("/clusters/local/topics/")
    assert all(not r["topic"].internal for r in visible.context["rows"])
    assert visible.context["page"].paginator.count <= everything.context["page"].paginator.count


def test_list_htmx_returns_table_fragment(client: Client, admin_user: Any, on_cluster: Any) -> None:
    client.force_login(admin_user)
    response = client.get("/clusters/local/topics/?q=zz-none", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b"No topics" in response.content


def test_detail_shows_offsets_timestamps_and_configs(
    client: Client, admin_user: Any, on_cluster: Any
) -> None:
    name = unique("detail-")
    make_topic(on_cluster.bootstrap, name, partitions=2, **{"retention.ms": str(3 * 86_400_000)})
    # A day old: inside the retention, so no cleaner removes it during the test.
    day_ago = (int(time.time()) - 86_400) * 1000
    produce(on_cluster.bootstrap, name, 5, partition=0, ts=day_ago)
    client.force_login(admin_user)
    response = client.get(f"/clusters/local/topics/{name}/")
    assert response.status_code == 200
    info = response.context["info"]
    p0, p1 = info.partitions
    assert (p0.start, p0.end, p1.start, p1.end) == (0, 5, 0, 0)
    assert p0.oldest_ts == day_ago
    assert p1.oldest_ts is None
    configs = {c.name: c for c in response.context["configs"]}
    assert configs["retention.ms"].value == str(3 * 86_400_000)
    assert configs["retention.ms"].source == "override"
    assert configs["cleanup.policy"].source != "override"
    minute = datetime.fromtimestamp(day_ago / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")
    assert f">{minute}</time>".encode() in response.content


def test_topic_named_like_a_page_opens(client: Client, admin_user: Any, on_cluster: Any) -> None:
    # "new" is a legal topic name; the create form must not shadow it.
    if "new" not in admin.metadata(local_cluster()).topics:
        make_topic(on_cluster.bootstrap, "new")
    client.force_login(admin_user)
    response = client.get("/clusters/local/topics/new/")
    assert response.status_code == 200
    assert response.context["info"].name == "new"


def test_unknown_topic_and_cluster_are_404(
    client: Client, admin_user: Any, on_cluster: Any
) -> None:
    client.force_login(admin_user)
    assert client.get(f"/clusters/local/topics/{unique('missing-')}/").status_code == 404
    assert client.get("/clusters/nowhere/topics/").status_code == 404


def test_admin_creates_topic_and_it_is_audited(
    client: Client, admin_user: Any, on_cluster: Any
) -> None:
    name = unique("create-")
    client.force_login(admin_user)
    response = client.post(
        "/clusters/local/new-topic/",
        {"name": name, "partitions": 4, "retention": "2 days", "cleanup_policy": "delete"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/clusters/local/topics/{name}/"
    assert len(admin.partition_details(local_cluster(), name).partitions) == 4
    assert _configs(name)["retention.ms"].value == str(2 * 86_400_000)
    entry = AuditEntry.objects.get(action="topic.create", target=name)
    assert entry.username == "admin"
    assert entry.after["partitions"] == 4


def test_create_rejects_bad_names_readably(
    client: Client, admin_user: Any, on_cluster: Any
) -> None:
    client.force_login(admin_user)
    response = client.post(
        "/clusters/local/new-topic/",
        {"name": "bad name!", "partitions": 1, "cleanup_policy": "delete"},
    )
    assert response.status_code == 400
    assert b"Only letters, digits" in response.content
    response = client.post(
        "/clusters/local/new-topic/",
        {"name": "a" * 250, "partitions": 1, "cleanup_policy": "delete"},
    )
    assert b"at most 249 characters" in response.content


def test_create_existing_topic_says_so(client: Client, admin_user: Any, on_cluster: Any) -> None:
    name = unique("dup-")
    make_topic(on_cluster.bootstrap, name)
    client.force_login(admin_user)
    response = client.post(
        "/clusters/local/new-topic/",
        {"name": name, "partitions": 1, "cleanup_policy": "delete"},
        follow=True,
    )
    assert b"already exists" in response.content


def test_name_check_as_you_type(client: Client, admin_user: Any, on_cluster: Any) -> None:
    existing = unique("metrics.")
    make_topic(on_cluster.bootstrap, existing)
    client.force_login(admin_user)
    url = "/clusters/local/new-topic/check-name/"
    assert b"is a valid topic name" in client.get(url, {"name": "orders-v1"}).content
    assert b"remove" in client.get(url, {"name": "orders/v1"}).content
    clash = client.get(url, {"name": existing.replace(".", "_")})
    assert b"collide" in clash.content
    assert b"already exists" in client.get(url, {"name": existing}).content


def test_inline_config_edit_sets_and_resets(
    client: Client, admin_user: Any, on_cluster: Any
) -> None:
    name = unique("cfg-")
    make_topic(on_cluster.bootstrap, name)
    client.force_login(admin_user)
    url = f"/clusters/local/topics/{name}/configs/retention.ms/"
    editor = client.get(url, HTTP_HX_REQUEST="true")
    assert b'name="value"' in editor.content
    response = client.post(url, {"value": "86400000"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"override" in response.content
    assert _configs(name)["retention.ms"].value == "86400000"
    entry = AuditEntry.objects.get(action="topic.config", target=name)
    assert entry.before["retention.ms"] == "604800000"
    assert entry.after["retention.ms"] == "86400000"
    client.post(url, {"value": ""}, HTTP_HX_REQUEST="true")
    assert _configs(name)["retention.ms"].source != "override"


def test_configs_read_and_edit_in_words(client: Client, admin_user: Any, on_cluster: Any) -> None:
    name = unique("cfg-words-")
    make_topic(on_cluster.bootstrap, name)
    client.force_login(admin_user)
    page = client.get(f"/clusters/local/topics/{name}/").content.decode()
    assert '<span title="604800000">7 days</span>' in page  # retention.ms, the default
    url = f"/clusters/local/topics/{name}/configs/retention.ms/"
    assert b'value="7 days"' in client.get(url, HTTP_HX_REQUEST="true").content
    response = client.post(url, {"value": "2 days"}, HTTP_HX_REQUEST="true")
    assert '<span title="172800000">2 days</span>' in response.content.decode()
    assert _configs(name)["retention.ms"].value == "172800000"
    bad = client.post(url, {"value": "2 fortnights"}, HTTP_HX_REQUEST="true")
    assert b"Unknown time unit" in bad.content
    assert _configs(name)["retention.ms"].value == "172800000"


def test_invalid_config_value_is_a_readable_error(
    client: Client, admin_user: Any, on_cluster: Any
) -> None:
    name = unique("badcfg-")
    make_topic(on_cluster.bootstrap, name)
    client.force_login(admin_user)
    response = client.post(
        f"/clusters/local/topics/{name}/configs/cleanup.policy/",
        {"value": "shred"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200  # htmx swaps only 2xx: the editor shows the reason
    assert b"Could not change the configs" in response.content
    assert b'name="value"' in response.content
    assert b"Traceback" not in response.content
    assert _configs(name)["cleanup.policy"].value == "delete"
    assert not AuditEntry.objects.filter(target=name).exists()


def test_delete_needs_the_typed_name(client: Client, admin_user: Any, on_cluster: Any) -> None:
    name = unique("del-")
    make_topic(on_cluster.bootstrap, name)
    client.force_login(admin_user)
    url = f"/clusters/local/topics/{name}/delete/"
    response = client.post(url, {"confirm": "nope"}, follow=True)
    assert b"exactly to confirm" in response.content
    assert name in admin.metadata(local_cluster()).topics
    response = client.post(url, {"confirm": name})
    assert response["Location"] == "/clusters/local/topics/"
    assert name not in admin.metadata(local_cluster()).topics
    assert AuditEntry.objects.filter(action="topic.delete", target=name).exists()


def test_add_partitions(client: Client, admin_user: Any, on_cluster: Any) -> None:
    name = unique("grow-")
    make_topic(on_cluster.bootstrap, name, partitions=1)
    client.force_login(admin_user)
    url = f"/clusters/local/topics/{name}/partitions/"
    response = client.post(url, {"total": "1"}, follow=True)
    assert b"must be larger" in response.content
    client.post(url, {"total": "3"})
    assert len(admin.partition_details(local_cluster(), name).partitions) == 3
    entry = AuditEntry.objects.get(action="topic.partitions", target=name)
    assert (entry.before, entry.after) == ({"partitions": 1}, {"partitions": 3})


def test_delete_records_moves_start_offset(
    client: Client, admin_user: Any, on_cluster: Any
) -> None:
    name = unique("trim-")
    make_topic(on_cluster.bootstrap, name)
    produce(on_cluster.bootstrap, name, 10)
    client.force_login(admin_user)
    url = f"/clusters/local/topics/{name}/delete-records/"
    response = client.post(url, {"partition": "0", "offset": "11"}, follow=True)
    assert b"holds offsets 0 to 10" in response.content
    client.post(url, {"partition": "0", "offset": "4"})
    part = admin.partition_details(local_cluster(), name).partitions[0]
    assert (part.start, part.end) == (4, 10)
    entry = AuditEntry.objects.get(action="topic.delete_records")
    assert entry.target == f"{name}[0]"
    assert entry.before == {"start": 0, "end": 10}
    assert entry.after == {"start": 4}
