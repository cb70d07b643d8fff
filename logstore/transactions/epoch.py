"""The coordinator epoch written into transaction markers, as a single-node Kafka has it.

Kafka writes the leader epoch of the `__transaction_state` partition there: 0 once the
topic is in use, two more after every restart of a single broker, clean or killed (the
controller takes leadership away from the stopped broker and gives it back). Owns the
small file under `state_dir("transactions")` that keeps the epoch across restarts,
replaced durably before the epoch is used. It must never read the log nor write markers.
"""

from __future__ import annotations

from pathlib import Path

from logstore.durable import write_atomic

EPOCH_FILE = "coordinator-epoch"
RESTART_BUMP = 2  # leader moved away, then back


def epoch_at_start(directory: Path, *, in_use: bool) -> int:
    """This run's coordinator epoch. `in_use`: `__transaction_state` holds records (Kafka
    creates the topic at the first transactional client, so restarts before that count
    nothing)."""
    path = directory / EPOCH_FILE
    if not in_use:
        path.unlink(missing_ok=True)
        return 0
    try:
        last = int(path.read_text())
    except (FileNotFoundError, ValueError):
        last = 0  # the previous run started before the first transaction: it had 0
    epoch = last + RESTART_BUMP
    write_atomic(path, str(epoch).encode())
    return epoch
