"""A team's byte rates carried to its service accounts, cluster by cluster, when an admin
saves the team: new rates set on every account, or, with the rates unchanged, each account
that does not hold them caught up (a cluster refused or was unreachable when they last
changed, or someone changed the account's quota by hand).

Owns the walk over the clusters the team's accounts live on, its audit entries, and the
messages that name a cluster that refused. It must never reach a cluster except through
`console.kafka`, never touch a quota key other than the byte rates (`console.account_limits`
decides which accounts differ), never undo the team's save when a cluster refuses (the
rates are the admin's decision, the clusters only carry it out), and never run for anyone
but the administrator `team_edit` has already let through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django.contrib import messages
from django.http import HttpRequest

from console import account_limits, audit
from console.clusters import ClusterConfig, ClusterNotFound, get_cluster
from console.kafka import client_quotas
from console.kafka.errors import ClusterError
from console.models import ServiceAccount, Team

_BY_HAND = "(the cluster's Client quotas page sets them by hand)."


def apply(request: HttpRequest, team: Team, old: dict[str, float | None]) -> None:
    """The team's new byte rates on each of its service accounts; a cluster that refuses
    is named, and the others still get them."""
    new = account_limits.rates(team)

    def set_all(config: ClusterConfig, accounts: list[ServiceAccount]) -> Iterator[None]:
        for account in accounts:
            # Both rates, not only the changed one: an account a cluster refused earlier
            # catches up on the other as well.
            client_quotas.alter(config, account_limits.entity(account.name), new)
            audit.record(
                request.user,
                "account.quota",
                config.slug,
                account.principal,
                before=_whole(old),
                after=_whole(new),
                detail=f"team {team.name}'s byte rates changed",
            )
            yield

    done, refused = _walk(team, set_all)
    if done:
        messages.info(request, f"New byte rates set on {done} service account{'s' * (done != 1)}.")
    for problem in refused:
        messages.error(
            request,
            f"Not every account of team {team.name} has the new byte rates; {problem} "
            f"Its accounts there keep their previous limits {_BY_HAND}",
        )


def reconcile(request: HttpRequest, team: Team) -> None:
    """The team's unchanged byte rates on each account whose cluster holds others for it,
    read with one DescribeClientQuotas per cluster: saving again is how an admin retries
    after a refusal. Accounts that hold them cost no change and leave no audit entry."""
    wanted = account_limits.rates(team)

    def catch_up(config: ClusterConfig, accounts: list[ServiceAccount]) -> Iterator[None]:
        by_name = {a.name: a for a in accounts}
        entries = client_quotas.describe(config)
        for name, held in account_limits.differing(entries, by_name, team).items():
            client_quotas.alter(config, account_limits.entity(name), wanted)
            audit.record(
                request.user,
                "account.quota",
                config.slug,
                by_name[name].principal,
                before=_whole(held),
                after=_whole(wanted),
                detail=f"caught up with team {team.name}'s byte rates",
            )
            yield

    done, refused = _walk(team, catch_up)
    if done:
        messages.info(
            request,
            f"Team {team.name}'s byte rates re-applied on {done} service "
            f"account{'s' * (done != 1)} that did not hold them.",
        )
    for problem in refused:
        messages.error(
            request,
            f"Team {team.name}'s byte rates could not be re-applied on every account; "
            f"{problem} Its accounts there keep the limits they hold {_BY_HAND}",
        )


def _walk(
    team: Team, change: Callable[[ClusterConfig, list[ServiceAccount]], Iterator[None]]
) -> tuple[int, list[str]]:
    """Run `change` on each cluster's accounts of `team` (it yields once per account
    changed): how many were changed, and a line for each cluster that refused or is gone.
    The accounts a cluster changed before refusing still count."""
    refused, done = [], 0
    for slug, accounts in _by_cluster(team).items():
        try:
            for _ in change(get_cluster(slug), accounts):
                done += 1
        except ClusterNotFound:
            refused.append(f"{slug}: the console no longer knows this cluster")
        except ClusterError as exc:
            refused.append(f"{slug}: {exc}")
    return done, refused


def _by_cluster(team: Team) -> dict[str, list[ServiceAccount]]:
    found: dict[str, list[ServiceAccount]] = {}
    for account in ServiceAccount.objects.filter(team=team).order_by("cluster", "name"):
        found.setdefault(account.cluster, []).append(account)
    return found


def _whole(rates: dict[str, float | None]) -> dict[str, int | None]:
    """Rates as the audit trail shows them: whole bytes/s, None for no limit."""
    return {key: None if value is None else int(value) for key, value in rates.items()}
