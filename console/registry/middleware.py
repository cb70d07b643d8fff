"""Decoding in a cluster's pages uses that cluster's schema registry.

Owns binding the `cluster` of the URL to the registry decoder for one request. It must
never decode or query anything itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from console.registry import decoding


class ClusterRegistryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with decoding.for_cluster(""):
            return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: dict[str, Any]
    ) -> None:
        # Reset by __call__'s context manager when the response is done.
        decoding.use_cluster(str(kwargs.get("cluster", "")))
