"""The console's only door to clusters: wrappers over the Kafka clients (confluent-kafka).

Owns connecting, timeouts and translating client errors into readable messages. It must
never import `logstore` or read its files: the bundled broker is reached like any other
Kafka cluster, over the wire protocol.
"""
