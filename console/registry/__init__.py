"""A Confluent-compatible schema registry served by the console at `/schema-registry/`.

Owns subjects, schema versions, compatibility levels, modes and the API keys that reach
them. It must never reach a Kafka cluster: schemas live in the console's database only.
"""
