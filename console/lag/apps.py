"""App registration for `console.lag` (lag history, alerts, reset records)."""

from django.apps import AppConfig


class LagConfig(AppConfig):
    name = "console.lag"
    label = "lag"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Consumer lag"
