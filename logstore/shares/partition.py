"""One share-partition: the share-partition start offset (SPSO) and its in-flight records.

Owns the record states of KIP-932 (available, acquired, acknowledged, archived), delivery
counts, acquisition locks and the in-flight cap. In-flight records are kept as a sorted list
of offset ranges, each with one state, so a batch of thousands of records costs one entry
until acknowledgements split it; SPSO moves over leading acknowledged/archived ranges.

It never reads a clock, never awaits and never touches files or sockets: callers pass the
current monotonic time and decide when to persist `snapshot()`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

AVAILABLE, ACQUIRED, ACKNOWLEDGED, ARCHIVED = 0, 1, 2, 4
# Acknowledge types on the wire (ShareFetch/ShareAcknowledge); RENEW from v2 on, with the
# request's IsRenewAck set: the member keeps the records and their lock starts again.
GAP, ACCEPT, RELEASE, REJECT, RENEW = 0, 1, 2, 3, 4
_FINAL = {GAP: ARCHIVED, ACCEPT: ACKNOWLEDGED, REJECT: ARCHIVED}

INVALID_REQUEST = 42
INVALID_RECORD_STATE = 121


@dataclass(slots=True)
class Span:
    """Offsets first..last (inclusive) sharing one state."""

    first: int
    last: int
    state: int
    delivery_count: int
    owner: str = ""
    # Monotonic ms when an acquisition lock lapses (acquired spans only).
    deadline: int = 0


class AckRefused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class SharePartition:
    def __init__(self, spso: int, spans: list[Span] | None = None) -> None:
        self.spso = spso
        # Sorted, contiguous from spso to end_offset - 1.
        self.spans: list[Span] = spans or []

    @property
    def end_offset(self) -> int:
        """The next offset to acquire from the log."""
        return self.spans[-1].last + 1 if self.spans else self.spso

    @property
    def in_flight(self) -> int:
        return self.end_offset - self.spso

    # -- time ------------------------------------------------------------------------------
    def expire(self, now: int, delivery_limit: int) -> bool:
        """Lapsed locks become available (archived at the delivery limit); True if any."""
        changed = False
        for span in self.spans:
            if span.state == ACQUIRED and span.deadline <= now:
                self._return(span, delivery_limit)
                changed = True
        if changed:
            self._compact()
        return changed

    def release_member(self, member: str, delivery_limit: int) -> bool:
        """Everything `member` holds becomes available again (it left or its session closed)."""
        changed = False
        for span in self.spans:
            if span.state == ACQUIRED and span.owner == member:
                self._return(span, delivery_limit)
                changed = True
        if changed:
            self._compact()
        return changed

    @staticmethod
    def _return(span: Span, delivery_limit: int) -> None:
        span.state = ARCHIVED if span.delivery_count >= delivery_limit else AVAILABLE
        span.owner, span.deadline = "", 0

    def next_available(self) -> int | None:
        """The first available offset already in flight, if any."""
        for span in self.spans:
            if span.state == AVAILABLE:
                return span.first
        return None

    # -- acquisition -----------------------------------------------------------------------
    def acquire(
        self,
        member: str,
        start: int,
        stop: int,
        now: int,
        lock_ms: int,
        max_records: int,
        *,
        record_limit: bool = False,
    ) -> list[tuple[int, int, int]]:
        """Acquire offsets in [start, stop) for `member`: available in-flight spans, then new
        records past `end_offset` (as far as `stop`, or only up to `max_records` in all with
        `record_limit`). Returns (first, last, delivery_count) ranges."""
        out: list[tuple[int, int, int]] = []
        budget = max_records
        stop = max(stop, start)
        deadline = now + lock_ms
        if start < self.spso:
            start = self.spso
        self._split(start)
        self._split(min(stop, self.end_offset))
        for span in self.spans:
            if budget <= 0 or span.first >= stop:
                break
            if span.first < start or span.state != AVAILABLE:
                continue
            if span.last - span.first + 1 > budget:
                self._split(span.first + budget)
            span.state, span.owner, span.deadline = ACQUIRED, member, deadline
            span.delivery_count += 1
            budget -= span.last - span.first + 1
            out.append((span.first, span.last, span.delivery_count))
        end = self.end_offset
        first_new = max(end, start)
        if budget > 0 and stop > first_new and first_new == end:
            # Records never delivered: acquired whole, as the batches they arrived in.
            last = min(stop, first_new + budget) - 1 if record_limit else stop - 1
            self.spans.append(Span(first_new, last, ACQUIRED, 1, member, deadline))
            out.append((first_new, last, 1))
        self._compact()
        return _merge_ranges(out)

    def archive_acquired(
        self, member: str, ranges: list[tuple[int, int]], acquired: list[tuple[int, int, int]]
    ) -> list[tuple[int, int, int]]:
        """Archive what `member` just acquired inside `ranges` (records it must never be
        given, such as aborted transactions' data); the rest of `acquired`."""
        if not ranges:
            return acquired
        for first, last in ranges:
            self._split(first)
            self._split(last + 1)
            i = self._index(first)
            while i < len(self.spans) and self.spans[i].first <= last:
                span = self.spans[i]
                if span.first >= first and span.state == ACQUIRED and span.owner == member:
                    span.state, span.owner, span.deadline = ARCHIVED, "", 0
                i += 1
        self._compact()
        return _subtract(acquired, ranges)

    # -- acknowledgement -------------------------------------------------------------------
    def check_acks(
        self, member: str, batches: list[tuple[int, int, list[int]]], renew: bool = False
    ) -> None:
        """Raise AckRefused unless every batch acknowledges records `member` holds (RENEW
        only where the request said `renew`)."""
        known = (GAP, ACCEPT, RELEASE, REJECT, RENEW) if renew else (GAP, ACCEPT, RELEASE, REJECT)
        for first, last, types in batches:
            if last < first or (len(types) != 1 and len(types) != last - first + 1):
                raise AckRefused(INVALID_REQUEST, "malformed acknowledgement batch")
            if any(t not in known for t in types):
                raise AckRefused(INVALID_REQUEST, "unknown acknowledge type")
            if last >= self.end_offset:
                raise AckRefused(INVALID_REQUEST, "acknowledged offsets are not in flight")
            # Offsets below SPSO are settled already: Kafka lets such acks pass.
            first = max(first, self.spso)
            if first > last:
                continue
            i = self._index(first)
            while i < len(self.spans) and self.spans[i].first <= last:
                span = self.spans[i]
                if span.state != ACQUIRED or span.owner != member:
                    raise AckRefused(
                        INVALID_RECORD_STATE, "records are not acquired by this member"
                    )
                i += 1

    def acknowledge(
        self,
        member: str,
        batches: list[tuple[int, int, list[int]]],
        delivery_limit: int,
        renew_deadline: int | None = None,
    ) -> None:
        """Apply acknowledgements atomically: all of them, or none (AckRefused). RENEW is
        accepted only with `renew_deadline`, the renewed locks' new expiry."""
        self.check_acks(member, batches, renew_deadline is not None)
        deadline = renew_deadline or 0
        for first, last, types in batches:
            if len(types) == 1:
                if last >= self.spso:
                    self._settle(max(first, self.spso), last, types[0], delivery_limit, deadline)
                continue
            run = first
            for offset in range(first + 1, last + 2):
                if offset > last or types[offset - first] != types[run - first]:
                    if offset - 1 >= self.spso:
                        self._settle(
                            max(run, self.spso),
                            offset - 1,
                            types[run - first],
                            delivery_limit,
                            deadline,
                        )
                    run = offset
        self._compact()

    def _settle(self, first: int, last: int, ack: int, delivery_limit: int, deadline: int) -> None:
        self._split(first)
        self._split(last + 1)
        i = self._index(first)
        while i < len(self.spans) and self.spans[i].first <= last:
            span = self.spans[i]
            if ack == RENEW:
                span.deadline = deadline
            elif ack == RELEASE:
                self._return(span, delivery_limit)
            else:
                span.state, span.owner, span.deadline = _FINAL[ack], "", 0
            i += 1

    # -- span bookkeeping ------------------------------------------------------------------
    def _index(self, offset: int) -> int:
        """Index of the span holding `offset` (len(spans) if past the end)."""
        i = bisect.bisect_right(self.spans, offset, key=lambda s: s.first) - 1
        return max(i, 0)

    def _split(self, offset: int) -> None:
        """Make `offset` the first offset of a span (no-op at a boundary or outside)."""
        if not self.spans or offset <= self.spans[0].first or offset > self.spans[-1].last:
            return
        i = self._index(offset)
        span = self.spans[i]
        if span.first == offset:
            return
        tail = Span(offset, span.last, span.state, span.delivery_count, span.owner, span.deadline)
        span.last = offset - 1
        self.spans.insert(i + 1, tail)

    def _compact(self) -> None:
        """Advance SPSO over settled spans and merge equal neighbours."""
        spans = self.spans
        drop = 0
        while drop < len(spans) and spans[drop].state in (ACKNOWLEDGED, ARCHIVED):
            drop += 1
        if drop:
            self.spso = spans[drop - 1].last + 1
            del spans[:drop]
        merged: list[Span] = []
        for span in spans:
            prev = merged[-1] if merged else None
            if (
                prev is not None
                and prev.state == span.state
                and prev.delivery_count == span.delivery_count
                and prev.owner == span.owner
                and prev.deadline == span.deadline
            ):
                prev.last = span.last
            else:
                merged.append(span)
        self.spans = merged

    def move_start(self, offset: int) -> None:
        """Drop everything below `offset` (the log start moved, or an offset reset)."""
        if offset <= self.spso:
            return
        self._split(offset)
        self.spans = [s for s in self.spans if s.first >= offset]
        self.spso = offset

    def counts(self) -> dict[int, int]:
        """Records in flight per state."""
        out = {AVAILABLE: 0, ACQUIRED: 0, ACKNOWLEDGED: 0, ARCHIVED: 0}
        for span in self.spans:
            out[span.state] += span.last - span.first + 1
        return out

    # -- persistence -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, object]:
        """What survives a restart: SPSO and spans, acquisitions recorded as available."""
        return {
            "spso": self.spso,
            "spans": [
                [s.first, s.last, AVAILABLE if s.state == ACQUIRED else s.state, s.delivery_count]
                for s in self.spans
            ],
        }

    @classmethod
    def restore(cls, data: dict[str, object]) -> SharePartition:
        spans_data = data.get("spans", [])
        assert isinstance(spans_data, list)
        spso = data["spso"]
        assert isinstance(spso, int)
        part = cls(spso, [Span(int(f), int(la), int(st), int(dc)) for f, la, st, dc in spans_data])
        part._compact()
        return part


def _subtract(
    acquired: list[tuple[int, int, int]], ranges: list[tuple[int, int]]
) -> list[tuple[int, int, int]]:
    """`acquired` (first, last, count) without the offsets inside `ranges` (both sorted)."""
    out: list[tuple[int, int, int]] = []
    for first, last, count in acquired:
        cursor = first
        for r_first, r_last in ranges:
            if r_last < cursor or r_first > last:
                continue
            if r_first > cursor:
                out.append((cursor, r_first - 1, count))
            cursor = r_last + 1
            if cursor > last:
                break
        if cursor <= last:
            out.append((cursor, last, count))
    return out


def _merge_ranges(ranges: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    out: list[tuple[int, int, int]] = []
    for first, last, count in ranges:
        if out and out[-1][1] + 1 == first and out[-1][2] == count:
            out[-1] = (out[-1][0], last, count)
        else:
            out.append((first, last, count))
    return out
