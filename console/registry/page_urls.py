"""URLs of the schemas pages, per cluster like every console page.

Owns the paths only; it must never hold logic.
"""

from __future__ import annotations

from django.urls import path

from console.registry import pages

urlpatterns = [
    path("clusters/<slug:cluster>/schemas/", pages.schema_list, name="schemas"),
    path(
        "clusters/<slug:cluster>/schemas/<str:subject>/",
        pages.schema_subject,
        name="schema_subject",
    ),
]
