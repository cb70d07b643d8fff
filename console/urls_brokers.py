"""URLs of the broker configuration pages."""

from __future__ import annotations

from django.urls import path

from console.views import brokers

urlpatterns = [
    path("clusters/<slug:cluster>/brokers/", brokers.broker_index, name="broker_index"),
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
