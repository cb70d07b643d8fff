"""Test helper: appends transactional batches and markers the way the broker does
(`log.append`, then the producer hook), with sequences kept per producer."""

from __future__ import annotations

from logstore.clock import ManualClock
from logstore.producers.manager import ProducerManager
from logstore.records import build_batch, parse_header
from logstore.records.control import build_control_batch


class Writer:
    """Appends like the broker does: log.append, then the producer hook."""

    def __init__(self, manager: ProducerManager, plog, clock: ManualClock) -> None:
        self.manager = manager
        self.plog = plog
        self.clock = clock
        self.seqs: dict[int, int] = {}

    def _append(self, batch: bytes) -> int:
        header = parse_header(batch)
        result = self.plog.append(batch)
        self.manager.record(self.plog, header, result.base_offset)
        return result.base_offset

    def data(
        self,
        pid: int,
        n: int = 2,
        *,
        epoch: int = 0,
        txn: bool = True,
        records: list[tuple[bytes | None, bytes | None]] | None = None,
    ) -> int:
        records = records or [(None, b"v")] * n
        seq = self.seqs.get(pid, 0)
        self.seqs[pid] = seq + len(records)
        return self._append(
            build_batch(
                records,
                producer_id=pid,
                producer_epoch=epoch,
                base_sequence=seq,
                transactional=txn,
                timestamp=self.clock.now_ms(),
            )
        )

    def plain(self, n: int = 1) -> int:
        return self._append(build_batch([(None, b"p")] * n, timestamp=self.clock.now_ms()))

    def marker(self, pid: int, *, commit: bool, epoch: int = 0, coordinator_epoch: int = 3) -> int:
        return self._append(
            build_control_batch(
                pid,
                epoch,
                commit=commit,
                coordinator_epoch=coordinator_epoch,
                timestamp=self.clock.now_ms(),
            )
        )
