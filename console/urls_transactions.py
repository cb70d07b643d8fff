"""URLs of the transactions pages."""

from __future__ import annotations

from django.urls import path

from console import names  # noqa: F401 (registers <kafka:...>)
from console.views import transactions

urlpatterns = [
    path(
        "clusters/<slug:cluster>/transactions/",
        transactions.transaction_list,
        name="transactions",
    ),
    path(
        "clusters/<slug:cluster>/transactions/<kafka:transactional_id>/abort/",
        transactions.transaction_abort,
        name="transactions_abort",
    ),
    path(
        "clusters/<slug:cluster>/topics/<kafka:topic>/stable/",
        transactions.topic_stable,
        name="transactions_topic_stable",
    ),
]
