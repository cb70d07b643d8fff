"""The console's only door to clusters: the gateway over the Kafka clients.

The one package that imports confluent-kafka and kafka-python. Every call takes a
`config.ClusterConfig` (bootstrap, security, timeouts); `clients` keeps one set of
clients per cluster; every failure is an `errors.ClusterError`; one module per concern
(`metadata`, `offsets`, `records`, `groups`, `topics`, `reads`/`snapshot`, `resets`,
`tail`). It must never import Django, the database or Channels, never import `logstore`
nor read its files: the bundled broker is reached like any other cluster, over the wire.
"""
