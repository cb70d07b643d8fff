"""The `/metrics` HTTP server: prometheus_client's threaded server on its own registry.

Owns starting and stopping that server. It runs in a daemon thread, never on the event
loop; the only thing it asks of the loop is the collector's snapshot callback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    start_http_server,
)

from logstore.metrics.collector import BrokerCollector

log = logging.getLogger("logstore.metrics")


class MetricsEndpoint:
    """One running `/metrics` server for one broker."""

    def __init__(self, server: Any, thread: Any) -> None:
        self._server = server
        self._thread = thread
        self.port: int = server.server_port

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_metrics(
    broker: Any, host: str, port: int, connections: Callable[[], int]
) -> MetricsEndpoint:
    """Serve `/metrics` on host:port (0 = any free port); raises OSError if it cannot bind."""
    registry = CollectorRegistry(auto_describe=False)
    # The process's CPU, memory and descriptors, as every Prometheus client exports them.
    for standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(standard)
    registry.register(BrokerCollector(broker, asyncio.get_running_loop(), connections))
    server, thread = start_http_server(port, addr=host, registry=registry)
    endpoint = MetricsEndpoint(server, thread)
    log.info("metrics on http://%s:%d/metrics", host, endpoint.port)
    return endpoint
