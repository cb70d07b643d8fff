"""Command-line entry point: `python -m logstore serve --data-dir DIR --listen HOST:PORT`.

Owns argument parsing and process-level concerns (signals, exit codes, readable errors).
It must never contain broker logic: it builds a `BrokerConfig` and hands it to the server.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from logstore.config import FSYNC_POLICIES, BrokerConfig, parse_listen


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m logstore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the broker")
    serve.add_argument("--data-dir", type=Path, required=True, help="where partitions live")
    serve.add_argument("--listen", default="127.0.0.1:9092", help="HOST:PORT (port 0 = any)")
    serve.add_argument("--advertised-host", default=None, help="host named in Metadata")
    serve.add_argument("--fsync", choices=FSYNC_POLICIES, default="always")
    serve.add_argument("--fsync-interval-ms", type=int, default=1000)
    serve.add_argument("--default-partitions", type=int, default=1)
    serve.add_argument("--no-auto-create-topics", dest="auto_create_topics", action="store_false")
    serve.add_argument("--max-connections", type=int, default=1000)
    serve.add_argument(
        "--cleaner-io-max-bytes-per-second",
        type=float,
        default=None,
        help="compaction's disk budget (Kafka's log.cleaner.io.max.bytes.per.second); "
        "default unlimited",
    )
    serve.add_argument(
        "--log-retention-check-interval-ms",
        type=int,
        default=300_000,
        help="how often retention deletes expired segments (Kafka's "
        "log.retention.check.interval.ms); default 300000",
    )
    serve.add_argument(
        "--max-incremental-fetch-session-cache-slots",
        type=int,
        metavar="N",
        default=1000,
        help="fetch sessions the broker keeps (Kafka's "
        "max.incremental.fetch.session.cache.slots, split over 8 shards: under 8 = none); "
        "default 1000",
    )
    serve.add_argument("--port-file", type=Path, default=None, help="write the bound port here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        host, port = parse_listen(args.listen)
        config = BrokerConfig(
            data_dir=args.data_dir,
            host=host,
            port=port,
            advertised_host=args.advertised_host,
            fsync=args.fsync,
            fsync_interval_ms=args.fsync_interval_ms,
            default_partitions=args.default_partitions,
            auto_create_topics=args.auto_create_topics,
            port_file=args.port_file,
            max_connections=args.max_connections,
            cleaner_io_max_bytes_per_second=args.cleaner_io_max_bytes_per_second,
            log_retention_check_interval_ms=args.log_retention_check_interval_ms,
            max_incremental_fetch_session_cache_slots=args.max_incremental_fetch_session_cache_slots,
        )
    except ValueError as exc:
        print(f"logstore: {exc}", file=sys.stderr)
        return 2
    from logstore.server import run

    return run(config)


if __name__ == "__main__":
    sys.exit(main())
