"""Who may change what: admins everything, team members their team's topics, others read.

Owns the rules only. It must never talk to a cluster, and views must ask it before every
change (the templates use it to hide buttons, but hiding is not protection).
"""

from __future__ import annotations

from typing import Any

from console.models import Team


def is_admin(user: Any) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.is_staff))


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


def policy_violations(
    team: Team,
    name: str,
    partitions: int,
    retention_ms: int | None,
    retention_bytes: int | None,
    team_bytes_now: int = 0,
) -> list[str]:
    """Why a topic falls outside `team`'s policy, in words; empty when it fits.

    The byte budget counts what the team's topics hold on disk now plus the new topic's
    size cap (retention.bytes × partitions); a topic without a cap cannot be bounded, so
    under a budget it needs one.
    """
    problems: list[str] = []
    if not name.startswith(team.topic_prefix):
        problems.append(f"The name does not start with the team prefix {team.topic_prefix!r}.")
    if partitions > team.max_partitions:
        problems.append(
            f"{partitions} partitions is more than the team's {team.max_partitions} per topic."
        )
    if team.max_retention_ms is not None:
        if retention_ms is None or retention_ms < 0:
            problems.append(
                "Keeping records forever (or at the cluster default) exceeds the team's max retention."
            )
        elif retention_ms > team.max_retention_ms:
            problems.append("The retention is longer than the team's max retention.")
    if team.max_total_bytes is not None:
        if retention_bytes is None or retention_bytes < 0:
            problems.append(
                "The team has a byte budget, so the topic needs a size cap per partition."
            )
        elif team_bytes_now + retention_bytes * partitions > team.max_total_bytes:
            problems.append("The size cap would take the team over its byte budget.")
    return problems
