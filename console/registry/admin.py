"""Django admin for the registry: API keys (listing and revoking; secrets never shown).

Owns admin registration only; it must never create keys (the `registry_key` command
does, so the secret is printed once and stored hashed).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from console.registry.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("key", "team", "created_at")
    readonly_fields = ("key", "team", "secret_hash", "created_at")

    def has_add_permission(self, request: Any) -> bool:
        return False
