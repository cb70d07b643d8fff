"""Team self-service service accounts on one cluster: create, rotate, delete, more rights.

Owns the request/response side: only the team's members and administrators pass on
every path (another team's member or a viewer gets 403), the account name always starts
with the team's prefix and never takes over an existing SCRAM user, the password is
shown once with ready-to-paste client configurations (with the limits that apply), rights
inside the team's prefix are granted at once and rights outside it become an
`AccessRequest` for an admin, the team's byte rates (`console.account_limits`) are set on
a new account with its ACLs and removed with it, an account whose cluster holds other
rates says so on the page, and every change is audited (never a password). It must never
reach the cluster except through `console.kafka`.
"""

from __future__ import annotations

import contextlib

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from console import account_grants, account_limits, acl_terms, audit, client_configs
from console.clusters import ClusterConfig
from console.kafka import acls, client_quotas, scram
from console.kafka.errors import ClusterError, Refused
from console.models import AccessRequest, ServiceAccount, Team
from console.permissions import is_admin
from console.security_forms import AccessForm, ServiceAccountForm
from console.views import HtmxHttpRequest
from console.views.clusters import cluster_or_404, forbidden

PAGE = "console/service_accounts.html"


def _refusal(request: HtmxHttpRequest, team: Team) -> HttpResponse | None:
    if is_admin(request.user) or team.is_member(request.user):
        return None
    return forbidden(
        request, f"Only members of team {team.name} and administrators manage its service accounts."
    )


def _account(cluster: str, account_id: int) -> ServiceAccount:
    account = get_object_or_404(ServiceAccount.objects.select_related("team"), pk=account_id)
    if account.cluster != cluster:
        raise Http404("No such service account on this cluster.")
    return account


@require_http_methods(["GET", "POST"])
def account_list(request: HtmxHttpRequest, cluster: str, team_id: int) -> HttpResponse:
    config = cluster_or_404(cluster)
    team = get_object_or_404(Team, pk=team_id)
    refused = _refusal(request, team)
    if refused:
        return refused
    form = ServiceAccountForm(request.POST or None)
    if request.method == "GET":
        return _page(request, config, team, form)
    if not form.is_valid():
        return _page(request, config, team, form, status=400)
    name = team.topic_prefix + form.cleaned_data["name"]
    access = form.cleaned_data["access"]
    password = acl_terms.generated_password()
    try:
        _create(config, team, name, access, password)
    except ClusterError as exc:
        form.add_error(None, str(exc))
        return _page(request, config, team, form, status=400)
    ServiceAccount.objects.create(
        cluster=cluster,
        team=team,
        name=name,
        access=access,
        created_by=request.user,  # type: ignore[misc]
    )
    audit.record(
        request.user,
        "account.create",
        cluster,
        f"User:{name}",
        after={"team": team.name, "access": access, "prefix": team.topic_prefix},
    )
    limits = account_limits.set_rates(team)
    if limits:
        audit.record(
            request.user,
            "account.quota",
            cluster,
            f"User:{name}",
            after={key: int(value) for key, value in limits.items()},
            detail=f"team {team.name}'s byte rates, set on creation",
        )
    shown = _shown(config, name, password, team)
    return _page(request, config, team, ServiceAccountForm(), shown=shown)


def _create(config: ClusterConfig, team: Team, name: str, access: str, password: str) -> None:
    """The SCRAM user, its ACLs and the team's byte rates on it; nothing is left behind
    when any fails. A name the cluster already knows (a user, or a principal some ACL
    names) is never taken over."""
    principal = f"User:{name}"
    if (
        ServiceAccount.objects.filter(cluster=config.slug, name=name).exists()
        or any(u.name == name for u in scram.list_users(config))
        or acls.list_acls(config, principal=principal)
    ):
        raise Refused(f"A user called {name} already exists on this cluster; choose another name.")
    scram.set_password(config, name, password)
    limits = account_limits.set_rates(team)
    try:
        acls.create_acls(config, account_grants.team_grants(principal, team.topic_prefix, access))
        if limits:  # a team without rates never needs the cluster to serve client quotas
            client_quotas.alter(config, account_limits.entity(name), limits)
    except ClusterError:
        # The first failure is the one to show; an unlimited account must not stay behind.
        with contextlib.suppress(ClusterError):
            if limits:
                client_quotas.alter(config, account_limits.entity(name), dict.fromkeys(limits))
        with contextlib.suppress(ClusterError):
            acls.delete_acls_of(config, principal)
        scram.delete_user(config, name, list(scram.MECHANISMS))
        raise


@require_POST
def account_rotate(request: HtmxHttpRequest, cluster: str, account_id: int) -> HttpResponse:
    """A new generated password, shown once; the old one stops working."""
    config = cluster_or_404(cluster)
    account = _account(cluster, account_id)
    refused = _refusal(request, account.team)
    if refused:
        return refused
    password = acl_terms.generated_password()
    try:
        scram.set_password(config, account.name, password)
    except ClusterError as exc:
        messages.error(request, str(exc))
        return redirect("service_accounts", cluster=cluster, team_id=account.team.pk)
    account.rotated_at = timezone.now()
    account.save(update_fields=["rotated_at"])
    audit.record(request.user, "account.rotate", cluster, account.principal, detail="new password")
    shown = _shown(config, account.name, password, account.team)
    return _page(request, config, account.team, ServiceAccountForm(), shown=shown)


@require_POST
def account_delete(request: HtmxHttpRequest, cluster: str, account_id: int) -> HttpResponse:
    """The account's ACLs, its SCRAM credentials, its client quotas and its row go together
    (the quotas last: a retry after their failure finds the rest already gone)."""
    config = cluster_or_404(cluster)
    account = _account(cluster, account_id)
    refused = _refusal(request, account.team)
    if refused:
        return refused
    try:
        removed = acls.delete_acls_of(config, account.principal)
        user = next((u for u in scram.list_users(config) if u.name == account.name), None)
        if user is not None:
            scram.delete_user(config, account.name, user.mechanisms)
        quotas = _remove_quotas(config, account.name)
    except ClusterError as exc:
        messages.error(request, str(exc))
        return redirect("service_accounts", cluster=cluster, team_id=account.team.pk)
    team_id = account.team.pk
    account.delete()
    audit.record(
        request.user,
        "account.delete",
        cluster,
        account.principal,
        before={
            "access": account.access,
            "acls": [a.describe() for a in removed],
            "quotas": quotas,
        },
    )
    messages.success(request, f"Deleted the service account {account.name} and its ACLs.")
    return redirect("service_accounts", cluster=cluster, team_id=team_id)


@require_POST
def account_access(request: HtmxHttpRequest, cluster: str, account_id: int) -> HttpResponse:
    """More rights: granted now inside the team's prefix, asked of an admin outside it."""
    config = cluster_or_404(cluster)
    account = _account(cluster, account_id)
    team = account.team
    refused = _refusal(request, team)
    if refused:
        return refused
    form = AccessForm(request.POST)
    if not form.is_valid():
        return _page(request, config, team, ServiceAccountForm(), access_form=form, status=400)
    wanted = {k: form.cleaned_data[k] for k in ("resource_type", "pattern_type", "resource_name")}
    access = form.cleaned_data["access"]
    if not account_grants.inside_prefix(team.topic_prefix, wanted["resource_name"]):
        asked = AccessRequest.objects.create(
            account=account,
            access=access,
            note=form.cleaned_data["note"],
            requested_by=request.user,  # type: ignore[misc]
            **wanted,
        )
        audit.record(
            request.user, "account.request", cluster, account.principal, after=asked.audit_shape()
        )
        messages.info(
            request,
            f"{wanted['resource_name']} is outside team {team.name}'s prefix "
            f"{team.topic_prefix}: an administrator decides the request.",
        )
        return redirect("service_accounts", cluster=cluster, team_id=team.pk)
    granted = account_grants.grants(
        account.principal,
        wanted["resource_type"],
        wanted["pattern_type"],
        wanted["resource_name"],
        access,
    )
    try:
        acls.create_acls(config, granted)
    except ClusterError as exc:
        messages.error(request, str(exc))
        return redirect("service_accounts", cluster=cluster, team_id=team.pk)
    audit.record(
        request.user,
        "account.grant",
        cluster,
        account.principal,
        after={**wanted, "access": access},
        detail="inside the team's prefix",
    )
    messages.success(request, f"Granted: {'; '.join(a.describe() for a in granted)}.")
    return redirect("service_accounts", cluster=cluster, team_id=team.pk)


def _remove_quotas(config: ClusterConfig, name: str) -> dict[str, float]:
    """Every quota on the account's own user entity (the team's rates, or any an admin
    added), removed; what it held. A user that has none costs no change. Any cluster with
    service accounts serves client quotas: SCRAM administration came later (Kafka 2.7)."""
    entity = client_quotas.canonical(account_limits.entity(name))
    found = next((e.values for e in client_quotas.describe(config) if e.entity == entity), {})
    if found:
        client_quotas.alter(config, entity, dict.fromkeys(found))
    return dict(found)


def _shown(config: ClusterConfig, name: str, password: str, team: Team) -> dict[str, object]:
    return {
        "name": name,
        "password": password,
        "configs": client_configs.snippets(
            config.bootstrap, config.security_protocol, name, password
        ),
        "limits": account_limits.sentences(account_limits.rates(team)),
    }


def _page(
    request: HtmxHttpRequest,
    config: ClusterConfig,
    team: Team,
    form: ServiceAccountForm,
    access_form: AccessForm | None = None,
    shown: dict[str, object] | None = None,
    status: int = 200,
) -> HttpResponse:
    accounts = list(ServiceAccount.objects.filter(cluster=config.slug, team=team))
    error, refused, rights, held = "", False, {}, {}
    try:
        for a in accounts:
            rights[a.pk] = acls.list_acls(config, principal=a.principal)
        if accounts:  # a page with no account needs no quota from the cluster
            entries = client_quotas.describe(config)
            held = account_limits.differing(entries, [a.name for a in accounts], team)
    except ClusterError as exc:
        error, refused = str(exc), isinstance(exc, Refused)
    return render(
        request,
        PAGE,
        {
            "cluster": config,
            "cluster_error": error,
            "cluster_refused": refused,
            "team": team,
            "limits": account_limits.sentences(account_limits.rates(team)),
            # What the cluster holds, only for an account an earlier change did not reach.
            "accounts": [
                (
                    a,
                    rights.get(a.pk, []),
                    account_limits.held_sentence(held[a.name], team) if a.name in held else "",
                )
                for a in accounts
            ],
            "requests": AccessRequest.objects.filter(account__in=accounts).select_related(
                "account", "requested_by", "decided_by"
            ),
            "form": form,
            "access_form": access_form or AccessForm(),
            "shown": shown,
        },
        status=status,
    )
