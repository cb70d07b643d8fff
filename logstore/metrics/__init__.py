"""The broker's Prometheus endpoint: `/metrics` on `--metrics-listen HOST:PORT`.

Names follow Kafka's JMX names as the Prometheus JMX exporter's common Kafka rules export
them (`kafka_<domain>_<type>_<name>`, lower case, `_total` for counters); settings with no
Kafka counterpart are `odradek_*`. docs/operations.md lists every series.

Owns the collector and the HTTP thread. It must never be called from the request path:
the counters it reads live in `logstore.broker.stats` and storage.
"""
