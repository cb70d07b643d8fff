"""The schema registry a cluster uses, behind one interface for the Schemas pages and for
producing: the built-in one (the console's database) or an existing one over HTTP.

Owns reading subjects, versions and compatibility levels, checking and registering a
version, the same way for both. It must never decide compatibility itself (the store or
the external registry does) nor reach a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from console.registry import errors, formats, store
from console.registry.client import (
    RegistryClient,
    RegistryRefused,
    RegistryUnavailable,
    subject_path,
)
from console.registry.models import RegistrySource

SUBJECT_NOT_FOUND, INVALID_SCHEMA, INCOMPATIBLE = 40401, 42201, 409


class Refused(ValueError):
    """The registry will not take the schema; the message says why, for a person."""


@dataclass(frozen=True)
class Version:
    subject: str
    version: int
    schema_id: int
    schema_type: str
    text: str
    references: tuple[dict[str, Any], ...] = ()


class Registry(Protocol):
    @property
    def where(self) -> str:
        """Shown to people: where the subjects come from ("" for the built-in registry)."""

    def subjects(self) -> list[str]: ...
    def versions(self, subject: str) -> list[Version]: ...
    def latest(self, subject: str) -> tuple[int, Version | None]: ...
    def level(self, subject: str) -> str: ...
    def problems(self, subject: str, schema_type: str, text: str) -> list[str]: ...
    def register(self, subject: str, schema_type: str, text: str) -> int: ...
    def parsed(self, version: Version) -> formats.Parsed: ...


class Builtin:
    @property
    def where(self) -> str:
        return ""

    def subjects(self) -> list[str]:
        return store.subjects()

    def versions(self, subject: str) -> list[Version]:
        return [
            Version(
                subject,
                row.version,
                row.schema_id,
                row.schema.schema_type,
                row.schema.text,
                tuple(row.schema.references),
            )
            for row in store.versions(subject)
        ]

    def latest(self, subject: str) -> tuple[int, Version | None]:
        """(how many live versions, the newest) without reading every version's schema."""
        found = self.versions(subject)
        return len(found), found[-1] if found else None

    def level(self, subject: str) -> str:
        return store.compatibility_level(subject)

    def problems(self, subject: str, schema_type: str, text: str) -> list[str]:
        try:
            return store.problems(subject, store.parse(store.Candidate(schema_type, text, [])))
        except errors.RegistryError as exc:
            raise Refused(exc.message) from exc

    def register(self, subject: str, schema_type: str, text: str) -> int:
        try:
            given = store.Candidate(schema_type, text, [])
            # The subject's `normalize` config holds for the pages as for clients.
            return store.register(subject, given, store.normalizing(subject)).version
        except errors.RegistryError as exc:
            raise Refused(exc.message) from exc

    def parsed(self, version: Version) -> formats.Parsed:
        return store.parsed_of(store.schema(version.schema_id))


@dataclass(frozen=True)
class External:
    client: RegistryClient

    @property
    def where(self) -> str:
        return self.client.url

    def subjects(self) -> list[str]:
        return sorted(str(s) for s in self.client.get("subjects"))

    def _version(self, subject: str, number: int | str) -> Version:
        doc = self.client.get(f"{subject_path(subject)}/versions/{number}")
        return Version(
            subject,
            int(doc["version"]),
            int(doc["id"]),
            doc.get("schemaType") or formats.AVRO,
            doc["schema"],
            tuple(doc.get("references") or ()),
        )

    def versions(self, subject: str) -> list[Version]:
        try:
            numbers = self.client.get(f"{subject_path(subject)}/versions")
        except RegistryRefused as exc:
            if exc.error_code == SUBJECT_NOT_FOUND:
                return []
            raise
        return [self._version(subject, int(n)) for n in sorted(numbers)]

    def latest(self, subject: str) -> tuple[int, Version | None]:
        try:
            numbers = self.client.get(f"{subject_path(subject)}/versions")
        except RegistryRefused as exc:
            if exc.error_code == SUBJECT_NOT_FOUND:
                return 0, None
            raise
        if not numbers:
            return 0, None
        return len(numbers), self._version(subject, max(int(n) for n in numbers))

    def level(self, subject: str) -> str:
        doc = self.client.get(f"config/{quote(subject, safe='')}?defaultToGlobal=true")
        return str(doc.get("compatibilityLevel") or doc.get("compatibility") or "")

    def _body(self, schema_type: str, text: str) -> dict[str, Any]:
        body: dict[str, Any] = {"schema": text}
        if schema_type != formats.AVRO:
            body["schemaType"] = schema_type
        return body

    def problems(self, subject: str, schema_type: str, text: str) -> list[str]:
        try:
            doc = self.client.call(
                "POST",
                f"compatibility/{subject_path(subject)}/versions?verbose=true",
                self._body(schema_type, text),
            )
        except RegistryRefused as exc:
            if exc.error_code == SUBJECT_NOT_FOUND:
                return []  # a first version is compatible with nothing before it
            if exc.error_code == INVALID_SCHEMA or exc.error_code // 100 == 422:
                raise Refused(exc.message) from exc
            raise
        if doc.get("is_compatible"):
            return []
        return [str(m) for m in doc.get("messages") or ["incompatible"]]

    def register(self, subject: str, schema_type: str, text: str) -> int:
        body = self._body(schema_type, text)
        try:
            self.client.call("POST", f"{subject_path(subject)}/versions", body)
            # Registering answers only the id; the lookup tells which version holds it.
            return int(self.client.call("POST", subject_path(subject), body)["version"])
        except RegistryRefused as exc:
            if exc.error_code == INCOMPATIBLE or exc.error_code // 100 in (409, 422):
                raise Refused(exc.message) from exc
            raise

    def parsed(self, version: Version) -> formats.Parsed:
        refs = [
            self.parsed(self._version(str(r["subject"]), int(r["version"])))
            for r in version.references
        ]
        try:
            return formats.parse(version.schema_type, version.text, refs)
        except formats.InvalidSchema as exc:
            raise Refused(str(exc)) from exc


def of_cluster(slug: str) -> Registry:
    """The registry an admin chose for cluster `slug`; the built-in one by default."""
    row = RegistrySource.objects.filter(cluster=slug).first()
    if row is None:
        return Builtin()
    return External(RegistryClient(row.url, row.username, row.password))


__all__ = ["Refused", "Registry", "RegistryUnavailable", "Version", "of_cluster"]
