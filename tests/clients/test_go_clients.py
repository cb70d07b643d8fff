"""The Go clients against Odradek and Apache Kafka: the same lines from both.

franz-go (`go/franzprobe`) creates topics (and one that exists), produces with the
client's defaults (idempotent, batched) and with every codec, reads in a group of two
members that commit, reads the group's lag and committed offsets with kadm, moves a
partition's start with DeleteRecords, sets and describes topic configs, copies a topic
exactly once in a GroupTransactSession (read_committed, require_stable offsets), aborts a
transaction, and describes and deletes the group; once with classic groups, once with
KIP-848's (the broker assigns partitions).

Sarama (`go/saramaprobe`) does the like with its SyncProducer, ConsumerGroup (two members,
range assignment), ClusterAdmin and transactional producer, twice: at Sarama's default
protocol level (Kafka 2.1, older request versions) and at the newest it knows.

The probes are built here with the machine's Go toolchain into `.cache/go/` (modules from
the Go module proxy, pinned by go.sum); a missing toolchain fails the tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.broker_fixture import REPO_ROOT
from tests.clusters import cluster_for
from tests.differential.harness import assert_same
from tests.probe_lines import probe_lines

SOURCE = Path(__file__).with_name("go")
BUILT = REPO_ROOT / ".cache" / "go"
BUILD_TIMEOUT_S = 600
RUN_TIMEOUT_S = 300
RECORDS = 900

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def probes() -> Path:
    go = shutil.which("go")
    if go is None:
        pytest.fail("no `go` on PATH: the Go client probes need the Go toolchain", pytrace=False)
    for probe in ("franzprobe", "saramaprobe"):
        built = subprocess.run(
            [go, "build", "-o", str(BUILT / probe), f"./{probe}"],
            cwd=SOURCE,
            env={**os.environ, "GOFLAGS": "-mod=readonly"},
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
        assert built.returncode == 0, built.stderr[-3000:]
    return BUILT


def both(request: pytest.FixtureRequest, command: list[str]) -> dict[str, list[str]]:
    """The probe's lines against each broker (its address and a fresh run id appended)."""
    return {
        kind: probe_lines(
            [command[0], cluster_for(request, kind).bootstrap, uuid.uuid4().hex[:8], *command[1:]],
            RUN_TIMEOUT_S,
        )
        for kind in ("kafka", "odradek")
    }


@pytest.mark.parametrize("protocol", ["classic", "848"])
def test_franz_go_sees_what_it_sees_against_kafka(
    request: pytest.FixtureRequest, probes: Path, protocol: str
) -> None:
    seen = both(request, [str(probes / "franzprobe"), protocol])
    kafka = seen["kafka"]
    # The reference itself: every record once in the group, the copy exactly once, the
    # aborted records only for read_uncommitted.
    assert f"group read {RECORDS} distinct {RECORDS} twice 0" in kafka
    assert f"copied {RECORDS - 10}" in kafka
    assert f"after abort read_committed {RECORDS - 9}" in kafka
    assert f"after abort read_uncommitted {RECORDS - 4}" in kafka
    assert_same(seen)


@pytest.mark.parametrize("level", ["default", "max"])
def test_sarama_sees_what_it_sees_against_kafka(
    request: pytest.FixtureRequest, probes: Path, level: str
) -> None:
    seen = both(request, [str(probes / "saramaprobe"), level])
    kafka = seen["kafka"]
    assert f"group read {RECORDS} distinct {RECORDS} twice 0" in kafka
    assert f"committed sum {RECORDS}" in kafka
    assert "transaction abort OK" in kafka
    # 30 committed and 3 plain records; the 30 aborted ones too without isolation.
    assert sum(int(n.split("=")[1]) for n in kafka[-3].split()[1].split(",")) == 33
    assert_same(seen)
