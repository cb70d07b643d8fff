"""RecordBatch v2 as bytes: header view, CRC-32C, compression codecs.

Shared by storage and broker. It must never decode records on the produce or fetch path:
record-level decoding exists only for compaction, LogAppendTime and the cleaner.
"""
