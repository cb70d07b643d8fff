"""The broker's server.properties file: every key of the one settings table, bad values
and unknown keys refused with the line named (exit 2), precedence flags > file >
defaults, and the file's values as DescribeConfigs reports them (source codes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from logstore.__main__ import build_parser, config_from_args, main
from logstore.broker.broker_configs import DynamicBrokerConfigs
from logstore.broker.broker_settings import (
    DEFAULT_CONFIG,
    REGISTRY,
    STATIC_BROKER_CONFIG,
    topic_defaults,
)
from logstore.config import BrokerConfig
from logstore.config_file import ConfigFileError, load_config_file, read_properties
from logstore.storage import LogManager

# A valid value for every setting and what DescribeConfigs then reports. A new row in
# the table needs a line here (test_every_key_has_a_sample says so).
SAMPLES: dict[str, tuple[str, str]] = {
    "broker.id": ("0", "0"),
    "node.id": ("0", "0"),
    "log.dirs": ("/srv/odradek", "/srv/odradek"),
    "listeners": (
        "PLAINTEXT://127.0.0.1:19092, INTERNAL://127.0.0.1:19093",
        "PLAINTEXT://127.0.0.1:19092,INTERNAL://127.0.0.1:19093",
    ),
    "advertised.listeners": ("PLAINTEXT://kafka.example:29092", "PLAINTEXT://kafka.example:29092"),
    "listener.security.protocol.map": (
        "PLAINTEXT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT",
        "PLAINTEXT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT",
    ),
    "sasl.enabled.mechanisms": ("PLAIN,SCRAM-SHA-512", "PLAIN,SCRAM-SHA-512"),
    "connections.max.reauth.ms": ("3600000", "3600000"),
    "ssl.keystore.type": ("PEM", "PEM"),
    "ssl.keystore.location": ("/etc/odradek/server.pem", "/etc/odradek/server.pem"),
    "ssl.keystore.certificate.chain": ("-----BEGIN CERTIFICATE-----", ""),
    "ssl.keystore.key": ("-----BEGIN PRIVATE KEY-----", ""),
    "ssl.key.password": ("key-secret", ""),
    "ssl.truststore.type": ("PEM", "PEM"),
    "ssl.truststore.location": ("/etc/odradek/ca.pem", "/etc/odradek/ca.pem"),
    "ssl.truststore.certificates": ("-----BEGIN CERTIFICATE-----", ""),
    "ssl.client.auth": ("required", "required"),
    "ssl.enabled.protocols": ("TLSv1.3", "TLSv1.3"),
    "ssl.principal.mapping.rules": (
        "RULE:^CN=(.*?),OU=eng$/$1/L,DEFAULT",
        "RULE:^CN=(.*?),OU=eng$/$1/L,DEFAULT",
    ),
    "num.partitions": ("3", "3"),
    "auto.create.topics.enable": ("false", "false"),
    "socket.request.max.bytes": ("1048576", "1048576"),
    "queued.max.request.bytes": ("2000000", "2000000"),
    "quota.window.num": ("5", "5"),
    "quota.window.size.seconds": ("2", "2"),
    "controller.quota.window.num": ("7", "7"),
    "controller.quota.window.size.seconds": ("3", "3"),
    "connections.max.idle.ms": ("300000", "300000"),
    "connection.failed.authentication.delay.ms": ("250", "250"),
    "max.connections.per.ip": ("20", "20"),
    "odradek.request.body.timeout.ms": ("10000", "10000"),
    "odradek.max.broker.partitions": ("5000", "5000"),
    "odradek.max.partitions.per.topic": ("1000", "1000"),
    "odradek.max.open.segment.files": ("500", "500"),
    "group.initial.rebalance.delay.ms": ("0", "0"),
    "group.min.session.timeout.ms": ("5000", "5000"),
    "group.max.session.timeout.ms": ("600000", "600000"),
    "group.max.size": ("100", "100"),
    "group.consumer.session.timeout.ms": ("30000", "30000"),
    "group.consumer.heartbeat.interval.ms": ("3000", "3000"),
    "group.consumer.max.size": ("50", "50"),
    "offsets.retention.minutes": ("1440", "1440"),
    "offsets.retention.check.interval.ms": ("300000", "300000"),
    "group.share.session.timeout.ms": ("30000", "30000"),
    "group.share.heartbeat.interval.ms": ("3000", "3000"),
    "group.share.max.size": ("50", "50"),
    "group.share.record.lock.duration.ms": ("20000", "20000"),
    "group.share.min.record.lock.duration.ms": ("1000", "1000"),
    "group.share.max.record.lock.duration.ms": ("50000", "50000"),
    "group.share.delivery.count.limit": ("4", "4"),
    "group.share.min.delivery.count.limit": ("3", "3"),
    "group.share.max.delivery.count.limit": ("8", "8"),
    "group.share.partition.max.record.locks": ("1000", "1000"),
    "default.replication.factor": ("1", "1"),
    "offsets.topic.replication.factor": ("1", "1"),
    "log.retention.check.interval.ms": ("60000", "60000"),
    "max.incremental.fetch.session.cache.slots": ("16", "16"),
    "transaction.max.timeout.ms": ("60000", "60000"),
    "transactional.id.expiration.ms": ("3600000", "3600000"),
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": ("500", "500"),
    "max.connections": ("50", "50"),
    "log.cleaner.io.max.bytes.per.second": ("5000000", "5000000.0"),
    "odradek.fsync.policy": ("interval", "interval"),
    "odradek.fsync.interval.ms": ("250", "250"),
    "odradek.log.level": ("DEBUG", "DEBUG"),
    "odradek.log.format": ("json", "json"),
    "odradek.metrics.listen": ("127.0.0.1:9404", "127.0.0.1:9404"),
    "authorizer.class.name": (
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    ),
    "super.users": ("User:admin; User:ops", "User:admin;User:ops"),
    "allow.everyone.if.no.acl.found": ("true", "true"),
    "log.retention.hours": ("48", "48"),
    "log.retention.minutes": ("90", "90"),
    "log.retention.ms": ("3600000", "3600000"),
    "log.retention.bytes": ("1073741824", "1073741824"),
    "log.segment.bytes": ("16777216", "16777216"),
    "log.roll.hours": ("24", "24"),
    "log.roll.ms": ("600000", "600000"),
    "log.roll.jitter.hours": ("2", "2"),
    "log.roll.jitter.ms": ("1000", "1000"),
    "log.index.interval.bytes": ("8192", "8192"),
    "log.index.size.max.bytes": ("1048576", "1048576"),
    "log.segment.delete.delay.ms": ("1000", "1000"),
    "log.cleanup.policy": ("compact", "compact"),
    "log.cleaner.delete.retention.ms": ("1000", "1000"),
    "log.cleaner.min.cleanable.ratio": ("0.25", "0.25"),
    "log.cleaner.min.compaction.lag.ms": ("5000", "5000"),
    "log.cleaner.max.compaction.lag.ms": ("600000", "600000"),
    "message.max.bytes": ("2097152", "2097152"),
    "log.message.timestamp.type": ("LogAppendTime", "LogAppendTime"),
    "log.message.timestamp.before.max.ms": ("86400000", "86400000"),
    "log.message.timestamp.after.max.ms": ("60000", "60000"),
    "compression.type": ("zstd", "zstd"),
    "log.flush.interval.messages": ("1000", "1000"),
    "log.flush.scheduler.interval.ms": ("3000", "3000"),
    "log.flush.interval.ms": ("5000", "5000"),
}

# A value each setting refuses, and a piece of the message.
BAD: dict[str, tuple[str, str]] = {
    "broker.id": ("x", "Not a number of type INT"),
    "node.id": ("-2", "Value must be at least 0"),
    "log.dirs": ("/a,/b", "exactly one directory"),
    "listeners": ("SSL://:9093,ssl://:9094", "Each listener must have a different name"),
    "ssl.client.auth": ("maybe", "String must be one of: none, requested, required"),
    "ssl.enabled.protocols": ("SSLv3", "supported protocols are TLSv1.2, TLSv1.3"),
    "ssl.principal.mapping.rules": ("RULE:^CN=(.*/x/", "Invalid rule pattern"),
    "listener.security.protocol.map": ("INTERNAL:TLS", "expected NAME:PROTOCOL"),
    "advertised.listeners": ("PLAINTEXT://:9092", "a host clients can reach is required"),
    "num.partitions": ("0", "Value must be at least 1"),
    "auto.create.topics.enable": ("yes", "either true or false"),
    "socket.request.max.bytes": ("lots", "Not a number of type INT"),
    "queued.max.request.bytes": ("0", "Value must be at least 1"),
    "max.connections.per.ip": ("0", "Value must be at least 1"),
    "group.max.size": ("-1", "Value must be at least 0"),
    "log.retention.check.interval.ms": ("0", "Value must be at least 1"),
    "default.replication.factor": ("3", "a single node holds one replica"),
    "offsets.topic.replication.factor": ("2", "a single node holds one replica"),
    "max.connections": ("0", "must be at least 1"),
    "log.cleaner.io.max.bytes.per.second": ("-1", "Value must be positive"),
    "odradek.fsync.policy": ("sometimes", "String must be one of: always, interval, never"),
    "odradek.fsync.interval.ms": ("0", "Value must be at least 1"),
    "odradek.log.level": ("LOUD", "String must be one of"),
    "odradek.log.format": ("xml", "String must be one of: text, json"),
    "odradek.metrics.listen": ("nowhere", "expected HOST:PORT"),
    "authorizer.class.name": ("com.example.Nope", "Class com.example.Nope cannot be found"),
    "super.users": ("admin", "expected a principal like User:name"),
    "allow.everyone.if.no.acl.found": ("maybe", "either true or false"),
    "log.retention.hours": ("two", "Not a number"),
    "log.retention.ms": ("-5", "must be at least -1"),
    "log.segment.bytes": ("1000", "Value must be at least 1048576"),
    "log.cleanup.policy": ("forever", "String must be one of: compact, delete"),
    "log.cleaner.min.cleanable.ratio": ("1.5", "Value must be no more than 1"),
    "message.max.bytes": ("-1", "must be at least 0"),
    "compression.type": ("brotli", "must be one of"),
}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "server.properties"
    path.write_text(text)
    return path


def _config(*argv: str) -> BrokerConfig:
    return config_from_args(build_parser().parse_args(["serve", *argv]))


def test_every_key_has_a_sample() -> None:
    assert set(SAMPLES) == set(REGISTRY)


def test_properties_syntax() -> None:
    text = (
        "# a comment\n"
        "! another\n"
        "\n"
        "a=1\n"
        "  b : two words \n"
        "c 3\n"
        "d\\=e = x\\ty\n"
        "long = one, \\\n"
        "       two\n"
        "empty=\n"
        "uni=\\u00e9\n"
    )
    assert [(k, v) for _, k, v in read_properties(text)] == [
        ("a", "1"),
        ("b", "two words "),
        ("c", "3"),
        ("d=e", "x\ty"),
        ("long", "one, two"),
        ("empty", ""),
        ("uni", "é"),
    ]
    assert [n for n, _, _ in read_properties(text)] == [4, 5, 6, 7, 8, 10, 11]


def test_every_key_is_read_and_described_with_its_source(tmp_path: Path) -> None:
    # broker.id and node.id are one setting; the rest take each sample.
    lines = [f"{name}={raw}" for name, (raw, _) in SAMPLES.items()]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    assert load_config_file(path).names == frozenset(SAMPLES)
    config = _config("--config", str(path))
    assert config.explicit == frozenset(SAMPLES)
    assert config.groups.offsets_retention_minutes == 1440
    assert config.groups.initial_rebalance_delay_ms == 0
    assert (config.max_connections_per_ip, config.connections_max_idle_ms) == (20, 300000)
    assert config.data_dir == Path("/srv/odradek")
    assert (config.host, config.port) == ("127.0.0.1", 19092)
    assert config.advertised("PLAINTEXT") == ("kafka.example", 29092)
    assert config.advertised("INTERNAL") == (None, None)
    assert config.extra_listeners == (("INTERNAL", "127.0.0.1", 19093),)
    assert (config.ssl_key_password, config.ssl_client_auth) == ("key-secret", "required")
    assert config.metrics_listen == ("127.0.0.1", 9404)
    assert config.cleaner_io_max_bytes_per_second == 5e6
    rows = {row[0]: row for row in DynamicBrokerConfigs(config, None).rows(None, True)}  # type: ignore[arg-type]
    # The authorizer's own settings are read but, as in Kafka, never described.
    assert not {"super.users", "allow.everyone.if.no.acl.found"} & set(rows)
    # Secrets and PEM text are never listed (Kafka reports them as sensitive).
    assert not {"ssl.key.password", "ssl.keystore.key", "ssl.truststore.certificates"} & set(rows)
    assert config.super_users == ("User:admin", "User:ops")
    assert config.allow_everyone_if_no_acl_found is True
    for name, (_, shown) in SAMPLES.items():
        if not REGISTRY[name].described:
            continue
        assert rows[name][1] == shown, name
        assert rows[name][3] == STATIC_BROKER_CONFIG, name
    # Set in the file and equal to Kafka's default: still STATIC_BROKER_CONFIG, with the
    # default as a synonym (as Kafka's kafka-configs --describe --all shows it).
    assert rows["default.replication.factor"][5] == (
        ("default.replication.factor", "1", STATIC_BROKER_CONFIG),
        ("default.replication.factor", "1", DEFAULT_CONFIG),
    )
    # Kafka's precedence among the retention names: ms over minutes over hours.
    assert topic_defaults(config)[0]["retention.ms"] == "3600000"


def test_unset_keys_are_kafka_defaults(tmp_path: Path) -> None:
    config = _config("--config", str(_write(tmp_path, f"log.dirs={tmp_path}\n")))
    rows = {row[0]: row for row in DynamicBrokerConfigs(config, None).rows(None, True)}  # type: ignore[arg-type]
    assert rows["log.dirs"][3] == STATIC_BROKER_CONFIG
    assert rows["num.partitions"][1:4:2] == ("1", DEFAULT_CONFIG)
    assert rows["log.retention.hours"][1:4:2] == ("168", DEFAULT_CONFIG)
    assert rows["log.retention.ms"][1] is None


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_value_exits_2_naming_key_and_line(tmp_path: Path, capsys, name: str) -> None:
    raw, message = BAD[name]
    data = tmp_path / "data"
    path = _write(tmp_path, f"# broker\nlog.dirs={data}\n{name}={raw}\n")
    assert main(["serve", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:3:" in err
    assert name in err
    assert message in err
    assert not data.exists()


def test_unknown_key_exits_2_with_its_line(tmp_path: Path, capsys) -> None:
    path = _write(tmp_path, f"log.dirs={tmp_path}\n\nlog.retention.hour=5\n")
    assert main(["serve", "--config", str(path)]) == 2
    assert f"{path}:3: unknown broker config 'log.retention.hour'" in capsys.readouterr().err


def test_missing_file_and_missing_data_dir(tmp_path: Path, capsys) -> None:
    assert main(["serve", "--config", str(tmp_path / "absent.properties")]) == 2
    assert "cannot read config file" in capsys.readouterr().err
    assert main(["serve", "--config", str(_write(tmp_path, "num.partitions=2\n"))]) == 2
    assert "--data-dir (or log.dirs" in capsys.readouterr().err


def test_two_names_of_one_setting_must_agree(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r":2: node.id=2 contradicts broker.id on line 1"):
        load_config_file(_write(tmp_path, "broker.id=1\nnode.id=2\n"))


def test_session_lifetime_per_listener_and_mechanism(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        f"log.dirs={tmp_path}\n"
        "listeners=OUTER://127.0.0.1:0,INNER://127.0.0.1:0\n"
        "listener.security.protocol.map=OUTER:SASL_SSL,INNER:SASL_PLAINTEXT\n"
        "connections.max.reauth.ms=1000\n"
        "listener.name.inner.connections.max.reauth.ms=2000\n"
        "listener.name.inner.scram-sha-512.connections.max.reauth.ms=3000\n",
    )
    config = _config("--config", str(path))
    assert config.reauth_ms("OUTER", "SCRAM-SHA-512") == 1000
    assert config.reauth_ms("INNER", "PLAIN") == 2000
    assert config.reauth_ms("INNER", "SCRAM-SHA-512") == 3000


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("listener.name.plaintext.plain.connections.max.reauth.ms=soon", "Not a number"),
        ("listener.name.nope.plain.connections.max.reauth.ms=5", "names a listener that is not"),
    ],
)
def test_bad_session_lifetimes_exit_2(tmp_path: Path, capsys, line: str, message: str) -> None:
    path = _write(tmp_path, f"log.dirs={tmp_path / 'data'}\n{line}\n")
    assert main(["serve", "--config", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_precedence_flags_over_file_over_defaults(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        f"log.dirs={tmp_path / 'from-file'}\nnum.partitions=4\n"
        "listeners=PLAINTEXT://127.0.0.1:19093\nodradek.fsync.policy=never\n",
    )
    config = _config("--config", str(path), "--default-partitions", "6", "--data-dir", "x")
    assert config.default_partitions == 6  # flag over file
    assert config.data_dir == Path("x")
    assert (config.host, config.port) == ("127.0.0.1", 19093)  # file over default
    assert config.fsync == "never"
    assert config.max_connections == 1000  # default
    assert config.log_level == "INFO"
    assert {"num.partitions", "log.dirs", "listeners", "odradek.fsync.policy"} <= config.explicit
    assert "max.connections" not in config.explicit
    # A flag equal to Kafka's default is still reported as set by the operator.
    flagged = _config("--data-dir", "x", "--default-partitions", "1")
    rows = {row[0]: row for row in DynamicBrokerConfigs(flagged, None).rows(None, False)}  # type: ignore[arg-type]
    assert rows["num.partitions"][3] == STATIC_BROKER_CONFIG


async def test_topic_defaults_reach_storage_and_describe(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        f"log.dirs={tmp_path / 'data'}\nlog.retention.hours=2\nlog.segment.bytes=2097152\n"
        "log.cleanup.policy=compact\n",
    )
    config = _config("--config", str(path))
    with LogManager(config.data_dir, topic_defaults=topic_defaults(config)[0]) as logs:
        logs.create_topic("t", 1, {"segment.bytes": "1048576"})
        topic = logs.topic_config("t")
        assert (topic.retention_ms, topic.segment_bytes, topic.compact) == (
            7_200_000,
            1048576,
            True,
        )
        described = {e.name: e for e in logs.describe_configs("t")}
        assert (described["retention.ms"].value, described["retention.ms"].source) == (
            "7200000",
            "STATIC_BROKER_CONFIG",
        )
        assert described["segment.bytes"].source == "DYNAMIC_TOPIC_CONFIG"
        assert described["retention.bytes"].source == "DEFAULT_CONFIG"
        # A dynamic change reaches the partitions' parsed config at once.
        dynamic = DynamicBrokerConfigs(config, logs)
        await dynamic.alter({"log.retention.ms": "60000"}, (), replace=False, validate_only=False)
        assert logs.log("t", 0).config.retention_ms == 60_000
        await dynamic.alter({}, ("log.retention.ms",), replace=False, validate_only=False)
        assert logs.log("t", 0).config.retention_ms == 7_200_000


def test_operations_doc_lists_every_key() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    assert [name for name in REGISTRY if f"`{name}`" not in doc] == []


async def test_advertised_listener_reaches_metadata(tmp_path: Path) -> None:
    from logstore.server.listener import BrokerServer

    path = _write(
        tmp_path,
        f"log.dirs={tmp_path / 'data'}\nlisteners=PLAINTEXT://127.0.0.1:0\n"
        "advertised.listeners=PLAINTEXT://kafka.example:29092\n",
    )
    server = BrokerServer(_config("--config", str(path)))
    await server.start()
    try:
        assert server.broker is not None
        assert (server.broker.advertised_host, server.broker.advertised_port) == (
            "kafka.example",
            29092,
        )
        assert server.port != 29092
    finally:
        await server.shutdown()
