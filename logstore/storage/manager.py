"""`LogManager`: every partition of a data directory, the catalogue, durability and upkeep.

Owns the data directory's layout (`<topic>-<partition>/`, `catalogue.json`, checkpoint
files, the clean-shutdown marker, `.state/`), topic administration (each change written
to the catalogue before it is applied; while serving, through `admin`, which writes it
in a thread), group commit and the periodic maintenance (interval fsync, segment.ms
rolls, retention every log.retention.check.interval.ms, compaction). It must
never know about requests or sockets, and it is not thread-safe: call it from one thread
(the event loop). Work that may block on the disk runs on worker threads (`background`):
fsyncs of duplicated descriptors, compaction's reading and writing; their results are
applied back on the caller's thread by a later `tick`.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import random
import shutil
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from pathlib import Path
from types import TracebackType

from logstore.clock import Clock, SystemClock
from logstore.storage.background import Background
from logstore.storage.catalogue import (
    TopicInfo,
    load_catalogue,
    save_catalogue,
    validate_topic_name,
)
from logstore.storage.checkpoints import (
    CLEAN_SHUTDOWN,
    LOG_START_OFFSETS,
    RECOVERY_POINTS,
    read_offsets,
    write_offsets,
)
from logstore.storage.cleaner import TransactionView
from logstore.storage.compaction import CompactionScheduler
from logstore.storage.configs import (
    CONFIG_DEFS,
    LONG_MAX,
    ConfigEntry,
    TopicConfig,
    describe,
    validate_configs,
)
from logstore.storage.durability import FSYNC_POLICIES, GroupCommit
from logstore.storage.errors import (
    InvalidConfigError,
    InvalidPartitionsError,
    InvalidTopicError,
    KafkaStorageError,
    PolicyViolationError,
    TopicExistsError,
    UnknownTopicOrPartitionError,
)
from logstore.storage.files import HandleCache, fsync_dir, fsync_paths, write_atomic
from logstore.storage.index import IndexLru
from logstore.storage.partition import PartitionLog
from logstore.storage.recovery import RecoveryResult
from logstore.storage.topic_admin import TopicAdmin

_logger = logging.getLogger(__name__)
CATALOGUE = "catalogue.json"
STATE_DIR = ".state"
LOCK_FILE = ".lock"
MAX_PARTITIONS = 100_000


def _holds_only_segments(path: Path) -> bool:
    """Only ever delete a directory that looks like one of ours."""
    return all(child.suffix in _SEGMENT_SUFFIXES for child in path.iterdir())


_SEGMENT_SUFFIXES = {".log", ".index", ".timeindex", ".cleaned", ".tmp", ".deleted"}


def _doomed_name(topic: str, partition: int) -> str:
    """A deleted partition's directory name, inside the 255-byte file-name limit.

    A topic name may be 249 characters, so appending a unique suffix to the partition's
    directory name can overflow; like Kafka, shorten the topic part instead.
    """
    suffix = f"-{partition}.{uuid.uuid4().hex}-delete"
    return topic[: 255 - len(suffix)] + suffix


def _unlink_all(paths: Iterable[Path]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


# Kafka's log.retention.check.interval.ms and log.initial.task.delay.ms defaults.
RETENTION_CHECK_INTERVAL_MS = 300_000
RETENTION_INITIAL_DELAY_MS = 30_000


class LogManager:
    """Every partition under one data directory, plus the catalogue and upkeep."""

    def __init__(
        self,
        data_dir: Path,
        *,
        clock: Clock | None = None,
        fsync: str = "always",
        fsync_interval_ms: int = 1000,
        max_open_files: int = 256,
        max_read_slices: int = 256,
        max_partitions_per_topic: int = MAX_PARTITIONS,
        max_broker_partitions: int = MAX_PARTITIONS,
        max_loaded_indexes: int = 512,
        checkpoint_interval_ms: int = 5000,
        retention_check_interval_ms: int = RETENTION_CHECK_INTERVAL_MS,
        cleaner_io_max_bytes_per_second: float | None = None,
        cleaner_executor: Executor | None = None,
        io_executor: Executor | None = None,
        rng: random.Random | None = None,
        topic_defaults: Mapping[str, str] | None = None,
    ) -> None:
        """`cleaner_io_max_bytes_per_second` bounds the compaction worker's reads plus
        writes (Kafka's log.cleaner.io.max.bytes.per.second; None = unlimited).
        `retention_check_interval_ms` is Kafka's log.retention.check.interval.ms: how
        often `tick` applies retention (0 = every tick). The
        executors default to one worker thread each; tests inject their own, and an `rng`
        for segment.jitter.ms. `max_open_files` bounds every segment descriptor held
        (active ones included) and `max_read_slices` the duplicates lent to fetches, so
        the files open do not grow with the partition count; the partition limits refuse
        layouts beyond what this broker agreed to hold (PolicyViolationError).
        `topic_defaults` are the broker's defaults of topic configs (server.properties'
        log.retention.ms and the like, as topic config names)."""
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync must be one of {', '.join(FSYNC_POLICIES)}")
        self.data_dir = Path(data_dir)
        self.topic_defaults = validate_configs(topic_defaults or {})
        # Topic config -> source, for defaults set at runtime (DYNAMIC_BROKER_CONFIG or
        # DYNAMIC_DEFAULT_BROKER_CONFIG).
        self.dynamic_topic_defaults: Mapping[str, str] = {}
        self.clock: Clock = clock or SystemClock()
        self.fsync = fsync
        self.fsync_interval_ms = fsync_interval_ms
        self.checkpoint_interval_ms = checkpoint_interval_ms
        if retention_check_interval_ms < 0:
            raise ValueError("the retention check interval cannot be negative")
        self._retention_interval_ms = retention_check_interval_ms
        self._next_retention_mono = 0
        self._handles = HandleCache(max_open_files, max_read_slices)
        self.max_partitions_per_topic = min(max_partitions_per_topic, MAX_PARTITIONS)
        self.max_broker_partitions = max_broker_partitions
        self._lru = IndexLru(max_loaded_indexes)
        self._topics: dict[str, TopicInfo] = {}
        self._by_id: dict[uuid.UUID, TopicInfo] = {}
        self._configs: dict[str, TopicConfig] = {}
        self._logs: dict[tuple[str, int], PartitionLog] = {}
        self._log_starts: dict[tuple[str, int], int] = {}
        self._group_commit = GroupCommit()
        self._last_fsync_ms = 0
        self._last_checkpoint_ms = 0
        self._lock_fd: int | None = None
        self._rng = rng or random.Random()
        self._executors = (cleaner_executor, io_executor)
        self.background = Background(*self._executors)
        # Retired segment files, unlinked on the io thread once their delay has passed:
        # (monotonic ms due, paths), in due order per partition.
        self._doomed: list[tuple[int, list[Path]]] = []
        self._compaction = CompactionScheduler(cleaner_io_max_bytes_per_second)
        self.cleaner_stats = self._compaction.stats
        self.opened = False
        self.stats = self._group_commit.stats
        # Topic changes while serving go through here: one at a time, written in a thread.
        self.admin = TopicAdmin(self)

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> LogManager:
        """Load the catalogue and open (recovering if needed) every partition."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise RuntimeError(f"{self.data_dir} is in use by another process") from exc
        if self.background.closed:
            self.background = Background(*self._executors)
        try:
            self._load()
        except BaseException:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise
        self._write_recovery_points()
        self._last_fsync_ms = self._last_checkpoint_ms = self.clock.monotonic_ms()
        self._schedule_retention(first=True)
        self.opened = True
        return self

    def _load(self) -> None:
        """Catalogue, checkpoints, then every partition (scanned if the stop was unclean)."""
        marker = self.data_dir / CLEAN_SHUTDOWN
        clean = marker.exists()
        self._topics = load_catalogue(self.data_dir / CATALOGUE)
        self._by_id = {t.topic_id: t for t in self._topics.values()}
        recovery_points = read_offsets(self.data_dir / RECOVERY_POINTS)
        self._log_starts = read_offsets(self.data_dir / LOG_START_OFFSETS)
        self._remove_orphans()
        for info in self._topics.values():
            self._configs[info.name] = TopicConfig.from_overrides(info.configs, self.topic_defaults)
            for p in range(info.partitions):
                log = self._make_log(info.name, p)
                log.load(
                    clean=clean,
                    recovery_point=recovery_points.get((info.name, p), 0),
                    log_start=self._log_starts.get((info.name, p), 0),
                )
                self._logs[(info.name, p)] = log
        if clean:
            # A crash from here on must not look like a clean stop.
            marker.unlink()
            fsync_dir(self.data_dir)

    def close(self) -> None:
        """fsync everything, write checkpoints and the clean-shutdown marker.

        A partition left damaged by recovery withholds the marker, so the next start scans
        again and keeps reporting it rather than trusting its indexes.
        """
        if not self.opened:
            return
        self._compaction.stop()
        self.background.shutdown()
        for log in self._logs.values():
            log.close(sync=True)
        # Closing is not latency-sensitive: retired files go now, not after their delay.
        for _, paths in self._doomed:
            _unlink_all(paths)
        for log in self._logs.values():
            _unlink_all(log.retired)
            log.retired = []
        self._doomed = []
        self._write_recovery_points()
        self._write_log_starts()
        self._handles.clear()
        if not any(log.recovery_error for log in self._logs.values()):
            write_atomic(self.data_dir / CLEAN_SHUTDOWN, b"")
        self._group_commit.fail(None, RuntimeError("log manager closed"))
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        self.opened = False

    def __enter__(self) -> LogManager:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _remove_orphans(self) -> None:
        """Partition directories the catalogue no longer lists (a crash mid-delete)."""
        for path in self.data_dir.iterdir():
            if not path.is_dir() or path.name.startswith("."):
                continue
            topic, sep, part = path.name.rpartition("-")
            if path.name.endswith("-delete"):
                shutil.rmtree(path, ignore_errors=True)
                continue
            if not sep or not part.isdigit() or not _holds_only_segments(path):
                continue
            info = self._topics.get(topic)
            if info is None or int(part) >= info.partitions:
                shutil.rmtree(path, ignore_errors=True)

    def _make_log(
        self, topic: str, partition: int, config: TopicConfig | None = None
    ) -> PartitionLog:
        log = PartitionLog(
            topic,
            partition,
            self.data_dir / f"{topic}-{partition}",
            config or self._configs[topic],
            self.clock,
            self._handles,
            self._lru,
            sync_on_roll=self.fsync != "never",
            on_log_start_change=self._log_start_changed,
            jitter=self._rng.randrange,
        )
        log.last_flush_mono = self.clock.monotonic_ms()
        return log

    def _log_start_changed(self, log: PartitionLog) -> None:
        self._log_starts[(log.topic, log.partition)] = log.log_start_offset
        self._write_log_starts(background=True)

    # Checkpoints: the offsets are read here, on the caller's thread; the write (with its
    # fsyncs) runs on the io thread, in order, when `background`. A checkpoint that lags
    # is safe: recovery then scans more, and the log start is at least the first segment.
    def _write_log_starts(self, *, background: bool = False) -> None:
        entries = [(log.topic, log.partition, log.log_start_offset) for log in self._logs.values()]
        self._write_checkpoint(LOG_START_OFFSETS, entries, background)

    def _write_recovery_points(self, *, background: bool = False) -> None:
        entries = [(log.topic, log.partition, log.recovery_point) for log in self._logs.values()]
        self._write_checkpoint(RECOVERY_POINTS, entries, background)

    def _write_checkpoint(
        self, name: str, entries: list[tuple[str, int, int]], background: bool
    ) -> None:
        path = self.data_dir / name
        if background:
            self.background.run_io(lambda: write_offsets(path, entries), what=name)
        else:
            write_offsets(path, entries)

    # -- catalogue -------------------------------------------------------------------------
    def topics(self) -> list[TopicInfo]:
        """Every topic, internal ones included, sorted by name."""
        return sorted(self._topics.values(), key=lambda t: t.name)

    def topic(self, name: str) -> TopicInfo | None:
        """The topic by name, None if absent."""
        return self._topics.get(name)

    def topic_by_id(self, topic_id: uuid.UUID) -> TopicInfo | None:
        """The topic by its stable id, None if absent."""
        return self._by_id.get(topic_id)

    def create_topic(
        self,
        name: str,
        partitions: int,
        configs: Mapping[str, str] | None = None,
        *,
        validate_only: bool = False,
    ) -> TopicInfo:
        """Create a topic with `partitions` empty partitions and config overrides.

        Raises InvalidTopicError, TopicExistsError, InvalidPartitionsError,
        PolicyViolationError (over the partition limits) or InvalidConfigError; with
        validate_only nothing is created. Writes the catalogue on the caller's thread: for
        start-up and tools; a serving broker goes through `admin`.
        """
        info = self.plan_topic(name, partitions, configs)
        return info if validate_only else self._change(info, self.apply_new_topic)

    def _change(self, info: TopicInfo, apply: Callable[[TopicInfo], None]) -> TopicInfo:
        """Write the catalogue with `info`, then apply it; if applying fails (no room for
        a partition's files, undone in memory), write back the catalogue in force."""
        self.write_catalogue(self.catalogue_with(info))
        try:
            apply(info)
        except KafkaStorageError:
            self.write_catalogue_quietly(self._topics)
            raise
        return info

    def plan_topic(
        self, name: str, partitions: int, configs: Mapping[str, str] | None = None
    ) -> TopicInfo:
        """The topic `create_topic` would make, checked against the current state; nothing
        changes (the errors of `create_topic`)."""
        validate_topic_name(name)
        if name in self._topics:
            raise TopicExistsError(f"Topic '{name}' already exists.")
        self._check_collision(name)
        if partitions < 1:
            raise InvalidPartitionsError(
                f"Number of partitions must be at least 1, got {partitions}"
            )
        self._check_limits(name, partitions, partitions)
        overrides = validate_configs(configs or {})
        return TopicInfo(name, uuid.uuid4(), partitions, overrides)

    def apply_new_topic(self, info: TopicInfo) -> None:
        """Put a planned topic in force once a catalogue listing it is on disk. If the disk
        refuses its files, nothing stays in memory and KafkaStorageError is raised: the
        caller then writes the catalogue without it again."""
        self.put_in_force(info, self.make_partitions(info, 0, info.partitions))

    def put_in_force(self, info: TopicInfo, made: Iterable[PartitionLog]) -> None:
        """A new or grown topic, with the partitions `made` for it, all visible at once."""
        config = self._configs.get(info.name)
        if config is None:  # new: the broker's defaults as they are now
            config = self._configs[info.name] = TopicConfig.from_overrides(
                info.configs, self.topic_defaults
            )
        for log in made:
            log.config = config
            self._logs[(info.name, log.partition)] = log
        self._topics[info.name] = info
        self._by_id[info.topic_id] = info

    def partition_count(self) -> int:
        """Partitions on this broker, internal topics included."""
        return len(self._logs)

    def _check_limits(self, name: str, total: int, added: int) -> None:
        """Refuse a topic of `total` partitions (`added` of them new) beyond the limits."""
        if total > self.max_partitions_per_topic:
            raise PolicyViolationError(
                f"Topic '{name}' would have {total} partitions; this broker allows at most "
                f"{self.max_partitions_per_topic} per topic (--max-partitions-per-topic)."
            )
        held = self.partition_count()
        if held + added > self.max_broker_partitions:
            raise PolicyViolationError(
                f"Adding {added} partitions would bring this broker to {held + added}; it "
                f"holds at most {self.max_broker_partitions} (max.broker.partitions), "
                f"{held} already exist."
            )

    def _check_collision(self, name: str) -> None:
        """Kafka refuses names equal to an existing one up to '.' vs '_' (metric names)."""
        if "." not in name and "_" not in name:
            return
        flat = name.replace(".", "_")
        for other in self._topics:
            if other.replace(".", "_") == flat:
                raise InvalidTopicError(f"Topic '{name}' collides with existing topic: {other}")

    def ensure_topic(
        self, name: str, partitions: int, configs: Mapping[str, str] | None = None
    ) -> TopicInfo:
        """The topic if it exists, else a new one (handy for internal topics)."""
        return self._topics.get(name) or self.create_topic(name, partitions, configs)

    def make_partitions(self, info: TopicInfo, start: int, stop: int) -> list[PartitionLog]:
        """Make the files of partitions start..stop-1 of `info`, not yet in force (see
        `put_in_force`). If the disk refuses (full, failing), the ones this call made are
        removed and KafkaStorageError raised, so no partition is listed without files."""
        config = self._configs.get(info.name)
        if config is None:
            config = TopicConfig.from_overrides(info.configs, self.topic_defaults)
        made: list[PartitionLog] = []
        try:
            for p in range(start, stop):
                log = self._make_log(info.name, p, config)
                replaced = log.directory.exists()  # leftovers of an earlier topic, this name
                if replaced:
                    # Aside at once, removed on the io thread: they may be gigabytes.
                    self.remove_directories([log])
                made.append(log)
                log.create(sync=self.fsync != "never", replaced=replaced)
                log.flushed_offset = 0
        except OSError as exc:
            self.discard_partitions(made)
            failed = made[-1].name if made else f"{info.name}-{start}"
            raise KafkaStorageError(f"could not create the files of {failed}: {exc}") from exc
        return made

    def discard_partitions(self, made: Iterable[PartitionLog]) -> None:
        """Remove partitions made for a change that failed (never in force)."""
        for log in made:
            log.close(sync=False)
            shutil.rmtree(log.directory, ignore_errors=True)

    def catalogue_with(self, info: TopicInfo) -> dict[str, TopicInfo]:
        """The catalogue as it will be once `info` (new or changed) is in force."""
        return {**self._topics, info.name: info}

    def catalogue_without(self, name: str) -> dict[str, TopicInfo]:
        """The catalogue as it will be once topic `name` is deleted."""
        return {n: t for n, t in self._topics.items() if n != name}

    def write_catalogue(self, topics: Mapping[str, TopicInfo]) -> None:
        """Write `topics` as the catalogue (KafkaStorageError if the disk refuses). Touches
        the file only, so it may run on a worker thread; every change is written before it
        is applied, so a refused write changes nothing."""
        try:
            save_catalogue(self.data_dir / CATALOGUE, dict(topics))
        except OSError as exc:
            raise KafkaStorageError(f"could not write the topic catalogue: {exc}") from exc

    def catalogue(self) -> dict[str, TopicInfo]:
        """The catalogue of what is in force (a copy, safe to hand to a worker thread)."""
        return dict(self._topics)

    def write_catalogue_quietly(self, topics: Mapping[str, TopicInfo]) -> None:
        """Put back the catalogue of the state in memory after a change failed half-way; if
        that fails too, the next start finds the topic's partitions missing and makes them
        empty (as after a crash between the catalogue and the files). May run on a worker
        thread."""
        try:
            self.write_catalogue(topics)
        except KafkaStorageError as exc:
            _logger.error("%s; it lists a topic whose files could not be made", exc)

    def _require(self, name: str) -> TopicInfo:
        info = self._topics.get(name)
        if info is None:
            raise UnknownTopicOrPartitionError(f"Topic '{name}' does not exist.")
        return info

    def delete_topic(self, name: str) -> None:
        """Forget the topic and remove its files (UnknownTopicOrPartitionError if absent).
        Writes the catalogue on the caller's thread (see `create_topic`)."""
        self._require(name)
        self.write_catalogue(self.catalogue_without(name))
        self.apply_delete(name)

    def apply_delete(self, name: str) -> None:
        """Forget a topic once a catalogue without it is on disk, and remove its files."""
        self.remove_directories(self.drop_topic(name))

    def drop_topic(self, name: str) -> list[PartitionLog]:
        """Forget a topic in memory: nobody finds it from now on, its partitions take no
        more appends, and producers waiting for their fsync are answered
        UNKNOWN_TOPIC_OR_PARTITION. Returns them for `remove_directories`."""
        info = self._require(name)
        del self._topics[name]
        self._by_id.pop(info.topic_id, None)
        self._configs.pop(name, None)
        dropped = []
        for p in range(info.partitions):
            log = self._logs.pop((name, p), None)
            self._log_starts.pop((name, p), None)
            if log is None:
                continue
            self._compaction.cancel_for(log)
            self._group_commit.fail(log, UnknownTopicOrPartitionError(f"{name} was deleted"))
            log.detach()  # its retired files go with the directory
            dropped.append(log)
        return dropped

    def remove_directories(self, dropped: Iterable[PartitionLog]) -> None:
        """Rename dropped partitions' directories aside; they are removed on the io thread.
        A crash before that leaves `-delete` directories, removed at open."""
        for log in dropped:
            doomed = log.directory.with_name(_doomed_name(log.topic, log.partition))
            with contextlib.suppress(FileNotFoundError):
                os.rename(log.directory, doomed)
            remove = functools.partial(shutil.rmtree, doomed, ignore_errors=True)
            self.background.run_io(remove, what=f"removal of {doomed}")

    def add_partitions(self, name: str, total: int, *, validate_only: bool = False) -> TopicInfo:
        """Grow a topic to `total` partitions (InvalidPartitionsError unless it increases,
        PolicyViolationError beyond the limits); with validate_only nothing changes. Writes
        the catalogue on the caller's thread (see `create_topic`)."""
        new = self.plan_partitions(name, total)
        return new if validate_only else self._change(new, self.apply_partitions)

    def plan_partitions(self, name: str, total: int) -> TopicInfo:
        """The topic as `add_partitions` would leave it; nothing changes."""
        info = self._require(name)
        if total <= info.partitions:
            raise InvalidPartitionsError(
                f"Topic currently has {info.partitions} partitions, which is higher than or "
                f"equal to the requested {total}."
            )
        self._check_limits(name, total, total - info.partitions)
        return TopicInfo(info.name, info.topic_id, total, info.configs)

    def apply_partitions(self, new: TopicInfo) -> None:
        """Make the partitions a planned growth adds, once a catalogue listing them is on
        disk (KafkaStorageError, with nothing changed, if the disk refuses their files)."""
        info = self._require(new.name)
        self.put_in_force(new, self.make_partitions(new, info.partitions, new.partitions))

    def alter_configs(
        self, name: str, set: Mapping[str, str], delete: Iterable[str] = ()
    ) -> TopicInfo:
        """Set and remove config overrides (InvalidConfigError for unknown names/values).
        Writes the catalogue on the caller's thread (see `create_topic`)."""
        return self._change(self.plan_configs(name, set, delete), self.apply_configs)

    def plan_configs(
        self, name: str, set: Mapping[str, str], delete: Iterable[str] = ()
    ) -> TopicInfo:
        """The topic as `alter_configs` would leave it; nothing changes."""
        info = self._require(name)
        updates = validate_configs(set)
        removals = list(delete)
        for key in removals:
            if key not in CONFIG_DEFS:
                raise InvalidConfigError(f"Unknown topic config name: {key}")
        overrides = {k: v for k, v in info.configs.items() if k not in removals}
        overrides.update(updates)
        return TopicInfo(info.name, info.topic_id, info.partitions, overrides)

    def apply_configs(self, new: TopicInfo) -> None:
        """Put planned overrides in force once a catalogue listing them is on disk."""
        config = TopicConfig.from_overrides(new.configs, self.topic_defaults)
        self._topics[new.name] = new
        self._by_id[new.topic_id] = new
        self._configs[new.name] = config
        for p in range(new.partitions):
            self._logs[(new.name, p)].config = config

    def set_topic_defaults(
        self, defaults: Mapping[str, str], dynamic: Mapping[str, str] | None = None
    ) -> None:
        """New broker-wide topic defaults (a dynamic broker config changed): every topic
        without its own value follows from its next append or tick. `dynamic` gives the
        source of the defaults set at runtime (DYNAMIC_BROKER_CONFIG, or
        DYNAMIC_DEFAULT_BROKER_CONFIG for a cluster-wide one)."""
        self.topic_defaults = validate_configs(defaults)
        self.dynamic_topic_defaults = dict(dynamic or {})
        for name, info in self._topics.items():
            config = TopicConfig.from_overrides(info.configs, self.topic_defaults)
            self._configs[name] = config
            for p in range(info.partitions):
                log = self._logs.get((name, p))
                if log is not None:
                    log.config = config

    def describe_configs(self, topic: str | TopicInfo) -> list[ConfigEntry]:
        """Every known topic config with its value and whether it is a default. Given a
        `TopicInfo`, its overrides (a topic just created may be deleted by the time its
        creator describes it)."""
        info = self._require(topic) if isinstance(topic, str) else topic
        return describe(info.configs, self.topic_defaults, self.dynamic_topic_defaults)

    def topic_config(self, name: str) -> TopicConfig:
        """The parsed effective config of a topic."""
        self._require(name)
        return self._configs[name]

    # -- partitions ------------------------------------------------------------------------
    def log(self, topic: str, partition: int) -> PartitionLog:
        """The partition's log (UnknownTopicOrPartitionError if there is no such partition)."""
        log = self._logs.get((topic, partition))
        if log is None:
            raise UnknownTopicOrPartitionError(
                f"This server does not host this topic-partition: {topic}-{partition}"
            )
        return log

    def logs(self) -> list[PartitionLog]:
        """Every partition log."""
        return list(self._logs.values())

    def recovery_results(self) -> dict[tuple[str, int], RecoveryResult]:
        """What recovery found for each partition at open."""
        return {key: log.recovery for key, log in self._logs.items()}

    def state_dir(self, name: str) -> Path:
        """A directory for small internal snapshot files (e.g. producer state)."""
        validate_topic_name(name)
        path = self.data_dir / STATE_DIR / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def write_state(self, name: str, filename: str, data: bytes) -> Path:
        """Atomically replace a snapshot file in `state_dir(name)` (temp, fsync, rename).
        Touches that file only, so it may run on a worker thread."""
        path = self.state_dir(name) / filename
        write_atomic(path, data)
        return path

    # -- durability ------------------------------------------------------------------------
    async def wait_durable(self, log: PartitionLog, offset: int) -> None:
        """Return once `offset` of `log` is on disk as the fsync policy requires.

        With "always" (or a topic with flush.messages=1), every caller waiting at the same
        time shares one fsync per partition, run in a thread so the event loop keeps
        serving (see `durability.GroupCommit`). Otherwise returns at once.
        """
        if (
            self.fsync == "always"
            # flush.messages: fsync once this many messages are not on disk (as Kafka).
            or offset + 1 - log.flushed_offset >= log.config.flush_messages
        ):
            await self._group_commit.wait(log, offset)

    async def flush_pending(self) -> None:
        """Wait for a background interval fsync started by `tick`, if one is running."""
        await self._group_commit.drain()

    def sync_all(self) -> None:
        """fsync every partition now (blocking)."""
        for log in self._logs.values():
            if log.recovery_error is None:
                with contextlib.suppress(OSError):  # that one is offline now, and logged
                    log.flush()
        self._last_fsync_ms = self.clock.monotonic_ms()

    # -- maintenance -----------------------------------------------------------------------
    def tick(self, now_ms: int | None = None) -> dict[str, int]:
        """Periodic upkeep: interval fsync, segment.ms rolls, retention, compaction.

        Cheap enough for the event loop: compaction runs in the cleaner thread (a tick
        starts one job and a later tick installs it), file jobs in the io thread.
        Returns counters of what it did (for logs and tests).
        """
        now = self.clock.now_ms() if now_ms is None else now_ms
        mono = self.clock.monotonic_ms()
        done = {"fsynced": 0, "rolled": 0, "deleted_segments": 0, "cleaned": 0}
        self.background.collect()
        if self.fsync == "interval" and mono - self._last_fsync_ms >= self.fsync_interval_ms:
            # Inside the event loop the fsyncs run in a thread; outside it, right here.
            usable = [log for log in self._logs.values() if log.recovery_error is None]
            if self._group_commit.flush_in_background(usable):
                self._last_fsync_ms = mono
            else:
                self.sync_all()
            done["fsynced"] = 1
        retention_due = mono >= self._next_retention_mono
        if retention_due:
            self._schedule_retention()
        for log in list(self._logs.values()):
            if log.upkeep_due(now):
                # A roll the disk refuses is logged once by the partition; retention must
                # still run, since it is what frees room.
                with contextlib.suppress(KafkaStorageError):
                    if log.maybe_roll(now):
                        done["rolled"] += 1
                if retention_due:
                    done["deleted_segments"] += log.apply_retention(now)
            config = log.config
            if config.flush_ms != LONG_MAX or config.flush_messages != LONG_MAX:
                self._topic_flush(log, mono)
            if log.retired:
                self._doomed.append((mono + log.config.file_delete_delay_ms, log.retired))
                log.retired = []
        self._unlink_due(mono)
        done["cleaned"] = self._compaction.step(
            list(self._logs.values()),
            now,
            self.background.cleaner,
            lambda p: self._logs.get((p.topic, p.partition)),
            self._fsync_dir_later,
        )
        done["cleaning"] = int(self._compaction.running is not None)
        if mono - self._last_checkpoint_ms >= self.checkpoint_interval_ms:
            self._write_recovery_points(background=True)
            self._last_checkpoint_ms = mono
        self.background.collect()  # whatever already finished (always, inline executors)
        return done

    def fsync_latency(self) -> tuple[list[int], float]:
        """Group-commit rounds so far: counts per `durability.FSYNC_BUCKETS` bound (and one
        past the last), and their total seconds."""
        return list(self._group_commit.round_buckets), self._group_commit.round_seconds

    @property
    def cleaner_io_max_bytes_per_second(self) -> float | None:
        return self._compaction.rate

    @cleaner_io_max_bytes_per_second.setter
    def cleaner_io_max_bytes_per_second(self, value: float | None) -> None:
        """Applies from the next compaction job on (one already running keeps its rate)."""
        if value is not None and not value > 0:
            raise ValueError("the cleaner's byte rate must be positive")
        self._compaction.rate = value

    @property
    def retention_check_interval_ms(self) -> int:
        return self._retention_interval_ms

    @retention_check_interval_ms.setter
    def retention_check_interval_ms(self, value: int) -> None:
        """A new interval counts from now (as Kafka reschedules its retention task)."""
        if value < 0:
            raise ValueError("the retention check interval cannot be negative")
        self._retention_interval_ms = value
        self._schedule_retention()

    def _schedule_retention(self, *, first: bool = False) -> None:
        # Like Kafka's log-retention task: the first check waits at most
        # log.initial.task.delay.ms after start-up, then one every interval. Records
        # stamped long ago therefore stay readable right after they are written.
        delay = self._retention_interval_ms
        if first:
            delay = min(delay, RETENTION_INITIAL_DELAY_MS)
        self._next_retention_mono = self.clock.monotonic_ms() + delay

    def lend_transactions(self, view: TransactionView) -> None:
        """Let compaction see the partitions' transactions (stop at the LSO, drop
        aborted data); without it compacted topics are cleaned as if none existed."""
        self._compaction.transactions = view

    def cleaner_idle(self, timeout: float | None = None) -> bool:
        """Wait until no compaction is being built (a later tick installs it); False on
        timeout."""
        return self._compaction.idle(timeout)

    def _topic_flush(self, log: PartitionLog, mono: int) -> None:
        """flush.ms / flush.messages: fsync a partition on the io thread once its data
        waited this long, or (for acks=0/1 writes, which do not wait) once this many
        messages are unflushed."""
        if log.recovery_error is not None:
            return
        config = log.config
        unflushed = log.log_end_offset - log.flushed_offset
        if mono - log.last_flush_mono < config.flush_ms and unflushed < config.flush_messages:
            return
        log.last_flush_mono = mono
        job = log.begin_flush()
        if job is None:
            return
        paths, end = job
        self.background.run_io(
            lambda: _fsync_outcome(paths),
            then=lambda failure: _flushed(log, end, failure),
            what=f"flush.ms of {log.name}",
        )

    def _unlink_due(self, mono: int) -> None:
        """Hand retired files whose file.delete.delay.ms has passed to the io thread."""
        if not self._doomed:
            return
        due = [paths for when, paths in self._doomed if when <= mono]
        if due:
            self._doomed = [item for item in self._doomed if item[0] > mono]
            self.background.run_io(lambda: _unlink_all(p for ps in due for p in ps), what="unlink")

    def _fsync_dir_later(self, directory: Path) -> None:
        self.background.run_io(lambda: fsync_dir(directory), what=f"fsync of {directory}")

    def run_maintenance(self) -> dict[str, int]:
        """`tick` at the clock's current time."""
        return self.tick(self.clock.now_ms())


def _fsync_outcome(paths: list[Path]) -> OSError | None:
    """fsync on the io thread, handing a failure back as a value for `_flushed`."""
    try:
        fsync_paths(paths)
    except OSError as exc:
        return exc
    return None


def _flushed(log: PartitionLog, end: int, failure: OSError | None) -> None:
    if failure is None:
        log.finish_flush(end)
    else:
        log.sync_failed(failure)
