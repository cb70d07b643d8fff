"""Consumer-group pages: list, detail (lag, history, alerts, replay), resets, deletions.

Owns the request/response side of groups: filters, the reset form → preview → apply
flow, permission checks before every change and the audit entry after it. It must never
talk to Kafka except through `console.kafka` (and `console.lag.measure`, `.reset_plan`), and
never apply offsets a person has not previewed: apply takes the signed preview itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console import audit, webhooks
from console.clusters import ClusterConfig
from console.inputs import InputError, parse_partitions, parse_threshold
from console.kafka import groups as kg
from console.kafka import resets
from console.kafka.errors import ClusterError
from console.lag import history, measure
from console.lag.charts import line_chart
from console.lag.models import LagAlert, ResetRecord
from console.lag.reset_plan import MODES, Plan, ResetSpec, plan_reset
from console.models import Team
from console.permissions import can_change_topic, is_admin, team_for_topic
from console.views import HtmxHttpRequest
from console.views.clusters import cluster_or_404, forbidden
from console.views.group_detail import detail_context

PLAN_SALT = "console.groups.reset-plan"
PLAN_MAX_AGE = 15 * 60  # seconds a preview stays valid for applying
HISTORY = timedelta(hours=24)


# Changes are recorded (audit log, reset history, alerts) in columns of this width; a
# longer group id, which Kafka allows, can be viewed but not changed from the console.
RECORDED_ID_MAX = LagAlert._meta.get_field("group").max_length or 255


def recordable(detail: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Refuse changes to a group whose id is too long to record; back to page `detail`."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, cluster: str, group: str) -> HttpResponse:
            if len(group) > RECORDED_ID_MAX:
                messages.error(
                    request,
                    f"This group id is {len(group)} characters long; the console records "
                    f"changes only for ids of up to {RECORDED_ID_MAX}. Use Kafka's tools for "
                    "this group.",
                )
                return redirect(detail, cluster=cluster, group=group)
            return view(request, cluster, group)

        return wrapper

    return decorate


_recordable = recordable("groups_detail")


def _now_ms() -> int:
    return int(timezone.now().timestamp() * 1000)


@require_GET
def group_list(request: HtmxHttpRequest, cluster: str) -> HttpResponse:
    cfg = cluster_or_404(cluster)
    query = request.GET.get("q", "").strip()
    state = request.GET.get("state", "").strip().upper()
    error, lags = "", []
    try:
        lags = measure.all_groups_lag(cfg)
    except ClusterError as exc:
        error = str(exc)
    shares, share_error = ([], "") if error else _share_rows(cfg)
    states = sorted({g.description.state for g in lags} | {r["state"] for r in shares})
    if query:
        lags = [g for g in lags if query.lower() in g.description.group_id.lower()]
        shares = [r for r in shares if query.lower() in r["group_id"].lower()]
    if state:
        lags = [g for g in lags if g.description.state == state]
        shares = [r for r in shares if r["state"] == state]
    now = timezone.now()
    firing = set(
        LagAlert.objects.filter(cluster=cfg.slug, firing=True).values_list("group", flat=True)
    )
    rows: list[dict[str, Any]] = [
        {
            "lag": g,
            "trend": history.trend(cfg.slug, g.description.group_id, g.total_lag, now),
            "alert": g.description.group_id in firing,
        }
        for g in lags
    ]
    for r in shares:
        r["alert"] = r["group_id"] in firing
        if r["lag"] is not None:
            r["trend"] = history.trend(cfg.slug, r["group_id"], r["lag"].total_lag, now)
    context = {
        "cluster": cfg,
        "cluster_error": error,
        "rows": rows,
        "shares": shares,
        "share_error": share_error,
        "q": query,
        "state": state,
        "states": states,
    }
    template = "console/groups/_groups_table.html" if request.htmx else "console/groups/list.html"
    return render(request, template, context)


@require_GET
def group_detail(request: HtmxHttpRequest, cluster: str, group: str) -> HttpResponse:
    cfg = cluster_or_404(cluster)
    context = detail_context(request, cfg, group)
    if request.htmx and request.GET.get("part") == "lag":
        # The auto-refreshing part: lag table and replay progress, nothing that is slow.
        return render(request, "console/groups/_lag.html", context)
    context |= history_context(cfg, group, ("Lag", "lag (messages)"), ("Consume", "consumed"))
    return render(request, "console/groups/detail.html", context)


def history_context(
    cfg: ClusterConfig, group: str, backlog: tuple[str, str], done: tuple[str, str]
) -> dict[str, Any]:
    """The 24-hour charts (backlog, then done and produced per second) and recent resets;
    `backlog` and `done` are (title word, series label)."""
    lag_s, done_s, produce_s = history.series(cfg.slug, group, timezone.now() - HISTORY)
    return {
        "lag_chart": line_chart(
            [(backlog[1], lag_s)], title=f"{backlog[0]} over the last 24 hours"
        ),
        "rate_chart": line_chart(
            [(f"{done[1]} /s", done_s), ("produced /s", produce_s)],
            title=f"{done[0]} and produce rates over the last 24 hours",
            unit="/s",
        ),
        "resets": ResetRecord.objects.filter(cluster=cfg.slug, group=group)[:5],
    }


def _share_rows(cfg: ClusterConfig) -> tuple[list[dict[str, Any]], str]:
    """One row per share group with its backlog; when describing them fails (an ACL, a
    broker that lists but cannot describe), the bare listing and why."""
    try:
        return [
            {"group_id": g.description.group_id, "state": g.description.state, "lag": g}
            for g in measure.all_share_groups_lag(cfg)
        ], ""
    except ClusterError as exc:
        error = str(exc)
    try:
        listed = kg.list_share_groups(cfg)
    except ClusterError:
        listed = []
    return [{"group_id": g.group_id, "state": g.state, "lag": None} for g in listed], error


# --- reset: form -> preview -> apply ---------------------------------------------------


@require_http_methods(["GET", "POST"])
def group_reset(request: HtmxHttpRequest, cluster: str, group: str) -> HttpResponse:
    cfg = cluster_or_404(cluster)
    form = {
        "topic": request.POST.get("topic", request.GET.get("topic", "")).strip(),
        "partitions": request.POST.get("partitions", "").strip(),
        "mode": request.POST.get("mode", "duration"),
        "value": request.POST.get("value", "").strip(),
    }
    context: dict[str, Any] = {"cluster": cfg, "group": group, "form": form, "modes": MODES}
    if request.method == "GET":
        try:
            committed = resets.committed(cfg, [group])[group]
            context["topics"] = sorted({t for t, _ in committed})
        except ClusterError as exc:
            context["cluster_error"] = str(exc)
        return render(request, "console/groups/reset.html", context)
    try:
        spec = ResetSpec(form["mode"], form["value"])
        plan = plan_reset(
            cfg,
            group,
            spec,
            topic=form["topic"] or None,
            partitions=parse_partitions(form["partitions"]),
            now_ms=_now_ms(),
        )
    except (InputError, ClusterError) as exc:
        context["error"] = str(exc)
        return render(request, "console/groups/_reset_preview.html", context, status=200)
    context.update(
        plan=plan,
        signed=signing.dumps(plan.to_json(), salt=PLAN_SALT, compress=True),
        allowed=all(can_change_topic(request.user, cfg.slug, t) for t in plan.topics),
    )
    template = "console/groups/_reset_preview.html" if request.htmx else "console/groups/reset.html"
    return render(request, template, context)


@require_POST
@_recordable
def group_reset_apply(request: HtmxHttpRequest, cluster: str, group: str) -> HttpResponse:
    cfg = cluster_or_404(cluster)
    plan = signed_plan(request, group, PLAN_SALT)
    if isinstance(plan, str):
        return _reset_error(request, cfg, group, plan)
    denied = [t for t in plan.topics if not can_change_topic(request.user, cfg.slug, t)]
    if denied:
        return forbidden(
            request,
            f"You may not reset offsets on {', '.join(denied)}: it is another team's topic.",
        )
    offsets = plan.offsets
    if not offsets:
        return _reset_error(
            request, cfg, group, "Nothing to change: every partition is already there."
        )
    try:
        kg.alter_offsets(cfg, group, offsets)
    except ClusterError as exc:
        return _reset_error(request, cfg, group, f"Not applied: {exc}")
    changed = record_reset(
        request,
        cfg,
        plan,
        "group.reset_offsets",
        f"{plan.spec.describe()}: {plan.replayed:,} records to replay, {plan.skipped:,} skipped",
    )
    messages.success(
        request, f"Offsets of {group} reset {plan.spec.describe()} on {changed} partitions."
    )
    return applied(request, "groups_detail", cfg, group)


def signed_plan(request: HttpRequest, group: str, salt: str) -> Plan | str:
    """The previewed plan the apply form carries, or why it cannot be applied."""
    try:
        plan = Plan.from_json(
            signing.loads(request.POST.get("plan", ""), salt=salt, max_age=PLAN_MAX_AGE)
        )
    except signing.SignatureExpired:
        return "The preview is too old; preview again."
    except (signing.BadSignature, KeyError, TypeError, InputError):
        return "The preview was not recognised; preview again."
    if plan.group_id != group:
        return "That preview belongs to another group."
    return plan


def record_reset(
    request: HttpRequest, cfg: ClusterConfig, plan: Plan, action: str, detail: str
) -> int:
    """Keep an applied reset (for the replay progress) and audit it; partitions changed."""
    rows: list[dict[str, Any]] = [
        {
            "topic": r.topic,
            "partition": r.partition,
            "before": r.current,
            "after": r.new,
            "end": r.end,
        }
        for r in plan.rows
        if r.changes
    ]
    ResetRecord.objects.create(
        cluster=cfg.slug,
        group=plan.group_id,
        at=timezone.now(),
        user=request.user if request.user.is_authenticated else None,
        description=plan.spec.describe(),
        rows=rows,
        lag_at_reset=sum(max(0, r["end"] - r["after"]) for r in rows),
    )
    audit.record(
        request.user,
        action,
        cfg.slug,
        f"group:{plan.group_id}",
        before={f"{r['topic']}[{r['partition']}]": r["before"] for r in rows},
        after={f"{r['topic']}[{r['partition']}]": r["after"] for r in rows},
        detail=detail,
    )
    return len(rows)


def applied(request: HtmxHttpRequest, detail: str, cfg: ClusterConfig, group: str) -> HttpResponse:
    """Back to the group's page after a change (htmx follows HX-Redirect)."""
    response = redirect(detail, cluster=cfg.slug, group=group)
    if request.htmx:
        return HttpResponse(status=204, headers={"HX-Redirect": response["Location"]})
    return response


def _reset_error(
    request: HtmxHttpRequest, cfg: ClusterConfig, group: str, message: str
) -> HttpResponse:
    context = {
        "cluster": cfg,
        "group": group,
        "error": message,
        "modes": MODES,
        "form": {"topic": "", "partitions": "", "mode": "duration", "value": ""},
    }
    # 200 so htmx swaps the reason in where the preview was; a plain form post (the
    # apply button) gets the whole reset page with the reason above a fresh form.
    template = "console/groups/_reset_preview.html" if request.htmx else "console/groups/reset.html"
    return render(request, template, context)


# --- deletions and alerts ----------------------------------------------------------------


@require_POST
@_recordable
def group_delete_offsets(request: HttpRequest, cluster: str, group: str) -> HttpResponse:
    cfg = cluster_or_404(cluster)
    topic = request.POST.get("topic", "").strip()
    if not can_change_topic(request.user, cfg.slug, topic):
        return forbidden(request, f"You may not change offsets on {topic}.")
    try:
        before = kg.committed_offsets(cfg, [group])[group]
        parts = kg.delete_group_offsets(cfg, group, topic)
    except ClusterError as exc:
        messages.error(request, f"Offsets not deleted: {exc}")
    else:
        audit.record(
            request.user,
            "group.delete_offsets",
            cfg.slug,
            f"group:{group}",
            before={f"{topic}[{p}]": before.get((topic, p)) for p in parts},
            after=None,
            detail=f"forgot the committed offsets of {topic}",
        )
        messages.success(request, f"{group} no longer has offsets for {topic}.")
    return redirect("groups_detail", cluster=cfg.slug, group=group)


def _may_not_manage(request: HttpRequest, cfg: ClusterConfig, group: str) -> HttpResponse | None:
    """403 unless the user is an admin or may change every topic the group reads.

    Alerts send webhooks and deletions lose offsets, so reading a group is not enough.
    """
    if is_admin(request.user):
        return None
    try:
        committed = kg.committed_offsets(cfg, [group])[group]
    except ClusterError as exc:
        return forbidden(request, f"Could not check the group's topics: {exc}")
    topics = sorted({t for t, _ in committed})
    if topics and all(can_change_topic(request.user, cfg.slug, t) for t in topics):
        return None
    return forbidden(
        request, "Only administrators or the team owning the group's topics may do that."
    )


@require_POST
@_recordable
def group_delete(request: HttpRequest, cluster: str, group: str) -> HttpResponse:
    cfg = cluster_or_404(cluster)
    try:
        committed = kg.committed_offsets(cfg, [group])[group]
    except ClusterError as exc:
        messages.error(request, f"Group not deleted: {exc}")
        return redirect("groups_detail", cluster=cfg.slug, group=group)
    topics = sorted({t for t, _ in committed})
    if not is_admin(request.user) and not (
        topics and all(can_change_topic(request.user, cfg.slug, t) for t in topics)
    ):
        return forbidden(
            request, "Only administrators or the team owning its topics delete a group."
        )
    try:
        kg.delete_group(cfg, group)
    except ClusterError as exc:
        messages.error(request, f"Group not deleted: {exc}")
        return redirect("groups_detail", cluster=cfg.slug, group=group)
    audit.record(
        request.user,
        "group.delete",
        cfg.slug,
        f"group:{group}",
        before={f"{t}[{p}]": o for (t, p), o in sorted(committed.items())},
        detail="deleted the group and its committed offsets",
    )
    messages.success(request, f"Group {group} deleted.")
    return redirect("groups", cluster=cfg.slug)


@require_POST
@_recordable
def group_alert(request: HttpRequest, cluster: str, group: str) -> HttpResponse:
    cfg = cluster_or_404(cluster)
    denied = _may_not_manage(request, cfg, group)
    if denied:
        return denied
    return save_alert(request, cfg, group, "groups_detail")


def save_alert(request: HttpRequest, cfg: ClusterConfig, group: str, detail: str) -> HttpResponse:
    """Save or remove the group's lag alert from the form (the caller checked the user may
    manage the group), audited; back to page `detail`."""
    alert = LagAlert.objects.filter(cluster=cfg.slug, group=group).first()
    before = _alert_json(alert)
    if request.POST.get("delete"):
        if alert is not None:
            alert.delete()
            audit.record(
                request.user, "lag_alert.delete", cfg.slug, f"group:{group}", before=before
            )
            messages.success(request, "Lag alert removed.")
        return redirect(detail, cluster=cfg.slug, group=group)
    try:
        max_msgs = parse_threshold(request.POST.get("max_lag_messages", ""), "messages")
        max_secs = parse_threshold(request.POST.get("max_lag_minutes", ""), "minutes")
    except InputError as exc:
        messages.error(request, str(exc))
        return redirect(detail, cluster=cfg.slug, group=group)
    webhook = request.POST.get("webhook_url", "").strip()
    if max_msgs is None and max_secs is None:
        messages.error(request, "Give a threshold in messages, in minutes, or both.")
        return redirect(detail, cluster=cfg.slug, group=group)
    if webhook:
        try:
            webhooks.check(webhook)
        except webhooks.WebhookRefused as exc:
            messages.error(request, f"Lag alert not saved: {exc}")
            return redirect(detail, cluster=cfg.slug, group=group)
    alert = alert or LagAlert(cluster=cfg.slug, group=group)
    alert.max_lag_messages = max_msgs
    alert.max_lag_seconds = max_secs * 60 if max_secs is not None else None
    alert.webhook_url = webhook
    alert.save()
    audit.record(
        request.user, "lag_alert.configure", cfg.slug, f"group:{group}", before, _alert_json(alert)
    )
    messages.success(request, "Lag alert saved; the sampler checks it every interval.")
    return redirect(detail, cluster=cfg.slug, group=group)


def _alert_json(alert: LagAlert | None) -> dict[str, Any] | None:
    if alert is None:
        return None
    return {
        "max_lag_messages": alert.max_lag_messages,
        "max_lag_seconds": alert.max_lag_seconds,
        # The audit log is open to everyone; a webhook URL often carries a secret.
        "webhook_url": webhooks.shown(alert.webhook_url) if alert.webhook_url else "",
    }


# --- who reads what ------------------------------------------------------------------------


@require_GET
def topic_consumers(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    """Fragment for the topic page: every consumer group with offsets on (or members
    reading) `topic`, and every share group with state on it or members assigned to it."""
    cfg = cluster_or_404(cluster)
    context: dict[str, Any] = {"cluster": cfg, "topic": topic, "rows": [], "error": ""}
    try:
        lags = measure.all_groups_lag(cfg)
    except ClusterError as exc:
        context["error"] = str(exc)
        return render(request, "console/groups/_topic_consumers.html", context)
    shares, context["share_error"] = _share_rows(cfg)
    lags += [r["lag"] for r in shares if r["lag"] is not None]
    teams = list(Team.objects.all())
    for g in lags:
        parts = [p for p in g.partitions if p.topic == topic]
        if not parts:
            continue
        ages = [p.lag_ms for p in parts if p.lag_ms is not None]
        context["rows"].append(
            {
                "group": g.description.group_id,
                "share": g.is_share,
                "state": g.description.state,
                "members": len(g.description.members),
                "lag": sum(p.lag or 0 for p in parts),
                "lag_ms": max(ages) if ages else None,
                "team": team_for_topic(g.description.group_id, teams),
            }
        )
    return render(request, "console/groups/_topic_consumers.html", context)
