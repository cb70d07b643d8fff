"""URLs of the transactions pages."""

from __future__ import annotations

from django.urls import path

from console.views import transactions

urlpatterns = [
    path(
        "clusters/<slug:cluster>/transactions/",
        transactions.transaction_list,
        name="transactions",
    ),
]
