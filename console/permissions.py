"""Who may change what: admins everything, team members their team's topics, others read.

Owns the rules only. It must never talk to a cluster, and views must ask it before every
change (the templates use it to hide buttons, but hiding is not protection).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from console import quota
from console.models import Team


def is_admin(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and (user.is_superuser or user.is_staff))


def team_for_topic(topic: str, teams: list[Team] | None = None) -> Team | None:
    """The team owning `topic` by prefix; the longest matching prefix wins."""
    candidates = teams if teams is not None else list(Team.objects.all())
    owners = [t for t in candidates if t.topic_prefix and topic.startswith(t.topic_prefix)]
    return max(owners, key=lambda t: len(t.topic_prefix), default=None)


def user_teams(user: Any) -> list[Team]:
    if not user.is_authenticated:
        return []
    return list(Team.objects.filter(group__in=user.groups.all()))


def can_change_topic(user: Any, cluster: str, topic: str) -> bool:
    """May `user` alter, delete or trim `topic` on `cluster`?

    The cluster is part of the signature so per-cluster rules can come later; today a
    team owns its prefix on every cluster.
    """
    if is_admin(user):
        return True
    team = team_for_topic(topic)
    return team is not None and team.is_member(user)


def can_create_topics(user: Any) -> bool:
    """Admins create anything; members of a team create inside (or request outside) policy."""
    return is_admin(user) or bool(user_teams(user))


def limits_of(team: Team) -> quota.Limits:
    return quota.Limits(
        name=team.name,
        prefix=team.topic_prefix,
        max_partitions=team.max_partitions,
        max_retention_ms=team.max_retention_ms,
        max_total_bytes=team.max_total_bytes,
    )


def policy_violations(
    team: Team,
    name: str,
    partitions: int,
    retention_ms: int | None,
    retention_bytes: int | None,
    others: Iterable[quota.Shape] | None = (),
    cleanup_policy: str = "delete",
) -> list[str]:
    """Why a new topic falls outside `team`'s policy, in words; empty when it fits.

    `others` are the team's existing topics (None: unknown); the arithmetic is
    `console.quota`'s, the same every other path uses.
    """
    shape = quota.Shape(name, partitions, retention_ms, retention_bytes, cleanup_policy)
    return quota.topic_problems(limits_of(team), shape, others)
