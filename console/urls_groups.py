"""URLs of the consumer-group pages. Group ids may hold any character, "/" included
(`console.names` escapes them into one path segment)."""

from __future__ import annotations

from django.urls import path

from console import names  # noqa: F401 (registers <kafka:...>)
from console.views import groups

urlpatterns = [
    path("clusters/<slug:cluster>/groups/", groups.group_list, name="groups"),
    path(
        "clusters/<slug:cluster>/groups/<kafka:group>/", groups.group_detail, name="groups_detail"
    ),
    path(
        "clusters/<slug:cluster>/groups/<kafka:group>/reset/",
        groups.group_reset,
        name="groups_reset",
    ),
    path(
        "clusters/<slug:cluster>/groups/<kafka:group>/reset/apply/",
        groups.group_reset_apply,
        name="groups_reset_apply",
    ),
    path(
        "clusters/<slug:cluster>/groups/<kafka:group>/delete-offsets/",
        groups.group_delete_offsets,
        name="groups_delete_offsets",
    ),
    path(
        "clusters/<slug:cluster>/groups/<kafka:group>/delete/",
        groups.group_delete,
        name="groups_delete",
    ),
    path(
        "clusters/<slug:cluster>/groups/<kafka:group>/alert/",
        groups.group_alert,
        name="groups_alert",
    ),
    path(
        "clusters/<slug:cluster>/topics/<kafka:topic>/consumers/",
        groups.topic_consumers,
        name="groups_topic_consumers",
    ),
]
