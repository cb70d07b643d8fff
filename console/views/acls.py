"""The ACLs page of a cluster: the list with filters, creating one, deleting one.

Owns the request/response side: refusing everyone but administrators on every path
(page, form, htmx delete), the form, the audit entry after each change, and a cluster's
refusal as a banner or form message. It must never reach the cluster except through
`console.kafka.acls`.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from console import acl_terms, audit
from console.kafka import acls
from console.kafka.errors import ClusterError, Refused
from console.permissions import is_admin
from console.security_forms import AclFilterForm, AclForm
from console.views import HtmxHttpRequest, error_fragment
from console.views.clusters import cluster_or_404, forbidden

PAGE = "console/security/acls.html"
FIELDS = ("resource_type", "resource_name", "pattern_type", "principal", "host", "operation")
REFUSAL = "Only administrators see and change a cluster's ACLs."


@require_GET
def acl_list(request: HtmxHttpRequest, cluster: str) -> HttpResponse:
    cluster_or_404(cluster)
    if not is_admin(request.user):
        return forbidden(request, REFUSAL)
    return _page(request, cluster, AclForm())


@require_POST
def acl_create(request: HtmxHttpRequest, cluster: str) -> HttpResponse:
    config = cluster_or_404(cluster)
    if not is_admin(request.user):
        return forbidden(request, REFUSAL)
    form = AclForm(request.POST)
    if not form.is_valid():
        return _page(request, cluster, form, status=400)
    acl = acls.Acl(**{k: form.cleaned_data[k] for k in (*FIELDS, "permission")})
    try:
        acls.create_acls(config, [acl])
    except ClusterError as exc:
        form.add_error(None, str(exc))
        return _page(request, cluster, form, status=400)
    audit.record(request.user, "acl.create", cluster, acl.principal, after=_shape(acl))
    messages.success(request, f"Created: {acl.describe()}.")
    return redirect("acls", cluster=cluster)


@require_POST
def acl_delete(request: HtmxHttpRequest, cluster: str) -> HttpResponse:
    """Delete exactly one binding, named by all seven fields (htmx or a plain form)."""
    config = cluster_or_404(cluster)
    if not is_admin(request.user):
        return forbidden(request, REFUSAL)
    fields = {k: request.POST.get(k, "") for k in (*FIELDS, "permission")}
    acl = acls.Acl(**fields)
    try:
        if not acls.is_valid(acl):
            raise ClusterError("That is not an ACL Kafka knows: some of its fields are missing.")
        deleted = acls.delete_acls(config, [acl])
    except ClusterError as exc:
        text = str(exc)
        if request.htmx:
            # The table as it is, with why the delete failed above its rows.
            table = _page(request, cluster, AclForm(), 502, table_only=True, action_error=text)
            return error_fragment(table)
        messages.error(request, text)
        return redirect("acls", cluster=cluster)
    if deleted:
        audit.record(request.user, "acl.delete", cluster, acl.principal, before=_shape(acl))
        messages.success(request, f"Deleted: {acl.describe()}.")
    else:
        messages.info(request, f"Nothing to delete: {acl.describe()} was not there.")
    if request.htmx:
        return _page(request, cluster, AclForm(), table_only=True)
    return redirect("acls", cluster=cluster)


def _shape(acl: acls.Acl) -> dict[str, str]:
    return {k: getattr(acl, k) for k in (*FIELDS, "permission")}


def _page(
    request: HtmxHttpRequest,
    cluster: str,
    form: AclForm,
    status: int = 200,
    table_only: bool = False,
    action_error: str = "",
) -> HttpResponse:
    config = cluster_or_404(cluster)
    filters = AclFilterForm(request.GET or None)
    wanted = filters.cleaned_data if filters.is_valid() else {}
    error, refused, found = "", False, []
    try:
        found = acls.list_acls(
            config,
            resource_type=wanted.get("resource_type", ""),
            resource_name=wanted.get("resource_name", "").strip(),
            principal=wanted.get("principal", "").strip(),
        )
    except ClusterError as exc:
        error, refused = str(exc), isinstance(exc, Refused)
    context = {
        "cluster": config,
        "cluster_error": error,
        "cluster_refused": refused,
        "acls": found,
        "form": form,
        "filters": filters,
        "terms": acl_terms.TERMS,
        "action_error": action_error,
    }
    template = "console/security/_acl_table.html" if table_only else PAGE
    return render(request, template, context, status=status)
