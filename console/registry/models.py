"""Schema registry storage: schemas by id, subject versions, per-subject settings, API keys.

Owns the persistent shape only. It must never parse or compare schemas (that is
`console.registry.formats` and `console.registry.compatibility`) nor talk to a cluster.
"""

from __future__ import annotations

from django.db import models

from console.models import Team


class Schema(models.Model):
    """One distinct schema. Its primary key is the id clients embed in every record.

    Identity is (type, canonical text, references): registering the same schema under
    another subject reuses the id, as Confluent's registry does. Only imports (IMPORT
    mode) may store a schema a second time, under the id the source registry gave it.
    """

    schema_type = models.CharField(max_length=16)
    text = models.TextField()
    # Canonical text: what makes two registrations "the same schema".
    canonical = models.TextField()
    fingerprint = models.CharField(max_length=64, db_index=True)
    references = models.JSONField(default=list, blank=True)
    imported = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=models.Q(imported=False),
                name="registry_schema_fingerprint",
            )
        ]

    def __str__(self) -> str:
        return f"{self.schema_type} schema {self.pk}"


class SubjectVersion(models.Model):
    """Version `version` of `subject` is schema `schema`; soft-deleted versions stay."""

    subject = models.CharField(max_length=255, db_index=True)
    version = models.PositiveIntegerField()
    schema = models.ForeignKey(Schema, on_delete=models.PROTECT, related_name="versions")
    deleted = models.BooleanField(default=False)

    class Meta:
        ordering = ["subject", "version"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "version"], name="registry_subject_version")
        ]

    def __str__(self) -> str:
        return f"{self.subject} v{self.version}"


class SubjectConfig(models.Model):
    """Compatibility level, normalize and mode of one subject; subject "" holds the global ones.

    Blank (or null) fields mean "not configured here": the global value applies.
    """

    subject = models.CharField(max_length=255, unique=True, blank=True)
    compatibility = models.CharField(max_length=32, blank=True)
    mode = models.CharField(max_length=32, blank=True)
    # Whether registrations and lookups compare schemas in normalized form by default.
    normalize = models.BooleanField(null=True, blank=True)

    def __str__(self) -> str:
        return self.subject or "(global)"


class ApiKey(models.Model):
    """A key a team's applications log in with (HTTP basic: key as user, secret as password)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="registry_keys")
    key = models.CharField(max_length=64, unique=True)
    # A Django password hash: the secret itself is shown once, when the key is made.
    secret_hash = models.CharField(max_length=256)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.key} ({self.team})"


class RegistrySource(models.Model):
    """The registry a cluster's records are decoded with, when not the built-in one."""

    cluster = models.SlugField(max_length=50, unique=True)
    url = models.URLField(max_length=500, help_text="e.g. https://registry.example.com")
    username = models.CharField(max_length=200, blank=True)
    # Stored as given: the console needs the secret itself to ask. Protect the database.
    password = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"{self.cluster}: {self.url}"
