"""`manage.py sample_lag`: record consumer lag of every cluster at a fixed interval.

Owns the sampling loop only (interval, retention, which clusters, error logging); one pass
is `console.lag.sampler`. `make run` supervises it (settings.ODRADEK_EXTRA_PROCESSES), and
any process manager can run it the same way. A cluster that cannot be reached is logged
and retried next round; it must never stop the loop or the other clusters.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from console.clusters import ClusterNotFound, all_clusters, get_cluster
from console.kafka.errors import ClusterError
from console.lag.sampler import prune, sample_cluster

log = logging.getLogger("console.lag")


class Command(BaseCommand):
    help = "Sample consumer-group lag into the database every --interval seconds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=float(os.environ.get("ODRADEK_LAG_INTERVAL", "30")),
            help="seconds between samples (env ODRADEK_LAG_INTERVAL, default 30)",
        )
        parser.add_argument(
            "--retention-hours",
            type=float,
            default=float(os.environ.get("ODRADEK_LAG_RETENTION_HOURS", "48")),
            help="delete samples older than this (env ODRADEK_LAG_RETENTION_HOURS, default 48)",
        )
        parser.add_argument(
            "--cluster", action="append", default=[], help="slug to sample (default: all)"
        )
        parser.add_argument("--once", action="store_true", help="sample once and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        interval: float = options["interval"]
        if interval <= 0:
            raise CommandError("--interval must be more than 0 seconds")
        retention = timedelta(hours=options["retention_hours"])
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        if not options["once"]:
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
        while not stopping:
            started = time.monotonic()
            try:
                self.sample_all(options["cluster"])
                pruned = prune(timezone.now() - retention)
                if pruned:
                    log.info("pruned %d lag samples older than %s", pruned, retention)
            except CommandError:
                raise
            except Exception:
                # `make run` stops the whole stack when a child exits: a sampler that hit a
                # database or cluster surprise logs it and tries again next round.
                if options["once"]:
                    raise
                log.exception("lag sampling round failed; retrying in %s s", interval)
            if options["once"]:
                return
            wake = started + interval
            while not stopping and time.monotonic() < wake:
                time.sleep(min(0.5, max(0.0, wake - time.monotonic())))

    def sample_all(self, slugs: list[str]) -> None:
        try:
            clusters = [get_cluster(s) for s in slugs] if slugs else all_clusters()
        except ClusterNotFound as exc:
            raise CommandError(f"no cluster called {exc.args[0]!r}") from exc
        for cluster in clusters:
            try:
                lags = sample_cluster(cluster, timezone.now())
            except ClusterError as exc:
                log.warning("lag sample of cluster %s failed: %s", cluster.slug, exc)
                continue
            self.stdout.write(f"{cluster.slug}: sampled {len(lags)} groups")
