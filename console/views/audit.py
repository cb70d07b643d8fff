"""The audit log page: every change, filterable by action, person, cluster and target.

Owns reading `AuditEntry` rows for people. It must never write or alter an entry.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from console.models import AuditEntry
from console.views import HtmxHttpRequest

PAGE_SIZE = 50


@require_GET
def audit_log(request: HtmxHttpRequest) -> HttpResponse:
    entries = AuditEntry.objects.all()
    filters = {k: request.GET.get(k, "").strip() for k in ("action", "user", "cluster", "q")}
    if filters["action"]:
        entries = entries.filter(action=filters["action"])
    if filters["user"]:
        entries = entries.filter(username=filters["user"])
    if filters["cluster"]:
        entries = entries.filter(cluster=filters["cluster"])
    if filters["q"]:
        entries = entries.filter(target__icontains=filters["q"])
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "actions": AuditEntry.objects.order_by("action")
        .values_list("action", flat=True)
        .distinct(),
        "users": AuditEntry.objects.order_by("username")
        .values_list("username", flat=True)
        .distinct(),
    }
    template = "console/_audit_table.html" if request.htmx else "console/audit.html"
    return render(request, template, context)
