"""URLs of the replication health page and the replica operations."""

from __future__ import annotations

from django.urls import path

from console import names  # noqa: F401 (registers <kafka:...>)
from console.views import health

urlpatterns = [
    path("clusters/<slug:cluster>/health/", health.health, name="health"),
    path("clusters/<slug:cluster>/health/elect/", health.elect, name="health_elect"),
    path(
        "clusters/<slug:cluster>/topics/<kafka:topic>/reassign/",
        health.reassign,
        name="topics_reassign",
    ),
]
