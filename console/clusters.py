"""Where the console finds a cluster: `local` from settings, the others from `Cluster` rows.

Owns turning a slug into a `console.kafka.config.ClusterConfig`, timeout included. It must
never open a connection: the gateway (`console.kafka`) does that with what this returns.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from console.kafka.config import LOCAL_SLUG, ClusterConfig

__all__ = [
    "LOCAL_SLUG",
    "ClusterConfig",
    "ClusterNotFound",
    "all_clusters",
    "get_cluster",
    "local_cluster",
]


class ClusterNotFound(LookupError):
    """No cluster with that slug; views answer 404."""


def _timeout() -> float:
    return float(settings.ODRADEK_CLUSTER_TIMEOUT)


def local_cluster() -> ClusterConfig:
    return ClusterConfig(
        slug=LOCAL_SLUG,
        name="Bundled broker",
        bootstrap=settings.ODRADEK_LOCAL_BOOTSTRAP,
        timeout_s=_timeout(),
    )


def get_cluster(slug: str) -> ClusterConfig:
    """The cluster called `slug`; raises `ClusterNotFound` if there is none."""
    if slug == LOCAL_SLUG:
        return local_cluster()
    from console.models import Cluster

    row = Cluster.objects.filter(slug=slug).first()
    if row is None:
        raise ClusterNotFound(slug)
    return _from_row(row)


def _from_row(row: Any) -> ClusterConfig:
    return ClusterConfig(
        slug=row.slug,
        name=row.name,
        bootstrap=row.bootstrap_servers,
        security_protocol=row.security_protocol,
        sasl_mechanism=row.sasl_mechanism,
        sasl_username=row.sasl_username,
        sasl_password=row.sasl_password,
        ssl_ca_pem=row.ssl_ca_pem,
        timeout_s=_timeout(),
    )


def all_clusters() -> list[ClusterConfig]:
    """`local` first, then every cluster added in the UI, by name."""
    from console.models import Cluster

    return [local_cluster()] + [_from_row(row) for row in Cluster.objects.all()]
