"""Ready-to-paste client configurations for a SCRAM user: Java properties, librdkafka
properties and a Python dict for confluent-kafka.

Owns the three texts. Pure: it must never call a cluster, store a password or log one;
the page that shows the result shows it once.
"""

from __future__ import annotations

import json

MECHANISM = "SCRAM-SHA-256"


def _protocol(cluster_protocol: str) -> str:
    # The account logs in with SASL; a cluster reached over TLS keeps TLS.
    return "SASL_SSL" if cluster_protocol in ("SSL", "SASL_SSL") else "SASL_PLAINTEXT"


def librdkafka(bootstrap: str, protocol: str, user: str, password: str) -> dict[str, str]:
    return {
        "bootstrap.servers": bootstrap,
        "security.protocol": _protocol(protocol),
        "sasl.mechanism": MECHANISM,
        "sasl.username": user,
        "sasl.password": password,
    }


def snippets(bootstrap: str, protocol: str, user: str, password: str) -> dict[str, str]:
    """{"java": ..., "librdkafka": ..., "python": ...}, each ready to paste."""
    conf = librdkafka(bootstrap, protocol, user, password)
    java = {k: v for k, v in conf.items() if not k.startswith("sasl.user") and k != "sasl.password"}
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{_jaas(user)}" password="{_jaas(password)}";'
    )
    java_lines = [f"{k}={v}" for k, v in java.items()] + [f"sasl.jaas.config={jaas}"]
    return {
        "java": "\n".join(java_lines) + "\n",
        "librdkafka": "".join(f"{k}={v}\n" for k, v in conf.items()),
        # JSON strings are Python string literals too.
        "python": "config = " + json.dumps(conf, indent=4) + "\n",
    }


def _jaas(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
