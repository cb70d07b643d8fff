"""Imports every handler module so its `@handles` registrations run.

Owns nothing but that list. It must never define handlers itself.
"""

from logstore.broker.handlers import (  # noqa: F401
    api_versions,
    cluster,
    configs,
    delete_records,
    describe_topic_partitions,
    fetch,
    groups,  # groups helper (issue 6)
    list_offsets,
    metadata,
    offsets,  # groups helper (issue 6)
    produce,
    producers,  # groups helper (issue 6)
    topic_admin,
)
