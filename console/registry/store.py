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

from django.core.management.color import no_style
from django.db import IntegrityError, connection, transaction
from django.db.models import Max

from console.registry import compatibility, errors, formats
from console.registry.models import Schema, SubjectConfig, SubjectVersion

READWRITE, READONLY, IMPORT = "READWRITE", "READONLY", "IMPORT"
READONLY_OVERRIDE = "READONLY_OVERRIDE"
MODES = (READWRITE, READONLY, READONLY_OVERRIDE, IMPORT)
# Modes that refuse every write (Confluent's READONLY_OVERRIDE is READONLY set by an operator).
READ_ONLY = (READONLY, READONLY_OVERRIDE)
LATEST = -1


@dataclass(frozen=True)
class Candidate:
    """A schema as a client sent it, before it is stored.

    `schema_id` and `version` are given only by imports (IMPORT mode) and by clients
    pinning the next version number.
    """

    schema_type: str
    text: str
    references: list[dict[str, Any]]
    schema_id: int | None = None
    version: int | None = None


def _number(body: dict[str, Any], key: str, least: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.invalid_schema(f"Invalid {key} {value!r}: it must be a number")
    # Confluent reads a negative id and a version below 1 as "none given".
    return value if value >= least else None


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
    return Candidate(
        str(schema_type).upper(),
        body["schema"],
        references,
        _number(body, "id", 0),
        _number(body, "version", 1),
    )


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


def parse(given: Candidate, normalize: bool = False) -> formats.Parsed:
    try:
        return formats.parse(
            given.schema_type, given.text, _referenced(given.references), normalize
        )
    except formats.InvalidSchema as exc:
        raise errors.invalid_schema(str(exc)) from exc


def _reference_key(ref: dict[str, Any]) -> tuple[str, str, int]:
    return (str(ref["name"]), str(ref["subject"]), int(ref["version"]))


def _normalized_references(references: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """References sorted and without repeats, as Confluent normalizes them."""
    unique = {_reference_key(r): r for r in references}
    return [unique[key] for key in sorted(unique)]


def _fingerprint(parsed: formats.Parsed, references: list[dict[str, Any]]) -> str:
    refs = json.dumps([list(_reference_key(r)) for r in references], separators=(",", ":"))
    return hashlib.sha256(f"{parsed.schema_type}\0{parsed.canonical}\0{refs}".encode()).hexdigest()


def _normalized_fingerprint(schema: Schema) -> str:
    """The identity of a stored schema when compared in normalized form."""
    given = Candidate(schema.schema_type, schema.text, schema.references)
    return _fingerprint(parse(given, normalize=True), _normalized_references(schema.references))


def _normalized(given: Candidate) -> tuple[Candidate, formats.Parsed]:
    """`given` in normalized form (the text stored), and it read again."""
    parsed = parse(given, normalize=True)
    form = Candidate(
        given.schema_type,
        parsed.text,
        _normalized_references(given.references),
        given.schema_id,
        given.version,
    )
    return form, parsed


def _same(row: SubjectVersion, fingerprint: str, normalize: bool) -> bool:
    if row.schema.fingerprint == fingerprint:
        return True
    if not normalize:
        return False
    try:
        return _normalized_fingerprint(row.schema) == fingerprint
    except errors.RegistryError:
        # A stored schema that no longer reads (a reference gone) matches nothing.
        return False


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


def listed(
    deleted: bool = False, prefix: str = "", latest_only: bool = False
) -> list[SubjectVersion]:
    """Every subject version (GET /schemas), by subject then version; the newest of each
    subject only with `latest_only`."""
    rows = SubjectVersion.objects.select_related("schema").order_by("subject", "version")
    if not deleted:
        rows = rows.filter(deleted=False)
    if prefix:
        rows = rows.filter(subject__startswith=prefix)
    found = list(rows)
    if latest_only:
        newest = {row.subject: row for row in found}
        found = [row for row in found if newest[row.subject] is row]
    return found


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


def normalizing(subject: str | None) -> bool:
    """Whether `subject` compares schemas in normalized form unless a request says so."""
    for key in ([subject] if subject else []) + [""]:
        row = SubjectConfig.objects.filter(subject=key, normalize__isnull=False).first()
        if row is not None:
            return bool(row.normalize)
    return False


_UNSET: dict[str, Any] = {"compatibility": "", "mode": "", "normalize": None}


def configured(subject: str, field: str) -> Any:
    """What `subject` ("" for global) sets `field` to itself: "" or None when it does not."""
    row = SubjectConfig.objects.filter(subject=subject).first()
    return getattr(row, field) if row is not None else _UNSET[field]


def configure(subject: str, **fields: Any) -> None:
    row, _ = SubjectConfig.objects.get_or_create(subject=subject)
    for name, value in fields.items():
        setattr(row, name, value)
    if row.subject and not row.compatibility and not row.mode and row.normalize is None:
        row.delete()
    else:
        row.save()


def set_mode(subject: str, value: str, force: bool = False) -> None:
    """Set the mode of `subject` ("" for the registry's own).

    Entering IMPORT needs the subject (or, globally, the registry) empty unless `force`:
    imported versions and ids must not meet the ones already there. Soft-deleted versions
    go for good then, as Confluent's registry drops them, so imported numbers are free.
    """
    with transaction.atomic():
        if value == IMPORT and mode(subject or None) != IMPORT and not force:
            rows = SubjectVersion.objects.all()
            if subject:
                rows = rows.filter(subject=subject)
            if rows.filter(deleted=False).exists():
                raise errors.operation_not_permitted("Cannot import since found existing subjects")
            for row in rows:
                if referenced_by(row.subject, row.version, deleted=True):
                    raise errors.reference_exists(row.subject, row.version)
            rows.delete()
        configure(subject, mode=value)


def _check_mode(subject: str, given: Candidate) -> str:
    """The mode `subject` is in, when it lets `given` be registered; 42205 when not."""
    current = mode(subject)
    if current in READ_ONLY:
        raise errors.operation_not_permitted(f"Subject {subject} is in read-only mode")
    if given.schema_id is not None:
        if current != IMPORT:
            raise errors.operation_not_permitted(f"Subject {subject} is not in import mode")
    elif current != READWRITE:
        raise errors.operation_not_permitted(f"Subject {subject} is not in read-write mode")
    return current


def problems(subject: str, parsed: formats.Parsed, level: str | None = None) -> list[str]:
    """Why `parsed` may not join `subject` at its compatibility level; empty when it may."""
    existing = [parsed_of(row.schema) for row in versions(subject)]
    return compatibility.problems(level or compatibility_level(subject), parsed, existing)


def lookup(
    subject: str, given: Candidate, deleted: bool = False, normalize: bool = False
) -> SubjectVersion:
    """The version of `subject` holding this schema (POST /subjects/<subject>).

    "This schema" is exactly it, or with `normalize` anything of the same normalized form.
    """
    rows = live_versions(subject, deleted)
    if normalize:
        given, parsed = _normalized(given)
    else:
        parsed = parse(given)
    fingerprint = _fingerprint(parsed, given.references)
    for row in rows:
        if _same(row, fingerprint, normalize):
            return row
    raise errors.schema_not_found()


_REGISTER_ATTEMPTS = 5


def register(subject: str, given: Candidate, normalize: bool = False) -> SubjectVersion:
    """Store `given` as a version of `subject` unless the same live one exists.

    In IMPORT mode the client names the id (and may name the version) and compatibility is
    not checked: the schemas come from a registry that checked them. With `normalize`
    (ignored while importing, as Confluent does) the normalized form is what is stored.
    """
    importing = _check_mode(subject, given) == IMPORT
    if normalize and not importing:
        given, parsed = _normalized(given)
    else:
        normalize = False
        parsed = parse(given)
    fingerprint = _fingerprint(parsed, given.references)
    for _ in range(_REGISTER_ATTEMPTS):
        try:
            return _register_once(subject, given, parsed, fingerprint, normalize, importing)
        except IntegrityError:
            # Another request took the same version number first: decide again on what
            # is stored now (it may even be this very schema).
            continue
    raise errors.store_error(f"subject {subject} kept changing while registering")


def _register_once(
    subject: str,
    given: Candidate,
    parsed: formats.Parsed,
    fingerprint: str,
    normalize: bool,
    importing: bool,
) -> SubjectVersion:
    with transaction.atomic():
        if given.version is None:
            for row in versions(subject):
                if _same(row, fingerprint, normalize) and given.schema_id in (None, row.schema_id):
                    return row
        if not importing:
            found = problems(subject, parsed)
            if found:
                raise errors.incompatible(subject, found)
        number = _version_number(subject, given, fingerprint, importing)
        if isinstance(number, SubjectVersion):
            return number
        if given.schema_id is not None:
            stored = _imported(parsed, given, fingerprint, given.schema_id)
        else:
            stored = _schema(parsed, given, fingerprint)
        return SubjectVersion.objects.create(subject=subject, version=number, schema=stored)


def _version_number(
    subject: str, given: Candidate, fingerprint: str, importing: bool
) -> int | SubjectVersion:
    """The version `given` becomes, or the version already holding exactly it (re-import)."""
    newest = SubjectVersion.objects.filter(subject=subject).aggregate(n=Max("version"))["n"]
    following = (newest or 0) + 1
    if given.version is None:
        return following
    if not importing:
        if given.version != following:
            raise errors.invalid_schema("Version is not one more than previous version")
        return following
    taken = SubjectVersion.objects.filter(subject=subject, version=given.version).first()
    if taken is None:
        return given.version
    if taken.schema.fingerprint == fingerprint and given.schema_id == taken.schema_id:
        return taken
    # Confluent's registry overwrites the version here; a registry keeps what it stored.
    raise errors.operation_not_permitted(
        f"Subject {subject} version {given.version} already holds schema {taken.schema_id}"
    )


def _imported(parsed: formats.Parsed, given: Candidate, fingerprint: str, schema_id: int) -> Schema:
    """The schema stored under the id an import names; 42205 when the id holds another."""
    existing = Schema.objects.filter(pk=schema_id).first()
    if existing is not None:
        if existing.fingerprint != fingerprint:
            raise errors.id_taken(schema_id)
        return existing
    # The schema may be here already under another id: it gets the imported one as well.
    stored = Schema.objects.create(
        pk=schema_id,
        imported=True,
        schema_type=parsed.schema_type,
        text=given.text,
        canonical=parsed.canonical,
        fingerprint=fingerprint,
        references=given.references,
    )
    # Ids assigned later continue after the highest one (PostgreSQL's sequence does not
    # follow explicit ids by itself; SQLite's AUTOINCREMENT does).
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [Schema]):
            cursor.execute(statement)
    return stored


def _schema(parsed: formats.Parsed, given: Candidate, fingerprint: str) -> Schema:
    existing = Schema.objects.filter(fingerprint=fingerprint).order_by("pk").first()
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
        return Schema.objects.get(fingerprint=fingerprint, imported=False)


def referenced_by(subject: str, number: int, deleted: bool = False) -> list[int]:
    """Ids of schemas whose references name this subject version (from live versions, or
    from soft-deleted ones too with `deleted`)."""
    ids = []
    rows = Schema.objects.filter(versions__isnull=False)
    if not deleted:
        rows = rows.filter(versions__deleted=False)
    for row in rows.distinct():
        if any(r["subject"] == subject and int(r["version"]) == number for r in row.references):
            ids.append(row.pk)
    return sorted(ids)


def delete_version(subject: str, number: int, permanent: bool) -> int:
    if mode(subject) in READ_ONLY:
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
    if mode(subject) in READ_ONLY:
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
