"""Template tag `{% lag_alerts_banner cluster %}`: the firing lag alerts, for any page.

Owns reading alert state from the database for display. It must never call a cluster
(the overview must render fast even when the cluster is down).
"""

from __future__ import annotations

from typing import Any

from django import template

from console.lag.models import LagAlert

register = template.Library()


@register.inclusion_tag("console/groups/_alerts_banner.html")
def lag_alerts_banner(cluster: str) -> dict[str, Any]:
    return {"lag_alerts": list(LagAlert.objects.filter(cluster=cluster, firing=True))}
