"""The audit trail: one call records who changed what, where, and the state before and after.

Owns writing `AuditEntry` rows. It must never decide whether a change is allowed
(`console.permissions` does) nor perform the change; call it after the change succeeded.
"""

from __future__ import annotations

from typing import Any

from console.models import AuditEntry


def record(
    user: Any,
    action: str,
    cluster: str,
    target: str,
    before: Any = None,
    after: Any = None,
    detail: str = "",
) -> AuditEntry:
    """Append one entry. `action` is a short verb like "topic.create" or "offsets.reset"."""
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    return AuditEntry.objects.create(
        user=user if authenticated else None,
        username=user.get_username() if authenticated else "",
        action=action,
        cluster=cluster,
        target=target,
        before=before,
        after=after,
        detail=detail,
    )
