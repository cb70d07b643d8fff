"""In Chromium: browse an Avro topic written by Confluent's serializer (decoded, with its
schema id, subject and version), then produce a record with the topic's schema, refused
first when the document does not fit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from console.registry import decoding
from tests.console.conftest import login
from tests.console.groups_helpers import unique
from tests.console.registry.test_serializers import USER, registry
from tests.console.topics_helpers import console_on, make_topic

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_browse_avro_topic_and_produce_with_schema(
    page: Any, live_server: Any, admin_user: Any, shared_broker: Any
) -> None:
    decoding.forget()
    topic = unique("sr-ui")
    bootstrap = shared_broker.bootstrap
    make_topic(bootstrap, topic)
    context = SerializationContext(topic, MessageField.VALUE)
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(
        topic,
        AvroSerializer(registry(live_server), json.dumps(USER))(
            {"name": "ada", "age": 36}, context
        ),
    )
    assert producer.flush(15) == 0
    base = live_server.url

    with console_on(bootstrap):
        login(page, base, "admin", "admin-pass-123")
        page.goto(f"{base}/clusters/local/topics/{topic}/messages/?start=oldest&limit=10")
        row = page.locator("table.records tbody tr").first
        assert '"ada"' in row.inner_text()
        assert f"{topic}-value v1" in row.locator(".schema-note").inner_text()
        assert "avro" in row.inner_text()

        page.goto(f"{base}/clusters/local/topics/{topic}/produce/")
        page.select_option("#id_value_schema", f"{topic}-value")
        page.fill("#id_value", '{"name": "alan"}')
        page.click("form.produce button[type=submit]")
        page.wait_for_selector("ul.error")
        assert f"does not fit {topic}-value v1" in page.inner_text("#produce")
        page.fill("#id_value", '{"name": "alan", "age": 41}')
        page.click("form.produce button[type=submit]")
        page.wait_for_selector("#produced")
        assert "offset 1" in page.inner_text("#produced")

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": unique("sr-ui"),
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    read = []
    try:
        while len(read) < 2:
            message = consumer.poll(15)
            assert message is not None
            assert message.error() is None
            read.append(message.value())
    finally:
        consumer.close()
    deserialize = AvroDeserializer(registry(live_server))
    assert deserialize(read[1], context) == {"name": "alan", "age": 41}
