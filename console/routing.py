"""Websocket URL routes (Channels). Owns the list only; consumers live in their own modules."""

from __future__ import annotations

from typing import Any

from django.urls import path

from console import names  # noqa: F401 (registers <kafka:...>)
from console.consumers import TailConsumer

websocket_urlpatterns: list[Any] = [
    path("ws/clusters/<slug:cluster>/topics/<kafka:topic>/tail/", TailConsumer.as_asgi()),
]
