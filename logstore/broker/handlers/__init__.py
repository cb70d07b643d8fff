"""Imports every handler module so its `@handles` registrations run.

Owns nothing but that list. It must never define handlers itself.
"""

from logstore.broker.handlers import (  # noqa: F401
    acls,
    api_versions,
    client_quotas,
    cluster,
    configs,
    delete_records,
    describe_producers,
    describe_topic_partitions,
    fetch,
    groups,
    list_offsets,
    metadata,
    offsets,
    produce,
    producers,
    replicas,
    sasl,
    scram_users,
    share_admin,
    share_offsets,
    share_state,
    shares,
    topic_admin,
    transactions,
    txn_offsets,
    write_txn_markers,
)
