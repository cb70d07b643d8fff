"""kafkajs (Node) produce/consume round trip against a real broker.

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
