"""The registry's REST API answers as Confluent's Schema Registry documents it."""

from __future__ import annotations

import base64
import json

from google.protobuf import descriptor_pb2

from tests.console.registry.conftest import Api, avro_record

V1 = avro_record("User", {"name": "name", "type": "string"})
# A field with a default: BACKWARD compatible with V1 (new readers fill it in).
V2 = avro_record(
    "User", {"name": "name", "type": "string"}, {"name": "age", "type": "int", "default": 0}
)
# A new field without default: new readers cannot read V1 records.
V2_BAD = avro_record("User", {"name": "name", "type": "string"}, {"name": "age", "type": "int"})


def test_register_returns_ids_and_versions(api: Api) -> None:
    assert api.get("subjects") == (200, [])
    status, body = api.post("subjects/users-value/versions", {"schema": V1})
    assert status == 200
    first = body["id"]
    # The same schema again: same id, no new version.
    assert api.post("subjects/users-value/versions", {"schema": V1}) == (200, {"id": first})
    status, body = api.post("subjects/users-value/versions", {"schema": V2})
    second = body["id"]
    assert second != first
    assert api.get("subjects/users-value/versions") == (200, [1, 2])
    status, body = api.get("subjects/users-value/versions/latest")
    assert (status, body["version"], body["id"], body["subject"]) == (200, 2, second, "users-value")
    assert "schemaType" not in body  # Avro is the default and Confluent leaves it out
    assert json.loads(api.get(f"schemas/ids/{first}")[1]["schema"]) == json.loads(V1)
    assert api.get(f"schemas/ids/{first}/schema")[1] == json.loads(V1)
    assert api.get("subjects/users-value/versions/1/schema")[1] == json.loads(V1)
    # The same schema under another subject keeps its id.
    assert api.post("subjects/other-value/versions", {"schema": V1}) == (200, {"id": first})
    assert api.get(f"schemas/ids/{first}/subjects") == (200, ["other-value", "users-value"])
    assert api.get(f"schemas/ids/{first}/versions")[1] == [
        {"subject": "other-value", "version": 1},
        {"subject": "users-value", "version": 1},
    ]
    assert api.get("schemas/types") == (200, ["AVRO", "JSON", "PROTOBUF"])


def test_lookup_by_schema(api: Api) -> None:
    api.post("subjects/users-value/versions", {"schema": V1})
    status, body = api.post("subjects/users-value", {"schema": V1})
    assert (status, body["version"]) == (200, 1)
    assert api.post("subjects/users-value", {"schema": V2}) == (
        404,
        {"error_code": 40403, "message": "Schema not found"},
    )
    assert api.post("subjects/nobody-value", {"schema": V1}) == (
        404,
        {"error_code": 40401, "message": "Subject 'nobody-value' not found."},
    )


def test_error_codes(api: Api) -> None:
    assert api.get("subjects/nobody/versions")[1]["error_code"] == 40401
    api.post("subjects/users-value/versions", {"schema": V1})
    assert api.get("subjects/users-value/versions/7") == (
        404,
        {"error_code": 40402, "message": "Version 7 not found."},
    )
    status, body = api.get("subjects/users-value/versions/zero")
    assert (status, body["error_code"]) == (422, 42202)
    assert api.get("subjects/users-value/versions/0")[1]["error_code"] == 42202
    assert api.get("schemas/ids/999") == (
        404,
        {"error_code": 40403, "message": "Schema 999 not found"},
    )
    status, body = api.post("subjects/users-value/versions", {"schema": "{not json"})
    assert (status, body["error_code"]) == (422, 42201)
    status, body = api.post("subjects/users-value/versions", {"schema": '{"type": "nope"}'})
    assert (status, body["error_code"]) == (422, 42201)
    status, body = api.post("subjects/users-value/versions", {"schema": V2_BAD})
    assert (status, body["error_code"]) == (409, 409)
    assert "incompatible with an earlier schema" in body["message"]
    assert api.put("config", {"compatibility": "SIDEWAYS"})[1]["error_code"] == 42203
    assert api.put("mode", {"mode": "SOMETIMES"})[1]["error_code"] == 42204


def test_compatibility_levels_and_transitive(api: Api) -> None:
    base = avro_record("T", {"name": "a", "type": "string"})
    plus_b = avro_record(
        "T", {"name": "a", "type": "string"}, {"name": "b", "type": "int", "default": 1}
    )
    # Drops the default of b: compatible with plus_b, not with base (b missing there).
    b_required = avro_record("T", {"name": "a", "type": "string"}, {"name": "b", "type": "int"})
    assert api.get("config") == (200, {"compatibilityLevel": "BACKWARD"})
    assert api.post("subjects/t-value/versions", {"schema": base})[0] == 200
    assert api.post("subjects/t-value/versions", {"schema": plus_b})[0] == 200
    # BACKWARD compares with the latest only.
    status, body = api.post(
        "compatibility/subjects/t-value/versions/latest?verbose=true", {"schema": b_required}
    )
    assert (status, body["is_compatible"], body["messages"]) == (200, True, [])
    assert api.post("compatibility/subjects/t-value/versions/1", {"schema": b_required})[1] == {
        "is_compatible": False
    }
    assert api.get("config/t-value")[1]["error_code"] == 40408
    assert api.get("config/t-value?defaultToGlobal=true") == (
        200,
        {"compatibilityLevel": "BACKWARD"},
    )
    assert api.put("config/t-value", {"compatibility": "BACKWARD_TRANSITIVE"}) == (
        200,
        {"compatibility": "BACKWARD_TRANSITIVE"},
    )
    # Transitive compares with every version: the first one breaks it.
    status, body = api.post("compatibility/subjects/t-value/versions", {"schema": b_required})
    assert body == {"is_compatible": False}
    assert api.post("subjects/t-value/versions", {"schema": b_required})[0] == 409
    assert api.put("config/t-value", {"compatibility": "NONE"})[0] == 200
    assert api.post("subjects/t-value/versions", {"schema": b_required})[0] == 200
    assert api.delete("config/t-value") == (200, {"compatibilityLevel": "NONE"})
    assert api.get("config/t-value")[1]["error_code"] == 40408
    # FORWARD: old readers must read new data; removing a field without default breaks it.
    assert api.put("config", {"compatibility": "FORWARD"}) == (200, {"compatibility": "FORWARD"})
    assert api.get("config") == (200, {"compatibilityLevel": "FORWARD"})
    only_b = avro_record("T", {"name": "b", "type": "int"})
    assert api.post("subjects/t-value/versions", {"schema": only_b})[0] == 409


def test_modes(api: Api) -> None:
    assert api.get("mode") == (200, {"mode": "READWRITE"})
    api.post("subjects/m-value/versions", {"schema": V1})
    assert api.get("mode/m-value")[1]["error_code"] == 40409
    assert api.put("mode/m-value", {"mode": "READONLY"}) == (200, {"mode": "READONLY"})
    status, body = api.post("subjects/m-value/versions", {"schema": V2})
    assert (status, body["error_code"]) == (422, 42205)
    assert api.delete("subjects/m-value")[1]["error_code"] == 42205
    # Other subjects follow the global mode.
    assert api.post("subjects/n-value/versions", {"schema": V1})[0] == 200
    assert api.delete("mode/m-value") == (200, {"mode": "READONLY"})
    assert api.post("subjects/m-value/versions", {"schema": V2})[0] == 200


def test_soft_and_hard_delete(api: Api) -> None:
    first = api.post("subjects/d-value/versions", {"schema": V1})[1]["id"]
    api.post("subjects/d-value/versions", {"schema": V2})
    # Hard delete needs a soft delete first.
    assert api.delete("subjects/d-value/versions/1?permanent=true") == (
        404,
        {
            "error_code": 40407,
            "message": "Subject 'd-value' Version 1 was not deleted first before being permanently deleted",
        },
    )
    assert api.delete("subjects/d-value/versions/1") == (200, 1)
    assert api.delete("subjects/d-value/versions/1")[1]["error_code"] == 40406
    assert api.get("subjects/d-value/versions") == (200, [2])
    assert api.get("subjects/d-value/versions?deleted=true") == (200, [1, 2])
    assert api.get("subjects/d-value/versions/1")[1]["error_code"] == 40402
    assert api.get("subjects/d-value/versions/1?deleted=true")[1]["id"] == first
    # Ids stay readable after a soft delete: old records must still decode.
    assert api.get(f"schemas/ids/{first}")[0] == 200
    assert api.delete("subjects/d-value?permanent=true")[1]["error_code"] == 40405
    assert api.delete("subjects/d-value") == (200, [1, 2])
    assert api.delete("subjects/d-value")[1]["error_code"] == 40404
    assert api.get("subjects") == (200, [])
    assert api.get("subjects?deleted=true") == (200, ["d-value"])
    assert api.delete("subjects/d-value?permanent=true") == (200, [1, 2])
    assert api.get("subjects?deleted=true") == (200, [])
    # Version numbers start again only after a hard delete, as Confluent's do.
    api.post("subjects/d-value/versions", {"schema": V1})
    assert api.get("subjects/d-value/versions") == (200, [1])


def test_references(api: Api) -> None:
    address = json.dumps(
        {
            "type": "record",
            "name": "Address",
            "namespace": "ex",
            "fields": [{"name": "city", "type": "string"}],
        }
    )
    person = json.dumps(
        {
            "type": "record",
            "name": "Person",
            "namespace": "ex",
            "fields": [{"name": "home", "type": "ex.Address"}],
        }
    )
    api.post("subjects/address/versions", {"schema": address})
    # Without its reference the schema does not parse.
    assert api.post("subjects/person-value/versions", {"schema": person})[1]["error_code"] == 42201
    refs = [{"name": "ex.Address", "subject": "address", "version": 1}]
    status, body = api.post(
        "subjects/person-value/versions", {"schema": person, "references": refs}
    )
    assert status == 200
    person_id = body["id"]
    assert api.get(f"schemas/ids/{person_id}")[1]["references"] == refs
    assert api.get("subjects/address/versions/1/referencedby") == (200, [person_id])
    # A referenced version cannot be deleted.
    assert api.delete("subjects/address/versions/1")[1]["error_code"] == 42206


def test_json_schema_compatibility(api: Api) -> None:
    v1 = {"type": "object", "properties": {"id": {"type": "integer"}}}
    v2 = {"type": "object", "properties": {"id": {"type": "integer"}, "n": {"type": "string"}}}
    bad = {"type": "object", "properties": {"id": {"type": "string"}}}
    required = {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "x": {"type": "string"}},
        "required": ["x"],
    }
    body = {"schemaType": "JSON", "schema": json.dumps(v1)}
    status, reply = api.post("subjects/j-value/versions", body)
    assert status == 200
    assert api.get(f"schemas/ids/{reply['id']}")[1]["schemaType"] == "JSON"
    assert (
        api.post("subjects/j-value/versions", {"schemaType": "JSON", "schema": json.dumps(v2)})[0]
        == 200
    )
    for breaking in (bad, required):
        status, reply = api.post(
            "subjects/j-value/versions", {"schemaType": "JSON", "schema": json.dumps(breaking)}
        )
        assert (status, reply["error_code"]) == (409, 409)
    invalid = {"schemaType": "JSON", "schema": json.dumps({"type": 12})}
    assert api.post("subjects/j-value/versions", invalid)[1]["error_code"] == 42201


def test_protobuf_needs_a_descriptor_or_proto_text(api: Api) -> None:
    status, body = api.post(
        "subjects/p-value/versions",
        {"schemaType": "PROTOBUF", "schema": 'syntax = "proto3"; message M { string a = 1 }'},
    )
    assert (status, body["error_code"]) == (422, 42201)
    assert "FileDescriptorProto" in body["message"]


def test_content_types_the_clients_send(api: Api) -> None:
    for kind in ("application/vnd.schemaregistry+json", "application/json"):
        response = api.client.post(
            "/schema-registry/subjects/c-value/versions",
            data=json.dumps({"schema": V1}),
            content_type=kind,
            **api._headers(),
        )
        assert response.status_code == 200
        assert response["Content-Type"] == "application/vnd.schemaregistry.v1+json"
    # text/plain and no type at all are what another site's page can make a browser send
    # without asking first, carrying credentials the browser cached for this host.
    for kind in ("text/plain", ""):
        response = api.client.post(
            "/schema-registry/subjects/c-value/versions",
            data=json.dumps({"schema": V1}),
            content_type=kind,
            **api._headers(),
        )
        assert response.status_code == 415, kind
    assert api.get("subjects")[1] == ["c-value"]


def test_unknown_paths_answer_json_404(api: Api) -> None:
    assert api.get("contexts/x/y") == (404, {"error_code": 40400, "message": "HTTP 404 Not Found"})
    assert api.call("PATCH", "subjects")[0] == 405


def _proto(fields: list[tuple[str, int, int]], *, extra_message: bool = True) -> str:
    """A base64 FileDescriptorProto as confluent-kafka registers one."""
    proto = descriptor_pb2.FileDescriptorProto(name="t.proto", package="t", syntax="proto3")
    message = proto.message_type.add(name="M")
    for name, number, kind in fields:
        message.field.add(name=name, number=number, type=kind, label=1)
    if extra_message:
        proto.message_type.add(name="Other")
    return base64.b64encode(proto.SerializeToString()).decode()


def test_protobuf_compatibility(api: Api) -> None:
    string, int64 = 9, 3
    v1 = _proto([("a", 1, string)])
    status, body = api.post("subjects/pb-value/versions", {"schemaType": "PROTOBUF", "schema": v1})
    assert status == 200
    assert api.get(f"schemas/ids/{body['id']}")[1]["schemaType"] == "PROTOBUF"
    added = _proto([("a", 1, string), ("b", 2, int64)])
    assert (
        api.post("subjects/pb-value/versions", {"schemaType": "PROTOBUF", "schema": added})[0]
        == 200
    )
    retyped = _proto([("a", 1, int64), ("b", 2, int64)])
    status, body = api.post(
        "subjects/pb-value/versions", {"schemaType": "PROTOBUF", "schema": retyped}
    )
    assert (status, body["error_code"]) == (409, 409)
    assert "t.M field 1 (a) changed type" in body["message"]
    dropped = _proto([("a", 1, string), ("b", 2, int64)], extra_message=False)
    status, body = api.post(
        "subjects/pb-value/versions", {"schemaType": "PROTOBUF", "schema": dropped}
    )
    assert "message t.Other removed" in body["message"]
