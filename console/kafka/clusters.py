"""Where the console finds a cluster: `local` from settings, the others from `Cluster` rows.

Owns turning a slug into a `ClusterConfig` (bootstrap plus the librdkafka settings for its
security). It must never open a connection: callers pass `client_config()` to a client.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

LOCAL_SLUG = "local"


class ClusterNotFound(LookupError):
    """No cluster with that slug; views answer 404."""


@dataclass(frozen=True)
class ClusterConfig:
    slug: str
    name: str
    bootstrap: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = ""
    sasl_username: str = ""
    sasl_password: str = field(default="", repr=False)
    ssl_ca_pem: str = field(default="", repr=False)

    @property
    def is_local(self) -> bool:
        return self.slug == LOCAL_SLUG

    def client_config(self) -> dict[str, str | int | float | bool]:
        """librdkafka settings for confluent-kafka clients (security included)."""
        conf: dict[str, str | int | float | bool] = {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": self.security_protocol,
            "log_level": 0,
        }
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
            conf["sasl.username"] = self.sasl_username
            conf["sasl.password"] = self.sasl_password
        if self.ssl_ca_pem:
            conf["ssl.ca.location"] = str(_ca_file(self.ssl_ca_pem))
        return conf


def _ca_file(pem: str) -> Path:
    # librdkafka wants a file path; one file per distinct PEM, written once.
    digest = hashlib.sha256(pem.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"odradek-ca-{digest}.pem"
    if not path.exists():
        path.write_text(pem)
    return path


def local_cluster() -> ClusterConfig:
    return ClusterConfig(
        slug=LOCAL_SLUG, name="Bundled broker", bootstrap=settings.ODRADEK_LOCAL_BOOTSTRAP
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
    )


def all_clusters() -> list[ClusterConfig]:
    """`local` first, then every cluster added in the UI, by name."""
    from console.models import Cluster

    return [local_cluster()] + [_from_row(row) for row in Cluster.objects.all()]
