"""kafkajs (Node) against a real broker: the produce/consume round trip, and its group
consumer (classic protocol: join, sync, heartbeats, commits, resume after a restart).

Needs `npm ci --prefix tests/clients/js` (the Makefile's install step) beforehand."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.clients.messages import unique_topic

JS_DIR = Path(__file__).parent / "js"


def test_kafkajs_round_trip(shared_broker) -> None:
    assert (JS_DIR / "node_modules" / "kafkajs").is_dir(), "run: npm ci --prefix tests/clients/js"
    node = shutil.which("node")
    assert node is not None
    topic = unique_topic("kjs")
    n = 12
    result = subprocess.run(
        [node, str(JS_DIR / "roundtrip.js"), shared_broker.bootstrap, topic, str(n)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    out = json.loads(result.stdout)
    assert [p["errorCode"] for p in out["produced"]] == [0, 0]
    assert out["offsets"][0]["high"] == str(n)
    consumed = out["consumed"]
    assert [int(m["offset"]) for m in consumed] == list(range(n))
    assert [m["key"] for m in consumed] == [f"key-{i}" for i in range(n)]
    assert [m["value"] for m in consumed] == [f"value-{i}" for i in range(n)]
    assert [m["trace"] for m in consumed] == [f"t{i}" for i in range(n)]
    assert [int(m["timestamp"]) for m in consumed] == [out["base"] + i * 10 for i in range(n)]


def test_kafkajs_consumer_group_shares_partitions_and_resumes_from_commits(
    shared_broker,
) -> None:
    node = shutil.which("node")
    assert node is not None
    topic = unique_topic("kjs-group")
    result = subprocess.run(
        [node, str(JS_DIR / "group.js"), shared_broker.bootstrap, topic, f"g-{topic}"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    out = json.loads(result.stdout)
    first = out["first"]
    # Two members, one partition each, every record read exactly once.
    assert sorted(first["assignments"]) == [[0], [1]]
    assert sorted(m["value"] for m in first["seen"]) == sorted(f"v{i}" for i in range(10))
    for m in first["seen"]:
        assert first["assignments"][m["consumer"]] == [m["partition"]]
    committed = {p["partition"]: p["offset"] for p in out["committed"][0]["partitions"]}
    assert committed == {0: "5", 1: "5"}
    # The next member resumes after the commits: only the 4 new records.
    second = out["second"]
    assert second["assignments"] == [[0, 1]]
    assert sorted(m["value"] for m in second["seen"]) == [f"v{i}" for i in range(10, 14)]
    assert sorted((m["partition"], m["offset"]) for m in second["seen"]) == [
        (0, "5"), (0, "6"), (1, "5"), (1, "6"),
    ]  # fmt: skip
    assert out["group"]["state"] == "Empty"
