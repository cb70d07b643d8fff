"""The HTTP gateway to an existing (external) Confluent-compatible schema registry.

Owns the requests the console makes to one (schemas by id, subjects and their versions,
compatibility levels and checks, and registering a version a person submits on the
Schemas page), with basic auth and a short timeout. It must never reach Kafka, nor write
to the registry except when asked to register.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

ACCEPT = (
    "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json"
)
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
TIMEOUT_S = 5.0


class RegistryUnavailable(Exception):
    """The registry did not answer, or refused; the message says which."""


class RegistryRefused(RegistryUnavailable):
    """The registry answered with an error document: its `error_code` and `message`."""

    def __init__(self, text: str, error_code: int, message: str) -> None:
        super().__init__(text)
        self.error_code = error_code
        self.message = message


def _refusal(url: str, path: str, exc: urllib.error.HTTPError) -> RegistryUnavailable:
    try:
        doc = json.loads(exc.read())
    except ValueError:
        doc = None
    text = f"{url} answered {exc.code} for {path}"
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        code = doc.get("error_code")
        return RegistryRefused(
            f"{text}: {doc['message']}", code if isinstance(code, int) else exc.code, doc["message"]
        )
    return RegistryUnavailable(text)


def subject_path(subject: str) -> str:
    return f"subjects/{quote(subject, safe='')}"


@dataclass(frozen=True)
class RegistryClient:
    url: str
    username: str = ""
    password: str = ""

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url.rstrip('/')}/{path}", data=data, method=method, headers={"Accept": ACCEPT}
        )
        if data is not None:
            request.add_header("Content-Type", CONTENT_TYPE)
        if self.username:
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise _refusal(self.url, path, exc) from exc
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise RegistryUnavailable(f"{self.url} unreachable: {exc}") from exc

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def schema(self, schema_id: int) -> dict[str, Any]:
        """`{"schema", "schemaType"?, "references"?}` of schema `schema_id`."""
        found = self.get(f"schemas/ids/{schema_id}")
        if not isinstance(found, dict) or not isinstance(found.get("schema"), str):
            raise RegistryUnavailable(f"{self.url} sent no schema for id {schema_id}")
        return found

    def version(self, subject: str, version: int) -> dict[str, Any]:
        """`{"subject", "version", "id", "schema", "schemaType"?, "references"?}`."""
        found = self.get(f"{subject_path(subject)}/versions/{version}")
        if not isinstance(found, dict) or not isinstance(found.get("schema"), str):
            raise RegistryUnavailable(f"{self.url} sent no schema for {subject} v{version}")
        return found

    def versions_of(self, schema_id: int) -> list[dict[str, Any]]:
        return list(self.get(f"schemas/ids/{schema_id}/versions"))
