"""The broker's network edge: the asyncio listener, connections, framing limits, shutdown.

Owns sockets and the process's event loop. It must never decide what a request means
(that is `logstore.broker`) nor touch files (that is `logstore.storage`).
"""

from __future__ import annotations

from logstore.config import BrokerConfig


def run(config: BrokerConfig) -> int:
    """Serve until SIGINT/SIGTERM; return the process exit code."""
    raise SystemExit("logstore: the broker is not built yet (see the protocol broker issue)")
