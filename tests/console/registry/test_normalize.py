"""`normalize=true` and the `normalize` config: schemas that differ only in form share an
id and a version, as Confluent's Schema Registry normalizes them; without it, they do not."""

from __future__ import annotations

import base64
import json

from google.protobuf import descriptor_pb2

from tests.console.registry.conftest import Api

AVRO = {
    "type": "record",
    "name": "User",
    "namespace": "acme",
    "doc": "a user",
    "fields": [
        {"name": "name", "type": "string"},
        {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []},
        {"name": "when", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    ],
}
# The same schema: keys in another order, a relative name made full, the default field
# order spelled out, whitespace.
AVRO_SAME = json.dumps(
    {
        "fields": [
            {"type": "string", "name": "name", "order": "ascending"},
            {"default": [], "name": "tags", "type": {"items": "string", "type": "array"}},
            {"type": {"logicalType": "timestamp-millis", "type": "long"}, "name": "when"},
        ],
        "doc": "a user",
        "name": "acme.User",
        "type": "record",
    },
    indent=2,
)
# A real difference: the doc is kept by normalization, so this is another schema.
AVRO_OTHER_DOC = json.dumps(AVRO | {"doc": "someone"})
JSON_SCHEMA = {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}
JSON_SAME = (
    '{\n  "required": ["id"],\n  "properties": {"id": {"type": "integer"}},\n  "type": "object"\n}'
)


def test_avro_register_and_lookup(api: Api) -> None:
    text = json.dumps(AVRO)
    first = api.post("subjects/n-value/versions?normalize=true", {"schema": text})[1]["id"]
    assert api.post("subjects/n-value/versions?normalize=true", {"schema": AVRO_SAME}) == (
        200,
        {"id": first},
    )
    assert api.get("subjects/n-value/versions") == (200, [1])
    # The stored text is the normalized form, itself a schema with the same meaning.
    stored = json.loads(api.get(f"schemas/ids/{first}")[1]["schema"])
    assert stored["name"] == "acme.User"
    assert [f["name"] for f in stored["fields"]] == ["name", "tags", "when"]
    status, body = api.post("subjects/n-value?normalize=true", {"schema": AVRO_SAME})
    assert (status, body["version"], body["id"]) == (200, 1, first)
    # Without normalize the different text is not found, and would be a new version.
    assert api.post("subjects/n-value", {"schema": AVRO_SAME})[1]["error_code"] == 40403
    assert api.post("subjects/n-value?normalize=true", {"schema": AVRO_OTHER_DOC})[0] == 404


def test_without_normalize_nothing_changes(api: Api) -> None:
    first = api.post("subjects/p-value/versions", {"schema": json.dumps(AVRO)})[1]["id"]
    second = api.post("subjects/p-value/versions", {"schema": AVRO_SAME})[1]["id"]
    assert second != first
    assert api.get("subjects/p-value/versions") == (200, [1, 2])
    # A later normalized registration finds the earlier versions in normalized form.
    again = api.post("subjects/p-value/versions?normalize=true", {"schema": json.dumps(AVRO)})
    assert again == (200, {"id": first})


def test_json_schema_key_order_and_whitespace(api: Api) -> None:
    body = {"schema": json.dumps(JSON_SCHEMA), "schemaType": "JSON"}
    first = api.post("subjects/j-value/versions?normalize=true", body)[1]["id"]
    same = {"schema": JSON_SAME, "schemaType": "JSON"}
    assert api.post("subjects/j-value/versions?normalize=true", same) == (200, {"id": first})
    assert api.post("subjects/j-value?normalize=true", same)[1]["version"] == 1
    assert api.post("subjects/j-value", same)[1]["error_code"] == 40403


def _proto(reordered: bool) -> str:
    proto = descriptor_pb2.FileDescriptorProto(name="order.proto", package="shop", syntax="proto3")
    message = proto.message_type.add(name="Order")
    fields = [("id", 1, 9, ""), ("item", 2, 11, "Item"), ("count", 3, 5, "")]
    for name, number, kind, type_name in reversed(fields) if reordered else fields:
        field = message.field.add(name=name, number=number, type=kind, label=1)
        if type_name:
            # Relative in one, fully qualified in the other: the same type.
            field.type_name = type_name if reordered else ".shop.Item"
    item = proto.message_type.add(name="Item")
    item.field.add(name="sku", number=1, type=9, label=1)
    status = proto.enum_type.add(name="Status")
    values = [("UNKNOWN", 0), ("OPEN", 1), ("DONE", 2)]
    for name, number in reversed(values) if reordered else values:
        status.value.add(name=name, number=number)
    return base64.b64encode(proto.SerializeToString()).decode()


def test_protobuf_declaration_order(api: Api) -> None:
    body = {"schema": _proto(False), "schemaType": "PROTOBUF"}
    first = api.post("subjects/o-value/versions?normalize=true", body)[1]["id"]
    same = {"schema": _proto(True), "schemaType": "PROTOBUF"}
    assert api.post("subjects/o-value/versions?normalize=true", same) == (200, {"id": first})
    assert api.post("subjects/o-value?normalize=true", same)[1]["version"] == 1
    assert api.post("subjects/o-value", same)[1]["error_code"] == 40403


def test_normalize_config(api: Api) -> None:
    assert api.get("config") == (200, {"compatibilityLevel": "BACKWARD"})
    assert api.put("config/c-value", {"normalize": True}) == (200, {"normalize": True})
    assert api.get("config/c-value") == (200, {"normalize": True})
    assert api.put("config/c-value", {"compatibility": "FULL"}) == (
        200,
        {"compatibility": "FULL", "normalize": True},
    )
    assert api.get("config/c-value") == (200, {"compatibilityLevel": "FULL", "normalize": True})
    # The subject's config normalizes requests that do not ask for it.
    first = api.post("subjects/c-value/versions", {"schema": json.dumps(AVRO)})[1]["id"]
    assert api.post("subjects/c-value/versions", {"schema": AVRO_SAME}) == (200, {"id": first})
    assert api.post("subjects/c-value", {"schema": AVRO_SAME})[1]["version"] == 1
    assert api.put("config/c-value", {"normalize": "yes"})[1]["error_code"] == 42201
    assert api.delete("config/c-value") == (200, {"compatibilityLevel": "FULL", "normalize": True})
    assert api.get("config/c-value")[1]["error_code"] == 40408
    # Global normalize applies to every subject without its own.
    assert api.put("config", {"normalize": True}) == (200, {"normalize": True})
    assert api.get("config") == (200, {"compatibilityLevel": "BACKWARD", "normalize": True})
    second = api.post("subjects/g-value/versions", {"schema": json.dumps(AVRO)})[1]["id"]
    assert api.post("subjects/g-value/versions", {"schema": AVRO_SAME}) == (200, {"id": second})
    assert api.put("config/g-value", {"normalize": False}) == (200, {"normalize": False})
    assert api.post("subjects/g-value", {"schema": AVRO_SAME})[1]["error_code"] == 40403


def test_compatibility_with_normalize(api: Api) -> None:
    api.post("subjects/k-value/versions", {"schema": json.dumps(AVRO)})
    check = api.post(
        "compatibility/subjects/k-value/versions/latest?normalize=true", {"schema": AVRO_SAME}
    )
    assert check == (200, {"is_compatible": True})
    assert api.post(
        "compatibility/subjects/k-value/versions?normalize=true", {"schema": AVRO_SAME}
    )[1] == {"is_compatible": True}
    status, body = api.post(
        "compatibility/subjects/k-value/versions?normalize=true", {"schema": "{broken"}
    )
    assert (status, body["error_code"]) == (422, 42201)
