"""URLs of the share-group pages (the list is the groups page's second table). Group ids
may hold any character, "/" included (`console.names` escapes them into one segment)."""

from __future__ import annotations

from django.urls import path

from console import names  # noqa: F401 (registers <kafka:...>)
from console.views import share_groups

GROUP = "clusters/<slug:cluster>/share-groups/<kafka:group>/"

urlpatterns = [
    path(GROUP, share_groups.share_group_detail, name="share_groups_detail"),
    path(f"{GROUP}reset/", share_groups.share_group_reset, name="share_groups_reset"),
    path(
        f"{GROUP}reset/apply/",
        share_groups.share_group_reset_apply,
        name="share_groups_reset_apply",
    ),
    path(
        f"{GROUP}delete-offsets/",
        share_groups.share_group_delete_offsets,
        name="share_groups_delete_offsets",
    ),
    path(f"{GROUP}configs/", share_groups.share_group_configs, name="share_groups_configs"),
    path(f"{GROUP}alert/", share_groups.share_group_alert, name="share_groups_alert"),
]
