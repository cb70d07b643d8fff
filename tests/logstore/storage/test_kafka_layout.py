"""Kafka's own DumpLogSegments reads our segments, offset indexes and time indexes.

The on-disk layout is Kafka's on purpose; this checks it with the tool that ships with
Apache Kafka 4.4 (from the reference distribution in `.cache/kafka/libs`): every batch
valid, every record decodable (all codecs), no index or time-index mismatches.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from logstore.clock import ManualClock
from logstore.records import build_batch
from logstore.storage import LogManager
from logstore.storage.cleaner import clean_log
from reference.launcher import java_command

pytestmark = pytest.mark.kafka
TOPICS = ("plain", "stamped", "recompressed", "compacted")


def dump(files: list[Path]) -> str:
    command = java_command(
        "org.apache.kafka.tools.DumpLogSegments",
        ["--deep-iteration", "--files", ",".join(str(f) for f in files)],
    )
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Exception" not in result.stderr, result.stderr[-3000:]
    # The tool reports index mismatches and offset gaps on stderr.
    return result.stdout + result.stderr


def test_dump_log_segments_accepts_our_files(tmp_path: Path) -> None:
    clock = ManualClock()
    with LogManager(tmp_path, clock=clock, fsync="never") as mgr:
        mgr.create_topic(
            "plain", 1, {"index.interval.bytes": "100", "internal.segment.bytes": "3000"}
        )
        mgr.create_topic("stamped", 1, {"message.timestamp.type": "LogAppendTime"})
        mgr.create_topic("recompressed", 1, {"compression.type": "lz4"})
        mgr.create_topic(
            "compacted",
            1,
            {
                "cleanup.policy": "compact",
                "internal.segment.bytes": "1500",
                "index.interval.bytes": "100",
            },
        )
        records = 0
        for i in range(60):
            batch = build_batch(
                [(b"k%d" % (j + i % 4), b"v%d" % i * 10) for j in range(1 + i % 3)],
                timestamps=[clock.now_ms() + i + j for j in range(1 + i % 3)],
                codec=i % 5,  # none, gzip, snappy, lz4, zstd
            )
            records += 1 + i % 3
            for topic in TOPICS:
                mgr.log(topic, 0).append(batch)
            clock.advance(1)
        assert clean_log(mgr.log("compacted", 0), clock.now_ms(), force=True) is not None
        directories = {t: mgr.log(t, 0).directory for t in TOPICS}
        assert len(mgr.log("plain", 0).segments) >= 3
    for topic, directory in directories.items():
        files = sorted(directory.glob("*.log")) + sorted(directory.glob("*index"))
        out = dump(files)
        assert "isvalid: false" not in out
        assert "isvalid: true" in out
        assert "Mismatches in" not in out, out[-2000:]
        assert "timestamp mismatch" not in out.lower(), out[-2000:]
        shown = len(re.findall(r"^\| offset: ", out, re.MULTILINE))
        if topic != "compacted":
            assert shown == records
            # Kafka's tool starts every file's check from -1, so only a segment's own base
            # offset may be reported as "non-consecutive".
            bases = {int(f.stem) for f in directory.glob("*.log")}
            for follower in re.findall(r"-1 is followed by (\d+)", out):
                assert int(follower) in bases
            assert not re.search(r"\n  (?!-1 )\d+ is followed by", out)
        else:
            assert 0 < shown < records
