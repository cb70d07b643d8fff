"""confluent-kafka's SchemaRegistryClient drives IMPORT mode and normalize=true against the
registry over HTTP; the id-bearing registrations it has no call for go as plain HTTP, the way
migration tools send them."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from tests.console.registry.test_serializers import registry

pytestmark = pytest.mark.django_db(transaction=True)

USER = {
    "type": "record",
    "name": "User",
    "namespace": "odradek.test",
    "fields": [{"name": "name", "type": "string"}],
}
# The same schema written otherwise: key order, a full name, whitespace.
USER_SAME = json.dumps(
    {"fields": [{"type": "string", "name": "name"}], "name": "odradek.test.User", "type": "record"},
    indent=1,
)


def _post(base: str, path: str, body: Any) -> tuple[int, Any]:
    token = base64.b64encode(b"admin:admin-pass-123").decode()
    request = urllib.request.Request(
        f"{base}/schema-registry/{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Basic {token}",
            "Content-Type": "application/vnd.schemaregistry.v1+json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_import_through_the_client(live_server: Any, admin_user: Any) -> None:
    client: SchemaRegistryClient = registry(live_server)
    client.register_schema("taken-value", Schema(json.dumps(USER), "AVRO"))
    with pytest.raises(SchemaRegistryError) as refused:
        client.update_global_mode("IMPORT")
    assert (refused.value.http_status_code, refused.value.error_code) == (422, 42205)
    assert client.update_mode("imported-value", "IMPORT") == "IMPORT"
    assert client.get_mode("imported-value") == "IMPORT"
    body = {"schema": json.dumps(USER), "id": 500, "version": 4}
    assert _post(live_server.url, "subjects/imported-value/versions", body) == (200, {"id": 500})
    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema("imported-value", Schema(USER_SAME, "AVRO"))
    assert refused.value.error_code == 42205
    assert client.update_mode("imported-value", "READWRITE") == "READWRITE"
    fetched = client.get_schema(500)
    assert json.loads(fetched.schema_str) == USER
    latest = client.get_latest_version("imported-value")
    assert (latest.version, latest.schema_id) == (4, 500)
    # Back in READWRITE, new ids continue after the imported one.
    other = dict(USER, fields=[*USER["fields"], {"name": "age", "type": "int", "default": 0}])
    assert client.register_schema("imported-value", Schema(json.dumps(other), "AVRO")) > 500
    assert client.update_global_mode("IMPORT", force=True) == "IMPORT"


def test_normalize_through_the_client(live_server: Any, admin_user: Any) -> None:
    client: SchemaRegistryClient = registry(live_server)
    first = client.register_schema("norm-value", Schema(json.dumps(USER), "AVRO"), True)
    # A fresh client: its cache must not answer for the registry.
    again = registry(live_server)
    assert again.register_schema("norm-value", Schema(USER_SAME, "AVRO"), True) == first
    found = again.lookup_schema("norm-value", Schema(USER_SAME, "AVRO"), normalize_schemas=True)
    assert (found.version, found.schema_id) == (1, first)
    assert again.test_compatibility("norm-value", Schema(USER_SAME, "AVRO"), normalize=True)
    with pytest.raises(SchemaRegistryError) as missing:
        registry(live_server).lookup_schema("norm-value", Schema(USER_SAME, "AVRO"))
    assert missing.value.error_code == 40403
