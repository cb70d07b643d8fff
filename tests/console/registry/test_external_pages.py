"""A cluster set to an existing registry shows, checks, registers and produces with that
registry's subjects (here: our registry reached over HTTP as any external one would be),
and says so plainly when that registry does not answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from confluent_kafka import Consumer
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from django.test import Client

from console.registry import decoding, store, wire
from console.registry.models import RegistrySource
from tests.console.groups_helpers import unique
from tests.console.registry.conftest import avro_record
from tests.console.registry.test_serializers import USER, registry
from tests.console.topics_helpers import console_on, make_topic

pytestmark = pytest.mark.django_db(transaction=True)

V1 = avro_record("R", {"name": "a", "type": "string"})
V2 = avro_record("R", {"name": "a", "type": "string"}, {"name": "b", "type": "int", "default": 0})
V3 = avro_record(
    "R",
    {"name": "a", "type": "string"},
    {"name": "b", "type": "int", "default": 0},
    {"name": "c", "type": "string", "default": ""},
)
BAD = avro_record("R", {"name": "a", "type": "int"})


def point_at(url: str, password: str = "admin-pass-123") -> None:
    decoding.forget()
    RegistrySource.objects.update_or_create(
        cluster="local", defaults={"url": url, "username": "admin", "password": password}
    )


@pytest.fixture
def logged_in(client: Client, admin_user: Any) -> Client:
    client.force_login(admin_user)
    return client


def test_pages_read_check_and_register_through_the_external_registry(
    live_server: Any, logged_in: Client
) -> None:
    for text in (V1, V2):
        store.register("ext-value", store.Candidate("AVRO", text, []))
    store.configure("ext-value", compatibility="FULL")
    url = f"{live_server.url}/schema-registry"
    point_at(url)
    subject_url = "/clusters/local/schemas/ext-value/"
    with console_on("127.0.0.1:1"):
        listing = logged_in.get("/clusters/local/schemas/").content.decode()
        assert f"Subjects of the registry at <code>{url}</code>" in listing
        assert 'href="/clusters/local/schemas/ext-value/"' in listing
        assert "<td>FULL</td>" in listing
        assert "does not answer" not in listing

        detail = logged_in.get(f"{subject_url}?v=2&diff=1").content.decode()
        assert f"In the registry at <code>{url}</code>" in detail
        assert "<strong>FULL</strong>" in detail
        assert '<span class="add">+' in detail
        assert "<strong>v2</strong>" in detail

        checked = logged_in.post(
            subject_url, {"schema_type": "AVRO", "schema": BAD}, HTTP_HX_REQUEST="true"
        ).content.decode()
        assert "Incompatible at FULL" in checked
        refused = logged_in.post(
            subject_url, {"schema_type": "AVRO", "schema": BAD, "action": "register"}
        )
        assert "Incompatible" in refused.content.decode()
        invalid = logged_in.post(
            subject_url, {"schema_type": "AVRO", "schema": "{", "action": "register"}
        )
        assert "Not a valid schema" in invalid.content.decode()
        assert [r.version for r in store.versions("ext-value")] == [1, 2]

        checked = logged_in.post(
            subject_url, {"schema_type": "AVRO", "schema": V3}, HTTP_HX_REQUEST="true"
        ).content.decode()
        assert "Compatible at FULL" in checked
        saved = logged_in.post(
            subject_url, {"schema_type": "AVRO", "schema": V3, "action": "register"}
        )
        assert saved.status_code == 302
        assert saved["Location"].endswith("?v=3")
        first = logged_in.post(
            "/clusters/local/schemas/new-value/",
            {"schema_type": "AVRO", "schema": V1, "action": "register"},
        )
        assert first["Location"].endswith("?v=1")
    assert [r.version for r in store.versions("ext-value")] == [1, 2, 3]
    assert [r.version for r in store.versions("new-value")] == [1]


@pytest.mark.parametrize(
    ("where", "password", "said"),
    [("http://127.0.0.1:1", "admin-pass-123", "unreachable"), (None, "wrong", "answered 401")],
)
def test_an_unanswering_registry_is_a_banner_not_the_builtin_subjects(
    live_server: Any, logged_in: Client, where: str | None, password: str, said: str
) -> None:
    store.register("hidden-value", store.Candidate("AVRO", V1, []))
    point_at(where or f"{live_server.url}/schema-registry", password)
    with console_on("127.0.0.1:1"):
        listing = logged_in.get("/clusters/local/schemas/").content.decode()
        assert "schema registry does not answer" in listing
        assert said in listing
        assert "hidden-value</a>" not in listing
        assert "Subjects unknown while the registry does not answer" in listing
        detail = logged_in.get("/clusters/local/schemas/hidden-value/")
        assert detail.status_code == 502
        assert "schema registry does not answer" in detail.content.decode()
        assert "Register a new version" not in detail.content.decode()


def _read(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": unique("ext"), "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    read: list[bytes] = []
    try:
        while len(read) < count:
            message = consumer.poll(15)
            assert message is not None
            assert message.error() is None
            read.append(message.value())
    finally:
        consumer.close()
    return read


def test_produce_encodes_with_the_clusters_registry(
    live_server: Any, logged_in: Client, shared_broker: Any
) -> None:
    topic = unique("ext-produce")
    make_topic(shared_broker.bootstrap, topic)
    row = store.register(f"{topic}-value", store.Candidate("AVRO", json.dumps(USER), []))
    produce_url = f"/clusters/local/topics/{topic}/produce/"
    form = {"value_schema": f"{topic}-value", "value": '{"name": "ada", "age": 36}'}
    with console_on(shared_broker.bootstrap):
        point_at("http://127.0.0.1:1")
        page = logged_in.get(produce_url).content.decode()
        assert f'value="{topic}-value"' not in page
        refused = logged_in.post(produce_url, form)
        assert refused.status_code == 400
        assert "the schema registry did not answer" in refused.content.decode()

        point_at(f"{live_server.url}/schema-registry")
        page = logged_in.get(produce_url).content.decode()
        assert f'value="{topic}-value"' in page
        unfit = logged_in.post(produce_url, {**form, "value": '{"name": "alan"}'})
        assert f"does not fit {topic}-value v1" in unfit.content.decode()
        produced = logged_in.post(produce_url, form)
        assert produced.status_code == 200
        assert "at offset <strong>0</strong>" in produced.content.decode()

    (value,) = _read(shared_broker.bootstrap, topic, 1)
    framed = wire.unframe(value)
    assert framed is not None
    assert framed.schema_id == row.schema_id
    deserialize = AvroDeserializer(registry(live_server))
    context = SerializationContext(topic, MessageField.VALUE)
    assert deserialize(value, context) == {"name": "ada", "age": 36}
