"""URLs of the topics feature: clusters, topics, retention, teams and the audit log."""

from __future__ import annotations

from django.urls import path

from console import names  # noqa: F401 (registers <kafka:...>)
from console.views import audit, clusters, retention, teams, topics

urlpatterns = [
    path("clusters/", clusters.cluster_list, name="clusters"),
    path("clusters/<slug:cluster>/remove/", clusters.cluster_remove, name="clusters_remove"),
    path("clusters/<slug:cluster>/edit/", clusters.cluster_edit, name="clusters_edit"),
    path("clusters/<slug:cluster>/topics/", topics.topic_list, name="topics"),
    path("clusters/<slug:cluster>/new-topic/", topics.topic_new, name="topics_new"),
    path(
        "clusters/<slug:cluster>/new-topic/check-name/",
        topics.topic_name_check,
        name="topics_check_name",
    ),
    path(
        "clusters/<slug:cluster>/topics/<kafka:topic>/", topics.topic_detail, name="topics_detail"
    ),
    path(
        "clusters/<slug:cluster>/topics/<kafka:topic>/configs/<str:name>/",
        topics.topic_config,
        name="topics_config",
    ),
    path(
        "clusters/<slug:cluster>/topics/<kafka:topic>/delete/",
        topics.topic_delete,
        name="topics_delete",
    ),
    path(
        "clusters/<slug:cluster>/topics/<kafka:topic>/partitions/",
        topics.topic_partitions,
        name="topics_partitions",
    ),
    path(
        "clusters/<slug:cluster>/topics/<kafka:topic>/delete-records/",
        topics.topic_delete_records,
        name="topics_delete_records",
    ),
    path("clusters/<slug:cluster>/retention/", retention.retention_page, name="retention"),
    path(
        "clusters/<slug:cluster>/retention/<kafka:topic>/",
        retention.retention_edit,
        name="retention_edit",
    ),
    path("teams/", teams.team_list, name="teams"),
    path("teams/new/", teams.team_edit, name="teams_new"),
    path("teams/<int:team_id>/", teams.team_edit, name="teams_edit"),
    path(
        "teams/requests/<int:request_id>/approve/",
        teams.request_approve,
        name="teams_request_approve",
    ),
    path(
        "teams/requests/<int:request_id>/reject/", teams.request_reject, name="teams_request_reject"
    ),
    path("audit/", audit.audit_log, name="audit"),
]
