"""The Users page of a cluster: SCRAM principals with their mechanisms and iteration
counts, creating one with a typed or generated password, deleting one.

Owns the request/response side: refusing everyone but administrators on every path, the
form, showing a generated password once (in the answer to the POST, never stored nor
redirected through the session), and the audit entry after each change, which never
holds a password. It must never reach the cluster except through `console.kafka.scram`.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from console import acl_terms, audit
from console.kafka import scram
from console.kafka.errors import ClusterError, Refused
from console.permissions import is_admin
from console.security_forms import ScramUserForm
from console.views import HtmxHttpRequest
from console.views.clusters import cluster_or_404, forbidden

REFUSAL = "Only administrators see and change a cluster's users."


@require_GET
def user_list(request: HtmxHttpRequest, cluster: str) -> HttpResponse:
    cluster_or_404(cluster)
    if not is_admin(request.user):
        return forbidden(request, REFUSAL)
    return _page(request, cluster, ScramUserForm())


@require_POST
def user_create(request: HtmxHttpRequest, cluster: str) -> HttpResponse:
    config = cluster_or_404(cluster)
    if not is_admin(request.user):
        return forbidden(request, REFUSAL)
    form = ScramUserForm(request.POST)
    if not form.is_valid():
        return _page(request, cluster, form, status=400)
    name = form.cleaned_data["name"]
    typed = form.cleaned_data["password"]
    password = typed or acl_terms.generated_password()
    mechanisms = tuple(form.cleaned_data["mechanisms"])
    iterations = form.cleaned_data["iterations"]
    try:
        existed = any(u.name == name for u in scram.list_users(config))
        scram.set_password(config, name, password, mechanisms, iterations)
    except ClusterError as exc:
        form.add_error(None, str(exc))
        return _page(request, cluster, form, status=400)
    audit.record(
        request.user,
        "scram.update" if existed else "scram.create",
        cluster,
        name,
        after={"mechanisms": list(mechanisms), "iterations": iterations},
        detail="password generated" if not typed else "password typed",
    )
    shown = {"name": name, "password": password} if not typed else None
    return _page(request, cluster, ScramUserForm(), created=name, shown=shown)


@require_POST
def user_delete(request: HtmxHttpRequest, cluster: str, name: str) -> HttpResponse:
    config = cluster_or_404(cluster)
    if not is_admin(request.user):
        return forbidden(request, REFUSAL)
    try:
        user = next((u for u in scram.list_users(config) if u.name == name), None)
        if user is not None:
            scram.delete_user(config, name, user.mechanisms)
    except ClusterError as exc:
        messages.error(request, str(exc))
        return redirect("scram_users", cluster=cluster)
    if user is None:
        messages.info(request, f"There is no SCRAM user called {name}.")
    else:
        audit.record(
            request.user, "scram.delete", cluster, name, before={"mechanisms": user.mechanisms}
        )
        messages.success(request, f"Deleted the SCRAM user {name}.")
    return redirect("scram_users", cluster=cluster)


def _page(
    request: HtmxHttpRequest,
    cluster: str,
    form: ScramUserForm,
    status: int = 200,
    created: str = "",
    shown: dict[str, str] | None = None,
) -> HttpResponse:
    config = cluster_or_404(cluster)
    error, refused, users = "", False, []
    try:
        users = scram.list_users(config)
    except ClusterError as exc:
        error, refused = str(exc), isinstance(exc, Refused)
    return render(
        request,
        "console/security/users.html",
        {
            "cluster": config,
            "cluster_error": error,
            "cluster_refused": refused,
            "users": users,
            "form": form,
            "terms": acl_terms.SCRAM_TERMS,
            "created": created,
            "shown": shown,
        },
        status=status,
    )
