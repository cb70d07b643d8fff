"""Django app configuration for the schema registry (its own label and migrations).

Owns the app registration only; it must never run queries at import or ready time.
"""

from __future__ import annotations

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "console.registry"
    label = "registry"
    verbose_name = "Schema registry"
    default_auto_field = "django.db.models.BigAutoField"
