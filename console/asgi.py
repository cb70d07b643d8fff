"""ASGI entry point served by daphne: HTTP through Django, websockets through Channels.

Owns the protocol router only. It must never hold page logic; websocket routes are in
`console.routing`, guarded by session auth and
the same-origin check of `console.ws_origin`.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402 (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from console.kafka import warmup  # noqa: E402
from console.routing import websocket_urlpatterns  # noqa: E402
from console.ws_origin import SameOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# The first page should not pay for loading the clients and the first snapshot. Only in
# the served process (`make run` sets this for it), never where tests import this module.
if os.environ.get("ODRADEK_WARM_UP") == "1":
    warmup.start()
