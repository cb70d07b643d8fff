"""What the team-quota checks need from a cluster: a topic's shape now and the team's
other topics, for every path that changes a topic (create, configs, retention, partitions).

Owns reading those through `console.kafka.admin` and the cached snapshot, and skipping
the checks for admins. The rules themselves are `console.quota`'s; this must never add
a rule of its own, and never change anything on a cluster.
"""

from __future__ import annotations

from typing import Any

from console import quota
from console.kafka import admin
from console.kafka.clusters import ClusterConfig
from console.models import Team
from console.permissions import is_admin, limits_of, team_for_topic
from console.views.clusters import cluster_view


def shape_of(info: admin.TopicInfo) -> quota.Shape:
    return quota.Shape(
        name=info.name,
        partitions=len(info.partitions),
        retention_ms=info.retention_ms,
        retention_bytes=info.retention_bytes,
        cleanup_policy=info.cleanup_policy or "delete",
    )


def team_shapes(cluster: str, team: Team) -> list[quota.Shape] | None:
    """The team's topics as the snapshot knows them; None when there is no snapshot.

    A topic under a narrower team's prefix is that team's, not this one's.
    """
    view = cluster_view(cluster, max_age=60)
    if view.snapshot is None:
        return None
    teams = list(Team.objects.all())
    return [
        shape_of(t)
        for t in view.snapshot.topics.values()
        if t.name.startswith(team.topic_prefix) and team_for_topic(t.name, teams) == team
    ]


def _member_team(user: Any, topic: str) -> Team | None:
    """The team whose quotas bind `user` on `topic`; None for admins and unowned topics."""
    return None if is_admin(user) else team_for_topic(topic)


def config_refusal(
    user: Any, config: ClusterConfig, topic: str, changes: dict[str, str | None]
) -> list[str]:
    """Why `user` may not make these config changes; empty when allowed (raises ClusterError)."""
    team = _member_team(user, topic)
    if team is None:
        return []
    current = shape_of(admin.partition_details(config, topic))
    return quota.config_problems(limits_of(team), current, changes, team_shapes(config.slug, team))


def partitions_refusal(user: Any, config: ClusterConfig, topic: str, total: int) -> list[str]:
    """Why `user` may not grow `topic` to `total` partitions (raises ClusterError)."""
    team = _member_team(user, topic)
    if team is None:
        return []
    current = shape_of(admin.partition_details(config, topic))
    return quota.partitions_problems(
        limits_of(team), current, total, team_shapes(config.slug, team)
    )
