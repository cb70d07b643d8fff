"""Odradek's log store: a single-node broker that speaks the Kafka wire protocol.

Owns the broker as a library and a server of its own (`python -m logstore serve`).
It must never import Django or anything from `console/`: the console reaches it only
through the Kafka protocol, exactly as it reaches Apache Kafka.
"""

__version__ = "0.1.0"
