"""Running a probe program (a Java single-file source, a Go binary) whose standard output
is one observation per line, for the tests that compare those lines between brokers.

Owns the run and its failure report. It must never judge the lines themselves.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence


def probe_lines(command: Sequence[str], timeout_s: float) -> list[str]:
    """The probe's standard output, a line each; it must exit 0 (else the test fails with
    the end of its standard error)."""
    done = subprocess.run(
        list(command), capture_output=True, text=True, timeout=timeout_s, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()
