"""URLs of the messages pages (filled in by the console messages feature)."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
