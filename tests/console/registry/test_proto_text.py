"""Protobuf schemas registered as `.proto` text, as Java's serializer sends them: stored,
checked for compatibility like descriptors, and used to decode framed records."""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pool, message_factory

from console import decoders
from console.registry import decoding, proto_text, wire
from tests.console.registry.conftest import Api

V1 = """syntax = "proto3";
package shop;
message Order {
  int64 id = 1;
  repeated Line lines = 2;
  map<string, string> labels = 3;
  optional string note = 4;
  oneof paid { string card = 5; bool cash = 6; }
  Status status = 7;
  message Line { string sku = 1; int32 count = 2; }
  enum Status { NEW = 0; SHIPPED = 1; }
}
"""
ADDED = V1.replace("Status status = 7;", "Status status = 7;\n  string coupon = 8;")
RETYPED = V1.replace("int64 id = 1;", "string id = 1;")


def _register(api: Api, text: str) -> tuple[int, Any]:
    return api.post("subjects/orders-value/versions", {"schemaType": "PROTOBUF", "schema": text})


def test_proto_text_registers_checks_and_decodes(api: Api) -> None:
    status, body = _register(api, V1)
    assert status == 200
    schema_id = body["id"]
    assert api.get(f"schemas/ids/{schema_id}")[1]["schema"] == V1
    assert _register(api, V1) == (200, {"id": schema_id})
    assert _register(api, ADDED)[0] == 200
    status, body = _register(api, RETYPED)
    assert (status, body["error_code"]) == (409, 409)
    assert "shop.Order field 1 (id) changed type" in body["message"]
    status, body = _register(api, "message {")
    assert (status, body["error_code"]) == (422, 42201)
    assert "nor .proto text" in body["message"]

    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto_text.parse(V1))
    order_class = message_factory.GetMessageClass(pool.FindMessageTypeByName("shop.Order"))
    order = order_class(id=7, note="ring twice", cash=True, status=1)
    order.lines.add(sku="tea", count=2)
    order.labels["gift"] = "yes"
    # Message index 0 (the first message) is written as the single byte 0.
    raw = wire.frame(schema_id, b"\x00" + order.SerializeToString())
    decoding.forget()
    shown = decoders.decode(raw)
    assert shown.kind == "protobuf"
    assert shown.data == {
        "id": "7",
        "lines": [{"sku": "tea", "count": 2}],
        "labels": {"gift": "yes"},
        "note": "ring twice",
        "cash": True,
        "status": "SHIPPED",
    }
