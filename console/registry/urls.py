"""URL map of the registry API, mounted at `/schema-registry/` with Confluent's paths.

Owns the paths only; it must never hold logic.
"""

from __future__ import annotations

from django.urls import path, re_path

from console.registry import api

# Subjects may hold any character, "/" included: clients url-encode it as %2F, which the
# server decodes before routing, so a subject is everything up to the fixed tail of its
# path (the longest tails come first; a subject ending in "/versions" itself is the one
# name that cannot be addressed). Versions are numbers, -1 or "latest", checked by the
# view so a bad one gets 42202, not a 404.
S = r"(?P<subject>.+?)"
V = r"(?P<version>[^/]+)"

urlpatterns = [
    path("", api.root, name="registry-root"),
    path("subjects", api.subjects),
    path("schemas", api.schemas),
    path("schemas/types", api.schema_types),
    path("schemas/ids/<int:schema_id>", api.schema_by_id),
    path("schemas/ids/<int:schema_id>/schema", api.schema_text),
    path("schemas/ids/<int:schema_id>/versions", api.schema_versions),
    path("schemas/ids/<int:schema_id>/subjects", api.schema_subjects),
    re_path(rf"^subjects/{S}/versions/{V}/schema$", api.subject_version_schema),
    re_path(rf"^subjects/{S}/versions/{V}/referencedby$", api.referenced_by),
    re_path(rf"^subjects/{S}/versions/{V}$", api.subject_version),
    re_path(rf"^subjects/{S}/versions$", api.subject_versions),
    re_path(rf"^subjects/{S}$", api.subject),
    re_path(rf"^compatibility/subjects/{S}/versions/{V}$", api.compatible_with_version),
    re_path(rf"^compatibility/subjects/{S}/versions$", api.compatible_with_subject),
    path("config", api.global_config),
    re_path(rf"^config/{S}$", api.subject_config),
    path("mode", api.global_mode),
    re_path(rf"^mode/{S}$", api.subject_mode),
    # Last: a JSON 404 with an error code, which clients parse, instead of an HTML page.
    re_path(r"^(?P<rest>.+)$", api.unknown),
]
