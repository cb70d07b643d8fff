"""franz-go, the Go client (`go/franzprobe`), against Odradek and Apache Kafka: the same
lines from both. The probe creates topics (and one that exists), produces with the
client's defaults (idempotent, batched) and with every codec, reads in a group of two
members that commit, reads the group's lag and committed offsets with kadm, moves a
partition's start with DeleteRecords, sets and describes topic configs, copies a topic
exactly once in a GroupTransactSession (read_committed, require_stable offsets), aborts a
transaction, and describes and deletes the group.

The probe is built here with the machine's Go toolchain into `.cache/go/` (modules from
the Go module proxy, pinned by its go.sum); a missing toolchain fails the test.
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

PROBE_SOURCE = Path(__file__).with_name("go") / "franzprobe"
PROBE = REPO_ROOT / ".cache" / "go" / "franzprobe"
BUILD_TIMEOUT_S = 600
RUN_TIMEOUT_S = 300
RECORDS = 900


@pytest.fixture(scope="module")
def franzprobe() -> Path:
    go = shutil.which("go")
    if go is None:
        pytest.fail("no `go` on PATH: the franz-go probe needs the Go toolchain", pytrace=False)
    built = subprocess.run(
        [go, "build", "-o", str(PROBE), "."],
        cwd=PROBE_SOURCE,
        env={**os.environ, "GOFLAGS": "-mod=readonly"},
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    return PROBE


def lines(probe: Path, bootstrap: str) -> list[str]:
    return probe_lines([str(probe), bootstrap, uuid.uuid4().hex[:8]], RUN_TIMEOUT_S)


@pytest.mark.kafka
def test_franz_go_sees_what_it_sees_against_kafka(
    request: pytest.FixtureRequest, franzprobe: Path
) -> None:
    seen = {
        kind: lines(franzprobe, cluster_for(request, kind).bootstrap)
        for kind in ("kafka", "odradek")
    }
    kafka = seen["kafka"]
    # The reference itself: every record once in the group, the copy exactly once, the
    # aborted records only for read_uncommitted.
    assert f"group read {RECORDS} distinct {RECORDS} twice 0" in kafka
    assert f"copied {RECORDS - 10}" in kafka
    assert f"after abort read_committed {RECORDS - 9}" in kafka
    assert f"after abort read_uncommitted {RECORDS - 4}" in kafka
    assert_same(seen)
