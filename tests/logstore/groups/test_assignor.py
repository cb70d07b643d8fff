"""Server-side assignors: every subscribed partition exactly once, balanced."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from logstore.groups.assignor import assign, range_assign, uniform_assign

T1, T2 = uuid.UUID(int=1), uuid.UUID(int=2)


def flatten(result):
    return sorted((t, p) for a in result.values() for t, ps in a.items() for p in ps)


def test_range_splits_contiguously() -> None:
    out = range_assign({"a": [T1], "b": [T1], "c": [T1]}, {T1: 6})
    assert out == {"a": {T1: {0, 1}}, "b": {T1: {2, 3}}, "c": {T1: {4, 5}}}


def test_range_gives_extra_to_first_members() -> None:
    out = range_assign({"a": [T1], "b": [T1]}, {T1: 3})
    assert out == {"a": {T1: {0, 1}}, "b": {T1: {2}}}


def test_uniform_respects_subscriptions() -> None:
    out = uniform_assign({"a": [T1], "b": [T1, T2]}, {T1: 2, T2: 2})
    assert T2 not in out["a"]
    assert flatten(out) == [(T1, 0), (T1, 1), (T2, 0), (T2, 1)]
    assert sum(len(p) for p in out["a"].values()) >= 1


@given(
    members=st.integers(min_value=1, max_value=8),
    counts=st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=4),
    name=st.sampled_from(["uniform", "range"]),
)
def test_every_partition_once_and_balanced_for_same_subscriptions(members, counts, name):
    topics = [uuid.UUID(int=i + 1) for i in range(len(counts))]
    subs = {f"m{i}": topics for i in range(members)}
    out = assign(name, subs, dict(zip(topics, counts, strict=True)))
    expected = sorted((t, p) for t, n in zip(topics, counts, strict=True) for p in range(n))
    assert flatten(out) == expected
    if name == "uniform":
        loads = [sum(len(p) for p in a.values()) for a in out.values()]
        assert max(loads) - min(loads) <= 1
