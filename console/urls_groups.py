"""URLs of the groups pages (filled in by the console groups feature)."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
