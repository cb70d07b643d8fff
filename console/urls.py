"""URL map. Cluster-scoped pages live under `/clusters/<cluster>/` so links can be shared.

Each page family has its own URL module (`console/urls_*.py`) owned by its feature.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from console.views import shell

urlpatterns = [
    path("", shell.root, name="root"),
    path("healthz", shell.healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("clusters/<slug:cluster>/", shell.overview, name="overview"),
    path("", include("console.urls_topics")),
    path("", include("console.urls_groups")),
    path("", include("console.urls_messages")),
]
