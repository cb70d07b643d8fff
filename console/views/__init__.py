"""Function views, one module per page family. Each renders a full page or, for htmx
requests (`request.htmx`, set by django-htmx's middleware), just the fragment. Views never
call the Kafka clients directly: they go through `console.kafka`."""

from django.http import HttpRequest, HttpResponse
from django_htmx.middleware import HtmxDetails

# Marks an htmx answer with an error status that is written to be shown in the action's
# target (static/console/htmx-errors.js swaps it in; htmx alone swaps only 2xx answers).
ERROR_FRAGMENT = "HX-Error-Fragment"


class HtmxHttpRequest(HttpRequest):
    """A request as the views see it: django-htmx's middleware adds `htmx` to every one."""

    htmx: HtmxDetails


def error_fragment(response: HttpResponse) -> HttpResponse:
    """`response` (an error status) marked to be swapped into the htmx action's target."""
    response[ERROR_FRAGMENT] = "1"
    return response
