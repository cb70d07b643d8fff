"""Project-wide pytest fixtures: a real broker process, the reference Apache Kafka, clusters.

Fixtures live in their own modules and are registered here by import so that every test
directory sees them.
"""

from tests.broker_fixture import broker, shared_broker  # noqa: F401
from tests.clusters import cluster  # noqa: F401
from tests.faultfs import faultfs  # noqa: F401
from tests.kafka_cluster import kafka_cluster  # noqa: F401
from tests.kafka_reference import kafka_broker  # noqa: F401
