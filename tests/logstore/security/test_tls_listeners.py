"""SSL and SASL_SSL listeners beside PLAINTEXT on one real broker process: each listener
answers Metadata, FindCoordinator and DescribeCluster with its own advertised address; bad
TLS settings refuse to start (exit 2, a sentence, no traceback); hostile handshakes (garbage
instead of a ClientHello, a reset mid-handshake, a handshake that never finishes) cost one
connection only; PEM text given in the file itself serves like a keystore file.
"""

from __future__ import annotations

import socket
import ssl
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker_fixture import BrokerProcess, start_broker
from tests.logstore.broker.wire import Wire
from tests.logstore.security.tls_setup import Certs, tls_broker

API_VERSIONS, METADATA, FIND_COORDINATOR, DESCRIBE_CLUSTER = 18, 3, 10, 60


@pytest.fixture(scope="module")
def advertised(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[BrokerProcess]:
    broker = tls_broker(
        tmp_path_factory.mktemp("advertised"),
        certs,
        "advertised.listeners=PLAINTEXT://plain.example:19092,SSL://tls.example:19093\n"
        "odradek.request.body.timeout.ms=1000\n",
    )
    try:
        yield broker
    finally:
        broker.stop()


def _addresses(wire: Wire) -> list[tuple[str, int]]:
    metadata = wire.request(
        METADATA,
        12,
        topics=None,
        allow_auto_topic_creation=False,
        include_topic_authorized_operations=False,
    )
    coordinator = wire.request(FIND_COORDINATOR, 4, key_type=0, coordinator_keys=("g",))
    cluster = wire.request(DESCRIBE_CLUSTER, 0, include_cluster_authorized_operations=False)
    return [
        (metadata.brokers[0].host, metadata.brokers[0].port),
        (coordinator.coordinators[0].host, coordinator.coordinators[0].port),
        (cluster.brokers[0].host, cluster.brokers[0].port),
    ]


def test_each_listener_answers_with_its_own_address(
    advertised: BrokerProcess, certs: Certs
) -> None:
    assert set(advertised.ports) == {"PLAINTEXT", "SSL", "SASL_SSL"}
    with Wire(advertised.bootstrap) as plain:
        assert _addresses(plain) == [("plain.example", 19092)] * 3
    ssl_port = advertised.ports["SSL"]
    with Wire(f"127.0.0.1:{ssl_port}", tls=certs.context()) as secure:
        assert _addresses(secure) == [("tls.example", 19093)] * 3
    # A plain client on the SSL port gets no Kafka answer: the broker waits for a
    # ClientHello and gives up on the bytes it got.
    with Wire(f"127.0.0.1:{ssl_port}") as confused:
        confused.send_raw(struct.pack(">ihhih", 10, API_VERSIONS, 0, 1, -1))
        assert confused.closed_by_peer()


def _still_serves(broker: BrokerProcess, certs: Certs) -> None:
    with Wire(f"127.0.0.1:{broker.ports['SSL']}", tls=certs.context()) as wire:
        assert wire.request(API_VERSIONS, 0).error_code == 0


def test_garbage_instead_of_a_client_hello_costs_one_connection(
    advertised: BrokerProcess, certs: Certs
) -> None:
    with socket.create_connection(("127.0.0.1", advertised.ports["SSL"]), timeout=10) as sock:
        sock.sendall(b"\x16\x03\x01\x00\x05hello" + bytes(range(256)) * 4)
        _still_serves(advertised, certs)
        assert _closed(sock)
    _still_serves(advertised, certs)


def test_reset_mid_handshake_costs_one_connection(advertised: BrokerProcess, certs: Certs) -> None:
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = certs.context().wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    with pytest.raises(ssl.SSLWantReadError):
        client.do_handshake()
    hello = outgoing.read()
    sock = socket.create_connection(("127.0.0.1", advertised.ports["SSL"]), timeout=10)
    sock.sendall(hello[: len(hello) // 2])
    # SO_LINGER 0: close() sends a RST, as a crashed client does.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    _still_serves(advertised, certs)


def test_handshake_that_never_completes_is_closed_at_the_deadline(
    advertised: BrokerProcess, certs: Certs
) -> None:
    # odradek.request.body.timeout.ms=1000 bounds the handshake too.
    with socket.create_connection(("127.0.0.1", advertised.ports["SSL"]), timeout=15) as sock:
        started = time.monotonic()
        _still_serves(advertised, certs)
        assert _closed(sock)
        assert time.monotonic() - started < 10
    assert "Traceback" not in advertised.log()


def _closed(sock: socket.socket) -> bool:
    try:
        while chunk := sock.recv(4096):
            del chunk  # the broker's TLS alert, if any, before it closes
        return True
    except ConnectionResetError:
        return True


def _serve(tmp_path: Path, lines: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "server.properties"
    config.write_text(
        f"log.dirs={tmp_path / 'data'}\n"
        "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0\n" + lines
    )
    return subprocess.run(
        [sys.executable, "-m", "logstore", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _bad_settings(certs: Certs, tmp: Path) -> dict[str, tuple[str, str]]:
    not_pem = tmp / "not.pem"
    not_pem.write_text("hello\n")
    return {
        "no keystore": ("ssl.keystore.type=PEM\n", "needs ssl.keystore.location"),
        "JKS keystore": (
            f"ssl.keystore.location={certs.server}\n",
            "ssl.keystore.type=JKS: only PEM key and trust stores are read",
        ),
        "missing keystore file": (
            f"ssl.keystore.type=PEM\nssl.keystore.location={tmp / 'nope.pem'}\n",
            "no such file",
        ),
        "keystore not PEM": (
            f"ssl.keystore.type=PEM\nssl.keystore.location={not_pem}\n",
            "not a PEM private key with its certificate chain",
        ),
        "truststore not PEM": (
            f"ssl.keystore.type=PEM\nssl.keystore.location={certs.server}\n"
            f"ssl.truststore.type=PEM\nssl.truststore.location={not_pem}\n",
            "not PEM CA certificates",
        ),
        "client auth without a truststore": (
            f"ssl.keystore.type=PEM\nssl.keystore.location={certs.server}\n"
            "ssl.client.auth=required\n",
            "needs the CA that signs client certificates",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "no keystore",
        "JKS keystore",
        "missing keystore file",
        "keystore not PEM",
        "truststore not PEM",
        "client auth without a truststore",
    ],
)
def test_bad_tls_settings_refuse_to_start(tmp_path: Path, certs: Certs, case: str) -> None:
    lines, message = _bad_settings(certs, tmp_path)[case]
    result = _serve(tmp_path, lines)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_inline_pem_keystore_serves(tmp_path: Path, certs: Certs) -> None:
    """ssl.keystore.certificate.chain + ssl.keystore.key: the PEM text in the file."""
    text = certs.server.read_text()
    key_end = text.index("-----END PRIVATE KEY-----") + len("-----END PRIVATE KEY-----")

    def continued(pem: str) -> str:
        return "\\n\\\n".join(pem.strip().splitlines())

    config = (
        "ssl.keystore.type=PEM\n"
        f"ssl.keystore.key={continued(text[:key_end])}\n"
        f"ssl.keystore.certificate.chain={continued(text[key_end:])}\n"
    )
    data = tmp_path / "data"
    path = tmp_path / "inline.properties"
    path.write_text("listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0\n" + config)
    inline = start_broker(data, ["--config", str(path)])
    try:
        _still_serves(inline, certs)
    finally:
        inline.stop()


def test_listener_prefixed_settings_apply_to_that_listener_only(
    tmp_path: Path, certs: Certs
) -> None:
    """`listener.name.mtls.ssl.client.auth=required` on a second SSL listener: the first
    serves clients without a certificate, the second refuses them."""
    path = tmp_path / "two-ssl.properties"
    path.write_text(
        "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,MTLS://127.0.0.1:0\n"
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL\n"
        "ssl.keystore.type=PEM\n"
        f"ssl.keystore.location={certs.server}\n"
        "ssl.truststore.type=PEM\n"
        f"listener.name.mtls.ssl.truststore.location={certs.ca}\n"
        "listener.name.mtls.ssl.client.auth=required\n"
    )
    broker = start_broker(tmp_path / "data", ["--config", str(path)])
    try:
        _still_serves(broker, certs)  # the SSL listener, no client certificate
        mtls = f"127.0.0.1:{broker.ports['MTLS']}"
        # ssl.SSLError and ConnectionError are OSErrors.
        with pytest.raises(OSError), Wire(mtls, tls=certs.context()) as anonymous:
            anonymous.request(API_VERSIONS, 0)
        with Wire(mtls, tls=certs.context("app1")) as known:
            assert known.request(API_VERSIONS, 0).error_code == 0
    finally:
        broker.stop()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("listener.name.ssl.ssl.client.auth=maybe", ":3: listener.name.ssl.ssl.client.auth"),
        ("listener.name.nope.ssl.client.auth=required", "names a listener that is not among"),
    ],
)
def test_bad_listener_prefixed_settings_refuse_to_start(
    tmp_path: Path, line: str, message: str
) -> None:
    result = _serve(tmp_path, line + "\n")
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
