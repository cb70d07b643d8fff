"""URL map. Cluster-scoped pages live under `/clusters/<cluster>/` so links can be shared.

Each page family has its own URL module (`console/urls_*.py`) owned by its feature.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from console.views import metrics, shell

# Password resets go by mail: without a configured mail server the reset form would fail,
# or hand reset links to whatever listens on localhost:25. So the pages exist only with mail.
accounts = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]

urlpatterns = [
    path("", shell.root, name="root"),
    path("healthz", shell.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path(
        "accounts/",
        include("django.contrib.auth.urls" if settings.ODRADEK_PASSWORD_RESET else accounts),
    ),
    path("admin/", admin.site.urls),
    path("clusters/<slug:cluster>/", shell.overview, name="overview"),
    path("", include("console.urls_topics")),
    path("", include("console.urls_groups")),
    path("", include("console.urls_share_groups")),
    path("", include("console.urls_messages")),
    path("", include("console.urls_brokers")),
    path("", include("console.urls_health")),
    path("schema-registry/", include("console.registry.urls")),
    path("", include("console.registry.page_urls")),
    path("", include("console.urls_transactions")),
    path("", include("console.urls_security")),
    path("", include("console.urls_accounts")),
]
