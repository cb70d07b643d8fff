"""Command-line entry point: `python -m logstore serve [--config FILE] [flags]`.

Owns argument parsing and process-level concerns (signals, exit codes, readable errors).
Precedence is flags > config file > defaults: a flag given on the command line wins over
the file's line for the same setting. It must never contain broker logic: it builds a
`BrokerConfig` and hands it to the server.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from logstore.config import LOG_FORMATS, LOG_LEVELS, BrokerConfig, parse_listen
from logstore.groups.settings import GroupSettings, kafka_names
from logstore.storage.durability import FSYNC_POLICIES

# Flags default to "not given" so the config file can fill what the command line left out.
_UNSET = argparse.SUPPRESS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m logstore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the broker", argument_default=_UNSET)
    serve.add_argument(
        "--config",
        type=Path,
        help="a server.properties file (Kafka's names; docs/operations.md lists them)",
    )
    serve.add_argument(
        "--data-dir",
        type=Path,
        help="where partitions live (log.dirs); required unless the config file sets it",
    )
    serve.add_argument(
        "--listen", help="HOST:PORT (port 0 = any; listeners); default 127.0.0.1:9092"
    )
    serve.add_argument("--advertised-host", help="host named in Metadata")
    serve.add_argument("--fsync", choices=FSYNC_POLICIES, help="default always")
    serve.add_argument("--fsync-interval-ms", type=int, help="default 1000")
    serve.add_argument("--default-partitions", type=int, help="num.partitions; default 1")
    serve.add_argument("--no-auto-create-topics", dest="auto_create_topics", action="store_false")
    serve.add_argument("--max-connections", type=int, help="default 1000")
    serve.add_argument(
        "--cleaner-io-max-bytes-per-second",
        type=float,
        help="compaction's disk budget (Kafka's log.cleaner.io.max.bytes.per.second); "
        "default unlimited",
    )
    serve.add_argument(
        "--log-retention-check-interval-ms",
        type=int,
        help="how often retention deletes expired segments (Kafka's "
        "log.retention.check.interval.ms); default 300000",
    )
    serve.add_argument("--log-level", choices=LOG_LEVELS, help="default INFO")
    serve.add_argument(
        "--log-format", choices=LOG_FORMATS, help="text (default) or json, one object a line"
    )
    serve.add_argument(
        "--metrics-listen", help="HOST:PORT of the Prometheus /metrics endpoint; default off"
    )
    serve.add_argument(
        "--max-incremental-fetch-session-cache-slots",
        type=int,
        metavar="N",
        help="fetch sessions the broker keeps (Kafka's "
        "max.incremental.fetch.session.cache.slots, split over 8 shards: under 8 = none); "
        "default 1000",
    )
    for flag, default, about in (
        ("--transaction-max-timeout-ms", 900_000, "longest transaction timeout accepted"),
        ("--transactional-id-expiration-ms", 604_800_000, "idle transactional ids expire"),
        (
            "--transaction-abort-timed-out-transaction-cleanup-interval-ms",
            10_000,
            "how often timed-out transactions are aborted",
        ),
    ):
        serve.add_argument(
            flag,
            dest=_TXN_FLAGS[flag],
            type=int,
            metavar="MS",
            help=f"{about} (Kafka's {flag[2:].replace('-', '.')}; default {default})",
        )
    serve.add_argument("--port-file", type=Path, help="write the bound port here")
    defaults = GroupSettings()
    for kafka_name, attr in kafka_names().items():
        serve.add_argument(
            "--" + kafka_name.replace(".", "-"),
            dest=f"group_{attr}",  # broker_settings.GROUP_PREFIX
            type=int,
            metavar="MS" if kafka_name.endswith(".ms") else "N",
            help=f"Kafka's {kafka_name} (default {getattr(defaults, attr)})",
        )
    _add_limit_flags(serve)
    scram = sub.add_parser(
        "add-scram",
        help="store a SCRAM credential (kafka-storage format --add-scram's syntax)",
    )
    scram.add_argument("--data-dir", type=Path, required=True, help="the broker's log.dirs")
    scram.add_argument(
        "specs",
        nargs="+",
        metavar="SPEC",
        help="SCRAM-SHA-256=[name=USER,password=SECRET] (or iterations=, salt=, "
        "saltedpassword=); SCRAM-SHA-512 likewise",
    )
    dev_ca = sub.add_parser(
        "dev-ca",
        help="write a throwaway CA, server and client certificates and a SASL_SSL config",
    )
    dev_ca.add_argument("dir", type=Path, help="an empty directory to write into")
    dev_ca.add_argument(
        "--host",
        action="append",
        dest="hosts",
        metavar="NAME_OR_IP",
        help="a name or address the server certificate is valid for (repeatable; "
        "default localhost and 127.0.0.1)",
    )
    dev_ca.add_argument(
        "--client",
        action="append",
        dest="clients",
        metavar="NAME",
        help="a client certificate to issue: a common name or a DN such as CN=app1,OU=eng "
        "(repeatable; default client)",
    )
    return parser


def dev_ca(directory: Path, hosts: list[str] | None, clients: list[str] | None) -> int:
    """Write the development CA and configs; 2 when DIR already holds one or a name is bad."""
    from logstore.security.dev_ca import create

    try:
        written = create(
            directory, tuple(hosts or ("localhost", "127.0.0.1")), tuple(clients or ("client",))
        )
    except (FileExistsError, ValueError) as exc:
        print(f"logstore: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


def add_scram(data_dir: Path, specs: list[str]) -> int:
    """Store each credential (all parsed before any is written); 2 on a malformed one."""
    from logstore.security.credentials import STATE_NAME, CredentialStore
    from logstore.security.scram import ScramError, parse_add_scram
    from logstore.storage.manager import STATE_DIR

    try:
        parsed = [parse_add_scram(spec) for spec in specs]
    except ScramError as exc:
        print(f"logstore: {exc}", file=sys.stderr)
        return 2
    store = CredentialStore(data_dir / STATE_DIR / STATE_NAME)
    for user, credential in parsed:
        store.upsert(user, credential)
        print(f"stored {credential.mechanism} credential for {user}")
    return 0


_TXN_FLAGS = {
    "--transaction-max-timeout-ms": "transaction_max_timeout_ms",
    "--transactional-id-expiration-ms": "transactional_id_expiration_ms",
    "--transaction-abort-timed-out-transaction-cleanup-interval-ms": (
        "transaction_cleanup_interval_ms"
    ),
}


def _add_limit_flags(serve: argparse.ArgumentParser) -> None:
    """Slow and idle clients, descriptors and partition limits (defaults in BrokerConfig)."""
    limits = serve.add_argument_group("connection and resource limits")
    flag = limits.add_argument
    flag(
        "--socket-request-max-bytes",
        dest="max_request_bytes",
        type=int,
        help="largest request accepted (Kafka's socket.request.max.bytes; default 104857600)",
    )
    flag(
        "--queued-max-request-bytes",
        dest="max_inflight_bytes",
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


def _flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """BrokerConfig keyword arguments for the flags given on the command line."""
    given = {k: v for k, v in vars(args).items() if k not in ("command", "config")}
    if "listen" in given:
        given["host"], given["port"] = parse_listen(given.pop("listen"))
    if "metrics_listen" in given:
        given["metrics_listen"] = parse_listen(given["metrics_listen"])
    return given


def config_from_args(args: argparse.Namespace) -> BrokerConfig:
    """Flags over the config file over defaults; raises ValueError with a readable message."""
    from logstore.broker.broker_settings import GROUP_PREFIX
    from logstore.config_file import load_config_file, names_setting

    values: dict[str, Any] = {}
    explicit: frozenset[str] = frozenset()
    path = getattr(args, "config", None)
    if path is not None:
        settings = load_config_file(path)
        values.update(settings.values)
        explicit = settings.names
    flags = _flag_values(args)
    values.update(flags)
    if "data_dir" not in values:
        raise ValueError("--data-dir (or log.dirs in the --config file) is required")
    explicit |= names_setting(set(flags) - {"port_file"})
    groups = {
        name.removeprefix(GROUP_PREFIX): values.pop(name)
        for name in list(values)
        if name.startswith(GROUP_PREFIX)
    }
    return BrokerConfig(**values, groups=GroupSettings(**groups), explicit=explicit)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "add-scram":
        return add_scram(args.data_dir, args.specs)
    if args.command == "dev-ca":
        return dev_ca(args.dir, args.hosts, args.clients)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"logstore: {exc}", file=sys.stderr)
        return 2
    from logstore.server import run

    return run(config)


if __name__ == "__main__":
    sys.exit(main())
