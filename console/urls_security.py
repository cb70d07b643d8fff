"""URLs of a cluster's security pages: SCRAM users, ACLs and client quotas (administrators
only)."""

from __future__ import annotations

from django.urls import path

from console import names  # noqa: F401 (registers <kafka:...>)
from console.views import acls, client_quotas, scram_users

urlpatterns = [
    path("clusters/<slug:cluster>/users/", scram_users.user_list, name="scram_users"),
    path("clusters/<slug:cluster>/users/new/", scram_users.user_create, name="scram_users_create"),
    path(
        "clusters/<slug:cluster>/users/<kafka:name>/delete/",
        scram_users.user_delete,
        name="scram_users_delete",
    ),
    path("clusters/<slug:cluster>/acls/", acls.acl_list, name="acls"),
    path("clusters/<slug:cluster>/acls/new/", acls.acl_create, name="acls_create"),
    path("clusters/<slug:cluster>/acls/delete/", acls.acl_delete, name="acls_delete"),
    path("clusters/<slug:cluster>/quotas/", client_quotas.quota_list, name="client_quotas"),
    path("clusters/<slug:cluster>/quotas/set/", client_quotas.quota_set, name="client_quotas_set"),
    path(
        "clusters/<slug:cluster>/quotas/remove/",
        client_quotas.quota_remove,
        name="client_quotas_remove",
    ),
]
