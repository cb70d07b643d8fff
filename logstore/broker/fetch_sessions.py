"""Incremental fetch sessions (KIP-227): which partitions a session holds and what it last saw.

Owns the session cache with Kafka's rules: a full request (epoch 0) may open a session
when a slot is free or a less valuable session can be evicted; an incremental request
(epoch > 0) names only partitions that changed and `forgotten` ones; the reply leaves out
partitions with nothing new. The slots are split into shards as Kafka 4 splits them, and
eviction follows its `FetchSessionCacheShard`: first the shard's stale session (unused
for `eviction_ms`), otherwise its smallest evictable one if the new session holds more
partitions; a session is evictable by consumers only once it is older than
`eviction_ms`. Time comes from the injected clock.

It must never read storage or touch the network: the fetch handler asks it what to read
and tells it what it answered.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from logstore.clock import Clock
from logstore.error_codes import FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH

INVALID_SESSION_ID = 0
INITIAL_EPOCH = 0
FINAL_EPOCH = -1
# Kafka's MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS: how long a session is protected.
EVICTION_MS = 120_000
DEFAULT_CACHE_SLOTS = 1000
# Kafka splits the cache into 8 shards, each with slots/8 places and its own id range.
SHARDS = 8
MAX_SESSION_ID = 2**31 - 1


PartitionKey = tuple[str, int]


def next_epoch(epoch: int) -> int:
    """The epoch the client must send next; it wraps to 1, never back to 0."""
    if epoch < 0:
        return FINAL_EPOCH
    return 1 if epoch == 2**31 - 1 else epoch + 1


@dataclass(slots=True)
class Wanted:
    """One partition to read: the request's fields, or the session's cached copy."""

    topic: str
    partition: int
    fetch_offset: int
    max_bytes: int
    current_leader_epoch: int = -1  # -1: none named (v4–8 cannot name one)


@dataclass(slots=True)
class Answered:
    """What the reply says about one partition: enough to decide what changed."""

    error_code: int
    high_watermark: int
    log_start_offset: int
    records_size: int
    last_stable_offset: int = -1


@dataclass(slots=True)
class CachedPartition:
    wanted: Wanted
    # What the client was last told; -1 until the first answer (so it is always sent).
    high_watermark: int = -1
    log_start_offset: int = -1
    last_stable_offset: int = -1

    def must_respond(self, answer: Answered) -> bool:
        """Whether the client needs this partition in the reply; remembers what it sends."""
        respond = answer.records_size > 0
        if self.high_watermark != answer.high_watermark:
            respond = True
            self.high_watermark = answer.high_watermark
        if self.log_start_offset != answer.log_start_offset:
            respond = True
            self.log_start_offset = answer.log_start_offset
        if self.last_stable_offset != answer.last_stable_offset:
            respond = True
            self.last_stable_offset = answer.last_stable_offset
        if answer.error_code:
            # Forget the watermark so the partition is sent again once the error clears.
            self.high_watermark = -1
            respond = True
        return respond


@dataclass(eq=False, slots=True)
class FetchSession:
    id: int
    privileged: bool
    # Insertion-ordered: the order partitions are read in; a partition that returned
    # records moves to the end so the next fetch starts with the others (fairness).
    partitions: dict[PartitionKey, CachedPartition]
    creation_ms: int
    last_used_ms: int
    epoch: int
    cached_size: int = -1  # the size the cache accounted for; -1 = not in the cache

    def evictable_key(self) -> tuple[bool, int, int]:
        return (self.privileged, self.cached_size, self.id)


@dataclass(slots=True)
class FetchPlan:
    """How to serve one Fetch request, decided before anything is read.

    `error` set: answer that error with no partitions and `error_session_id`.
    `session` set: incremental; otherwise full (`may_cache` says whether to try to
    open a session for it) or sessionless.
    """

    wanted: list[Wanted] = field(default_factory=list)
    error: int = 0
    session: FetchSession | None = None
    may_cache: bool = False
    expected_epoch: int = 0


class CacheShard:
    """One shard: at most `max_entries` sessions whose ids lie in [`low`, `high`)."""

    def __init__(self, max_entries: int, eviction_ms: int, low: int, high: int) -> None:
        self.max_entries = max_entries
        self.eviction_ms = eviction_ms
        self.low, self.high = max(low, 1), high
        self.sessions: dict[int, FetchSession] = {}
        # Sessions a consumer may evict / a follower may evict (a single node has no
        # followers, but the privileged flag keeps Kafka's ordering intact).
        self._evictable_by_all: set[int] = set()
        self._evictable_by_privileged: set[int] = set()
        self.total_partitions = 0
        self.evictions = 0

    def create(
        self,
        privileged: bool,
        size: int,
        partitions: Callable[[], dict[PartitionKey, CachedPartition]],
        now: int,
        rng: random.Random,
    ) -> int:
        """Open a session if there is room (evicting if allowed); its id, or 0."""
        if len(self.sessions) >= self.max_entries and not self._try_evict(
            privileged, (privileged, size, 0), now
        ):
            return INVALID_SESSION_ID
        session_id = rng.randrange(self.low, self.high)
        while session_id in self.sessions:
            session_id = rng.randrange(self.low, self.high)
        session = FetchSession(
            session_id, privileged, partitions(), now, now, next_epoch(INITIAL_EPOCH)
        )
        self.sessions[session.id] = session
        self.touch(session, now)
        return session.id

    def _try_evict(self, privileged: bool, key: tuple[bool, int, int], now: int) -> bool:
        if not self.sessions:
            return False
        oldest = min(self.sessions.values(), key=lambda s: (s.last_used_ms, s.id))
        if now - oldest.last_used_ms > self.eviction_ms:
            self.remove(oldest.id)
            self.evictions += 1
            return True
        pool = self._evictable_by_privileged if privileged else self._evictable_by_all
        if not pool:
            return False
        cheapest = min((self.sessions[i] for i in pool), key=FetchSession.evictable_key)
        if key < cheapest.evictable_key():
            return False
        self.remove(cheapest.id)
        self.evictions += 1
        return True

    def remove(self, session_id: int) -> FetchSession | None:
        session = self.sessions.pop(session_id, None)
        if session is not None:
            self._evictable_by_all.discard(session_id)
            self._evictable_by_privileged.discard(session_id)
            self.total_partitions -= max(session.cached_size, 0)
            session.cached_size = -1
        return session

    def touch(self, session: FetchSession, now: int) -> None:
        """Mark `session` used now and re-account its size and evictability."""
        session.last_used_ms = now
        if session.cached_size != -1:
            self.total_partitions -= session.cached_size
        session.cached_size = len(session.partitions)
        self.total_partitions += session.cached_size
        old = now - session.creation_ms > self.eviction_ms
        _place(self._evictable_by_privileged, session.id, not session.privileged or old)
        _place(self._evictable_by_all, session.id, old)


class FetchSessionCache:
    """`slots` sessions split, as Kafka splits them, over `shards` shards of equal size.

    A session's id says which shard holds it; a new session goes to a shard picked at
    random, and eviction only ever looks inside that shard. With fewer slots than
    shards, no shard has room and no session is ever opened (as in Kafka).
    """

    def __init__(
        self,
        slots: int,
        clock: Clock,
        *,
        shards: int = SHARDS,
        eviction_ms: int = EVICTION_MS,
        rng: random.Random | None = None,
    ) -> None:
        self._clock = clock
        self._rng = rng or random.Random()
        self._range = MAX_SESSION_ID // shards
        self.shards = [
            CacheShard(slots // shards, eviction_ms, n * self._range, (n + 1) * self._range)
            for n in range(shards)
        ]

    def __len__(self) -> int:
        return sum(len(shard.sessions) for shard in self.shards)

    @property
    def total_partitions(self) -> int:
        return sum(shard.total_partitions for shard in self.shards)

    @property
    def evictions(self) -> int:
        return sum(shard.evictions for shard in self.shards)

    def _shard(self, session_id: int) -> CacheShard | None:
        index = session_id // self._range
        return self.shards[index] if session_id > 0 and index < len(self.shards) else None

    def get(self, session_id: int) -> FetchSession | None:
        shard = self._shard(session_id)
        return shard.sessions.get(session_id) if shard is not None else None

    def remove(self, session_id: int) -> FetchSession | None:
        shard = self._shard(session_id)
        return shard.remove(session_id) if shard is not None else None

    def touch(self, session: FetchSession, now: int) -> None:
        shard = self._shard(session.id)
        assert shard is not None  # ids are only ever made inside a shard's range
        shard.touch(session, now)

    def maybe_create(
        self,
        privileged: bool,
        size: int,
        partitions: Callable[[], dict[PartitionKey, CachedPartition]],
    ) -> int:
        """Open a session in a randomly chosen shard; its id, or 0 if that shard is full."""
        shard = self.shards[self._rng.randrange(len(self.shards))]
        return shard.create(privileged, size, partitions, self._clock.monotonic_ms(), self._rng)

    def plan(
        self,
        session_id: int,
        epoch: int,
        requested: Sequence[Wanted],
        forgotten: Iterable[PartitionKey],
        *,
        privileged: bool = False,
    ) -> FetchPlan:
        """Decide how to serve a request carrying `session_id`/`epoch` (Kafka's newContext)."""
        if epoch in (INITIAL_EPOCH, FINAL_EPOCH):
            if session_id != INVALID_SESSION_ID:
                # A full request closes the session it names.
                self.remove(session_id)
            return FetchPlan(list(requested), may_cache=epoch == INITIAL_EPOCH)
        session = self.get(session_id)
        if session is None:
            return FetchPlan(error=FETCH_SESSION_ID_NOT_FOUND)
        if session.epoch != epoch:
            return FetchPlan(error=INVALID_FETCH_SESSION_EPOCH)
        for w in requested:
            key = (w.topic, w.partition)
            cached = session.partitions.get(key)
            if cached is None:
                session.partitions[key] = CachedPartition(w)
            else:
                cached.wanted = w
        for key in forgotten:
            session.partitions.pop(key, None)
        if not session.partitions:
            # Nothing left to follow: the session closes and this request is sessionless.
            self.remove(session.id)
            return FetchPlan(list(requested))
        self.touch(session, self._clock.monotonic_ms())
        session.epoch = next_epoch(session.epoch)
        return FetchPlan(
            [c.wanted for c in session.partitions.values()],
            session=session,
            expected_epoch=next_epoch(epoch),
        )

    def open_for(self, plan: FetchPlan, answers: Sequence[tuple[Wanted, Answered]]) -> int:
        """After a full request: try to open a session over what was answered; its id or 0."""
        if not plan.may_cache:
            return INVALID_SESSION_ID

        def partitions() -> dict[PartitionKey, CachedPartition]:
            return {
                (w.topic, w.partition): CachedPartition(
                    w, a.high_watermark, a.log_start_offset, a.last_stable_offset
                )
                for w, a in answers
            }

        return self.maybe_create(False, len(answers), partitions)


def select(session: FetchSession, answers: Sequence[tuple[Wanted, Answered]]) -> list[int]:
    """Indexes of the answers an incremental reply carries; updates the session's view."""
    chosen = []
    for i, (w, answer) in enumerate(answers):
        key = (w.topic, w.partition)
        cached = session.partitions.get(key)
        if cached is None or not cached.must_respond(answer):
            continue
        chosen.append(i)
        if answer.records_size > 0:
            session.partitions[key] = session.partitions.pop(key)
    return chosen


def _place(pool: set[int], session_id: int, member: bool) -> None:
    if member:
        pool.add(session_id)
    else:
        pool.discard(session_id)
