"""Batch builder for tests, benches and internal topics: a thin alias of `record.build_batch`.

Owns nothing of its own; it exists so callers can import the builder by its role. It must
never be used by the broker to rebuild client batches.
"""

from __future__ import annotations

from logstore.records.record import RecordEntry, build_batch, encode_batch

__all__ = ["RecordEntry", "build_batch", "encode_batch"]
