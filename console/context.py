"""Template context shared by every page: the navigation and the current cluster slug.

Owns nothing but naming; it must never call a cluster (pages would hang on a dead one).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from console.permissions import is_admin

NAV_ITEMS = [
    ("overview", "Overview", ""),
    ("topics", "Topics", "topics/"),
    ("groups", "Consumer groups", "groups/"),
    ("retention", "Retention", "retention/"),
    ("broker", "Brokers", "brokers/"),
    ("transactions", "Transactions", "transactions/"),
    ("tail", "Live tail", "tail/"),
    ("schema", "Schemas", "schemas/"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    match = getattr(request, "resolver_match", None)
    slug = (match.kwargs.get("cluster") if match else None) or "local"
    section = (match.url_name or "") if match else ""
    items = [
        {
            "key": key,
            "label": label,
            "href": f"/clusters/{slug}/{path}",
            "active": section.startswith(key),
        }
        for key, label, path in NAV_ITEMS
    ]
    if is_admin(getattr(request, "user", None)):
        items.append(
            {
                "key": "security",
                "label": "Security",
                "href": f"/clusters/{slug}/users/",
                "active": section.startswith(("scram_users", "acls", "client_quotas")),
            }
        )
    items += [
        {
            "key": "teams",
            "label": "Teams",
            "href": "/teams/",
            "active": section.startswith("teams"),
        },
        {
            "key": "audit",
            "label": "Audit",
            "href": "/audit/",
            "active": section.startswith("audit"),
        },
    ]
    return {"nav_items": items, "cluster_slug": slug}
