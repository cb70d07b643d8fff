"""Websocket URL routes (Channels). Owns the list only; consumers live in their own modules."""

from __future__ import annotations

from typing import Any

websocket_urlpatterns: list[Any] = []
