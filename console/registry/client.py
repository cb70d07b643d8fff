"""The HTTP gateway to an existing (external) Confluent-compatible schema registry.

Owns the few reads the console needs from one (a schema by id, a subject's versions),
with basic auth and a short timeout. It must never reach Kafka, nor write to the registry.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

ACCEPT = (
    "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json"
)
TIMEOUT_S = 5.0


class RegistryUnavailable(Exception):
    """The registry did not answer, or refused; the message says which."""


@dataclass(frozen=True)
class RegistryClient:
    url: str
    username: str = ""
    password: str = ""

    def get(self, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.url.rstrip('/')}/{path}", headers={"Accept": ACCEPT}
        )
        if self.username:
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise RegistryUnavailable(f"{self.url} answered {exc.code} for {path}") from exc
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise RegistryUnavailable(f"{self.url} unreachable: {exc}") from exc

    def schema(self, schema_id: int) -> dict[str, Any]:
        """`{"schema", "schemaType"?, "references"?}` of schema `schema_id`."""
        found = self.get(f"schemas/ids/{schema_id}")
        if not isinstance(found, dict) or not isinstance(found.get("schema"), str):
            raise RegistryUnavailable(f"{self.url} sent no schema for id {schema_id}")
        return found

    def version(self, subject: str, version: int) -> dict[str, Any]:
        from urllib.parse import quote

        return dict(self.get(f"subjects/{quote(subject, safe='')}/versions/{version}"))

    def versions_of(self, schema_id: int) -> list[dict[str, Any]]:
        return list(self.get(f"schemas/ids/{schema_id}/versions"))
