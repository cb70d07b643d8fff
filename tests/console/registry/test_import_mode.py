"""IMPORT mode: schemas brought over from another registry keep their ids and versions,
with the refusals and codes Confluent's Schema Registry answers."""

from __future__ import annotations

import json

from tests.console.registry.conftest import Api, avro_record

V1 = avro_record("User", {"name": "name", "type": "string"})
V2 = avro_record(
    "User", {"name": "name", "type": "string"}, {"name": "age", "type": "int", "default": 0}
)
# Not BACKWARD compatible with V1: imports skip the check, the source registry made it.
V3_BREAKING = avro_record("User", {"name": "age", "type": "int"})
OTHER = avro_record("Other", {"name": "x", "type": "long"})


def test_ids_and_versions_refused_outside_import_mode(api: Api) -> None:
    assert api.post("subjects/u-value/versions", {"schema": V1, "id": 42}) == (
        422,
        {"error_code": 42205, "message": "Subject u-value is not in import mode"},
    )
    # A version alone must be the next one, as Confluent requires.
    status, body = api.post("subjects/u-value/versions", {"schema": V1, "version": 3})
    assert (status, body["error_code"]) == (422, 42201)
    assert body["message"] == "Version is not one more than previous version"
    assert api.post("subjects/u-value/versions", {"schema": V1, "version": 1})[0] == 200
    assert api.get("subjects/u-value/versions") == (200, [1])


def test_entering_import_mode_needs_an_empty_subject_or_force(api: Api) -> None:
    first = api.post("subjects/full-value/versions", {"schema": V1})[1]["id"]
    assert api.put("mode/full-value", {"mode": "IMPORT"}) == (
        422,
        {"error_code": 42205, "message": "Cannot import since found existing subjects"},
    )
    assert api.put("mode", {"mode": "IMPORT"})[1]["error_code"] == 42205
    assert api.get("mode") == (200, {"mode": "READWRITE"})
    # Another, empty subject may enter it.
    assert api.put("mode/empty-value", {"mode": "IMPORT"}) == (200, {"mode": "IMPORT"})
    assert api.put("mode/full-value?force=true", {"mode": "IMPORT"}) == (200, {"mode": "IMPORT"})
    assert api.get("mode/full-value") == (200, {"mode": "IMPORT"})
    # Forced: what was there stays.
    assert api.get("subjects/full-value/versions/1")[1]["id"] == first


def test_entering_import_mode_drops_soft_deleted_versions(api: Api) -> None:
    api.post("subjects/gone-value/versions", {"schema": V1})
    assert api.delete("subjects/gone-value") == (200, [1])
    assert api.put("mode/gone-value", {"mode": "IMPORT"}) == (200, {"mode": "IMPORT"})
    assert api.get("subjects/gone-value/versions?deleted=true")[1]["error_code"] == 40401
    # Version 1 is free for the import now.
    assert api.post("subjects/gone-value/versions", {"schema": V2, "id": 7, "version": 1}) == (
        200,
        {"id": 7},
    )


def test_import_keeps_ids_and_versions_and_skips_compatibility(api: Api) -> None:
    assert api.put("mode/imp-value", {"mode": "IMPORT"}) == (200, {"mode": "IMPORT"})
    assert api.post("subjects/imp-value/versions", {"schema": V1, "id": 100, "version": 3}) == (
        200,
        {"id": 100},
    )
    # No version given: the next one.
    assert api.post("subjects/imp-value/versions", {"schema": V2, "id": 50}) == (200, {"id": 50})
    assert api.post("subjects/imp-value/versions", {"schema": V3_BREAKING, "id": 200}) == (
        200,
        {"id": 200},
    )
    assert api.get("subjects/imp-value/versions") == (200, [3, 4, 5])
    status, body = api.get("subjects/imp-value/versions/3")
    assert (status, body["id"], json.loads(body["schema"])) == (200, 100, json.loads(V1))
    assert json.loads(api.get("schemas/ids/50")[1]["schema"]) == json.loads(V2)
    # Importing the same thing again answers as before and adds nothing.
    assert api.post("subjects/imp-value/versions", {"schema": V1, "id": 100, "version": 3}) == (
        200,
        {"id": 100},
    )
    assert api.post("subjects/imp-value/versions", {"schema": V2, "id": 50}) == (200, {"id": 50})
    assert api.get("subjects/imp-value/versions") == (200, [3, 4, 5])
    # The same id under another subject: the schema is shared, as ids are per registry.
    assert api.put("mode/copy-value", {"mode": "IMPORT"})[0] == 200
    assert api.post("subjects/copy-value/versions", {"schema": V1, "id": 100}) == (200, {"id": 100})
    assert api.get("schemas/ids/100/subjects") == (200, ["copy-value", "imp-value"])


def test_import_refusals(api: Api) -> None:
    assert api.put("mode/imp-value", {"mode": "IMPORT"})[0] == 200
    assert api.post("subjects/imp-value/versions", {"schema": V1, "id": 10, "version": 1})[0] == 200
    # Without an id, nothing is registered while importing.
    assert api.post("subjects/imp-value/versions", {"schema": V2}) == (
        422,
        {"error_code": 42205, "message": "Subject imp-value is not in read-write mode"},
    )
    # An id already holding another schema.
    assert api.post("subjects/imp-value/versions", {"schema": V2, "id": 10}) == (
        422,
        {"error_code": 42205, "message": "Overwrite new schema with id 10 is not permitted."},
    )
    # A version already holding another schema is kept as it is.
    status, body = api.post("subjects/imp-value/versions", {"schema": V2, "id": 11, "version": 1})
    assert (status, body["error_code"]) == (422, 42205)
    status, body = api.post("subjects/imp-value/versions", {"schema": V1, "id": "ten"})
    assert (status, body["error_code"]) == (422, 42201)
    assert api.get("subjects/imp-value/versions") == (200, [1])
    assert json.loads(api.get("schemas/ids/10")[1]["schema"]) == json.loads(V1)
    assert api.get("schemas/ids/11")[1]["error_code"] == 40403


def test_a_schema_already_here_is_imported_under_its_source_id(api: Api) -> None:
    own = api.post("subjects/here-value/versions", {"schema": V1})[1]["id"]
    assert api.put("mode/imp-value", {"mode": "IMPORT"})[0] == 200
    imported = own + 10
    assert api.post("subjects/imp-value/versions", {"schema": V1, "id": imported}) == (
        200,
        {"id": imported},
    )
    assert api.get("subjects/here-value/versions/1")[1]["id"] == own
    assert api.get("subjects/imp-value/versions/1")[1]["id"] == imported
    # Either id reads the same schema; a new registration elsewhere reuses the first.
    assert api.get(f"schemas/ids/{own}")[1] == api.get(f"schemas/ids/{imported}")[1]
    assert api.post("subjects/third-value/versions", {"schema": V1}) == (200, {"id": own})


def test_ids_assigned_after_an_import_never_collide(api: Api) -> None:
    own = api.post("subjects/own-value/versions", {"schema": OTHER})[1]["id"]
    imported = own + 5
    assert api.put("mode/imp-value", {"mode": "IMPORT"})[0] == 200
    assert api.post("subjects/imp-value/versions", {"schema": V1, "id": imported})[0] == 200
    assert api.put("mode/imp-value", {"mode": "READWRITE"})[0] == 200
    status, body = api.post("subjects/imp-value/versions", {"schema": V2})
    assert status == 200
    assert body["id"] > imported
    assert api.get("subjects/imp-value/versions") == (200, [1, 2])


def test_global_import_mode_and_readonly(api: Api) -> None:
    assert api.put("mode", {"mode": "IMPORT"}) == (200, {"mode": "IMPORT"})
    assert api.get("mode/any-value?defaultToGlobal=true") == (200, {"mode": "IMPORT"})
    assert api.post("subjects/a-value/versions", {"schema": V1, "id": 3})[0] == 200
    assert api.post("subjects/b-value/versions", {"schema": V1})[1]["error_code"] == 42205
    # Already in IMPORT: staying there needs no emptiness.
    assert api.put("mode", {"mode": "IMPORT"}) == (200, {"mode": "IMPORT"})
    assert api.put("mode", {"mode": "READONLY"}) == (200, {"mode": "READONLY"})
    for body in ({"schema": V2}, {"schema": V2, "id": 4}):
        assert api.post("subjects/a-value/versions", body) == (
            422,
            {"error_code": 42205, "message": "Subject a-value is in read-only mode"},
        )
    assert api.delete("subjects/a-value/versions/1")[1]["error_code"] == 42205
    assert api.get("subjects/a-value/versions") == (200, [1])
