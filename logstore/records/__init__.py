"""RecordBatch v2 as bytes: header view, CRC-32C, compression codecs.

Shared by storage and broker. It must never decode records on the produce or fetch path:
record-level decoding exists only for compaction, LogAppendTime and the cleaner.
"""

from logstore.records.codecs import (
    CODEC_NAMES,
    GZIP,
    LZ4,
    NONE,
    SNAPPY,
    ZSTD,
    compress,
    decompress,
    xerial_compress,
)
from logstore.records.errors import (
    CorruptRecordError,
    InvalidRecordError,
    InvalidTimestampError,
    RecordError,
    RecordTooLargeError,
    UndecodableStreamError,
    UnknownCodecError,
)
from logstore.records.header import (
    HEADER_SIZE,
    LOG_OVERHEAD,
    BatchHeader,
    iter_headers,
    parse_header,
    set_base_offset,
    set_log_append_time,
    split_batches,
    validate_batch,
)
from logstore.records.record import (
    Record,
    RecordEntry,
    build_batch,
    decode_records,
    encode_batch,
    encode_varint,
    rebuild_batch,
    record_stamps,
)

__all__ = [
    "CODEC_NAMES",
    "GZIP",
    "HEADER_SIZE",
    "LOG_OVERHEAD",
    "LZ4",
    "NONE",
    "SNAPPY",
    "ZSTD",
    "BatchHeader",
    "CorruptRecordError",
    "InvalidRecordError",
    "InvalidTimestampError",
    "Record",
    "RecordEntry",
    "RecordError",
    "RecordTooLargeError",
    "UndecodableStreamError",
    "UnknownCodecError",
    "build_batch",
    "compress",
    "decode_records",
    "decompress",
    "encode_batch",
    "encode_varint",
    "iter_headers",
    "parse_header",
    "rebuild_batch",
    "record_stamps",
    "set_base_offset",
    "set_log_append_time",
    "split_batches",
    "validate_batch",
    "xerial_compress",
]
