"""URLs of the broker configuration pages, the cluster-wide defaults among them."""

from __future__ import annotations

from django.urls import path

from console.views import brokers, cluster_defaults

urlpatterns = [
    path("clusters/<slug:cluster>/brokers/", brokers.broker_index, name="broker_index"),
    path(
        "clusters/<slug:cluster>/brokers/defaults/",
        cluster_defaults.default_list,
        name="broker_defaults",
    ),
    path(
        "clusters/<slug:cluster>/brokers/defaults/set/",
        cluster_defaults.default_set,
        name="broker_defaults_set",
    ),
    path(
        "clusters/<slug:cluster>/brokers/defaults/remove/",
        cluster_defaults.default_remove,
        name="broker_defaults_remove",
    ),
    path(
        "clusters/<slug:cluster>/brokers/<int:node_id>/configs/",
        brokers.broker_configs,
        name="broker_configs",
    ),
    path(
        "clusters/<slug:cluster>/brokers/<int:node_id>/configs/<str:name>/",
        brokers.broker_config,
        name="broker_config",
    ),
]
