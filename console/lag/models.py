"""What the console remembers about consumer groups: lag samples, alerts, reset records.

Owns persistent lag state only. It must never talk to a cluster: the sampler
(`console.lag.sampler`) writes samples and alert state; views read them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class GroupSample(models.Model):
    """One measurement of a whole group: the totals the charts and the trend arrow draw."""

    cluster = models.SlugField(max_length=50)
    group = models.CharField(max_length=255)
    at = models.DateTimeField()
    lag = models.BigIntegerField(help_text="messages behind, summed over partitions")
    lag_ms = models.BigIntegerField(null=True, help_text="age of the oldest unconsumed record")
    committed_sum = models.BigIntegerField(help_text="sum of committed offsets (consume rate)")
    end_sum = models.BigIntegerField(help_text="sum of log end offsets (produce rate)")
    partitions = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["cluster", "group", "at"])]
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.cluster}/{self.group} @ {self.at:%Y-%m-%d %H:%M:%S}: {self.lag}"


class PartitionSample(models.Model):
    """One measurement of one partition of a group."""

    cluster = models.SlugField(max_length=50)
    group = models.CharField(max_length=255)
    topic = models.CharField(max_length=249)
    partition = models.IntegerField()
    at = models.DateTimeField()
    committed = models.BigIntegerField(null=True)
    end = models.BigIntegerField()
    lag = models.BigIntegerField(null=True)
    lag_ms = models.BigIntegerField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["cluster", "group", "at"]),
            models.Index(fields=["at"]),
        ]

    def __str__(self) -> str:
        return f"{self.cluster}/{self.group} {self.topic}[{self.partition}] @ {self.at:%H:%M:%S}"


class CommitSeen(models.Model):
    """When the sampler last saw a partition's committed offset move ("last commit time").

    Kafka does not report commit times, so this is as exact as the sampling interval.
    """

    cluster = models.SlugField(max_length=50)
    group = models.CharField(max_length=255)
    topic = models.CharField(max_length=249)
    partition = models.IntegerField()
    committed = models.BigIntegerField()
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "group", "topic", "partition"], name="lag_commitseen_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.cluster}/{self.group} {self.topic}[{self.partition}] = {self.committed}"


class LagAlert(models.Model):
    """A group's lag threshold (messages and/or time), and whether it is firing now."""

    cluster = models.SlugField(max_length=50)
    group = models.CharField(max_length=255)
    max_lag_messages = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="fire when the group is more than this many messages behind",
    )
    max_lag_seconds = models.BigIntegerField(
        null=True, blank=True, help_text="fire when the oldest unread record is older than this"
    )
    webhook_url = models.URLField(
        blank=True, help_text="receives a JSON POST when it fires or clears"
    )
    firing = models.BooleanField(default=False)
    since = models.DateTimeField(null=True, blank=True, help_text="when the current state began")
    last_lag = models.BigIntegerField(null=True, blank=True)
    last_lag_ms = models.BigIntegerField(null=True, blank=True)
    last_webhook_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cluster", "group"], name="lag_alert_unique")
        ]
        ordering = ["cluster", "group"]

    def __str__(self) -> str:
        return f"{self.cluster}/{self.group}"


class ResetRecord(models.Model):
    """An applied offset reset, kept to show the replay's progress afterwards.

    `rows` holds per partition: topic, partition, before, after, end (log end at reset).
    """

    cluster = models.SlugField(max_length=50)
    group = models.CharField(max_length=255)
    at = models.DateTimeField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    description = models.CharField(max_length=300)
    rows = models.JSONField(default=list)
    lag_at_reset = models.BigIntegerField(
        help_text="records between the new offsets and the log end"
    )

    class Meta:
        indexes = [models.Index(fields=["cluster", "group", "at"])]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.cluster}/{self.group} {self.description} @ {self.at:%Y-%m-%d %H:%M}"
