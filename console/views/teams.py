"""Teams and self-service: teams with their prefix and quotas, and topic requests.

Owns the team pages (with the service-account requests waiting for a decision) and the
topic requests' approve/reject flow; saving a team hands its byte rates to
`console.views.team_rates`, which carries them to the team's service accounts. Admins
create teams, set their limits and decide requests; members see their teams, their
limits and their own requests.
It must never create a topic without an approval by an admin (outside the policy), never
reach a cluster except through `console.kafka`, and always records the decision in the
audit log.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.models import Group
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console import account_limits, audit, replication
from console.clusters import all_clusters
from console.forms import TeamForm
from console.kafka import admin
from console.models import AccessRequest, Team, TopicRequest
from console.permissions import is_admin, user_teams
from console.templatetags.odradek import duration_in, size_in
from console.views import team_rates
from console.views.clusters import cluster_or_404, forbidden


@require_GET
def team_list(request: HttpRequest) -> HttpResponse:
    admin_user = is_admin(request.user)
    requests = TopicRequest.objects.select_related("team", "requested_by", "decided_by")
    access = AccessRequest.objects.filter(status=AccessRequest.PENDING).select_related(
        "account__team", "requested_by"
    )
    if not admin_user:
        requests = requests.filter(requested_by=request.user.pk)
        access = access.filter(requested_by=request.user.pk)
    return render(
        request,
        "console/teams.html",
        {
            "teams": [
                (t, account_limits.labels(account_limits.rates(t)))
                for t in Team.objects.select_related("group").prefetch_related("group__user_set")
            ],
            "mine": {t.pk for t in user_teams(request.user)},
            "pending": [r for r in requests if r.status == TopicRequest.PENDING],
            "decided": [r for r in requests if r.status != TopicRequest.PENDING][:50],
            "access_pending": list(access),
            "clusters": all_clusters(),
            "is_admin": admin_user,
            "form": TeamForm() if admin_user else None,
        },
    )


@require_http_methods(["GET", "POST"])
def team_edit(request: HttpRequest, team_id: int | None = None) -> HttpResponse:
    if not is_admin(request.user):
        return forbidden(request, "Only administrators create and change teams.")
    team = get_object_or_404(Team, pk=team_id) if team_id else None
    initial = {}
    if team:
        initial = {
            "members": list(team.group.user_set.all()),
            "max_retention": duration_in(team.max_retention_ms),
            "max_total": size_in(team.max_total_bytes),
        }
    # Read before validation: a ModelForm's is_valid() writes the posted values into
    # `team` itself, and the audit entry and the rates' change need the ones it had.
    before = _team_state(team) if team else None
    old_rates = account_limits.rates(team) if team else None
    form = TeamForm(request.POST or None, instance=team, initial=initial)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            obj: Team = form.save(commit=False)
            if team is None:
                obj.group, _ = Group.objects.get_or_create(name=f"team:{obj.name}")
            obj.max_retention_ms = form.cleaned_data.get("max_retention")
            obj.max_total_bytes = form.cleaned_data.get("max_total")
            obj.save()
            obj.group.user_set.set(form.cleaned_data["members"])
        audit.record(
            request.user,
            "team.update" if team else "team.create",
            "",
            obj.name,
            before=before,
            after=_team_state(obj),
        )
        messages.success(request, f"Team {obj.name} saved.")
        if old_rates is not None and old_rates != account_limits.rates(obj):
            team_rates.apply(request, obj, old_rates)
        elif old_rates is not None:
            # Unchanged rates are a retry: accounts a cluster refused them on catch up.
            team_rates.reconcile(request, obj)
        return redirect("teams")
    return render(
        request,
        "console/team_form.html",
        {"form": form, "team": team},
        status=400 if request.method == "POST" else 200,
    )


def _team_state(team: Team) -> dict:
    return {
        "prefix": team.topic_prefix,
        "max_partitions": team.max_partitions,
        "max_retention_ms": team.max_retention_ms,
        "max_total_bytes": team.max_total_bytes,
        "producer_byte_rate": team.producer_byte_rate,
        "consumer_byte_rate": team.consumer_byte_rate,
        "members": sorted(u.username for u in team.group.user_set.all()),
    }


@require_POST
def request_approve(request: HttpRequest, request_id: int) -> HttpResponse:
    if not is_admin(request.user):
        return forbidden(request, "Only administrators approve topic requests.")
    req = get_object_or_404(TopicRequest, pk=request_id)
    if req.status != TopicRequest.PENDING:
        messages.error(request, f"The request for {req.topic} was already {req.status}.")
        return redirect("teams")
    config = cluster_or_404(req.cluster)
    try:
        # The cluster may have shrunk since the request was made.
        failure = replication.factor_problem(
            req.replication_factor, len(admin.snapshot(config).brokers)
        )
        if failure is None:
            admin.create_topic(
                config, req.topic, req.partitions, req.configs, req.replication_factor
            )
    except admin.ClusterError as exc:
        failure = str(exc)
    if failure:
        messages.error(request, f"Approval failed, the request stays open: {failure}")
        return redirect("teams")
    req.status = TopicRequest.APPROVED
    req.decided_by = request.user  # type: ignore[assignment]
    req.decided_at = timezone.now()
    req.decision_reason = request.POST.get("reason", "").strip()
    req.save()
    audit.record(
        request.user,
        "request.approve",
        req.cluster,
        req.topic,
        after=req.audit_shape(),
        detail=f"requested by {req.requested_by}; outside policy: {'; '.join(req.violations)}",
    )
    audit.record(
        request.user,
        "topic.create",
        req.cluster,
        req.topic,
        after=req.audit_shape(),
        detail=f"approved request #{req.pk}",
    )
    messages.success(request, f"Approved: topic {req.topic} created.")
    return redirect("teams")


@require_POST
def request_reject(request: HttpRequest, request_id: int) -> HttpResponse:
    if not is_admin(request.user):
        return forbidden(request, "Only administrators reject topic requests.")
    req = get_object_or_404(TopicRequest, pk=request_id)
    reason = request.POST.get("reason", "").strip()
    if req.status != TopicRequest.PENDING:
        messages.error(request, f"The request for {req.topic} was already {req.status}.")
        return redirect("teams")
    if not reason:
        messages.error(request, "Say why the request is rejected; the requester will read it.")
        return redirect("teams")
    req.status = TopicRequest.REJECTED
    req.decided_by = request.user  # type: ignore[assignment]
    req.decided_at = timezone.now()
    req.decision_reason = reason
    req.save()
    audit.record(request.user, "request.reject", req.cluster, req.topic, detail=reason)
    messages.success(request, f"Rejected the request for {req.topic}.")
    return redirect("teams")
