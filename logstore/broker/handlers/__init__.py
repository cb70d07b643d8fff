"""Imports every handler module so its `@handles` registrations run.

Owns nothing but that list. It must never define handlers itself.
"""

from logstore.broker.handlers import (  # noqa: F401
    api_versions,
    cluster,
    configs,
    delete_records,
    fetch,
    list_offsets,
    metadata,
    produce,
    topic_admin,
)
