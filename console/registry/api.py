"""The Confluent Schema Registry REST API over `console.registry.store`.

Owns request parsing, the JSON shapes of Confluent's responses and the content types
(`application/vnd.schemaregistry.v1+json`, `application/vnd.schemaregistry+json`,
`application/json`). It must never hold registry rules: those are the store's.
Clients authenticate with HTTP basic, so there is no session and no CSRF token.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from console.registry import auth, compatibility, errors, formats, store
from console.registry.models import Schema, SubjectVersion

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
# Not "" (no Content-Type): a browser sends such a body cross-site without a CORS
# preflight, with basic credentials it cached for this host, and the API is CSRF-exempt.
ACCEPTED_BODIES = (
    "application/vnd.schemaregistry.v1+json",
    "application/vnd.schemaregistry+json",
    "application/json",
    "application/octet-stream",
)

Handler = Callable[..., Any]


def _reply(payload: Any, status: int = 200) -> HttpResponse:
    return JsonResponse(payload, status=status, safe=False, content_type=CONTENT_TYPE)


def _flag(request: HttpRequest, name: str) -> bool:
    return request.GET.get(name, "false").lower() == "true"


def _normalize(request: HttpRequest, subject: str) -> bool:
    """`normalize=true` on the request, else the subject's (or global) `normalize` config."""
    return _flag(request, "normalize") or store.normalizing(subject)


def endpoint(*methods: str) -> Callable[[Handler], Callable[..., HttpResponse]]:
    """Authenticate, parse the JSON body, route by method and turn refusals into JSON."""

    def wrap(handler: Handler) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @login_not_required
        @wraps(handler)
        def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in methods:
                    return _reply(
                        {"error_code": 405, "message": "HTTP 405 Method Not Allowed"}, 405
                    )
                who = auth.caller(request)
                if who is None:
                    refusal = errors.unauthorized()
                    response = _reply({"error_code": refusal.code, "message": refusal.message}, 401)
                    response["WWW-Authenticate"] = 'Basic realm="schema-registry"'
                    return response
                body = None
                if request.method in ("POST", "PUT"):
                    kind = request.content_type or ""
                    if kind not in ACCEPTED_BODIES:
                        return _reply(
                            {"error_code": 415, "message": "HTTP 415 Unsupported Media Type"}, 415
                        )
                    try:
                        body = json.loads(request.body or b"null")
                    except ValueError:
                        return _reply({"error_code": 400, "message": "Unrecognized JSON body"}, 400)
                return _reply(handler(request, who, body, **kwargs))
            except errors.RegistryError as exc:
                return _reply({"error_code": exc.code, "message": exc.message}, exc.status)

        return view

    return wrap


def _require_write(who: auth.Caller, subject: str | None) -> None:
    if subject is None:
        if not who.admin:
            raise errors.forbidden("(global)")
    elif not auth.may_write(who, subject):
        raise errors.forbidden(subject)


def _schema_fields(schema: Schema) -> dict[str, Any]:
    # Confluent leaves out the defaults: AVRO as type, no references.
    fields: dict[str, Any] = {"schema": schema.text}
    if schema.schema_type != formats.AVRO:
        fields["schemaType"] = schema.schema_type
    if schema.references:
        fields["references"] = schema.references
    return fields


def _raw(schema: Schema) -> Any:
    """The schema alone, as Confluent's `/schema` endpoints answer: JSON types as JSON."""
    return schema.text if schema.schema_type == formats.PROTOBUF else json.loads(schema.text)


def _version_doc(row: SubjectVersion) -> dict[str, Any]:
    return {"subject": row.subject, "version": row.version, "id": row.schema_id} | _schema_fields(
        row.schema
    )


@endpoint("GET", "POST", "PUT", "DELETE")
def unknown(request: HttpRequest, who: auth.Caller, body: Any, rest: str) -> Any:
    """Paths Confluent's registry has and this one does not (contexts, exporters, DEKs…)."""
    raise errors.RegistryError(40400, "HTTP 404 Not Found")


@endpoint("GET")
def root(request: HttpRequest, who: auth.Caller, body: Any) -> Any:
    return {}


@endpoint("GET")
def subjects(request: HttpRequest, who: auth.Caller, body: Any) -> Any:
    return store.subjects(_flag(request, "deleted"), request.GET.get("subjectPrefix", ""))


def _window(request: HttpRequest, rows: list[Any]) -> list[Any]:
    """`offset` and `limit` (-1: no limit) as Confluent's list endpoints take them."""
    try:
        offset = max(int(request.GET.get("offset", "0")), 0)
        limit = int(request.GET.get("limit", "-1"))
    except ValueError:
        raise errors.RegistryError(400, "offset and limit must be numbers") from None
    return rows[offset:] if limit < 0 else rows[offset : offset + limit]


@endpoint("GET")
def schemas(request: HttpRequest, who: auth.Caller, body: Any) -> Any:
    rows = store.listed(
        _flag(request, "deleted"),
        request.GET.get("subjectPrefix", ""),
        _flag(request, "latestOnly"),
    )
    return [_version_doc(row) for row in _window(request, rows)]


@endpoint("GET")
def schema_types(request: HttpRequest, who: auth.Caller, body: Any) -> Any:
    return list(formats.TYPES)


@endpoint("GET")
def schema_by_id(request: HttpRequest, who: auth.Caller, body: Any, schema_id: int) -> Any:
    return _schema_fields(store.schema(schema_id))


@endpoint("GET")
def schema_text(request: HttpRequest, who: auth.Caller, body: Any, schema_id: int) -> Any:
    return _raw(store.schema(schema_id))


@endpoint("GET")
def schema_versions(request: HttpRequest, who: auth.Caller, body: Any, schema_id: int) -> Any:
    rows = store.schema(schema_id).versions.all()
    if not _flag(request, "deleted"):
        rows = rows.filter(deleted=False)
    return [
        {"subject": r.subject, "version": r.version} for r in rows.order_by("subject", "version")
    ]


@endpoint("GET")
def schema_subjects(request: HttpRequest, who: auth.Caller, body: Any, schema_id: int) -> Any:
    rows = store.schema(schema_id).versions.all()
    if not _flag(request, "deleted"):
        rows = rows.filter(deleted=False)
    return sorted(set(rows.values_list("subject", flat=True)))


@endpoint("POST", "DELETE")
def subject(request: HttpRequest, who: auth.Caller, body: Any, subject: str) -> Any:
    if request.method == "POST":
        given = store.candidate(body)
        deleted = _flag(request, "deleted")
        return _version_doc(store.lookup(subject, given, deleted, _normalize(request, subject)))
    _require_write(who, subject)
    return store.delete_subject(subject, _flag(request, "permanent"))


@endpoint("GET", "POST")
def subject_versions(request: HttpRequest, who: auth.Caller, body: Any, subject: str) -> Any:
    if request.method == "POST":
        _require_write(who, subject)
        row = store.register(subject, store.candidate(body), _normalize(request, subject))
        return {"id": row.schema_id}
    return [r.version for r in store.live_versions(subject, _flag(request, "deleted"))]


@endpoint("GET", "DELETE")
def subject_version(
    request: HttpRequest, who: auth.Caller, body: Any, subject: str, version: str
) -> Any:
    number = store.parse_version(version)
    if request.method == "DELETE":
        _require_write(who, subject)
        return store.delete_version(subject, number, _flag(request, "permanent"))
    return _version_doc(store.version(subject, number, _flag(request, "deleted")))


@endpoint("GET")
def subject_version_schema(
    request: HttpRequest, who: auth.Caller, body: Any, subject: str, version: str
) -> Any:
    row = store.version(subject, store.parse_version(version), _flag(request, "deleted"))
    return _raw(row.schema)


@endpoint("GET")
def referenced_by(
    request: HttpRequest, who: auth.Caller, body: Any, subject: str, version: str
) -> Any:
    row = store.version(subject, store.parse_version(version))
    return store.referenced_by(subject, row.version)


def _compatibility_reply(request: HttpRequest, found: list[str]) -> dict[str, Any]:
    reply: dict[str, Any] = {"is_compatible": not found}
    if _flag(request, "verbose"):
        reply["messages"] = found
    return reply


@endpoint("POST")
def compatible_with_version(
    request: HttpRequest, who: auth.Caller, body: Any, subject: str, version: str
) -> Any:
    number = store.parse_version(version)
    given = store.candidate(body)
    row = store.version(subject, number)
    parsed = store.parse(given, _normalize(request, subject))
    level = store.compatibility_level(subject)
    base = level.removesuffix("_TRANSITIVE")
    found = compatibility.problems(base, parsed, [store.parsed_of(row.schema)])
    return _compatibility_reply(request, found)


@endpoint("POST")
def compatible_with_subject(request: HttpRequest, who: auth.Caller, body: Any, subject: str) -> Any:
    parsed = store.parse(store.candidate(body), _normalize(request, subject))
    return _compatibility_reply(request, store.problems(subject, parsed))


def _config_update(body: Any) -> dict[str, Any]:
    """The settings a config PUT changes: `compatibility`, `normalize` or both."""
    if not isinstance(body, dict):
        raise errors.invalid_compatibility(None)
    fields: dict[str, Any] = {}
    level = body.get("compatibility")
    if level is not None or "normalize" not in body:
        if not isinstance(level, str) or level.upper() not in compatibility.LEVELS:
            raise errors.invalid_compatibility(level)
        fields["compatibility"] = level.upper()
    normalize = body.get("normalize")
    if normalize is not None:
        if not isinstance(normalize, bool):
            raise errors.invalid_schema(f"Invalid normalize {normalize!r}: true or false")
        fields["normalize"] = normalize
    return fields


def _put_config(subject: str, body: Any) -> dict[str, Any]:
    store.configure(subject, **_config_update(body))
    # Confluent answers with the subject's whole configuration after the change, naming
    # the level "compatibility" where its GET says "compatibilityLevel".
    return _own_config(subject, level_key="compatibility")


def _own_config(subject: str, level_key: str = "compatibilityLevel") -> dict[str, Any]:
    """What `subject` ("" for global) configures itself, in Confluent's GET shape."""
    reply: dict[str, Any] = {}
    if store.configured(subject, "compatibility"):
        reply[level_key] = store.configured(subject, "compatibility")
    if store.configured(subject, "normalize") is not None:
        reply["normalize"] = store.configured(subject, "normalize")
    return reply


@endpoint("GET", "PUT", "DELETE")
def global_config(request: HttpRequest, who: auth.Caller, body: Any) -> Any:
    if request.method == "PUT":
        _require_write(who, None)
        return _put_config("", body)
    current = {"compatibilityLevel": store.compatibility_level(None)} | _own_config("")
    if request.method == "DELETE":
        # Back to the defaults; the answer is the configuration that was in force.
        _require_write(who, None)
        store.configure("", compatibility="", normalize=None)
    return current


@endpoint("GET", "PUT", "DELETE")
def subject_config(request: HttpRequest, who: auth.Caller, body: Any, subject: str) -> Any:
    if request.method == "PUT":
        _require_write(who, subject)
        return _put_config(subject, body)
    own = _own_config(subject)
    if request.method == "DELETE":
        _require_write(who, subject)
        if not own:
            raise errors.subject_not_found(subject)
        store.configure(subject, compatibility="", normalize=None)
        return own
    if own:
        return own
    if _flag(request, "defaultToGlobal"):
        return {"compatibilityLevel": store.compatibility_level(None)} | _own_config("")
    raise errors.compatibility_not_configured(subject)


def _mode(body: Any) -> str:
    value = body.get("mode") if isinstance(body, dict) else None
    if not isinstance(value, str) or value.upper() not in store.MODES:
        raise errors.invalid_mode(value)
    return value.upper()


@endpoint("GET", "PUT", "DELETE")
def global_mode(request: HttpRequest, who: auth.Caller, body: Any) -> Any:
    if request.method == "PUT":
        _require_write(who, None)
        value = _mode(body)
        store.set_mode("", value, _flag(request, "force"))
        return {"mode": value}
    current = {"mode": store.mode(None)}
    if request.method == "DELETE":
        _require_write(who, None)
        store.configure("", mode="")
    return current


@endpoint("GET", "PUT", "DELETE")
def subject_mode(request: HttpRequest, who: auth.Caller, body: Any, subject: str) -> Any:
    if request.method == "PUT":
        _require_write(who, subject)
        value = _mode(body)
        store.set_mode(subject, value, _flag(request, "force"))
        return {"mode": value}
    own = store.configured(subject, "mode")
    if request.method == "DELETE":
        _require_write(who, subject)
        if not own:
            raise errors.subject_not_found(subject)
        store.configure(subject, mode="")
        return {"mode": own}
    if own:
        return {"mode": own}
    if _flag(request, "defaultToGlobal"):
        return {"mode": store.mode(None)}
    raise errors.mode_not_configured(subject)
