"""Registry test helpers: a JSON client speaking to `/schema-registry/` with basic auth."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


@dataclass
class Api:
    client: Client
    username: str
    password: str

    def _headers(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return {"HTTP_AUTHORIZATION": f"Basic {token}"}

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        kwargs: dict[str, Any] = self._headers()
        if body is not None:
            kwargs |= {"data": json.dumps(body), "content_type": CONTENT_TYPE}
        response = getattr(self.client, method.lower())(f"/schema-registry/{path}", **kwargs)
        return response.status_code, json.loads(response.content) if response.content else None

    def get(self, path: str) -> tuple[int, Any]:
        return self.call("GET", path)

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        return self.call("POST", path, body)

    def put(self, path: str, body: Any) -> tuple[int, Any]:
        return self.call("PUT", path, body)

    def delete(self, path: str) -> tuple[int, Any]:
        return self.call("DELETE", path)


@pytest.fixture
def api(db: Any, admin_user: Any) -> Api:
    return Api(Client(), "admin", "admin-pass-123")


def avro_record(name: str, *fields: dict[str, Any]) -> str:
    return json.dumps({"type": "record", "name": name, "fields": list(fields)})
