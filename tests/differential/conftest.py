"""Fixtures for differential tests: both clusters at once, Apache Kafka first.

Owns `clusters` (the pair a scenario runs against). It must never fall back to one
cluster: a differential test without both sides compares nothing.
"""

from __future__ import annotations

import pytest

from tests.clusters import Cluster, cluster_for


@pytest.fixture
def clusters(request: pytest.FixtureRequest) -> tuple[Cluster, Cluster]:
    # Kafka first: when a scenario itself is wrong it fails on the reference, which
    # says "fix the test", before Odradek's answer is even looked at.
    return cluster_for(request, "kafka"), cluster_for(request, "odradek")


# The SASL + authorizer brokers of both kinds the console's security tests use too.
from tests.console.secure_clusters import secure  # noqa: E402, F401
