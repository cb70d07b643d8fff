"""The Odradek web console: a Django project and app in one package.

Owns the pages, the websocket consumers, teams, audit and lag history. It must never read
logstore's files or import `logstore`: every cluster, the bundled one included, is reached
only through the Kafka protocol (see `console.kafka`).
"""
