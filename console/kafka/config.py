"""How to reach one cluster: bootstrap, security and timeouts, and the client settings
derived from them.

Owns `ClusterConfig` and the only two places client settings are built (librdkafka's for
confluent-kafka, kafka-python's for the calls librdkafka lacks), so both clients of a
cluster always speak with the same security. It must never open a connection nor read
Django settings: `console.clusters` fills a `ClusterConfig` in from settings and rows.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCAL_SLUG = "local"

# librdkafka and kafka-python both keep retrying a dead broker in the background; one
# second between attempts keeps an unreachable cluster cheap without slowing recovery.
RECONNECT_BACKOFF_MAX_MS = 1000
CLIENT_ID = "odradek-console"
# Every request of a snapshot is in flight at once (ListOffsets per leader and kind,
# DescribeLogDirs, DescribeConfigs); kafka-python's default of five would refuse the rest.
MAX_IN_FLIGHT = 64


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
    # Seconds one cluster call may take before a page says the cluster is unreachable.
    timeout_s: float = 3.0

    @property
    def is_local(self) -> bool:
        return self.slug == LOCAL_SLUG

    @property
    def bulk_timeout_s(self) -> float:
        # A cluster that answered Metadata is up; thousands of partitions may take longer
        # than one call's timeout on a busy machine, and a partial answer is worse than a
        # slow one.
        return self.timeout_s * 3

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

    def kafka_python_config(self) -> dict[str, Any]:
        """kafka-python settings with the same security as `client_config()`."""
        conf: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap.split(","),
            "security_protocol": self.security_protocol,
            "request_timeout_ms": int(self.bulk_timeout_s * 1000),
            "bootstrap_timeout_ms": int(self.timeout_s * 1000),
            "max_in_flight_requests_per_connection": MAX_IN_FLIGHT,
            "client_id": CLIENT_ID,
        }
        if self.sasl_mechanism:
            conf |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": self.sasl_password,
            }
        if self.ssl_ca_pem:
            conf["ssl_cafile"] = str(_ca_file(self.ssl_ca_pem))
        return conf


def _ca_file(pem: str) -> Path:
    # librdkafka and kafka-python want a file path; one file per distinct PEM, written once.
    digest = hashlib.sha256(pem.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"odradek-ca-{digest}.pem"
    if not path.exists():
        path.write_text(pem)
    return path


def bare(bootstrap: str, timeout_s: float = 3.0, slug: str = "") -> ClusterConfig:
    """A plaintext cluster known only by its address (scripts, health checks, tests)."""
    return ClusterConfig(
        slug=slug or f"at-{bootstrap}", name=bootstrap, bootstrap=bootstrap, timeout_s=timeout_s
    )
