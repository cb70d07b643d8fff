"""The process's descriptor budget: how RLIMIT_NOFILE is shared between storage, fetches,
client connections and a reserve, and the partition limits derived from it.

Owns raising the soft open-files limit to the hard one at start (as the Go runtime does)
and the plan that keeps every consumer of descriptors inside its share, so a new connection
is never reset by EMFILE: segment files go through a bounded cache, read slices past their
share copy their bytes, and the connection cap is lowered to what is left. It must never
open files or sockets itself.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass

from logstore.config import BrokerConfig
from logstore.storage.manager import MAX_PARTITIONS

# Listener, event loop, stdio, the data-dir lock, worker threads' transient opens (fsyncs by
# path, checkpoints, index writes, compaction), the producer/group state files.
RESERVED_FDS = 64
# More open segment files buy little: an evicted one costs a reopen (a few microseconds).
MAX_DEFAULT_OPEN_FILES = 1024
MIN_SHARE = 16
# Raise the soft limit at most this far (an "unlimited" hard limit included).
NOFILE_CEILING = 1 << 20


@dataclass(frozen=True)
class DescriptorPlan:
    nofile: int
    open_segment_files: int
    read_slices: int
    connections: int
    max_broker_partitions: int
    max_partitions_per_topic: int

    @property
    def overcommitted(self) -> bool:
        """Explicit settings promise more descriptors than the limit holds."""
        used = self.open_segment_files + self.read_slices + self.connections + RESERVED_FDS
        return used > self.nofile


def raise_nofile_limit() -> int:
    """Lift the soft RLIMIT_NOFILE to the hard one (bounded); returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = NOFILE_CEILING if hard == resource.RLIM_INFINITY else min(hard, NOFILE_CEILING)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass  # not allowed here: plan with what we have
    return NOFILE_CEILING if soft == resource.RLIM_INFINITY else soft


def current_nofile() -> int:
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return NOFILE_CEILING if soft == resource.RLIM_INFINITY else soft


def plan(config: BrokerConfig, nofile: int) -> DescriptorPlan:
    """Split `nofile` descriptors: a quarter each (bounded) for segment files and read
    slices, the rest for connections (never above max_connections), a fixed reserve kept
    free. The default partition limits equal the descriptor limit, so an accepted layout
    could be reopened even if every active segment had to be open at once."""
    usable = max(nofile - RESERVED_FDS, 4 * MIN_SHARE)
    share = min(MAX_DEFAULT_OPEN_FILES, max(MIN_SHARE, usable // 4))
    files = config.max_open_segment_files or share
    connections = min(config.max_connections, max(MIN_SHARE, usable - files - share))
    broker_partitions = config.max_broker_partitions or min(MAX_PARTITIONS, nofile)
    return DescriptorPlan(
        nofile=nofile,
        open_segment_files=files,
        read_slices=share,
        connections=connections,
        max_broker_partitions=broker_partitions,
        max_partitions_per_topic=config.max_partitions_per_topic or broker_partitions,
    )
