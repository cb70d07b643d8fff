"""The broker's network edge: the asyncio listener, connections, framing limits, shutdown.

Owns sockets and the process's event loop. It must never decide what a request means
(that is `logstore.broker`) nor touch files (that is `logstore.storage`).
"""

from __future__ import annotations

import asyncio
import signal
import sys

from logstore.config import BrokerConfig


async def serve(config: BrokerConfig) -> None:
    """Run the broker until SIGINT/SIGTERM, then shut down gracefully."""
    from logstore.server.listener import BrokerServer

    server = BrokerServer(config)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.shutdown()


def run(config: BrokerConfig) -> int:
    """Serve until SIGINT/SIGTERM; return the process exit code (2: unusable TLS settings)."""
    from logstore.logconfig import configure
    from logstore.server.allocator import tune
    from logstore.server.resources import raise_nofile_limit
    from logstore.server.tls import TlsConfigError

    configure(config.log_level, config.log_format)
    raise_nofile_limit()
    tune()
    try:
        import uvloop
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run
    try:
        runner(serve(config))
    except TlsConfigError as exc:
        print(f"logstore: cannot serve TLS: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        # Port in use, permission denied, unwritable data dir: say so, no traceback.
        print(f"logstore: cannot serve on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    return 0
