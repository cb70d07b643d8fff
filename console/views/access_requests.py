"""Deciding a service account's request for rights outside its team's prefix.

Owns approve (grant the ACLs, then mark it approved) and reject (a reason is required),
both for administrators only and both audited. It must never grant anything before an
administrator approves, and never reach the cluster except through `console.kafka`.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from console import account_grants, audit
from console.kafka import acls
from console.kafka.errors import ClusterError
from console.models import AccessRequest
from console.permissions import is_admin
from console.views.clusters import cluster_or_404, forbidden


def _pending(request: HttpRequest, request_id: int) -> AccessRequest | HttpResponse:
    if not is_admin(request.user):
        return forbidden(request, "Only administrators decide access requests.")
    asked = get_object_or_404(AccessRequest.objects.select_related("account"), pk=request_id)
    if asked.status != AccessRequest.PENDING:
        messages.error(request, f"That request was already {asked.status}.")
        return redirect("teams")
    return asked


def _decide(request: HttpRequest, asked: AccessRequest, status: str, reason: str) -> None:
    asked.status = status
    asked.decided_by = request.user  # type: ignore[assignment]
    asked.decided_at = timezone.now()
    asked.decision_reason = reason
    asked.save()


@require_POST
def access_approve(request: HttpRequest, request_id: int) -> HttpResponse:
    asked = _pending(request, request_id)
    if isinstance(asked, HttpResponse):
        return asked
    account = asked.account
    wanted = account_grants.grants(
        account.principal,
        asked.resource_type,
        asked.pattern_type,
        asked.resource_name,
        asked.access,
    )
    try:
        acls.create_acls(cluster_or_404(account.cluster), wanted)
    except ClusterError as exc:
        messages.error(request, f"Approval failed, the request stays open: {exc}")
        return redirect("teams")
    _decide(request, asked, AccessRequest.APPROVED, request.POST.get("reason", "").strip())
    audit.record(
        request.user,
        "account.grant",
        account.cluster,
        account.principal,
        after=asked.audit_shape(),
        detail=f"approved request #{asked.pk} of {asked.requested_by}",
    )
    messages.success(request, f"Approved: {'; '.join(a.describe() for a in wanted)}.")
    return redirect("teams")


@require_POST
def access_reject(request: HttpRequest, request_id: int) -> HttpResponse:
    asked = _pending(request, request_id)
    if isinstance(asked, HttpResponse):
        return asked
    reason = request.POST.get("reason", "").strip()
    if not reason:
        messages.error(request, "Say why the request is rejected; the requester will read it.")
        return redirect("teams")
    _decide(request, asked, AccessRequest.REJECTED, reason)
    audit.record(
        request.user,
        "account.reject",
        asked.account.cluster,
        asked.account.principal,
        before=asked.audit_shape(),
        detail=reason,
    )
    messages.success(request, f"Rejected the request of {asked.account.name}.")
    return redirect("teams")
