"""Project-wide pytest fixtures: a real broker process, the reference Apache Kafka, clusters.

Fixtures live in their own modules and are registered here by import so that every test
directory sees them.
"""
