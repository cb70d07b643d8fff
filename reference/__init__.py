"""The reference Apache Kafka: resolving it (Maven), launching it, running its Java tools.

Owns nothing of Odradek itself and must never import `logstore` or `console`.
"""
