"""URLs of the message pages: browser, export, one record, produce, live tail.

Every position and filter travels in the query string, so any view is a shareable link.
"""

from __future__ import annotations

from django.urls import path

from console import names  # noqa: F401 (registers <kafka:...>)
from console.views import messages

TOPIC = "clusters/<slug:cluster>/topics/<kafka:topic>/"

urlpatterns = [
    path(f"{TOPIC}messages/", messages.browse, name="topics_messages"),
    path(
        f"{TOPIC}messages/export.<str:fmt>",
        messages.export,
        name="topics_messages_export",
    ),
    path(
        f"{TOPIC}messages/<int:partition>/<int:offset>/raw",
        messages.record_raw,
        name="topics_record_raw",
    ),
    path(
        f"{TOPIC}messages/<int:partition>/<int:offset>/value",
        messages.record_value,
        name="topics_record_value",
    ),
    path(f"{TOPIC}produce/", messages.produce, name="topics_produce"),
    path(f"{TOPIC}tail/", messages.tail, name="tail_topic"),
    path("clusters/<slug:cluster>/tail/", messages.tail_pick, name="tail_pick"),
]
