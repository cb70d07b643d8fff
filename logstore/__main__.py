"""Command-line entry point: `python -m logstore serve --data-dir DIR --listen HOST:PORT`.

Owns argument parsing and process-level concerns (signals, exit codes, readable errors).
It must never contain broker logic: it builds a `BrokerConfig` and hands it to the server.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from logstore.config import BrokerConfig, parse_listen
from logstore.groups.settings import GroupSettings, kafka_names
from logstore.storage.durability import FSYNC_POLICIES


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
    serve.add_argument("--port-file", type=Path, default=None, help="write the bound port here")
    defaults = GroupSettings()
    for kafka_name, attr in kafka_names().items():
        serve.add_argument(
            "--" + kafka_name.replace(".", "-"),
            dest=f"group_{attr}",
            type=int,
            metavar="MS" if kafka_name.endswith(".ms") else "N",
            default=getattr(defaults, attr),
            help=f"Kafka's {kafka_name} (default %(default)s)",
        )
    _add_limit_flags(serve)
    return parser


def _add_limit_flags(serve: argparse.ArgumentParser) -> None:
    """Slow and idle clients, descriptors and partition limits (defaults in BrokerConfig)."""
    limits = serve.add_argument_group("connection and resource limits")
    flag = limits.add_argument
    flag(
        "--socket-request-max-bytes",
        type=int,
        help="largest request accepted (Kafka's socket.request.max.bytes; default 104857600)",
    )
    flag(
        "--queued-max-request-bytes",
        type=int,
        help="request bytes held in memory across connections (Kafka's "
        "queued.max.request.bytes; default 268435456)",
    )
    flag(
        "--connections-max-idle-ms",
        type=int,
        help="close a connection idle this long (Kafka's connections.max.idle.ms; default 600000)",
    )
    flag(
        "--request-body-timeout-ms",
        type=int,
        help="a request's body must arrive within this once its length prefix did (default 30000)",
    )
    flag(
        "--max-connections-per-ip",
        type=int,
        help="Kafka's max.connections.per.ip (default: no per-address cap)",
    )
    flag(
        "--max-broker-partitions",
        type=int,
        help="partitions this broker holds at most (default: the open-files limit)",
    )
    flag(
        "--max-partitions-per-topic",
        type=int,
        help="partitions one topic may have (default: --max-broker-partitions)",
    )
    flag(
        "--max-open-segment-files",
        type=int,
        help="segment files kept open at once (default: derived from the open-files limit)",
    )


def _limit_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The limit flags given on the command line (the others keep BrokerConfig's defaults)."""
    fields = {
        "socket_request_max_bytes": "max_request_bytes",
        "queued_max_request_bytes": "max_inflight_bytes",
    }
    names = (
        "socket_request_max_bytes",
        "queued_max_request_bytes",
        "connections_max_idle_ms",
        "request_body_timeout_ms",
        "max_connections_per_ip",
        "max_broker_partitions",
        "max_partitions_per_topic",
        "max_open_segment_files",
    )
    given = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    return {fields.get(name, name): value for name, value in given.items()}


def group_settings(args: argparse.Namespace) -> GroupSettings:
    return GroupSettings(
        **{attr: getattr(args, f"group_{attr}") for attr in kafka_names().values()}
    )


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
            **_limit_settings(args),
            groups=group_settings(args),
        )
    except ValueError as exc:
        print(f"logstore: {exc}", file=sys.stderr)
        return 2
    from logstore.server import run

    return run(config)


if __name__ == "__main__":
    sys.exit(main())
