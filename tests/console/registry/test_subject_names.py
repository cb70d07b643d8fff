"""Subjects whose names hold "/" (and other characters clients url-encode) are addressable
on every endpoint, through confluent-kafka's SchemaRegistryClient, which sends them as %2F."""

from __future__ import annotations

import json
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

pytestmark = pytest.mark.django_db(transaction=True)

V1 = json.dumps({"type": "record", "name": "Order", "fields": [{"name": "id", "type": "long"}]})
V2 = json.dumps(
    {
        "type": "record",
        "name": "Order",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "note", "type": "string", "default": ""},
        ],
    }
)


@pytest.mark.parametrize(
    "subject", ["shop/orders-value", "a/b/c", "x y+z?&=#%-value", "/leading-and-trailing/"]
)
def test_subject_with_slashes_through_the_confluent_client(
    live_server: Any, admin_user: Any, subject: str
) -> None:
    client = SchemaRegistryClient(
        {
            "url": f"{live_server.url}/schema-registry",
            "basic.auth.user.info": "admin:admin-pass-123",
        }
    )
    first = client.register_schema(subject, Schema(V1, "AVRO"))
    second = client.register_schema(subject, Schema(V2, "AVRO"))
    assert first != second
    assert subject in client.get_subjects()
    latest = client.get_latest_version(subject)
    assert (latest.subject, latest.version, latest.schema_id) == (subject, 2, second)
    assert client.get_version(subject, 1).schema_id == first
    assert client.get_versions(subject) == [1, 2]
    found = client.lookup_schema(subject, Schema(V1, "AVRO"))
    assert (found.subject, found.version) == (subject, 1)
    assert client.test_compatibility(subject, Schema(V2, "AVRO"))
    client.set_compatibility(subject, "FULL")
    assert client.get_compatibility(subject) == "FULL"
    assert client.delete_subject(subject) == [1, 2]
    assert subject not in client.get_subjects()  # the client caches versions: ask the list
    with pytest.raises(SchemaRegistryError) as gone:
        client.get_versions(subject)
    assert gone.value.error_code == 40401
