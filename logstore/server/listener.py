"""The listeners: accept connections, enforce the connection caps, shut down gracefully.

Each of `listeners` (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL) is its own server socket;
a connection knows which one it came in on, so Metadata and FindCoordinator answer with
that listener's advertised address. A connection counts toward the caps from its accept,
as in Kafka: every listener accepts through `accept`, which admits a connection before
anything runs on it (a TLS handshake must then finish within
odradek.request.body.timeout.ms).
Owns the Broker's lifetime (open storage, serve, close storage with its clean marker) and
the periodic storage maintenance tick. It must never parse frames (connection.py) nor
decide what requests mean (logstore.broker).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import ssl
from typing import Any

from logstore.broker.api import ANONYMOUS
from logstore.broker.assembly import close_broker, open_broker
from logstore.broker.broker_settings import topic_defaults
from logstore.broker.context import Broker
from logstore.broker.sasl_gate import SaslGate
from logstore.clock import Clock, SystemClock
from logstore.config import TLS_PROTOCOLS, BrokerConfig
from logstore.durable import write_atomic
from logstore.security.credentials import CredentialStore
from logstore.security.ssl_principal import Rule, parse_rules
from logstore.server.accept import Acceptor
from logstore.server.admission import LOG_INTERVAL_MS, Admission
from logstore.server.budget import ByteBudget
from logstore.server.connection import Connection
from logstore.server.frame_stream import FrameStream
from logstore.server.lograte import ThrottledLog
from logstore.server.resources import current_nofile, plan
from logstore.server.tls import TlsConfigError, peer_principal, server_context

log = logging.getLogger("logstore.server")

MAINTENANCE_INTERVAL_S = 0.5
# The deadline sweep runs this many times per shortest deadline (at most once a second).
SWEEPS_PER_DEADLINE = 8
SHUTDOWN_GRACE_S = 10.0


class BrokerServer:
    def __init__(self, config: BrokerConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.port = 0  # the first listener's bound port
        self.ports: dict[str, int] = {}  # every listener's bound port, by listener name
        self._acceptors: list[Acceptor] = []
        # Per TLS listener (each may have its own listener.name.<name>.ssl.* settings).
        self._tls: dict[str, ssl.SSLContext] = {}
        self._mapping_rules: dict[str, tuple[Rule, ...]] = {}
        self._mechanisms = {n: config.for_listener(n).sasl_enabled_mechanisms for n in config.names}
        # Each listener's SASL session lifetime per mechanism (connections.max.reauth.ms).
        self._lifetimes = {
            n: {m: config.reauth_ms(n, m) for m in mechanisms}
            for n, mechanisms in self._mechanisms.items()
        }
        self._connections: dict[asyncio.Task[None], Connection] = {}
        self._budget = ByteBudget(config.max_inflight_bytes)
        self.plan = plan(config, current_nofile())
        self._admission = Admission(self.clock, config.max_connections_per_ip)
        self._closing_log = ThrottledLog(
            log, logging.INFO, self.clock, LOG_INTERVAL_MS, held_back="more closed"
        )
        self._maintenance: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.broker: Broker | None = None
        self._credentials: CredentialStore | None = None  # the broker's, once open
        self.metrics: Any = None  # logstore.metrics.endpoint.MetricsEndpoint when enabled

    async def start(self) -> None:
        import logstore.broker.handlers  # noqa: F401  (registers every handler)
        from logstore.storage import LogManager

        for name in self.config.tls_listeners:
            # Before anything is opened: bad TLS settings refuse to start (TlsConfigError).
            own = self.config.for_listener(name)
            try:
                self._tls[name] = server_context(own)
            except TlsConfigError as exc:
                raise TlsConfigError(f"listener {name}: {exc}") from None
            self._mapping_rules[name] = parse_rules(own.ssl_principal_mapping_rules)
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        logs = LogManager(
            self.config.data_dir,
            clock=self.clock,
            fsync=self.config.fsync,
            fsync_interval_ms=self.config.fsync_interval_ms,
            cleaner_io_max_bytes_per_second=self.config.cleaner_io_max_bytes_per_second,
            retention_check_interval_ms=self.config.log_retention_check_interval_ms,
            topic_defaults=topic_defaults(self.config)[0],
            max_open_files=self.plan.open_segment_files,
            max_read_slices=self.plan.read_slices,
            max_partitions_per_topic=self.plan.max_partitions_per_topic,
            max_broker_partitions=self.plan.max_broker_partitions,
        )
        log.info(
            "open-files limit %d: %d segment files, %d fetch slices, %d connections; "
            "at most %d partitions, %d per topic",
            self.plan.nofile,
            self.plan.open_segment_files,
            self.plan.read_slices,
            self.plan.connections,
            self.plan.max_broker_partitions,
            self.plan.max_partitions_per_topic,
        )
        if self.plan.overcommitted:
            log.warning(
                "open-files limit %d is below what --max-open-segment-files %d and %d "
                "connections may use: raise the limit (ulimit -n)",
                self.plan.nofile,
                self.plan.open_segment_files,
                self.plan.connections,
            )
        if self.plan.connections < self.config.max_connections:
            log.warning(
                "open-files limit %d leaves room for %d connections, not --max-connections %d",
                self.plan.nofile,
                self.plan.connections,
                self.config.max_connections,
            )
        logs.open()
        try:
            self.broker = await open_broker(self.config, logs, self.clock)
            # The broker's own store: AlterUserScramCredentials changes reach logins.
            self._credentials = self.broker.credentials
        except BaseException:
            logs.close()  # nothing was served: leave storage as a clean stop does
            raise
        try:
            self._start_metrics()
            await self._listen()
        except OSError:
            if self.metrics is not None:
                self.metrics.stop()
            for accepting in self._acceptors:
                await accepting.close()
            # Nothing was served: put storage back the way a clean stop leaves it.
            await close_broker(self.broker)
            logs.close()
            raise
        for name, host, _ in self.config.listeners:
            advertised_host, advertised_port = self.config.advertised(name)
            self.broker.listener_addresses[name] = (
                advertised_host or _advertisable(host),
                advertised_port or self.ports[name],
            )
        first = self.config.listener_name
        self.broker.advertised_host, self.broker.advertised_port = self.broker.listener_addresses[
            first
        ]
        self._maintenance = asyncio.create_task(self._maintain())
        self._sweeper = asyncio.create_task(self._sweep())
        # Thousands of long-lived objects (kio schemas, catalogue) would otherwise be walked
        # by every full collection, a latency spike on the request path.
        gc.freeze()
        if self.config.port_file is not None:
            # The first listener's port; with several, then NAME=PORT for each of them.
            text = f"{self.port}\n"
            if len(self.ports) > 1:
                text += "".join(f"{name}={port}\n" for name, port in self.ports.items())
            write_atomic(self.config.port_file, text.encode(), durable=False)
        log.info("data dir %s", self.config.data_dir)

    async def _listen(self) -> None:
        handshake_s = self.config.request_body_timeout_ms / 1000
        for name, host, port in self.config.listeners:
            protocol = self.config.protocol_of(name)
            accepting = Acceptor(
                host,
                port,
                self._tls.get(name),
                handshake_s,
                admit=self._admit,
                hold=self._connection_hold,
                release=self._admission.release,
                serve=functools.partial(self._serve, name, protocol),
                failed=self._setup_failed,
            )
            self._acceptors.append(accepting)
            accepting.start()
            self.ports[name] = accepting.port
            if not self.port:
                self.port = accepting.port
            log.info("listening on %s:%d (%s, %s)", host, accepting.port, name, protocol)

    def _start_metrics(self) -> None:
        if self.config.metrics_listen is None:
            return
        from logstore.metrics.endpoint import start_metrics

        host, port = self.config.metrics_listen
        try:
            self.metrics = start_metrics(self.broker, host, port, lambda: len(self._connections))
        except OSError as exc:
            raise OSError(exc.errno, f"metrics on {host}:{port}: {exc.strerror}") from exc

    def _new_gate(self, listener: str, protocol: str) -> SaslGate | None:
        """A new connection's SASL exchange; None on a PLAINTEXT or SSL listener."""
        if self._credentials is None or not protocol.startswith("SASL_"):
            return None
        return SaslGate(
            self._mechanisms[listener],
            self._credentials.get,
            self.clock,
            self._lifetimes[listener],
        )

    def _admit(self, host: str) -> bool:
        """Count a new connection from `host` in, or refuse it."""
        assert self.broker is not None
        # The descriptor plan's cap (max_connections lowered to what the open-files limit
        # leaves room for), or a lower dynamic max.connections.
        limit = min(self.plan.connections, self.broker.dynamic_configs.max_connections)
        return not self.broker.shutting_down and self._admission.admit(host, limit)

    def _connection_hold(self, host: str) -> int:
        """0 to serve a new connection from `host`; else it is over its ip's
        connection_creation_rate, and is held this many ms unread, then closed (KIP-612)."""
        assert self.broker is not None
        return self.broker.quotas.connection_throttle_ms(host)

    def _setup_failed(self, host: str, exc: OSError) -> None:
        self._closing_log(
            f"{host} setup",
            "connection from %s failed before it was served (TLS handshake or socket setup): %r",
            host,
            exc,
        )

    def _tls_principal(self, listener: str, writer: asyncio.StreamWriter, host: str) -> str | None:
        """The client certificate's principal; None when no mapping rule names it (Kafka
        fails that client's authentication)."""
        try:
            rules = self._mapping_rules[listener]
            return peer_principal(writer.get_extra_info("ssl_object"), rules)
        except ValueError as exc:
            self._closing_log(f"{host} principal", "closing TLS connection from %s: %s", host, exc)
            return None

    async def _serve(
        self,
        listener: str,
        protocol: str,
        reader: FrameStream,
        writer: asyncio.StreamWriter,
        host: str,
    ) -> None:
        """Run an admitted connection (on a TLS listener, its handshake done) until it ends."""
        assert self.broker is not None
        tls = protocol in TLS_PROTOCOLS
        principal = self._tls_principal(listener, writer, host) if tls else ANONYMOUS
        if principal is None or self.broker.shutting_down:
            writer.close()
            return
        conn = Connection(
            self.broker,
            reader,
            writer,
            self._budget,
            self._closing_log,
            self._new_gate(listener, protocol),
            listener=listener,
            principal=principal,
            zero_copy=not tls,  # sendfile would bypass the TLS layer
        )
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = conn
        try:
            await conn.run()
        finally:
            self._connections.pop(task, None)

    async def _maintain(self) -> None:
        assert self.broker is not None
        logs = self.broker.logs
        while True:
            await asyncio.sleep(MAINTENANCE_INTERVAL_S)
            try:
                tick = getattr(logs, "tick", None)
                if tick is not None:
                    result = tick(self.clock.now_ms())
                    if asyncio.iscoroutine(result):
                        result = await result
                    if isinstance(result, dict):
                        self.broker.maintenance.add(result)
            except Exception:
                log.exception("storage maintenance failed")

    async def _sweep(self) -> None:
        """Close connections past their body deadline or idle limit (`Connection.expired`):
        one timer for the broker instead of one per frame."""
        shortest = min(self.config.request_body_timeout_ms, self.config.connections_max_idle_ms)
        interval = min(max(shortest / 1000 / SWEEPS_PER_DEADLINE, 0.01), 1.0)
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            now = loop.time()
            for conn in list(self._connections.values()):
                reason = conn.expired(now)
                if reason is not None:
                    conn.expire(reason)

    async def shutdown(self) -> None:
        """Stop accepting, let in-flight requests finish, close storage cleanly."""
        assert self.broker is not None
        self.broker.shutting_down = True
        for accepting in self._acceptors:
            await accepting.close()
        if self.metrics is not None:
            self.metrics.stop()
        self.broker.appends.notify_all()
        for conn in list(self._connections.values()):
            conn.stop_reading()
        pending = list(self._connections)
        if pending:
            _, still = await asyncio.wait(pending, timeout=SHUTDOWN_GRACE_S)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still, timeout=1.0)
        for timer in (self._maintenance, self._sweeper):
            if timer is not None:
                timer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await timer
        await self.broker.logs.admin.idle()  # topic changes whose clients went away
        await close_broker(self.broker)
        self.broker.logs.close()
        log.info("shut down cleanly")


def _advertisable(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
