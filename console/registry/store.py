"""Registry operations on the database: register, look up, list, delete, configure.

Owns the rules Confluent's registry applies between requests (ids reused across subjects,
version numbers never reused, soft before hard delete, references kept alive, modes). It
must never speak HTTP (the views do) nor parse schemas itself (`formats` does).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from console.registry import compatibility, errors, formats
from console.registry.models import Schema, SubjectConfig, SubjectVersion

READWRITE, READONLY, IMPORT = "READWRITE", "READONLY", "IMPORT"
MODES = (READWRITE, READONLY, IMPORT)
LATEST = -1


@dataclass(frozen=True)
class Candidate:
    """A schema as a client sent it, before it is stored."""

    schema_type: str
    text: str
    references: list[dict[str, Any]]


def candidate(body: Any) -> Candidate:
    """The schema in a register/lookup/compatibility request body, or 42201/422."""
    if not isinstance(body, dict) or not isinstance(body.get("schema"), str):
        raise errors.invalid_schema("Empty schema")
    schema_type = body.get("schemaType") or formats.AVRO
    references = body.get("references") or []
    if not isinstance(references, list) or not all(
        isinstance(r, dict) and {"name", "subject", "version"} <= set(r) for r in references
    ):
        raise errors.invalid_schema("Invalid references: each needs name, subject and version")
    return Candidate(str(schema_type).upper(), body["schema"], references)


def parse_version(raw: str) -> int:
    """A version path segment: a positive number, "latest" or -1 (both meaning newest)."""
    if raw == "latest":
        return LATEST
    try:
        number = int(raw)
    except ValueError:
        raise errors.invalid_version(raw) from None
    if number == LATEST:
        return LATEST
    if not 1 <= number <= 2**31 - 1:
        raise errors.invalid_version(raw)
    return number


def parsed_of(schema: Schema) -> formats.Parsed:
    """A stored schema read again by its library (its references resolved)."""
    return formats.parse(schema.schema_type, schema.text, _referenced(schema.references))


def _referenced(references: list[dict[str, Any]]) -> list[formats.Parsed]:
    found = []
    for ref in references:
        row = (
            SubjectVersion.objects.filter(
                subject=ref["subject"], version=ref["version"], deleted=False
            )
            .select_related("schema")
            .first()
        )
        if row is None:
            raise errors.invalid_schema(
                f"Invalid schema: reference {ref['name']} to subject {ref['subject']} "
                f"version {ref['version']} not found"
            )
        found.append(parsed_of(row.schema))
    return found


def parse(given: Candidate) -> formats.Parsed:
    try:
        return formats.parse(given.schema_type, given.text, _referenced(given.references))
    except formats.InvalidSchema as exc:
        raise errors.invalid_schema(str(exc)) from exc


def _fingerprint(parsed: formats.Parsed, references: list[dict[str, Any]]) -> str:
    refs = json.dumps(
        [[r["name"], r["subject"], int(r["version"])] for r in references], separators=(",", ":")
    )
    return hashlib.sha256(f"{parsed.schema_type}\0{parsed.canonical}\0{refs}".encode()).hexdigest()


def versions(subject: str, deleted: bool = False) -> list[SubjectVersion]:
    rows = SubjectVersion.objects.filter(subject=subject).select_related("schema")
    if not deleted:
        rows = rows.filter(deleted=False)
    return list(rows.order_by("version"))


def live_versions(subject: str, deleted: bool = False) -> list[SubjectVersion]:
    """The subject's versions, or 40401 when it has none (soft-deleted count with `deleted`)."""
    found = versions(subject, deleted)
    if not found:
        raise errors.subject_not_found(subject)
    return found


def version(subject: str, number: int, deleted: bool = False) -> SubjectVersion:
    found = live_versions(subject, deleted)
    if number == LATEST:
        return found[-1]
    for row in found:
        if row.version == number:
            return row
    raise errors.version_not_found(number)


def subjects(deleted: bool = False, prefix: str = "") -> list[str]:
    rows = SubjectVersion.objects.all()
    if not deleted:
        rows = rows.filter(deleted=False)
    if prefix:
        rows = rows.filter(subject__startswith=prefix)
    return sorted(set(rows.values_list("subject", flat=True)))


def schema(schema_id: int) -> Schema:
    found = Schema.objects.filter(pk=schema_id).first()
    if found is None:
        raise errors.schema_not_found(schema_id)
    return found


def compatibility_level(subject: str | None) -> str:
    """The level in force for `subject`: its own, else the global one, else BACKWARD."""
    for key in ([subject] if subject else []) + [""]:
        row = SubjectConfig.objects.filter(subject=key).exclude(compatibility="").first()
        if row is not None:
            return row.compatibility
    return compatibility.DEFAULT_LEVEL


def mode(subject: str | None) -> str:
    for key in ([subject] if subject else []) + [""]:
        row = SubjectConfig.objects.filter(subject=key).exclude(mode="").first()
        if row is not None:
            return row.mode
    return READWRITE


def configured(subject: str, field: str) -> str:
    row = SubjectConfig.objects.filter(subject=subject).first()
    return getattr(row, field) if row is not None else ""


def configure(subject: str, **fields: str) -> None:
    row, _ = SubjectConfig.objects.get_or_create(subject=subject)
    for name, value in fields.items():
        setattr(row, name, value)
    if row.subject and not row.compatibility and not row.mode:
        row.delete()
    else:
        row.save()


def problems(subject: str, parsed: formats.Parsed, level: str | None = None) -> list[str]:
    """Why `parsed` may not join `subject` at its compatibility level; empty when it may."""
    existing = [parsed_of(row.schema) for row in versions(subject)]
    return compatibility.problems(level or compatibility_level(subject), parsed, existing)


def lookup(subject: str, given: Candidate, deleted: bool = False) -> SubjectVersion:
    """The version of `subject` holding exactly this schema (POST /subjects/<subject>)."""
    rows = live_versions(subject, deleted)
    parsed = parse(given)
    fingerprint = _fingerprint(parsed, given.references)
    for row in rows:
        if row.schema.fingerprint == fingerprint:
            return row
    raise errors.schema_not_found()


_REGISTER_ATTEMPTS = 5


def register(subject: str, given: Candidate) -> SubjectVersion:
    """Store `given` as the next version of `subject` unless an identical live one exists."""
    if mode(subject) == READONLY:
        raise errors.operation_not_permitted(f"Subject {subject} is in read-only mode")
    parsed = parse(given)
    fingerprint = _fingerprint(parsed, given.references)
    for _ in range(_REGISTER_ATTEMPTS):
        try:
            return _register_once(subject, given, parsed, fingerprint)
        except IntegrityError:
            # Another request took the same version number first: decide again on what
            # is stored now (it may even be this very schema).
            continue
    raise errors.store_error(f"subject {subject} kept changing while registering")


def _register_once(
    subject: str, given: Candidate, parsed: formats.Parsed, fingerprint: str
) -> SubjectVersion:
    with transaction.atomic():
        for row in versions(subject):
            if row.schema.fingerprint == fingerprint:
                return row
        found = problems(subject, parsed)
        if found:
            raise errors.incompatible(subject, found)
        stored = _schema(parsed, given, fingerprint)
        newest = SubjectVersion.objects.filter(subject=subject).aggregate(n=Max("version"))["n"]
        return SubjectVersion.objects.create(
            subject=subject, version=(newest or 0) + 1, schema=stored
        )


def _schema(parsed: formats.Parsed, given: Candidate, fingerprint: str) -> Schema:
    existing = Schema.objects.filter(fingerprint=fingerprint).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Schema.objects.create(
                schema_type=parsed.schema_type,
                text=given.text,
                canonical=parsed.canonical,
                fingerprint=fingerprint,
                references=given.references,
            )
    except IntegrityError:
        # Another request registered the same schema between our read and write.
        return Schema.objects.get(fingerprint=fingerprint)


def referenced_by(subject: str, number: int) -> list[int]:
    """Ids of schemas whose references name this subject version."""
    ids = []
    for row in Schema.objects.filter(versions__deleted=False).distinct():
        if any(r["subject"] == subject and int(r["version"]) == number for r in row.references):
            ids.append(row.pk)
    return sorted(ids)


def delete_version(subject: str, number: int, permanent: bool) -> int:
    if mode(subject) == READONLY:
        raise errors.operation_not_permitted(f"Subject {subject} is in read-only mode")
    row = version(subject, number, deleted=True)
    if referenced_by(subject, row.version):
        raise errors.reference_exists(subject, row.version)
    if permanent:
        if not row.deleted:
            raise errors.version_not_soft_deleted(subject, row.version)
        row.delete()
    else:
        if row.deleted:
            raise errors.version_soft_deleted(subject, row.version)
        row.deleted = True
        row.save(update_fields=["deleted"])
    return row.version


def delete_subject(subject: str, permanent: bool) -> list[int]:
    if mode(subject) == READONLY:
        raise errors.operation_not_permitted(f"Subject {subject} is in read-only mode")
    rows = live_versions(subject, deleted=True)
    numbers = [r.version for r in rows]
    for row in rows:
        if referenced_by(subject, row.version):
            raise errors.reference_exists(subject, row.version)
    with transaction.atomic():
        if permanent:
            if any(not r.deleted for r in rows):
                raise errors.subject_not_soft_deleted(subject)
            SubjectVersion.objects.filter(subject=subject).delete()
            SubjectConfig.objects.filter(subject=subject).delete()
        else:
            if all(r.deleted for r in rows):
                raise errors.subject_soft_deleted(subject)
            SubjectVersion.objects.filter(subject=subject, deleted=False).update(deleted=True)
    return numbers
