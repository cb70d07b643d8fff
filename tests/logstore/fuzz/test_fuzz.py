"""Bounded structure-aware fuzzing of a real broker process (the long run is bench/fuzz.py).

Mutated captured client frames (corpus.hex) go over many concurrent connections for about
FUZZ_SECONDS while ApiVersions must keep answering within 1 s. Afterwards the broker must
be alive and serving, and its log must hold no Python traceback. Reproduce a failure with
the seed it prints: FUZZ_SEED=<seed> pytest tests/logstore/fuzz/test_fuzz.py.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.broker_fixture import BrokerProcess
from tests.logstore.broker.wire import Wire
from tests.logstore.fuzz.runner import CORPUS, fuzz, load_corpus, traceback_records

SECONDS = float(os.environ.get("FUZZ_SECONDS", "40"))
SEED = int(os.environ.get("FUZZ_SEED", "20261204"))
METADATA = 3


def test_corpus_covers_every_advertised_api() -> None:
    import logstore.broker.handlers  # noqa: F401  (registers every handler)
    from logstore.broker.api import supported_ranges
    from logstore.protocol import codec

    corpus = load_corpus()
    seen = {codec.peek_header(body)[:2] for body in corpus}
    for api_key, lo, hi in supported_ranges():
        for version in range(lo, hi + 1):
            assert (api_key, version) in seen, f"{CORPUS.name} lacks api {api_key} v{version}"
    for body in corpus:  # every seed is a frame the broker accepts
        if codec.request_class(*codec.peek_header(body)[:2]) is not None:
            codec.decode_request(body)


@pytest.mark.slow
def test_fuzzing_never_kills_hangs_or_leaks_a_traceback(broker: BrokerProcess) -> None:
    stats = asyncio.run(fuzz(broker.port, load_corpus(), seconds=SECONDS, seed=SEED))
    where = f"seed={SEED} (FUZZ_SEED={SEED} to repeat): {stats.line()}"
    assert broker.running, f"broker died; {where}\n{broker.log()}"
    assert not stats.health_failures, f"{stats.health_failures[:10]}; {where}"
    assert stats.frames > 1000, where
    assert stats.replies > 0, where  # some mutants are still valid requests
    assert stats.closed > 0, where  # and most are refused
    with Wire(broker.bootstrap) as w:  # still serving real requests
        meta = w.request(METADATA, 12, topics=None, allow_auto_topic_creation=False,
                         include_topic_authorized_operations=False)  # fmt: skip
        assert meta.brokers[0].port == broker.port
    unknown = traceback_records(broker.log_path.read_text(errors="replace"))
    assert not unknown, f"traceback in the broker log; {where}\n{unknown[0][-3000:]}"
