"""Django app configuration for the schema registry (its own label and migrations).

Owns the app registration only; it must never run queries at import or ready time (it only
registers the registry's decoder with the message browser).
"""

from __future__ import annotations

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "console.registry"
    label = "registry"
    verbose_name = "Schema registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from console.registry import decoding

        decoding.install()
