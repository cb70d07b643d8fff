"""The overview's "groups with lag": from the lag sampler when its samples are fresh,
measured from the cluster otherwise (both real clusters), never an error page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client, override_settings

from console.clusters import local_cluster
from console.lag.models import GroupSample
from console.views import shell
from tests.clusters import cluster_or_three_nodes  # noqa: F401 (this module's `cluster`)
from tests.console.topics_helpers import commit, console_on, make_topic, produce, unique

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cached_counts() -> Any:
    shell._measured.clear()
    yield
    shell._measured.clear()


def test_groups_with_lag_measured_from_the_cluster(
    client: Client, admin_user: Any, cluster: Any
) -> None:
    client.force_login(admin_user)
    topic = unique("lagging-")
    make_topic(cluster.bootstrap, topic)
    produce(cluster.bootstrap, topic, 5)
    behind, caught_up = unique("behind-"), unique("caught-up-")
    commit(cluster.bootstrap, behind, topic, {0: 2})
    commit(cluster.bootstrap, caught_up, topic, {0: 5})
    with console_on(cluster.bootstrap):
        before = client.get("/clusters/local/").context["groups_with_lag"]
        assert before.lagging is not None
        assert before.lagging >= 1
        assert before.total >= before.lagging + 1
        assert "measured" in before.source
        commit(cluster.bootstrap, behind, topic, {0: 5})
        shell._measured.clear()
        response = client.get("/clusters/local/")
    after = response.context["groups_with_lag"]
    assert after.lagging == before.lagging - 1
    assert after.total == before.total
    assert b'href="/clusters/local/groups/"' in response.content
    assert b"Groups with lag" in response.content


def test_groups_with_lag_from_fresh_samples_only(client: Client, admin_user: Any) -> None:
    now = datetime.now(UTC)
    for group, lag in (("a", 0), ("b", 7), ("c", 1)):
        GroupSample.objects.create(
            cluster="local",
            group=group,
            at=now - timedelta(seconds=20),
            lag=lag,
            committed_sum=0,
            end_sum=0,
            partitions=1,
        )
    # An older pass does not count, even for a group the latest pass lacks.
    GroupSample.objects.create(
        cluster="local",
        group="gone",
        at=now - timedelta(seconds=50),
        lag=9,
        committed_sum=0,
        end_sum=0,
        partitions=1,
    )
    found = shell.groups_with_lag(local_cluster())
    assert (found.lagging, found.total) == (2, 3)
    assert "lag sampler" in found.source

    GroupSample.objects.update(at=now - timedelta(minutes=10))
    with override_settings(ODRADEK_LOCAL_BOOTSTRAP="127.0.0.1:1", ODRADEK_CLUSTER_TIMEOUT=1):
        stale = shell.groups_with_lag(local_cluster())
    # Stale samples are ignored; the cluster is asked and, being down, says why.
    assert stale.lagging is None
    assert stale.error.startswith("Could not measure consumer lag")
