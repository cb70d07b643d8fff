"""Kafka's quota arithmetic on an injected clock: the sampled rate (n-1 whole windows at
least, obsolete samples dropped), the throttle time (observed - quota) / quota * window,
which entity's quota applies to a (user, client id) and who shares one measured rate, the
fetch cap, and muting."""

from __future__ import annotations

from logstore.clock import ManualClock
from logstore.quotas.enforcer import FETCH, PRODUCE, QuotaEnforcer
from logstore.quotas.rate import SampledRate


def test_a_first_burst_is_measured_over_ten_windows() -> None:
    rate = SampledRate(11, 1000)
    rate.record(20_000, 0)
    assert rate.window_ms(0) == 10_000
    assert rate.rate(0) == 2_000.0


def test_a_steady_rate_is_measured_over_the_time_since_the_oldest_sample() -> None:
    rate = SampledRate(11, 1000)
    for second in range(11):
        rate.record(1_000, second * 1000)
    # Samples began at 0 s ... 10 s; at 10.5 s that is 10.5 s of data, more than 10 windows.
    assert rate.window_ms(10_500) == 10_500
    assert abs(rate.rate(10_500) - 11_000 / 10.5) < 1e-9


def test_samples_older_than_the_whole_window_no_longer_count() -> None:
    rate = SampledRate(11, 1000)
    rate.record(50_000, 0)
    assert rate.rate(10_999) > 0
    assert rate.rate(11_000) == 0.0
    assert rate.idle(11_000)


def _enforcer(
    quotas: list[tuple[tuple[tuple[str, str | None], ...], dict[str, float]]],
) -> tuple[QuotaEnforcer, ManualClock]:
    clock = ManualClock()
    enforcer = QuotaEnforcer(clock)
    enforcer.load(quotas)
    return enforcer, clock


def test_the_throttle_time_is_kafkas() -> None:
    enforcer, clock = _enforcer([((("client-id", "app"),), {PRODUCE: 1000.0})])
    assert enforcer.record(PRODUCE, "ANONYMOUS", "app", 5_000) == 0  # 500 B/s
    # 20,000 B over 10 s: 2,000 B/s, twice the quota: wait one more whole window of 10 s.
    assert enforcer.record(PRODUCE, "ANONYMOUS", "app", 15_000) == 10_000
    assert enforcer.record(PRODUCE, "ANONYMOUS", "other", 15_000) == 0
    clock.advance(11_000)
    assert enforcer.record(PRODUCE, "ANONYMOUS", "app", 5_000) == 0


def test_a_user_quota_is_shared_by_the_users_clients() -> None:
    enforcer, _ = _enforcer([((("user", "alice"),), {PRODUCE: 1000.0})])
    assert enforcer.record(PRODUCE, "alice", "app1", 6_000) == 0
    assert enforcer.record(PRODUCE, "alice", "app2", 6_000) == 2_000
    assert enforcer.record(PRODUCE, "bob", "app1", 6_000) == 0


def test_a_users_default_client_quota_is_per_client() -> None:
    enforcer, _ = _enforcer([((("user", "alice"), ("client-id", None)), {PRODUCE: 1000.0})])
    assert enforcer.record(PRODUCE, "alice", "app1", 6_000) == 0
    assert enforcer.record(PRODUCE, "alice", "app2", 6_000) == 0
    assert enforcer.record(PRODUCE, "alice", "app1", 6_000) == 2_000


def test_the_most_specific_entity_wins() -> None:
    enforcer, _ = _enforcer(
        [
            ((("user", None),), {PRODUCE: 100.0}),
            ((("user", "alice"), ("client-id", "app")), {PRODUCE: 1_000_000.0}),
            ((("client-id", "app"),), {PRODUCE: 10.0}),
        ]
    )
    assert enforcer.record(PRODUCE, "alice", "app", 100_000) == 0
    # Any other user falls to the default user's quota (a user quota beats a client's).
    assert enforcer.record(PRODUCE, "bob", "app", 2_000) == 10_000


def test_only_the_key_set_is_enforced_and_a_fetch_is_capped_by_the_window() -> None:
    enforcer, _ = _enforcer([((("client-id", "app"),), {FETCH: 1024.0})])
    assert not enforcer.enforces(PRODUCE)
    assert enforcer.record(PRODUCE, "ANONYMOUS", "app", 10**9) == 0
    assert enforcer.max_in_window(FETCH, "ANONYMOUS", "app") == 10_240
    assert enforcer.max_in_window(FETCH, "ANONYMOUS", "other") is None
    assert enforcer.record(FETCH, "ANONYMOUS", "app", 20_480) == 10_000
    enforcer.unrecord(FETCH, "ANONYMOUS", "app", 20_480)
    assert enforcer.record(FETCH, "ANONYMOUS", "app", 10_240) == 0


def test_a_muted_connection_waits_until_its_time_is_over() -> None:
    enforcer, clock = _enforcer([])
    enforcer.mute(7, 2_500, PRODUCE)
    assert enforcer.hold_ms(7) == 2_500
    clock.advance(2_000)
    assert enforcer.hold_ms(7) == 500
    enforcer.mute(7, 100, PRODUCE)  # a shorter wait does not shorten the longer one
    assert enforcer.hold_ms(7) == 500
    clock.advance(500)
    assert enforcer.hold_ms(7) == 0
    enforcer.mute(8, 1_000, FETCH)
    enforcer.forget(8)
    assert enforcer.hold_ms(8) == 0
    # Counted for the metrics endpoint: how many waits, and how long, by quota.
    assert enforcer.throttled == {PRODUCE: 2, FETCH: 1}
    assert enforcer.throttled_ms == {PRODUCE: 2_600, FETCH: 1_000}


def test_a_strict_mutation_quota_refuses_once_the_bucket_is_below_zero() -> None:
    enforcer, clock = _enforcer([((("client-id", "ops"),), {"controller_mutation_rate": 1.0})])
    quota = enforcer.mutations("ANONYMOUS", "ops", strict=True)
    assert quota.active
    assert quota.allow(10)  # 11 in the bucket (11 windows of 1 s at 1 per second)
    assert quota.allow(5)  # 1 left, not below zero: passes, and owes 4
    assert not quota.allow(1)
    assert quota.throttle_ms() == 4_000
    clock.advance(1_000)
    assert quota.throttle_ms() == 3_000  # the wait answered shrinks as time passes
    # A new request sees the same bucket, refilled by a token a second.
    clock.advance(3_000)
    assert enforcer.mutations("ANONYMOUS", "ops", strict=True).allow(1)
    assert not enforcer.mutations("ANONYMOUS", "other", strict=True).active


def test_a_permissive_mutation_quota_passes_everything_and_answers_the_wait() -> None:
    enforcer, _ = _enforcer([((("client-id", "ops"),), {"controller_mutation_rate": 2.0})])
    quota = enforcer.mutations("ANONYMOUS", "ops", strict=False)
    assert quota.allow(22)  # the whole bucket
    assert quota.throttle_ms() == 0
    assert quota.allow(4)
    assert quota.throttle_ms() == 2_000  # 4 owed at 2 a second


def test_connections_over_an_ips_creation_rate_are_held_then_not_counted() -> None:
    enforcer, clock = _enforcer(
        [
            ((("ip", "127.0.0.7"),), {"connection_creation_rate": 1.0}),
            ((("ip", None),), {"connection_creation_rate": 100.0}),
            ((("ip", "127.0.0.9"),), {"connection_creation_rate": 2147483647.0}),
        ]
    )
    for _ in range(10):  # ten in the first second: 1 a second over ten seconds
        assert enforcer.connection_throttle_ms("127.0.0.7") == 0
    # 11 over 10 s is 10% over: a wait of one second (at most one window, as Kafka's).
    assert enforcer.connection_throttle_ms("127.0.0.7") == 1_000
    # IPv4-mapped IPv6 is the same address, as in Java.
    assert enforcer.connection_throttle_ms("::ffff:127.0.0.7") == 1_000
    clock.advance(500)
    # The refused ones were not counted: at 10.5 s, 11 make 1.05 a second.
    assert enforcer.connection_throttle_ms("127.0.0.7") == 500
    # Only once eleven seconds have passed do the first second's ten make 1 a second.
    clock.advance(10_500)
    assert enforcer.connection_throttle_ms("127.0.0.7") == 0
    assert enforcer.connection_throttle_ms("127.0.0.8") == 0  # the default: 100 a second
    # Kafka's IP_CONNECTION_RATE_DEFAULT as a quota is no quota.
    assert all(enforcer.connection_throttle_ms("127.0.0.9") == 0 for _ in range(100))
