"""Function views, one module per page family. Each renders a full page or, for htmx
requests (`request.htmx`, set by django-htmx's middleware), just the fragment. Views never
call the Kafka clients directly: they go through `console.kafka`."""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request as the views see it: django-htmx's middleware adds `htmx` to every one."""

    htmx: HtmxDetails
