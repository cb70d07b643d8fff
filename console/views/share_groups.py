"""Share-group pages: detail (backlog, history, alert, configs), start-offset resets with a
preview, deleting a share group's offsets, editing its configs.

Owns the request/response side of share groups, as `console.views.groups` does for
consumer groups: permission checks before every change (admins, or the team owning every
topic the group reads), the audit entry after it. It must never talk to Kafka except
through `console.kafka` and `console.lag`, and never apply start offsets a person has not
previewed: apply takes the signed preview itself.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console import audit, share_configs
from console.clusters import ClusterConfig
from console.inputs import InputError, parse_partitions
from console.kafka import shares
from console.kafka.errors import ClusterError
from console.lag.reset_plan import MODES, ResetSpec, plan_reset
from console.permissions import is_admin
from console.views import HtmxHttpRequest
from console.views.clusters import cluster_or_404, forbidden
from console.views.groups import (
    applied,
    history_context,
    record_reset,
    recordable,
    save_alert,
    signed_plan,
)
from console.views.share_detail import (
    detail_context,
    in_flight_context,
    may_manage,
    share_topics,
)

DETAIL = "share_groups_detail"
PLAN_SALT = "console.share-groups.reset-plan"
HISTORY = timedelta(hours=24)
# Where a share group's start offset can go (kafka-share-groups.sh's --to-earliest,
# --to-latest, --to-datetime and --by-duration).
SHARE_MODES = {k: MODES[k] for k in ("earliest", "latest", "timestamp", "duration")}
MANAGERS_ONLY = (
    "Only administrators or the team owning every topic of this share group may do that."
)

_recordable = recordable(DETAIL)


def _now_ms() -> int:
    return int(timezone.now().timestamp() * 1000)


def _refused(request: HttpRequest, cfg: ClusterConfig, group: str) -> HttpResponse | None:
    """403 unless the user may manage the share group (see `may_manage`)."""
    if is_admin(request.user):
        return None  # also for a group not created yet: configs may be set up front
    try:
        topics = share_topics(cfg, group)
    except ClusterError as exc:
        return forbidden(request, f"Could not check the share group's topics: {exc}")
    if may_manage(request.user, topics, cfg.slug):
        return None
    return forbidden(request, MANAGERS_ONLY)


@require_GET
def share_group_detail(request: HtmxHttpRequest, cluster: str, group: str) -> HttpResponse:
    cfg = cluster_or_404(cluster)
    context = detail_context(request, cfg, group)
    if request.htmx and request.GET.get("part") == "lag":
        return render(request, "console/groups/_share_lag.html", context)
    context |= history_context(
        cfg, group, ("Backlog", "records waiting"), ("Acknowledge", "acknowledged")
    )
    context["configs"] = []
    if "lag" in context:
        context["in_flight"] = in_flight_context(cfg, group, context["lag"])
        try:
            found = shares.configs(cfg, group)
        except ClusterError as exc:
            context["config_error"] = str(exc)
        else:
            context["configs"] = [
                {"item": found.get(n), "name": n, "help": share_configs.HELP[n]}
                for n in share_configs.EDITABLE
            ]
    return render(request, "console/groups/share_detail.html", context)


# --- reset: form -> preview -> apply ---------------------------------------------------


@require_http_methods(["GET", "POST"])
def share_group_reset(request: HtmxHttpRequest, cluster: str, group: str) -> HttpResponse:
    cfg = cluster_or_404(cluster)
    form = {
        "topic": request.POST.get("topic", request.GET.get("topic", "")).strip(),
        "partitions": request.POST.get("partitions", "").strip(),
        "mode": request.POST.get("mode", "duration"),
        "value": request.POST.get("value", "").strip(),
    }
    context: dict[str, Any] = {"cluster": cfg, "group": group, "form": form, "modes": SHARE_MODES}
    try:
        state = shares.describe_one(cfg, group)
    except ClusterError as exc:
        context["cluster_error"] = str(exc)
        return render(request, "console/groups/share_reset.html", context)
    context["topics"] = sorted({t for t, _ in state.starts})
    context["members"] = state.description.members
    if request.method == "GET":
        return render(request, "console/groups/share_reset.html", context)
    try:
        if form["mode"] not in SHARE_MODES:
            raise InputError(f"Choose how to reset: one of {', '.join(SHARE_MODES)}.")
        plan = plan_reset(
            cfg,
            group,
            ResetSpec(form["mode"], form["value"]),
            topic=form["topic"] or None,
            partitions=parse_partitions(form["partitions"]),
            now_ms=_now_ms(),
            share_starts={tp: s.start for tp, s in state.starts.items() if s.start is not None},
        )
    except (InputError, ClusterError) as exc:
        context["error"] = str(exc)
        return _reset_page(request, context)
    context.update(
        plan=plan,
        signed=signing.dumps(plan.to_json(), salt=PLAN_SALT, compress=True),
        allowed=may_manage(request.user, plan.topics, cfg.slug),
    )
    return _reset_page(request, context)


@require_POST
@_recordable
def share_group_reset_apply(request: HtmxHttpRequest, cluster: str, group: str) -> HttpResponse:
    cfg = cluster_or_404(cluster)
    plan = signed_plan(request, group, PLAN_SALT)
    if isinstance(plan, str):
        return _reset_error(request, cfg, group, plan)
    if not may_manage(request.user, plan.topics, cfg.slug):
        return forbidden(
            request,
            f"You may not reset the start offsets on {', '.join(plan.topics)}: "
            "only administrators or the team owning those topics may.",
        )
    offsets = plan.offsets
    if not offsets:
        return _reset_error(
            request, cfg, group, "Nothing to change: every partition is already there."
        )
    try:
        shares.reset_start(cfg, group, offsets)
    except ClusterError as exc:
        return _reset_error(request, cfg, group, f"Not applied: {exc}")
    changed = record_reset(
        request,
        cfg,
        plan,
        "share_group.reset_offsets",
        f"start offset {plan.spec.describe()}: {plan.replayed:,} records to deliver again, "
        f"{plan.skipped:,} skipped",
    )
    messages.success(
        request,
        f"Start offsets of {group} reset {plan.spec.describe()} on {changed} partitions.",
    )
    return applied(request, DETAIL, cfg, group)


def _reset_page(request: HtmxHttpRequest, context: dict[str, Any]) -> HttpResponse:
    """The preview fragment for htmx; the whole reset page for a plain form post."""
    template = (
        "console/groups/_share_reset_preview.html"
        if request.htmx
        else "console/groups/share_reset.html"
    )
    return render(request, template, context)


def _reset_error(
    request: HtmxHttpRequest, cfg: ClusterConfig, group: str, message: str
) -> HttpResponse:
    context = {
        "cluster": cfg,
        "group": group,
        "error": message,
        "modes": SHARE_MODES,
        "form": {"topic": "", "partitions": "", "mode": "duration", "value": ""},
    }
    return _reset_page(request, context)


# --- offsets, configs, alerts --------------------------------------------------------------


@require_POST
@_recordable
def share_group_delete_offsets(request: HttpRequest, cluster: str, group: str) -> HttpResponse:
    cfg = cluster_or_404(cluster)
    denied = _refused(request, cfg, group)
    if denied:
        return denied
    topic = request.POST.get("topic", "").strip()
    try:
        state = shares.describe_one(cfg, group)
        before = {f"{t}[{p}]": s.start for (t, p), s in sorted(state.starts.items()) if t == topic}
        if not before:
            raise InputError(f"{group} has no start offsets for {topic!r}.")
        shares.delete_offsets(cfg, group, [topic])
    except (ClusterError, InputError) as exc:
        messages.error(request, f"Offsets not deleted: {exc}")
    else:
        audit.record(
            request.user,
            "share_group.delete_offsets",
            cfg.slug,
            f"group:{group}",
            before=before,
            after=None,
            detail=f"forgot the share-partition state of {topic}",
        )
        messages.success(
            request,
            f"{group} no longer has state for {topic}; its next share consumer starts "
            "there at share.auto.offset.reset.",
        )
    return redirect(DETAIL, cluster=cfg.slug, group=group)


@require_POST
@_recordable
def share_group_configs(request: HttpRequest, cluster: str, group: str) -> HttpResponse:
    cfg = cluster_or_404(cluster)
    denied = _refused(request, cfg, group)
    if denied:
        return denied
    submitted = {n: request.POST.get(n, "") for n in share_configs.EDITABLE}
    try:
        current = shares.configs(cfg, group)
        overrides = {n: c.value for n, c in current.items() if c.source == "override"}
        changes = share_configs.changes(submitted, overrides)
        if not changes:
            messages.info(request, "Nothing changed.")
            return redirect(DETAIL, cluster=cfg.slug, group=group)
        shares.alter_configs(cfg, group, changes)
    except (ClusterError, InputError) as exc:
        messages.error(request, f"Configs not changed: {exc}")
        return redirect(DETAIL, cluster=cfg.slug, group=group)
    audit.record(
        request.user,
        "share_group.configs",
        cfg.slug,
        f"group:{group}",
        before={n: current[n].value if n in current else None for n in changes},
        after=changes,
        detail=", ".join(
            f"{n}={v}" if v is not None else f"{n} back to default" for n, v in changes.items()
        ),
    )
    messages.success(request, f"Configs of {group} changed: {', '.join(changes)}.")
    return redirect(DETAIL, cluster=cfg.slug, group=group)


@require_POST
@_recordable
def share_group_alert(request: HttpRequest, cluster: str, group: str) -> HttpResponse:
    cfg = cluster_or_404(cluster)
    denied = _refused(request, cfg, group)
    if denied:
        return denied
    return save_alert(request, cfg, group, DETAIL)
