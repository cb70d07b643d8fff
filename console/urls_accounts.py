"""URLs of teams' service accounts on a cluster, and of deciding their access requests."""

from __future__ import annotations

from django.urls import path

from console.views import access_requests, service_accounts

urlpatterns = [
    path(
        "clusters/<slug:cluster>/teams/<int:team_id>/accounts/",
        service_accounts.account_list,
        name="service_accounts",
    ),
    path(
        "clusters/<slug:cluster>/accounts/<int:account_id>/rotate/",
        service_accounts.account_rotate,
        name="service_accounts_rotate",
    ),
    path(
        "clusters/<slug:cluster>/accounts/<int:account_id>/delete/",
        service_accounts.account_delete,
        name="service_accounts_delete",
    ),
    path(
        "clusters/<slug:cluster>/accounts/<int:account_id>/access/",
        service_accounts.account_access,
        name="service_accounts_access",
    ),
    path(
        "teams/access-requests/<int:request_id>/approve/",
        access_requests.access_approve,
        name="teams_access_approve",
    ),
    path(
        "teams/access-requests/<int:request_id>/reject/",
        access_requests.access_reject,
        name="teams_access_reject",
    ),
]
