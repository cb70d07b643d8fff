"""Differential: `connection_creation_rate` on an ip (KIP-612), as Apache Kafka enforces it.

Connections come from an address of their own (127.X.0.Y, bound as the source), whose quota
is 1 connection a second, the entity named by the address or by its short form "127.X.Y",
which Odradek resolves as a host name. Measured over Kafka's 11 one-second samples, at least ten
seconds, the first 10 connections are served; the 11th is accepted, never read, and closed
after the wait that brings the rate back (one window, 1 s), without being counted. Compared:
which of 11 connections got an ApiVersions answer and which was closed unanswered (later
ones depend on how much of a second the first took: the elapsed time counts too). The
quota is removed afterwards.
"""

from __future__ import annotations

import random
import socket
import struct
from typing import Any

import pytest

from tests.clusters import Cluster
from tests.differential.harness import assert_same, observe
from tests.differential.test_client_quotas import _alter, _Names, _set, _settle

pytestmark = pytest.mark.kafka

KEY = "connection_creation_rate"
# ApiVersions v0: header (key 18, version 0, correlation 7, client id "rate") and no body.
API_VERSIONS = struct.pack(">hhih", 18, 0, 7, 4) + b"rate"


def _outcome(source: str, bootstrap: str) -> str:
    host, port = bootstrap.rsplit(":", 1)
    with socket.socket() as sock:
        sock.settimeout(5)
        sock.bind((source, 0))
        sock.connect((host, int(port)))
        sock.sendall(struct.pack(">i", len(API_VERSIONS)) + API_VERSIONS)
        try:
            head = sock.recv(4)
        except ConnectionResetError:
            return "closed"
        return "answered" if len(head) == 4 else "closed"


def _scenario(cluster: Cluster, short_form: bool = False) -> list[Any]:
    names = _Names("ip")
    x, y = random.randint(2, 254), random.randint(2, 254)
    source = f"127.{x}.0.{y}"
    # "127.X.Y" is the same address in the resolver's short form: to Odradek a host name
    # it looks up (Java's InetAddress reads the form itself).
    entity = (("ip", f"127.{x}.{y}" if short_form else source),)
    _alter(cluster, [(entity, _set((KEY, 1.0)))], False)
    _settle(cluster, names)
    try:
        return [_outcome(source, cluster.bootstrap) for _ in range(11)]
    finally:
        _alter(cluster, [(entity, [(KEY, 0.0, True)])], False)
        _alter(cluster, [(names.barrier, [("request_percentage", 0.0, True)])], False)


@pytest.mark.parametrize("short_form", [False, True], ids=["address", "short-form"])
def test_connection_creation_rate_as_kafka(
    clusters: tuple[Cluster, Cluster], short_form: bool
) -> None:
    seen = observe(clusters, lambda cluster: _scenario(cluster, short_form))
    assert seen["kafka"] == ["answered"] * 10 + ["closed"]
    assert_same(seen)
