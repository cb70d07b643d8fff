"""Django admin views of lag state, for operators; read-mostly.

Owns admin registrations only. Samples and reset records are written by the sampler and
the reset flow, never edited by hand, so they are read-only here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from console.lag.models import GroupSample, LagAlert, ResetRecord


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LagAlert)
class LagAlertAdmin(admin.ModelAdmin):
    list_display = ["cluster", "group", "max_lag_messages", "max_lag_seconds", "firing", "since"]
    list_filter = ["cluster", "firing"]
    search_fields = ["group"]
    readonly_fields = ["firing", "since", "last_lag", "last_lag_ms", "last_webhook_error"]


@admin.register(ResetRecord)
class ResetRecordAdmin(ReadOnly):
    list_display = ["at", "cluster", "group", "description", "user", "lag_at_reset"]
    list_filter = ["cluster"]
    search_fields = ["group"]


@admin.register(GroupSample)
class GroupSampleAdmin(ReadOnly):
    list_display = ["at", "cluster", "group", "lag", "lag_ms", "partitions"]
    list_filter = ["cluster"]
    search_fields = ["group"]
