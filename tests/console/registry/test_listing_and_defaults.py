"""GET /schemas, going back to the registry's defaults (DELETE /config, DELETE /mode) and
READONLY_OVERRIDE, as Confluent's Schema Registry answers them."""

from __future__ import annotations

import json

from tests.console.registry.conftest import Api, avro_record

V1 = avro_record("User", {"name": "name", "type": "string"})
V2 = avro_record(
    "User", {"name": "name", "type": "string"}, {"name": "age", "type": "int", "default": 0}
)


def test_list_schemas(api: Api) -> None:
    assert api.get("schemas") == (200, [])
    first = api.post("subjects/b-value/versions", {"schema": V1})[1]["id"]
    second = api.post("subjects/b-value/versions", {"schema": V2})[1]["id"]
    api.post("subjects/a-key/versions", {"schema": V1})
    status, rows = api.get("schemas")
    assert status == 200
    assert [(r["subject"], r["version"], r["id"]) for r in rows] == [
        ("a-key", 1, first),
        ("b-value", 1, first),
        ("b-value", 2, second),
    ]
    assert json.loads(rows[2]["schema"]) == json.loads(V2)
    assert "schemaType" not in rows[0]
    latest = api.get("schemas?latestOnly=true&subjectPrefix=b-")[1]
    assert [(r["subject"], r["version"]) for r in latest] == [("b-value", 2)]
    assert [r["version"] for r in api.get("schemas?offset=1&limit=1")[1]] == [1]
    api.delete("subjects/a-key")
    assert [r["subject"] for r in api.get("schemas")[1]] == ["b-value", "b-value"]
    assert len(api.get("schemas?deleted=true")[1]) == 3
    assert api.get("schemas?limit=many")[0] == 400


def test_delete_global_config_and_mode(api: Api) -> None:
    assert api.put("config", {"compatibility": "NONE", "normalize": True})[0] == 200
    assert api.delete("config") == (200, {"compatibilityLevel": "NONE", "normalize": True})
    assert api.get("config") == (200, {"compatibilityLevel": "BACKWARD"})
    assert api.put("mode", {"mode": "READONLY"})[0] == 200
    assert api.delete("mode") == (200, {"mode": "READONLY"})
    assert api.get("mode") == (200, {"mode": "READWRITE"})
    assert api.post("subjects/w-value/versions", {"schema": V1})[0] == 200


def test_readonly_override_refuses_writes(api: Api) -> None:
    api.post("subjects/r-value/versions", {"schema": V1})
    assert api.put("mode/r-value", {"mode": "READONLY_OVERRIDE"}) == (
        200,
        {"mode": "READONLY_OVERRIDE"},
    )
    assert api.post("subjects/r-value/versions", {"schema": V2}) == (
        422,
        {"error_code": 42205, "message": "Subject r-value is in read-only mode"},
    )
    assert api.delete("subjects/r-value")[1]["error_code"] == 42205
    assert api.get("subjects/r-value/versions") == (200, [1])
