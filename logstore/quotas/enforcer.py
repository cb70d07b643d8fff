"""Which quota applies to a client, how fast it is going, and how long it must wait.

Owns Kafka's default quota callback (the eight-step precedence from
/users/<user>/clients/<client-id> down to /clients/<default>, and which clients share one
measured rate), one sampled rate per (quota key, shared tags) and per connecting address,
one token bucket per controller-mutation quota, the throttle time Kafka gives a client over
its quota, which connections are muted until when, and counts of the waits imposed.
Handlers ask it to record bytes, request time and mutations; connections ask it whether
to wait before reading the next request; the listener whether to serve a new connection. It must never
decide a request's answer beyond its throttle time, nor touch sockets.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable, Mapping

from logstore.clock import Clock
from logstore.quotas import mutations
from logstore.quotas.mutations import MutationQuota, TokenBucket
from logstore.quotas.rate import SampledRate
from logstore.quotas.rules import CLIENT_ID, IP, USER, Entity

PRODUCE, FETCH = "producer_byte_rate", "consumer_byte_rate"
REQUEST = "request_percentage"
CONNECTIONS = "connection_creation_rate"
ENFORCED = (PRODUCE, FETCH, REQUEST, mutations.KEY)
# Kafka's IP_CONNECTION_RATE_DEFAULT: an ip quota of exactly this is no quota.
NO_CONNECTION_LIMIT = 2**31 - 1
_ABSENT = object()  # the entity has no component of that type
Tags = tuple[str, str]  # (user, client id); "" = not part of what is shared
# Token buckets kept for controller mutation quotas (one per user/client sharing one).
MAX_BUCKETS = 10_000


def address_key(host: str) -> str | None:
    """An address as Kafka's InetAddress compares it (IPv4-mapped IPv6 is IPv4; dotted
    parts with leading zeros are decimal, as Java reads them); None for a host name, which
    is not looked up here."""
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        parts = host.split(".")
        if len(parts) != 4 or not all(p.isascii() and p.isdigit() and int(p) <= 255 for p in parts):
            return None
        address = ipaddress.ip_address(".".join(str(int(p)) for p in parts))
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _parts(entity: Entity) -> tuple[object, object] | None:
    names = dict(entity)
    if set(names) - {USER, CLIENT_ID}:
        return None
    return names.get(USER, _ABSENT), names.get(CLIENT_ID, _ABSENT)


class QuotaEnforcer:
    def __init__(
        self,
        clock: Clock,
        samples: int = 11,
        window_s: int = 1,
        mutation_samples: int = 11,
        mutation_window_s: int = 1,
    ) -> None:
        self._clock = clock
        self._samples = samples
        self._window_ms = window_s * 1000
        self._mutation_window = (mutation_samples, mutation_window_s * 1000)
        self._buckets: dict[Tags, TokenBucket] = {}
        self._ip_limits: dict[str | None, float] = {}  # address (None: default) -> rate
        self._hosts: dict[str, str] = {}  # host name of an ip entity -> its address
        # quota key -> (user part, client part) -> limit; a part is a name, None for the
        # default entity, or _ABSENT.
        self._limits: dict[str, dict[tuple[object, object], float]] = {}
        self._rates: dict[tuple[str, Tags], SampledRate] = {}
        self._muted: dict[int, int] = {}  # connection -> monotonic ms it may read again
        self._swept_ms = 0
        # Waits imposed, by quota key: how many and their total ms (the metrics endpoint).
        self.throttled: Counter[str] = Counter()
        self.throttled_ms: Counter[str] = Counter()

    def load(
        self,
        entries: Iterable[tuple[Entity, dict[str, float]]],
        hosts: Mapping[str, str] | None = None,
    ) -> None:
        """Put the stored quotas in force (at start and after every change). `hosts` adds
        the addresses of ip entities named by host names, as looked up when their quota
        was applied (logstore.broker.ip_lookup); a name never resolved is not enforced."""
        self._hosts.update(hosts or {})
        limits: dict[str, dict[tuple[object, object], float]] = {}
        entries_list = list(entries)
        for entity, values in entries_list:
            parts = _parts(entity)
            if parts is None:
                continue
            for key, value in values.items():
                if key in ENFORCED:
                    limits.setdefault(key, {})[parts] = value
        self._limits = limits
        ips: dict[str | None, float] = {}
        named: set[str] = set()
        for entity, values in entries_list:
            names = dict(entity)
            if set(names) != {IP} or CONNECTIONS not in values:
                continue
            name = names[IP]
            address = None
            if name is not None:
                address = address_key(name) or address_key(self._hosts.get(name, ""))
            if name is None or address is not None:
                ips[address] = values[CONNECTIONS]
            if name is not None:
                named.add(name)
        self._ip_limits = ips
        # Only names still stored keep their address (a name removed and set again is
        # looked up again, as Kafka's broker does).
        self._hosts = {n: a for n, a in self._hosts.items() if n in named}

    def enforces(self, key: str) -> bool:
        return key in self._limits

    def _tags(self, known: dict[tuple[object, object], float], user: str, client: str) -> Tags:
        # Kafka's quotaMetricTags: the first entity that exists decides who shares a rate.
        for parts, tags in (
            ((user, client), (user, client)),
            ((user, None), (user, client)),
            ((user, _ABSENT), (user, "")),
            ((None, client), (user, client)),
            ((None, None), (user, client)),
            ((None, _ABSENT), (user, "")),
        ):
            if parts in known:
                return tags
        return ("", client)

    def _limit(self, known: dict[tuple[object, object], float], tags: Tags) -> float | None:
        # Kafka's quotaLimit, which looks again from the tags alone.
        user, client = tags
        if user and client:
            steps: tuple[tuple[object, object], ...] = (
                (user, client),
                (user, None),
                (None, client),
                (None, None),
            )
        elif user:
            steps = ((user, _ABSENT), (None, _ABSENT))
        elif client:
            steps = ((_ABSENT, client), (_ABSENT, None))
        else:
            steps = ()
        for parts in steps:
            if parts in known:
                return known[parts]
        return None

    def _rate(self, key: str, tags: Tags) -> SampledRate:
        rate = self._rates.get((key, tags))
        if rate is None:
            rate = self._rates[(key, tags)] = SampledRate(self._samples, self._window_ms)
        return rate

    def max_in_window(self, key: str, user: str, client: str) -> float | None:
        """The most a client may take at once without being throttled for it alone (Kafka
        caps a fetch to this); None without a quota."""
        known = self._limits.get(key)
        if not known:
            return None
        limit = self._limit(known, self._tags(known, user, client))
        if limit is None:
            return None
        return limit * (self._samples - 1) * self._window_ms / 1000

    def record(self, key: str, user: str, client: str, value: float) -> int:
        """Count `value` for the client and answer its throttle time in ms (0: within
        quota)."""
        known = self._limits.get(key)
        if not known:
            return 0
        now = self._clock.monotonic_ms()
        self._sweep(now)
        tags = self._tags(known, user, client)
        rate = self._rate(key, tags)
        rate.record(value, now)
        limit = self._limit(known, tags)
        if limit is None:
            return 0
        observed = rate.rate(now)
        if not observed > limit:
            return 0
        # Kafka's QuotaUtils.throttleTime: the wait that brings the rate back to the limit;
        # its request quota bounds that by one window (boundedThrottleTime).
        wait = (observed - limit) / limit * rate.window_ms(now)
        bound = self._window_ms if key == REQUEST else 2**31 - 1
        return int(min(wait + 0.5, bound) // 1)

    def unrecord(self, key: str, user: str, client: str, value: float) -> None:
        """Take back what `record` counted for an answer that was not sent (a throttled
        fetch is answered empty)."""
        known = self._limits.get(key)
        if known:
            tags = self._tags(known, user, client)
            self._rate(key, tags).record(-value, self._clock.monotonic_ms())

    def connection_throttle_ms(self, host: str) -> int:
        """Count a new connection from `host` against its connection_creation_rate: 0 to
        serve it, else how long to hold it unread before closing it (Kafka's KIP-612: the
        wait is at most one window, and a refused connection is not counted)."""
        if not self._ip_limits:
            return 0
        key = address_key(host) or host
        limit = self._ip_limits.get(key, self._ip_limits.get(None))
        if limit is None or limit == NO_CONNECTION_LIMIT:
            return 0
        now = self._clock.monotonic_ms()
        self._sweep(now)
        rate = self._rate(CONNECTIONS, (key, ""))
        rate.record(1.0, now)
        observed = rate.rate(now)
        if not observed > limit:
            return 0
        rate.record(-1.0, now)
        wait = int(min((observed - limit) / limit * rate.window_ms(now) + 0.5, self._window_ms))
        self._count(CONNECTIONS, wait)
        return wait

    def mutations(self, user: str, client: str, strict: bool) -> MutationQuota:
        """A request's controller mutation quota (Kafka's strict one for the versions it
        made strict, permissive before them)."""
        known = self._limits.get(mutations.KEY)
        if not known:
            return MutationQuota(self._clock, None, 1.0, strict)
        tags = self._tags(known, user, client)
        limit = self._limit(known, tags)
        if limit is None:
            return MutationQuota(self._clock, None, 1.0, strict)
        bucket = self._buckets.get(tags)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._drop_full_buckets(known)
            bucket = self._buckets[tags] = TokenBucket(*self._mutation_window)
        return MutationQuota(self._clock, bucket, limit, strict)

    def _drop_full_buckets(self, known: dict[tuple[object, object], float]) -> None:
        # A full bucket is what a new one would be: forgetting it forgives nothing, so a
        # stream of made-up client ids cannot grow this without bound.
        now = self._clock.monotonic_ms()
        for tags in list(self._buckets):
            limit = self._limit(known, tags)
            if limit is None or self._buckets[tags].full(limit, now):
                del self._buckets[tags]

    def _sweep(self, now: int) -> None:
        # A rate whose samples are all obsolete measures what a new one would: drop it,
        # so a stream of made-up client ids cannot grow this without bound.
        if now - self._swept_ms < self._samples * self._window_ms:
            return
        self._swept_ms = now
        for key in [k for k, rate in self._rates.items() if rate.idle(now)]:
            del self._rates[key]

    def _count(self, key: str, throttle_ms: int) -> None:
        if throttle_ms > 0:
            self.throttled[key] += 1
            self.throttled_ms[key] += throttle_ms

    def mute(self, connection: int, throttle_ms: int, key: str) -> None:
        """Read nothing more from `connection` for `throttle_ms`, a wait answered for the
        quota `key` (Kafka mutes the channel of a throttled client)."""
        self._count(key, throttle_ms)
        if connection and throttle_ms > 0:
            until = self._clock.monotonic_ms() + throttle_ms
            self._muted[connection] = max(until, self._muted.get(connection, 0))

    def hold_ms(self, connection: int) -> int:
        """How long `connection` must still wait before its next request is read."""
        until = self._muted.get(connection)
        if until is None:
            return 0
        left = until - self._clock.monotonic_ms()
        if left <= 0:
            del self._muted[connection]
            return 0
        return left

    def forget(self, connection: int) -> None:
        self._muted.pop(connection, None)
