"""Every URL and websocket route of the console is guarded, including the ones added later.

Owns the walk over Django's URL resolver and the Channels routes: each pattern gets a
concrete URL built from real objects (a cluster row, a team's topic on the broker, its
consumer group, a client quota, a cluster-wide default broker config, a schema, a service
account, pending requests), then an anonymous visitor, a logged-in user with no team (the
lowest role), a member of another team and, on the admin-only paths, a member of the
owning team try every state-changing method on it and must be refused with nothing
changed, in the database or on the broker; CSRF must stay enforced. A pattern the walk
cannot fill, or a public, harmless or team exception not written down below with its
reason, fails the test by name. It must never skip a pattern silently, nor grant anything
to the users it tests: only the admin's CSRF control changes state, and it checks that it
did.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from channels.testing import WebsocketCommunicator
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, OffsetSpec, ResourceType
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import signing
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern

from console.kafka import client_quotas, cluster_defaults
from console.kafka import tail as tails
from console.kafka.config import bare
from console.lag.reset_plan import Plan, PlanRow, ResetSpec
from console.models import AccessRequest, Cluster, ServiceAccount, Team, TopicRequest
from console.registry import store
from console.routing import websocket_urlpatterns
from console.views import groups as groups_views
from console.views import share_groups as share_views
from tests.clusters import Cluster as BrokerCluster
from tests.console.topics_helpers import commit, console_on, make_topic, produce, unique

pytestmark = pytest.mark.django_db

# Reachable without a session, each for a reason; adding one here is a conscious act.
PUBLIC = {
    "login": "the login form itself",
    "healthz": "load balancers probe it; it answers reachability only",
    "metrics": "Prometheus scrapes it with a bearer token or from loopback (own guard, tested below)",
    # Mounted only when a mail server is configured (ODRADEK_PASSWORD_RESET):
    "password_reset": "asking for a reset link by mail is for people who cannot log in",
    "password_reset_done": "the 'mail sent' page of the above",
    "password_reset_confirm": "the link from the mail, checked by its signed token",
    "password_reset_complete": "the 'password changed' page of the above",
}
MAIL_ONLY = {name for name in PUBLIC if name.startswith("password_reset")}

# POSTs a user who may change nothing is still allowed to make, because they change nothing.
HARMLESS_POSTS = {
    ("logout", "post"): "ends the caller's own session (logged in again before the next path)",
    ("password_change", "post"): "the caller's own password, and only with the old one",
    ("password_change", "put"): "Django's form views take PUT as POST; same form as above",
    ("groups_reset", "post"): "the preview of a reset; applying it is the guarded step",
    ("share_groups_reset", "post"): "the preview of a start-offset reset; apply is guarded",
    ("console.registry.api.subject", "post"): "Confluent's lookup: is this schema registered?",
    ("console.registry.api.compatible_with_version", "post"): "a compatibility check",
    ("console.registry.api.compatible_with_subject", "post"): "a compatibility check",
    ("console.registry.api.unknown", "post"): "paths the registry lacks: 404 to every method",
    ("console.registry.api.unknown", "put"): "paths the registry lacks: 404 to every method",
    ("console.registry.api.unknown", "delete"): "paths the registry lacks: 404 to every method",
}
# What a member of any team may do, even on a path about another team's things, and the
# only state that may change when they do.
MEMBERS_MAY = {
    ("topics_new", "post"): (
        "members create topics in their own prefix; outside it they file a request",
        frozenset({"database.console.TopicRequest", "database.console.AuditEntry"}),
    ),
}
# What the owning team's members may do to their own things: not swept for them (their
# changes are theirs to make), every other path must refuse them as it refuses a viewer.
OWNER_MAY = {
    key: "the owning team changes its own topics, groups, accounts and schemas"
    for key in (
        "topics_new", "topics_config", "topics_delete", "topics_partitions",
        "topics_delete_records", "retention_edit", "topics_produce",
        "groups_reset_apply", "groups_delete_offsets", "groups_delete", "groups_alert",
        "share_groups_reset_apply", "share_groups_delete_offsets", "share_groups_configs",
        "share_groups_alert", "service_accounts", "service_accounts_rotate",
        "service_accounts_delete", "service_accounts_access", "schema_subject",
        "console.registry.api.subject", "console.registry.api.subject_versions",
        "console.registry.api.subject_version", "console.registry.api.subject_config",
        "console.registry.api.subject_mode",
    )
}  # fmt: skip

# csrf_exempt is allowed only where no session can carry authority.
CSRF_EXEMPT = {
    "console/registry/api.py": "the registry API authenticates by HTTP basic per request, never by session",
}

STATE_METHODS = ("post", "put", "delete")
REFUSED = {403, 405}  # the console's refusal (forbidden()) and "this view takes no such method"
TXN_ID = "billing-txn"
CONFIG_VALUE = "3600000"
SCHEMA = json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]})


@dataclass(frozen=True)
class Route:
    """One leaf URL pattern: `key` is its name, or the view's dotted path when unnamed."""

    key: str
    route: str
    patterns: tuple[Any, ...]  # the RoutePattern/RegexPattern of each level, outermost first
    callback: Callable[..., Any]


def _key(pattern: URLPattern) -> str:
    view = pattern.callback
    return pattern.name or f"{view.__module__}.{view.__qualname__}"


def _joined(levels: tuple[Any, ...]) -> str:
    """The pattern text as Django's ResolverMatch.route spells it (inner "^" dropped)."""
    texts = [str(p) for p in levels]
    return texts[0] + "".join(t.removeprefix("^") for t in texts[1:]) if texts else ""


def _walk(entries: list[Any], above: tuple[Any, ...] = ()) -> Iterator[Route]:
    for entry in entries:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue  # Django's admin: staff-only by its own login, not the console's
            yield from _walk(entry.url_patterns, (*above, entry.pattern))
        elif isinstance(entry, URLPattern):
            levels = (*above, entry.pattern)
            yield Route(_key(entry), _joined(levels), levels, entry.callback)


def project_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def guarded_routes() -> list[Route]:
    return [r for r in project_routes() if r.key not in PUBLIC]


# --- building a concrete URL for a pattern ----------------------------------------------

_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


@dataclass(frozen=True)
class World:
    """The real objects URLs point at: the billing team owns the topic, group and subject."""

    bootstrap: str
    cluster: str
    topic: str
    group: str
    subject: str
    schema_id: int
    node_id: int
    team_id: int
    account_id: int
    scram_user: str
    quota_client: str  # a client id holding a quota the quota forms would change
    default_config: str  # a cluster-wide default broker config its forms would change
    topic_request_id: int
    access_request_id: int
    outsider_id: int

    def kwargs(self, key: str) -> dict[str, object]:
        values: dict[str, object] = {
            "cluster": self.cluster,
            "topic": self.topic,
            "group": self.group,
            "transactional_id": TXN_ID,
            "name": "retention.ms",
            "fmt": "jsonl",
            "partition": 0,
            "offset": 0,
            "node_id": self.node_id,
            "team_id": self.team_id,
            "account_id": self.account_id,
            "request_id": self.topic_request_id,
            "subject": self.subject,
            "version": "1",
            "schema_id": self.schema_id,
            "rest": "contexts",
        }
        # The same parameter name means a different thing on these paths.
        per_route: dict[str, dict[str, object]] = {
            "broker_config": {"name": "log.retention.ms"},
            "scram_users_delete": {"name": self.scram_user},
            "teams_access_approve": {"request_id": self.access_request_id},
            "teams_access_reject": {"request_id": self.access_request_id},
        }
        return values | per_route.get(key, {})

    def form(self, key: str) -> dict[str, object]:
        """Fields that would make each console form valid, so a missing guard would act."""
        # Any reader gets a signed plan from the preview (a harmless POST), so apply must
        # refuse a genuine one: moving the group back to the start of partition 0.
        plans = {
            "groups_reset_apply": groups_views.PLAN_SALT,
            "share_groups_reset_apply": share_views.PLAN_SALT,
        }
        extra: dict[str, object] = {"plan": self.signed_plan(plans[key])} if key in plans else {}
        return extra | {
            "confirm": self.topic, "topic": self.topic, "total": "3", "partition": "0",
            "offset": "1", "value": CONFIG_VALUE, "retention": "1 hour",
            "name": "billing.more", "partitions": "1", "cleanup_policy": "delete",
            "mode": "earliest", "max_lag_messages": "10", "access": "read", "reason": "no",
            "resource_type": "TOPIC", "pattern_type": "PREFIXED", "resource_name": "billing.",
            "principal": "User:x", "operation": "READ", "permission": "ALLOW", "host": "*",
            "mechanisms": "SCRAM-SHA-256", "iterations": "4096", "password": "pw-pw-pw-pw",
            "broker": str(self.node_id), "factor": "1", "registry": "external",
            "url": "http://registry.invalid", "schema": SCHEMA, "schema_type": "AVRO",
            "action": "register", "topic_prefix": "billing.", "max_partitions": "99",
            "members": str(self.outsider_id), "bootstrap_servers": "127.0.0.1:1",
            "slug": "taken", "security_protocol": "PLAINTEXT", "revert": "1",
            "share.auto.offset.reset": "earliest",
            "kind": "client-id", "client_id": self.quota_client, "key": "producer_byte_rate",
            "producer_byte_rate": "1048576", "config": self.default_config,
        }  # fmt: skip

    def signed_plan(self, salt: str) -> str:
        row = PlanRow(self.topic, 0, current=1, new=0, start=0, end=3, new_timestamp=None)
        plan = Plan(
            self.group, ResetSpec("earliest", ""), [row], made_at_ms=int(time.time() * 1000)
        )
        return signing.dumps(plan.to_json(), salt=salt, compress=True)


def _fill_route(pattern: RoutePattern, kwargs: dict[str, object], route: Route) -> str:
    def one(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in kwargs:
            pytest.fail(f"{route.key} ({route.route}): no value for <{name}>; add one to World")
        return str(pattern.converters[name].to_url(kwargs[name]))

    return _ROUTE_PARAM.sub(one, str(pattern))


def _fill_regex(text: str, kwargs: dict[str, object], route: Route) -> str:
    def one(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in kwargs:
            pytest.fail(f"{route.key} ({route.route}): no value for (?P<{name}>); add one to World")
        return str(kwargs[name])

    return _REGEX_GROUP.sub(one, text).removeprefix("^").removesuffix("$")


def url_of(route: Route, world: World) -> str:
    """A path that resolves back to exactly `route`, or a failure naming it."""
    kwargs = world.kwargs(route.key)
    parts = [
        _fill_route(p, kwargs, route)
        if isinstance(p, RoutePattern)
        else _fill_regex(str(p), kwargs, route)
        for p in route.patterns
    ]
    path = "/" + "".join(parts)
    if "<" in path or "(?P" in path:
        pytest.fail(f"{route.key} ({route.route}): could not fill the pattern, got {path!r}")
    match = resolve(unquote(path))
    if match.func is not route.callback or match.route != route.route:
        pytest.fail(f"{route.key} ({route.route}): built {path!r}, which resolves elsewhere")
    return path


# --- what must not change ----------------------------------------------------------------


def database_state() -> dict[str, list[str]]:
    """Every row of the console's own apps, and who is in which group with which flags."""
    state = {
        model._meta.label: sorted(repr(row) for row in model._default_manager.values())
        for model in apps.get_models()
        if model._meta.app_config.name.startswith("console")
    }
    users = apps.get_model("auth", "User").objects
    state["auth.User"] = sorted(
        repr(u) for u in users.values_list("username", "is_staff", "is_superuser", "password")
    )
    state["auth.memberships"] = sorted(
        repr(m) for m in Group.user_set.through.objects.values_list("user_id", "group_id")
    )
    state["auth.Group"] = sorted(Group.objects.values_list("name", flat=True))
    return state


def cluster_state(world: World) -> dict[str, object]:
    """What the broker holds that any guarded view could change, read with a real client."""
    client = AdminClient({"bootstrap.servers": world.bootstrap, "log_level": 0})
    metadata = client.list_topics(timeout=10)
    topic = ConfigResource(ResourceType.TOPIC, world.topic)
    configs = client.describe_configs([topic])[topic].result(timeout=10)
    parts = [TopicPartition(world.topic, p) for p in metadata.topics[world.topic].partitions]
    starts = client.list_offsets({tp: OffsetSpec.earliest() for tp in parts})
    ends = client.list_offsets({tp: OffsetSpec.latest() for tp in parts})
    groups = client.list_consumer_groups().result(timeout=10)
    committed = client.list_consumer_group_offsets([ConsumerGroupTopicPartitions(world.group)])
    offsets = committed[world.group].result(timeout=10).topic_partitions
    # Without a list of names it answers one future for every user (the stubs say either).
    every_user: Any = client.describe_user_scram_credentials()
    users = every_user.result(timeout=10)
    return {
        "topics": sorted((n, len(t.partitions)) for n, t in metadata.topics.items()),
        "configs": sorted((n, c.value) for n, c in configs.items()),
        "starts": sorted((tp.partition, f.result().offset) for tp, f in starts.items()),
        "ends": sorted((tp.partition, f.result().offset) for tp, f in ends.items()),
        "groups": sorted(g.group_id for g in groups.valid),
        "offsets": sorted((tp.topic, tp.partition, tp.offset) for tp in offsets),
        "scram_users": sorted(users),
        "client_quotas": sorted(
            (e.entity, sorted(e.values.items()))
            for e in client_quotas.describe(bare(world.bootstrap, timeout_s=10))
        ),
        "cluster_defaults": cluster_defaults.describe(bare(world.bootstrap, timeout_s=10)),
    }


def everything(world: World) -> dict[str, object]:
    return {"database": database_state(), "cluster": cluster_state(world)}


def changes(before: dict[str, Any], after: dict[str, Any]) -> str:
    return "; ".join(
        f"{part}.{name}"
        for part in before
        for name in before[part]
        if before[part][name] != after[part].get(name)
    )


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    # The registry API checks a password on every request; PBKDF2 would take minutes here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def outsider_user(django_user_model: Any) -> Any:
    """A member of payments, which owns nothing the URLs point at."""
    user = django_user_model.objects.create_user("outsider", "", "outsider-pass-123")
    group = Group.objects.create(name="team:payments")
    Team.objects.create(name="payments", group=group, topic_prefix="payments.")
    user.groups.add(group)
    return user


@pytest.fixture
def owner_user(django_user_model: Any, world: World) -> Any:
    """A member of billing, which owns the topic, group, subject and account of `world`."""
    user = django_user_model.objects.create_user("owner", "", "owner-pass-123")
    user.groups.add(Team.objects.get(pk=world.team_id).group)
    return user


@pytest.fixture
def world(
    cluster: BrokerCluster, admin_user: Any, viewer_user: Any, outsider_user: Any
) -> Iterator[World]:
    topic = unique("billing.guarded-")
    group = unique("billing-app-")
    make_topic(cluster.bootstrap, topic, partitions=2)
    produce(cluster.bootstrap, topic, 3)
    commit(cluster.bootstrap, group, topic, {0: 1})
    node_id = min(AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics().brokers)
    slug = "guarded"
    Cluster.objects.create(slug=slug, name="Guarded", bootstrap_servers=cluster.bootstrap)
    billing = Team.objects.create(
        name="billing", group=Group.objects.create(name="team:billing"), topic_prefix="billing."
    )
    account = ServiceAccount.objects.create(
        cluster=slug, team=billing, name="billing.app", access="both"
    )
    subject = f"{topic}-value"
    schema = store.register(subject, store.candidate({"schema": SCHEMA}))
    asked_topic = TopicRequest.objects.create(
        cluster=slug, team=billing, requested_by=admin_user, topic="billing.big", partitions=1,
        configs={}, violations=["too big"],
    )  # fmt: skip
    asked_access = AccessRequest.objects.create(
        account=account, resource_type="TOPIC", pattern_type="LITERAL",
        resource_name="payments.x", access="read", requested_by=admin_user,
    )  # fmt: skip
    # A quota a missing guard on the quota forms would change or remove; removed after the
    # test, as the broker is shared (never a default entity's: it would throttle others).
    quota_client = unique("billing-quota-")
    quota_entity = ((client_quotas.CLIENT_ID, quota_client),)
    quotas_at = bare(cluster.bootstrap, timeout_s=10)
    client_quotas.alter(quotas_at, quota_entity, {"producer_byte_rate": 1048576.0})
    # Likewise a cluster-wide default the defaults forms would change or remove: the log
    # cleaner's bandwidth, at a rate no disk reaches (harmless to the other tests).
    default_config = "log.cleaner.io.max.bytes.per.second"
    cluster_defaults.alter(quotas_at, default_config, "1000000000000")
    with console_on(cluster.bootstrap):
        yield World(
            bootstrap=cluster.bootstrap,
            cluster=slug,
            topic=topic,
            group=group,
            subject=subject,
            schema_id=schema.schema_id,
            node_id=node_id,
            team_id=billing.pk,
            account_id=account.pk,
            scram_user="billing.app",
            quota_client=quota_client,
            default_config=default_config,
            topic_request_id=asked_topic.pk,
            access_request_id=asked_access.pk,
            outsider_id=outsider_user.pk,
        )
    client_quotas.alter(quotas_at, quota_entity, {"producer_byte_rate": None})
    cluster_defaults.alter(quotas_at, default_config, None)


def _send(client: Client, route: Route, method: str, path: str, world: World, **extra: Any) -> Any:
    if method == "get":
        return client.get(path, **extra)
    if route.key.startswith("console.registry.api."):
        body = json.dumps({"schema": SCHEMA, "compatibility": "NONE", "mode": "READONLY"})
        return getattr(client, method)(path, body, content_type="application/json", **extra)
    if method == "post":
        return client.post(path, world.form(route.key), **extra)
    return getattr(client, method)(path, **extra)


def _basic(user: str, password: str) -> dict[str, Any]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


# --- the tests --------------------------------------------------------------------------


def test_every_pattern_builds_and_every_exception_exists(world: World) -> None:
    routes = project_routes()
    keys = {r.key for r in routes}
    assert len(keys) == len(routes), "two patterns share a name; give each its own"
    for route in routes:
        url_of(route, world)
    for name in PUBLIC:
        if name in MAIL_ONLY and not settings.ODRADEK_PASSWORD_RESET:
            continue
        assert name in keys, f"PUBLIC lists {name!r}, which no pattern has any more"
    for key in [k for k, _ in HARMLESS_POSTS | MEMBERS_MAY] + list(OWNER_MAY):
        assert key in keys, f"an exception names {key!r}, which no pattern has any more"
    # The count is printed so a reviewer sees what the walk covered.
    print(f"{len(routes)} URL patterns, {len(routes) - len(guarded_routes())} of them public")


def test_an_anonymous_visitor_is_refused_everywhere(world: World) -> None:
    client = Client(raise_request_exception=False)
    problems = []
    for route in guarded_routes():
        path = url_of(route, world)
        for method in ("get", "post", "put", "delete"):
            response = _send(client, route, method, path, world)
            status = response.status_code
            to_login = status == 302 and response["Location"].startswith(settings.LOGIN_URL)
            # 405 (the registry API names a missing method before asking who calls) serves
            # nothing either; any other answer is a page or an action.
            if not (to_login or status in (401, 403, 405)):
                problems.append(f"{route.key}: anonymous {method.upper()} {path} -> {status}")
    assert not problems, "\n".join(problems)


def _refusals(
    world: World, user: Any, allowed: dict[tuple[str, str], str], skipped: dict[str, str]
) -> list[str]:
    """Every state-changing method on every guarded path, as `user`, plain and as htmx:
    what answered other than a refusal, and what changed."""
    client = Client(raise_request_exception=False)
    basic = _basic(user.username, f"{user.username}-pass-123")
    problems = []
    for route in guarded_routes():
        if route.key in skipped:
            continue
        path = url_of(route, world)
        before = everything(world)
        for method in STATE_METHODS:
            for htmx in ({}, {"HTTP_HX_REQUEST": "true"}):
                client.force_login(user)  # again: a POST to logout ends the session
                response = _send(client, route, method, path, world, **basic, **htmx)
                status = response.status_code
                if status >= 500 or ((route.key, method) not in allowed and status not in REFUSED):
                    how = f"{method.upper()}{' (htmx)' if htmx else ''}"
                    problems.append(f"{route.key}: {user.username} {how} {path} -> {status}")
        changed = set(changes(before, everything(world)).split("; ")) - {""}
        may_change = MEMBERS_MAY.get((route.key, "post"), ("", frozenset()))[1]
        if changed - (may_change if (route.key, "post") in allowed else frozenset()):
            problems.append(f"{route.key}: {user.username} changed {sorted(changed)}")
    return problems


@pytest.mark.parametrize("who", ["viewer_user", "outsider_user"])
def test_a_user_who_owns_nothing_changes_nothing(
    world: World, who: str, request: pytest.FixtureRequest
) -> None:
    member = {k: reason for k, (reason, _) in MEMBERS_MAY.items()}
    allowed = HARMLESS_POSTS | (member if who == "outsider_user" else {})
    problems = _refusals(world, request.getfixturevalue(who), allowed, skipped={})
    assert not problems, "\n".join(problems)


def test_the_owning_team_is_refused_what_only_admins_do(world: World, owner_user: Any) -> None:
    member = {k: reason for k, (reason, _) in MEMBERS_MAY.items()}
    problems = _refusals(world, owner_user, HARMLESS_POSTS | member, skipped=OWNER_MAY)
    assert not problems, "\n".join(problems)


def test_pages_answer_the_lowest_role_without_an_error_or_a_change(
    world: World, viewer_user: Any
) -> None:
    """GET is safe: the lowest role may read, and reading never changes or breaks anything."""
    client = Client(raise_request_exception=False)
    client.force_login(viewer_user)
    basic = _basic(viewer_user.username, "viewer-pass-123")
    problems = []
    before = everything(world)
    for route in guarded_routes():
        path = url_of(route, world)
        status = client.get(path, **basic).status_code
        if status >= 500:
            problems.append(f"{route.key}: viewer GET {path} -> {status}")
    changed = changes(before, everything(world))
    assert not changed, f"a GET changed {changed}"
    assert not problems, "\n".join(problems)


def test_csrf_is_enforced_on_every_session_path(world: World, admin_user: Any) -> None:
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(admin_user)
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE
    before = everything(world)
    problems = []
    for route in guarded_routes():
        exempt = getattr(route.callback, "csrf_exempt", False)
        module = route.callback.__module__.replace(".", "/") + ".py"
        if exempt:
            if module not in CSRF_EXEMPT:
                problems.append(f"{route.key}: csrf_exempt, and {module} is not in CSRF_EXEMPT")
            continue
        response = client.post(url_of(route, world), world.form(route.key))
        if response.status_code != 403 or b"CSRF" not in response.content:
            problems.append(f"{route.key}: admin POST without a token -> {response.status_code}")
    assert not problems, "\n".join(problems)
    assert not changes(before, everything(world))
    # The control: the same admin with a token changes what the refused posts could not.
    client.get(f"/clusters/{world.cluster}/retention/")
    token = client.cookies["csrftoken"].value
    path = f"/clusters/{world.cluster}/retention/{world.topic}/"
    response = client.post(path, {"retention": "1 hour", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert "cluster.configs" in changes(before, everything(world))


def test_csrf_exempt_appears_only_where_justified() -> None:
    console = Path(settings.BASE_DIR) / "console"
    found = {
        str(path.relative_to(console.parent))
        for path in console.rglob("*.py")
        if "csrf_exempt" in path.read_text()
    }
    assert found <= set(CSRF_EXEMPT), f"csrf_exempt without a reason in {found - set(CSRF_EXEMPT)}"


def test_metrics_keep_their_own_guard(client: Client) -> None:
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 403
    with override_settings(ODRADEK_METRICS_TOKEN="s3cret"):
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401


# --- websockets ---------------------------------------------------------------------------


def ws_routes() -> list[Any]:
    out = []

    def walk(entries: list[Any]) -> None:
        for entry in entries:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns)
            else:
                out.append(entry)

    walk(websocket_urlpatterns)
    return out


def ws_path(entry: URLPattern, world: World) -> str:
    route = Route(str(entry.pattern), str(entry.pattern), (entry.pattern,), entry.callback)
    kwargs = world.kwargs("websocket")
    pattern = entry.pattern
    if not isinstance(pattern, RoutePattern):
        path = "/" + _fill_regex(str(pattern), kwargs, route)
    else:
        path = "/" + _fill_route(pattern, kwargs, route)
    if not entry.pattern.match(unquote(path).lstrip("/")):
        pytest.fail(f"websocket route {entry.pattern}: built {path!r}, which it does not match")
    return path


def test_every_websocket_refuses_an_anonymous_visitor(world: World) -> None:
    from console.asgi import application

    async def attempt(path: str, headers: list[tuple[bytes, bytes]]) -> bool:
        comm = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await comm.connect(timeout=20)
        if connected:
            await comm.disconnect()
        return bool(connected)

    same_origin = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    routes = ws_routes()
    assert routes, "console.routing has no websocket routes: did they move?"
    problems = []
    # Channels' test loop runs in a thread of its own, as in test_tail_ws.py: a browser
    # test earlier in the session may hold this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        for entry in routes:
            path = ws_path(entry, world)
            for headers in (same_origin, [(b"host", b"127.0.0.1")]):
                if pool.submit(asyncio.run, attempt(path, headers)).result(60):
                    problems.append(f"{entry.pattern}: anonymous {path} connected ({headers})")
    assert tails.active() == {}
    assert not problems, "\n".join(problems)
    print(f"{len(routes)} websocket routes")
