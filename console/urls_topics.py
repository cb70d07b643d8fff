"""URLs of the topics pages (filled in by the console topics feature)."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
