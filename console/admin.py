"""Django admin registrations for the console's own models (a fallback editor for admins).

Owns nothing but the registrations. It must never be the only way to do something: every
task has a console page; the admin site is for repairs.
"""

from __future__ import annotations

from django.contrib import admin

from console.models import AuditEntry, Cluster, Team, TopicRequest


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "bootstrap_servers", "security_protocol"]
    exclude = ["sasl_password"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "topic_prefix", "max_partitions", "max_retention_ms", "max_total_bytes"]


@admin.register(TopicRequest)
class TopicRequestAdmin(admin.ModelAdmin):
    list_display = ["topic", "cluster", "team", "status", "requested_by", "created_at"]
    list_filter = ["status", "cluster"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "username", "action", "cluster", "target"]
    list_filter = ["action", "cluster"]

    # The trail is append-only, even for superusers.
    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
