"""On-disk partition logs: segments, indexes, recovery, retention, compaction, the catalogue.

Owns every file under the data directory. It must never know about requests, sockets or
Kafka API versions, and imports nothing from logstore except `records`, `clock` and `config`.
"""
