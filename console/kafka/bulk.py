"""The protocol requests of the bulk reads, and what their answers say.

Owns building kafka-python request objects (Metadata of every topic, ListOffsets per
leader and kind, DescribeLogDirs, DescribeConfigs naming only the keys wanted; a
snapshot's first round of them, `first_round`) and
reading their answers into plain figures: a `Layout` of brokers and leaders, offsets by
kind, sizes, configs. It must never send anything (`console.kafka.wire` does) nor decide
what to ask (`console.kafka.reads`, `console.kafka.resets`).
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from console.kafka.errors import Unreachable, readable
from console.kafka.model import PartitionInfo, TopicInfo

SNAPSHOT_CONFIGS = ("retention.ms", "retention.bytes", "cleanup.policy", "min.insync.replicas")
EARLIEST, LATEST, MAX_TIMESTAMP = -2, -1, -3
_TOPIC_RESOURCE = 2
_UNKNOWN_TOPIC = 3
_NO_ID = uuid.UUID(int=0)

TP = tuple[str, int]


@dataclass
class Layout:
    """Brokers and partition leaders from one Metadata answer."""

    brokers: dict[int, str]
    topics: dict[str, TopicInfo]


def metadata_request(existing: list[str] | None = None) -> Any:
    """Metadata of every topic, or of `existing` topics only: topics the console has just
    created or changed, never a name a person typed nor one that may be gone, because a
    broker that ignores `allow_auto_topic_creation` would create a topic it is asked
    about. Every topic costs a decode (about 13 ms for 300 topics), so a re-read after a
    change names what it changed."""
    from kafka.protocol.metadata import MetadataRequest

    wanted = (
        None
        if existing is None
        else [MetadataRequest.MetadataRequestTopic(name=n) for n in existing]
    )
    return MetadataRequest(topics=wanted, allow_auto_topic_creation=False)


def layout_from(answer: Any) -> Layout:
    if isinstance(answer, BaseException):
        raise Unreachable(readable(answer))
    brokers = {b.node_id: f"{b.host}:{b.port}" for b in answer.brokers}
    topics: dict[str, TopicInfo] = {}
    for t in answer.topics:
        if t.error_code:
            if t.error_code != _UNKNOWN_TOPIC:
                topics[t.name] = TopicInfo(t.name, [], error=error_name(t.error_code))
            continue
        topic_id = getattr(t, "topic_id", None)
        topics[t.name] = TopicInfo(
            t.name,
            [
                PartitionInfo(
                    partition=p.partition_index,
                    leader=p.leader_id,
                    replicas=tuple(p.replica_nodes),
                    isr=tuple(p.isr_nodes),
                    offline=tuple(getattr(p, "offline_replicas", None) or ()),
                )
                for p in sorted(t.partitions, key=lambda p: p.partition_index)
            ],
            topic_id="" if topic_id in (None, _NO_ID) else str(topic_id),
        )
    return Layout(brokers, topics)


def cached_list_offsets(manager: Any, parts: list[TP], spec: int) -> Any:
    """One ListOffsets of `spec` for `parts`; the same request object again when a
    build asks the same thing of the same client (building one costs more than sending)."""
    key = (id(manager), spec, tuple(parts))
    with _requests_lock:
        request = _requests.get(key)
    if request is None:
        request = list_offsets_request(parts, spec)
        with _requests_lock:
            _requests[key] = request
            while len(_requests) > _MAX_KEPT_REQUESTS:
                del _requests[next(iter(_requests))]
    return request


# Request objects per (client, spec, partitions): each client sends from one thread, so an
# object is never encoded twice at once.
_requests: dict[tuple[int, int, tuple[TP, ...]], Any] = {}
_requests_lock = threading.Lock()
_MAX_KEPT_REQUESTS = 16


def list_offsets_request(parts: Iterable[TP], spec: int) -> Any:
    from kafka.protocol.consumer.offsets import ListOffsetsRequest

    topic_cls = ListOffsetsRequest.ListOffsetsTopic
    part_cls = topic_cls.ListOffsetsPartition
    by_topic: dict[str, list[Any]] = defaultdict(list)
    for topic, p in parts:
        by_topic[topic].append(part_cls(partition_index=p, timestamp=spec))
    return ListOffsetsRequest(
        replica_id=-1,
        isolation_level=0,
        topics=[topic_cls(name=name, partitions=ps) for name, ps in by_topic.items()],
        # The newest record (max timestamp, KIP-734) needs v7; the rest is v1, which every
        # broker since Kafka 0.10.1 answers and is several times cheaper to encode.
        min_version=7 if spec == MAX_TIMESTAMP else 1,
        max_version=7 if spec == MAX_TIMESTAMP else 1,
    )


def describe_log_dirs_request(parts: dict[str, list[int]]) -> Any:
    from kafka.protocol.admin import DescribeLogDirsRequest

    topic_cls = DescribeLogDirsRequest.DescribableLogDirTopic
    # Named explicitly: asking for "all" makes a broker describe every replica it holds.
    return DescribeLogDirsRequest(
        topics=[topic_cls(topic=name, partitions=ps) for name, ps in parts.items()],
        max_version=1,  # sizes are all we read; v1 is the cheapest to decode
    )


def describe_configs_request(topics: Iterable[str], names: Iterable[str]) -> Any:
    from kafka.protocol.admin import DescribeConfigsRequest

    res_cls = DescribeConfigsRequest.DescribeConfigsResource
    keys = list(names)
    return DescribeConfigsRequest(
        resources=[
            res_cls(resource_type=_TOPIC_RESOURCE, resource_name=t, configuration_keys=keys)
            for t in topics
        ],
        include_synonyms=False,
        include_documentation=False,
    )


def error_name(code: int) -> str:
    from kafka import errors as kp_errors

    err = kp_errors.for_code(code)
    return f"{err.__name__} ({code})"


def offsets_by_kind(
    answers: dict[Any, Any],
    asked: dict[tuple[str, int], list[TP]],
    kinds: tuple[str, ...],
    warnings: list[str],
) -> dict[str, dict[TP, tuple[int, int]]]:
    """{kind: {tp: (offset, timestamp)}}; partitions without an answer are counted."""
    out: dict[str, dict[TP, tuple[int, int]]] = {k: {} for k in kinds}
    failed: dict[str, int] = defaultdict(int)
    for (kind, node), answer in answers.items():
        if kind not in out:
            continue
        if isinstance(answer, BaseException):
            failed[kind] += len(asked.get((kind, node), []))
            continue
        for t in answer.topics:
            for p in t.partitions:
                if p.error_code:
                    failed[kind] += 1
                else:
                    out[kind][(t.name, p.partition_index)] = (p.offset, p.timestamp)
    for kind, count in failed.items():
        warnings.append(f"{count} partitions did not report their {kind} offset")
    return out


def _answered(answers: dict[Any, Any], kind: str, what: str, warnings: list[str]) -> Iterator[Any]:
    """The answers of one kind of request; each failed one becomes a warning."""
    for (asked, _), answer in answers.items():
        if asked != kind:
            continue
        if isinstance(answer, BaseException):
            warnings.append(f"Could not read {what}: {readable(answer)}")
        else:
            yield answer


def sizes_from(answers: dict[Any, Any], warnings: list[str]) -> dict[TP, int]:
    sizes: dict[TP, int] = {}
    for answer in _answered(answers, "sizes", "partition sizes", warnings):
        for result in answer.results:
            for topic in result.topics:
                for part in topic.partitions:
                    tp = (topic.name, part.partition_index)
                    # Every broker holding a copy reports it: a partition's size is its
                    # largest copy, not their sum (retention.bytes applies per copy).
                    sizes[tp] = max(sizes.get(tp, 0), part.partition_size)
    return sizes


def configs_from(answers: dict[Any, Any], warnings: list[str]) -> dict[str, dict[str, str]]:
    configs: dict[str, dict[str, str]] = {}
    for answer in _answered(answers, "configs", "topic configs", warnings):
        for result in answer.results:
            if result.error_code:
                continue
            configs[result.resource_name] = {
                c.name: c.value for c in result.configs if c.value is not None
            }
    return configs


@dataclass
class Round:
    """Requests of one round and what each asked about, to count the unanswered."""

    requests: list[tuple[Any, Any, int]] = field(default_factory=list)
    asked: dict[tuple[str, int], list[TP]] = field(default_factory=dict)
    configs_for: set[str] = field(default_factory=set)
    sized: set[TP] = field(default_factory=set)


def first_round(
    manager: Any,
    partitions: dict[TP, int],
    brokers: Iterable[int],
    *,
    configs_for: Iterable[str],
    oldest: set[TP],
    newest: set[TP],
) -> Round:
    """Start and end offsets and sizes of `partitions` (tp -> leader), the oldest and
    newest records of those in `oldest`/`newest`, and the configs of `configs_for`."""
    r = Round()
    leaders: dict[int, list[TP]] = defaultdict(list)
    for tp, leader in partitions.items():
        if leader >= 0:
            leaders[leader].append(tp)

    def ask(kind: str, node: int, tps: list[TP], spec: int) -> None:
        if tps:
            r.asked[(kind, node)] = tps
            r.requests.append(((kind, node), cached_list_offsets(manager, tps, spec), node))

    for node, tps in leaders.items():
        ask("start", node, tps, EARLIEST)
        ask("end", node, tps, LATEST)
        ask("oldest", node, [tp for tp in tps if tp in oldest], 0)
        ask("newest", node, [tp for tp in tps if tp in newest], MAX_TIMESTAMP)
    every: dict[str, list[int]] = defaultdict(list)
    for topic, index in partitions:
        every[topic].append(index)
    nodes = list(brokers)
    if every:
        r.sized = set(partitions)
        request = describe_log_dirs_request(every)
        r.requests += [(("sizes", node), request, node) for node in nodes]
    r.configs_for = set(configs_for)
    if r.configs_for:
        node = nodes[0] if nodes else manager.least_loaded_node()
        request = describe_configs_request(sorted(r.configs_for), SNAPSHOT_CONFIGS)
        r.requests.append((("configs", node), request, node))
    return r


@dataclass
class Prefetched:
    """A first round sent before the Metadata answer came, from the previous layout."""

    round: Round
    answers: dict[Any, Any]
