"""URLs of the replication health page, the replica operations and moving to a cluster."""

from __future__ import annotations

from django.urls import path

from console import names  # noqa: F401 (registers <kafka:...>)
from console.views import health, move

urlpatterns = [
    path("clusters/<slug:cluster>/health/", health.health, name="health"),
    path("clusters/<slug:cluster>/move/", move.move, name="move"),
    path("clusters/<slug:cluster>/health/elect/", health.elect, name="health_elect"),
    path(
        "clusters/<slug:cluster>/topics/<kafka:topic>/reassign/",
        health.reassign,
        name="topics_reassign",
    ),
]
