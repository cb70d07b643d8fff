"""Console models: clusters added in the UI, teams and their topic policy, topic requests,
teams' service accounts and their access requests, and the audit trail.

Owns persistent console state only. It must never talk to a cluster: anything that needs
Kafka goes through `console.kafka`. The bundled broker (`local`) has no row here; it comes
from settings (`console.clusters`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import MinValueValidator
from django.db import models


class Cluster(models.Model):
    """A Kafka-compatible cluster the console administers (Apache Kafka, Redpanda, MSK…)."""

    SECURITY_PROTOCOLS = [
        ("PLAINTEXT", "PLAINTEXT"),
        ("SSL", "SSL"),
        ("SASL_PLAINTEXT", "SASL_PLAINTEXT"),
        ("SASL_SSL", "SASL_SSL"),
    ]
    SASL_MECHANISMS = [
        ("", "none"),
        ("PLAIN", "PLAIN"),
        ("SCRAM-SHA-256", "SCRAM-SHA-256"),
        ("SCRAM-SHA-512", "SCRAM-SHA-512"),
    ]

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    bootstrap_servers = models.CharField(max_length=500)
    security_protocol = models.CharField(
        max_length=20, choices=SECURITY_PROTOCOLS, default="PLAINTEXT"
    )
    sasl_mechanism = models.CharField(max_length=20, choices=SASL_MECHANISMS, blank=True)
    sasl_username = models.CharField(max_length=200, blank=True)
    # Stored as given: the console needs the secret itself to connect. Protect the database.
    sasl_password = models.CharField(max_length=500, blank=True)
    ssl_ca_pem = models.TextField(blank=True, help_text="PEM of the CA that signed the brokers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    """A group of people owning a topic-name prefix, with quotas on what they create and
    byte rates for the service accounts they make."""

    name = models.CharField(max_length=100, unique=True)
    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="team")
    topic_prefix = models.CharField(
        max_length=100, unique=True, help_text="Topics whose names start with this are the team's"
    )
    max_partitions = models.PositiveIntegerField(default=12, help_text="per topic")
    # -1 would mean "keep forever"; a quota of None means no limit at all.
    max_retention_ms = models.BigIntegerField(null=True, blank=True)
    max_total_bytes = models.BigIntegerField(
        null=True, blank=True, help_text="budget for all the team's topics at full retention"
    )
    # Kafka client quotas set on each of the team's service accounts (entity user=<name>);
    # None means no limit. Kafka refuses 0 as a quota, hence at least 1.
    producer_byte_rate = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="bytes/s each of the team's service accounts may produce; empty: no limit",
    )
    consumer_byte_rate = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="bytes/s each of the team's service accounts may consume; empty: no limit",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def is_member(self, user: Any) -> bool:
        return bool(user.is_authenticated) and user.groups.filter(pk=self.group_id).exists()


class TopicRequest(models.Model):
    """A topic a team member asked for outside the team policy, waiting for an admin."""

    PENDING, APPROVED, REJECTED, FAILED = "pending", "approved", "rejected", "failed"
    STATUSES = [(s, s) for s in (PENDING, APPROVED, REJECTED, FAILED)]

    cluster = models.SlugField(max_length=50)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="requests")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    topic = models.CharField(max_length=249)
    partitions = models.PositiveIntegerField()
    replication_factor = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="copies of each partition; empty: the cluster's default"
    )
    configs = models.JSONField(default=dict, blank=True)
    violations = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True, help_text="why the requester needs it")
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.topic} ({self.status})"

    def audit_shape(self) -> dict[str, Any]:
        """The topic asked for, as the audit trail records it."""
        return {
            "partitions": self.partitions,
            "configs": self.configs,
            "replication_factor": self.replication_factor or "cluster default",
        }


class AuditEntry(models.Model):
    """One change somebody made: who, when, where, what, and the state before and after."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Kept beside the FK so the trail survives the user's deletion.
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=50, db_index=True)
    cluster = models.SlugField(max_length=50, blank=True, db_index=True)
    target = models.CharField(max_length=300, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.target}"


class ServiceAccount(models.Model):
    """A SCRAM user a team made for one application, with ACLs on the team's prefix."""

    READ, WRITE, BOTH = "read", "write", "both"
    ACCESS = [(READ, "read (consume)"), (WRITE, "write (produce)"), (BOTH, "read and write")]

    cluster = models.SlugField(max_length=50)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="service_accounts")
    # The SCRAM user name: always the team's prefix and the name the member chose.
    name = models.CharField(max_length=200)
    access = models.CharField(max_length=5, choices=ACCESS)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "name"], name="one_account_per_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.cluster})"

    @property
    def principal(self) -> str:
        return f"User:{self.name}"


class AccessRequest(models.Model):
    """Rights a team asked for one of its service accounts outside the team's prefix,
    waiting for an admin (granted as ACLs on approval)."""

    PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
    STATUSES = [(s, s) for s in (PENDING, APPROVED, REJECTED)]

    account = models.ForeignKey(ServiceAccount, on_delete=models.CASCADE, related_name="requests")
    resource_type = models.CharField(max_length=20)  # TOPIC or GROUP
    pattern_type = models.CharField(max_length=10)  # LITERAL or PREFIXED
    resource_name = models.CharField(max_length=249)
    access = models.CharField(max_length=5, choices=ServiceAccount.ACCESS)
    note = models.TextField(blank=True, help_text="why the application needs it")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.account.name}: {self.access} {self.resource_type} {self.resource_name}"

    def audit_shape(self) -> dict[str, Any]:
        return {
            "resource_type": self.resource_type,
            "pattern_type": self.pattern_type,
            "resource_name": self.resource_name,
            "access": self.access,
        }
