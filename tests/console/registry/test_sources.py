"""A cluster may decode with an existing registry: records then read with that registry's
schemas (here: our registry reached over HTTP as any external one would be), and an
unreachable one leaves them as bytes; only admins choose."""

from __future__ import annotations

import json
from typing import Any

import pytest
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from django.test import Client

from console import decoders
from console.registry import decoding
from console.registry.models import RegistrySource
from tests.console.registry.test_serializers import USER, registry
from tests.console.topics_helpers import console_on

pytestmark = pytest.mark.django_db(transaction=True)


def test_cluster_uses_its_chosen_registry(
    live_server: Any, admin_user: Any, client: Client, viewer_user: Any
) -> None:
    decoding.forget()
    raw = AvroSerializer(registry(live_server), json.dumps(USER))(
        {"name": "ada", "age": 36}, SerializationContext("ext", MessageField.VALUE)
    )
    url = f"{live_server.url}/schema-registry"
    with console_on("127.0.0.1:1"):
        client.force_login(viewer_user)
        refused = client.post("/clusters/local/schemas/", {"registry": "external", "url": url})
        assert refused.status_code == 403
        client.force_login(admin_user)
        bad = client.post("/clusters/local/schemas/", {"registry": "external", "url": "ftp://x"})
        assert "starts with http" in bad.content.decode()
        saved = client.post(
            "/clusters/local/schemas/",
            {"registry": "external", "url": url, "username": "admin", "password": "admin-pass-123"},
        )
        assert saved.status_code == 302
        page = client.get("/clusters/local/schemas/").content.decode()
        assert f"the registry at <code>{url}</code>" in page
        assert "admin-pass-123" not in page

    with decoding.for_cluster("local"):
        shown = decoders.decode(raw)
    assert (shown.kind, shown.data) == ("avro", {"name": "ada", "age": 36})
    assert shown.schema.endswith(f"ext-value v1 ({url})")

    # The same record with a registry that does not answer stays bytes.
    RegistrySource.objects.filter(cluster="local").update(url="http://127.0.0.1:1")
    decoding.forget()
    with decoding.for_cluster("local"):
        assert decoders.decode(raw).kind == "hex"
    # Other clusters keep the built-in registry.
    with decoding.for_cluster("elsewhere"):
        assert decoders.decode(raw).kind == "avro"

    with console_on("127.0.0.1:1"):
        back = client.post("/clusters/local/schemas/", {"registry": "builtin"})
        assert back.status_code == 302
    assert not RegistrySource.objects.exists()
