"""Topic pages: the list, the detail page and every change made from them, plus creation.

Owns the request/response side of topics: filtering, sorting, paging, permission checks
before each change, the audit entry after it. It must never talk to Kafka except through
`console.kafka`, and never trust hidden buttons: every change asks
`console.permissions` again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console import audit, replication
from console.forms import TopicCreateForm, topic_name_problems
from console.inputs import InputError, parse_config
from console.kafka import admin, brokers, replicas
from console.kafka.model import int_or_none
from console.models import Team, TopicRequest
from console.permissions import (
    can_change_topic,
    can_create_topics,
    is_admin,
    policy_violations,
    team_for_topic,
    user_teams,
)
from console.views import HtmxHttpRequest, error_fragment
from console.views.clusters import cluster_or_404, cluster_view, forbidden
from console.views.team_usage import config_refusal, partitions_refusal, team_shapes

PAGE_SIZE = 50
SORTS: dict[str, Any] = {
    "name": lambda t: t.name,
    "partitions": lambda t: len(t.partitions),
    "messages": lambda t: t.messages,
    "size": lambda t: t.size or 0,
    "retention": lambda t: t.retention_ms if t.retention_ms not in (None, -1) else 2**63,
    "written": lambda t: t.newest_ts or 0,
}


@require_GET
def topic_list(request: HtmxHttpRequest, cluster: str) -> HttpResponse:
    view = cluster_view(cluster)
    query = request.GET.get("q", "").strip()
    show_internal = request.GET.get("internal") == "1"
    sort = request.GET.get("sort", "name")
    sort_key = sort.lstrip("-")
    if sort_key not in SORTS:
        sort, sort_key = "name", "name"
    topics = list(view.snapshot.topics.values()) if view.snapshot else []
    if not show_internal:
        topics = [t for t in topics if not t.internal]
    if query:
        topics = [t for t in topics if query.lower() in t.name.lower()]
    topics.sort(key=SORTS[sort_key], reverse=sort.startswith("-"))
    page = Paginator(topics, PAGE_SIZE).get_page(request.GET.get("page"))
    teams = list(Team.objects.all())
    rows = [{"topic": t, "team": team_for_topic(t.name, teams)} for t in page.object_list]
    context = {
        "cluster": view.cluster,
        "cluster_error": view.error,
        "stale_at": view.stale_at,
        "snapshot": view.snapshot,
        "rows": rows,
        "page": page,
        "q": query,
        "internal": show_internal,
        "sort": sort,
        "can_create": can_create_topics(request.user),
    }
    template = "console/_topics_table.html" if request.htmx else "console/topics.html"
    return render(request, template, context)


@require_GET
def topic_name_check(request: HttpRequest, cluster: str) -> HttpResponse:
    """htmx: the naming rules, checked as the person types."""
    view = cluster_view(cluster, max_age=60)
    name = request.GET.get("name", "").strip()
    existing = set(view.snapshot.topics) if view.snapshot else None
    errors, warnings = topic_name_problems(name, existing) if name else ([], [])
    owner = team_for_topic(name) if name and not errors else None
    return render(
        request,
        "console/_name_check.html",
        {"name": name, "errors": errors, "warnings": warnings, "owner": owner},
    )


@require_http_methods(["GET", "POST"])
def topic_new(request: HttpRequest, cluster: str) -> HttpResponse:
    config = cluster_or_404(cluster)
    if not can_create_topics(request.user):
        return forbidden(
            request,
            "Only administrators and team members create topics. Ask an admin to add you to a team.",
        )
    teams = user_teams(request.user)
    form = TopicCreateForm(request.POST or None, teams=teams)
    defaults = brokers.replication_defaults(config)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        team: Team | None = data.get("team") or (teams[0] if len(teams) == 1 else None)
        # Unreadable broker count: the cluster's own refusal says it when creating.
        too_many = defaults and replication.factor_problem(
            data.get("replication_factor"), defaults.brokers
        )
        if too_many:
            form.add_error("replication_factor", too_many)
        elif team is None and not is_admin(request.user):
            form.add_error("team", "Pick the team this topic is for.")
        else:
            if team and data.get("retention") is None and team.max_retention_ms is not None:
                # Without an explicit retention, use the longest the team may keep.
                data["retention"] = team.max_retention_ms
            configs = form.configs()
            rf = data.get("replication_factor")
            if is_admin(request.user):
                return _create_now(request, config, data["name"], data["partitions"], configs, rf)
            assert team is not None
            problems = policy_violations(
                team,
                data["name"],
                data["partitions"],
                data.get("retention"),
                data.get("retention_size"),
                others=team_shapes(cluster, team),
                cleanup_policy=data["cleanup_policy"],
            )
            if not problems:
                return _create_now(request, config, data["name"], data["partitions"], configs, rf)
            req = TopicRequest.objects.create(
                cluster=cluster,
                team=team,
                requested_by=request.user,  # type: ignore[misc]
                topic=data["name"],
                partitions=data["partitions"],
                replication_factor=rf,
                configs=configs,
                violations=problems,
                note=data.get("note", ""),
            )
            audit.record(
                request.user,
                "request.create",
                cluster,
                data["name"],
                after=req.audit_shape(),
                detail="; ".join(problems),
            )
            messages.info(
                request,
                f"{data['name']} is outside the {team.name} policy, so it went to an admin "
                f"as a request: {' '.join(problems)}",
            )
            return redirect("teams")
    return render(
        request,
        "console/topic_new.html",
        {
            "cluster": config,
            "form": form,
            "teams": teams,
            "admin": is_admin(request.user),
            "defaults": defaults,
        },
        status=400 if request.method == "POST" else 200,
    )


def _create_now(
    request: HttpRequest,
    config: Any,
    name: str,
    partitions: int,
    configs: dict[str, str],
    replication_factor: int | None = None,
) -> HttpResponse:
    try:
        admin.create_topic(config, name, partitions, configs, replication_factor)
    except admin.ClusterError as exc:
        messages.error(request, str(exc))
        return redirect("topics_new", cluster=config.slug)
    audit.record(
        request.user,
        "topic.create",
        config.slug,
        name,
        after={
            "partitions": partitions,
            "configs": configs,
            "replication_factor": replication_factor or "cluster default",
        },
    )
    messages.success(request, f"Topic {name} created with {partitions} partitions.")
    return redirect("topics_detail", cluster=config.slug, topic=name)


@require_GET
def topic_detail(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    config = cluster_or_404(cluster)
    error = ""
    info = None
    configs: list[admin.ConfigItem] = []
    try:
        info = admin.partition_details(config, topic)
        configs = admin.describe_topic_configs(config, topic)
    except admin.TopicNotFound as exc:
        raise Http404(str(exc)) from None
    except admin.ClusterError as exc:
        error = str(exc)
    team = team_for_topic(topic)
    replication_note, multi_broker = "", False
    moving: list[dict[str, Any]] = []
    moving_error = ""
    if info is not None:
        min_isr = next((c.value for c in configs if c.name == "min.insync.replicas"), None)
        replication_note = replication.topic_summary(info, int_or_none(min_isr) or 1)
        multi_broker = any(len(p.replicas) > 1 for p in info.partitions) or _brokers(config) > 1
        if multi_broker:
            # A single broker has nowhere to move copies to, and is not asked.
            try:
                moving = _moving(config, topic, info)
            except admin.ClusterError as exc:
                moving_error = str(exc)
    return render(
        request,
        "console/topic_detail.html",
        {
            "cluster": config,
            "cluster_error": error,
            "topic": topic,
            "info": info,
            "configs": configs,
            "team": team,
            "can_change": can_change_topic(request.user, cluster, topic),
            "is_admin": is_admin(request.user),
            "replication": replication_note,
            "multi_broker": multi_broker,
            "moving": moving,
            "moving_error": moving_error,
        },
    )


def _moving(config: Any, topic: str, info: Any) -> list[dict[str, Any]]:
    """This topic's partitions being reassigned, with the new copies already in sync."""
    isr = {p.partition: set(p.isr) for p in info.partitions}
    return [
        {
            "partition": m.partition,
            "replicas": m.replicas,
            "adding": m.adding,
            "removing": m.removing,
            "caught_up": tuple(b for b in m.adding if b in isr.get(m.partition, set())),
        }
        for m in replicas.in_progress(config)
        if m.topic == topic
    ]


def _brokers(config: Any) -> int:
    try:
        return len(admin.snapshot(config).brokers)
    except admin.ClusterError:
        return 0


def _config_value(config: Any, topic: str, name: str) -> admin.ConfigItem | None:
    return next((c for c in admin.describe_topic_configs(config, topic) if c.name == name), None)


@require_http_methods(["GET", "POST"])
def topic_config(request: HtmxHttpRequest, cluster: str, topic: str, name: str) -> HttpResponse:
    """GET (htmx): the inline editor for one config. POST: set it, or reset when empty."""
    config = cluster_or_404(cluster)
    if not can_change_topic(request.user, cluster, topic):
        return forbidden(request, f"You can read {topic} but not change its configs.")
    try:
        item = _config_value(config, topic, name)
    except admin.ClusterError as exc:
        return _action_error(request, config, topic, str(exc))
    if item is None:
        raise Http404(f"{topic} has no config called {name!r}.")
    if request.method == "GET":
        return render(
            request,
            "console/_config_row.html",
            {"cluster": config, "topic": topic, "c": item, "editing": True, "can_change": True},
        )
    raw = request.POST.get("value", "").strip()
    try:
        value = parse_config(name, raw) or None
        refused = config_refusal(request.user, config, topic, {name: value})
        if refused:
            return _editor_error(
                request, config, topic, item, f"{name} unchanged: {' '.join(refused)}"
            )
        admin.alter_topic_configs(config, topic, {name: value})
        after = _config_value(config, topic, name)
    except (InputError, admin.ClusterError) as exc:
        return _editor_error(request, config, topic, item, str(exc))
    audit.record(
        request.user,
        "topic.config",
        cluster,
        topic,
        before={name: item.value, "source": item.source},
        after={name: after.value if after else None, "source": after.source if after else ""},
    )
    if request.htmx:
        return render(
            request,
            "console/_config_row.html",
            {"cluster": config, "topic": topic, "c": after, "can_change": True, "saved": True},
        )
    messages.success(request, f"{name} of {topic} is now {after.value if after else raw}.")
    return redirect("topics_detail", cluster=cluster, topic=topic)


def _editor_error(
    request: HtmxHttpRequest, config: Any, topic: str, item: admin.ConfigItem, message: str
) -> HttpResponse:
    if request.htmx:
        # htmx swaps only 2xx answers: the editor comes back with the reason under it.
        return render(
            request,
            "console/_config_row.html",
            {"cluster": config, "topic": topic, "c": item, "editing": True, "error": message},
        )
    return _action_error(request, config, topic, message, status=400)


def _action_error(
    request: HtmxHttpRequest, config: Any, topic: str, message: str, status: int = 502
) -> HttpResponse:
    if request.htmx:
        return error_fragment(
            render(request, "console/_action_error.html", {"message": message}, status=status)
        )
    messages.error(request, message)
    return redirect("topics_detail", cluster=config.slug, topic=topic)


@require_POST
def topic_delete(request: HtmxHttpRequest, cluster: str, topic: str) -> HttpResponse:
    config = cluster_or_404(cluster)
    if not can_change_topic(request.user, cluster, topic):
        return forbidden(request, f"Only {topic}'s team or an admin can delete it.")
    if request.POST.get("confirm", "") != topic:
        messages.error(request, f"Type the topic name, {topic}, exactly to confirm deletion.")
        return redirect("topics_detail", cluster=cluster, topic=topic)
    try:
        before = admin.partition_details(config, topic)
        admin.delete_topic(config, topic)
    except admin.ClusterError as exc:
        return _action_error(request, config, topic, str(exc))
    audit.record(
        request.user,
        "topic.delete",
        cluster,
        topic,
        before={"partitions": len(before.partitions), "messages": before.messages},
    )
    messages.success(request, f"Topic {topic} deleted.")
    return redirect("topics", cluster=cluster)


@require_POST
def topic_partitions(request: HtmxHttpRequest, cluster: str, topic: str) -> HttpResponse:
    config = cluster_or_404(cluster)
    if not can_change_topic(request.user, cluster, topic):
        return forbidden(request, f"Only {topic}'s team or an admin can add partitions.")
    try:
        total = int(request.POST.get("total", ""))
    except ValueError:
        messages.error(request, "Give the new total number of partitions as a whole number.")
        return redirect("topics_detail", cluster=cluster, topic=topic)
    try:
        current = len(admin.partition_details(config, topic).partitions)
        if total <= current:
            messages.error(
                request,
                f"{topic} has {current} partitions; the new total must be larger "
                "(partitions can be added, never removed).",
            )
            return redirect("topics_detail", cluster=cluster, topic=topic)
        refused = partitions_refusal(request.user, config, topic, total)
        if refused:
            messages.error(request, f"{topic} keeps {current} partitions: {' '.join(refused)}")
            return redirect("topics_detail", cluster=cluster, topic=topic)
        admin.add_partitions(config, topic, total)
    except admin.ClusterError as exc:
        return _action_error(request, config, topic, str(exc))
    audit.record(
        request.user,
        "topic.partitions",
        cluster,
        topic,
        before={"partitions": current},
        after={"partitions": total},
    )
    messages.success(request, f"{topic} now has {total} partitions.")
    return redirect("topics_detail", cluster=cluster, topic=topic)


@require_POST
def topic_delete_records(request: HtmxHttpRequest, cluster: str, topic: str) -> HttpResponse:
    config = cluster_or_404(cluster)
    if not can_change_topic(request.user, cluster, topic):
        return forbidden(request, f"Only {topic}'s team or an admin can delete its records.")
    try:
        partition = int(request.POST.get("partition", ""))
        offset = int(request.POST.get("offset", ""))
    except ValueError:
        messages.error(request, "Pick a partition and give the offset as a whole number.")
        return redirect("topics_detail", cluster=cluster, topic=topic)
    try:
        info = admin.partition_details(config, topic)
        part = next((p for p in info.partitions if p.partition == partition), None)
        if part is None:
            messages.error(request, f"{topic} has no partition {partition}.")
            return redirect("topics_detail", cluster=cluster, topic=topic)
        if not part.start <= offset <= part.end:
            messages.error(
                request,
                f"Partition {partition} holds offsets {part.start} to {part.end}; "
                f"pick an offset in that range (records before it are deleted).",
            )
            return redirect("topics_detail", cluster=cluster, topic=topic)
        result = admin.delete_records(config, topic, {partition: offset})
    except admin.ClusterError as exc:
        return _action_error(request, config, topic, str(exc))
    audit.record(
        request.user,
        "topic.delete_records",
        cluster,
        f"{topic}[{partition}]",
        before={"start": part.start, "end": part.end},
        after={"start": result.get(partition, offset)},
    )
    messages.success(
        request,
        f"Deleted {offset - part.start} records from partition {partition}; "
        f"it now starts at offset {result.get(partition, offset)}.",
    )
    return redirect("topics_detail", cluster=cluster, topic=topic)
