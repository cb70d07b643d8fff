"""ip quota entities named by host names, enforced as Kafka's broker enforces them: for the
address the name resolves to when the quota is applied, and again when the broker starts.

The names here are the short dotted forms the system resolver turns into an address
("127.5.6" is 127.5.0.6) but which are no address literal to Python or Kafka's checks, so
they go through the host-name lookup without depending on any DNS, and the connections
they limit come from an address of their own (bound as the source), never 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from logstore.broker import ip_lookup
from logstore.clock import ManualClock
from logstore.quotas.enforcer import CONNECTIONS, QuotaEnforcer
from tests.broker_fixture import start_broker
from tests.differential.test_connection_rate_quota import _outcome
from tests.logstore.broker.wire import Wire
from tests.logstore.quotas.test_client_quotas_broker import _alter, _described


def test_lookups() -> None:
    async def main() -> tuple[str | None, ...]:
        return (
            await ip_lookup.address_of("127.5.6"),
            await ip_lookup.address_of("localhost"),
            await ip_lookup.address_of("10.1.2.3"),
            await ip_lookup.address_of("no-such-host.invalid"),
        )

    assert asyncio.run(main()) == ("127.5.0.6", "127.0.0.1", "10.1.2.3", None)
    found = asyncio.run(ip_lookup.addresses_of(["127.5.6", "10.1.2.3", "no-such-host.invalid"]))
    assert found == {"127.5.6": "127.5.0.6"}  # literals need no lookup; failures are left out


def test_the_enforcer_uses_a_names_address_while_the_name_is_stored() -> None:
    enforcer = QuotaEnforcer(ManualClock())
    entries = [((("ip", "db-host"),), {CONNECTIONS: 1.0})]
    enforcer.load(entries)  # never resolved: not enforced
    assert all(enforcer.connection_throttle_ms("10.9.8.7") == 0 for _ in range(20))
    enforcer.load(entries, {"db-host": "10.9.8.7"})
    waits = [enforcer.connection_throttle_ms("10.9.8.7") for _ in range(11)]
    assert waits[:10] == [0] * 10
    assert waits[10] > 0
    # Removed, the name's address is forgotten: set again, it must be looked up again.
    enforcer.load([])
    enforcer.load(entries)
    assert all(enforcer.connection_throttle_ms("10.9.8.7") == 0 for _ in range(20))


def test_a_host_name_is_enforced_for_its_address_and_again_after_kill_9(tmp_path: Path) -> None:
    x, y = random.randint(2, 254), random.randint(2, 254)
    source, name = f"127.{x}.0.{y}", f"127.{x}.{y}"
    process = start_broker(tmp_path / "data")
    try:
        with Wire(process.bootstrap) as wire:
            assert _alter(wire, [("ip", name)], {CONNECTIONS: 1.0}) == (0, None)
            assert _described(wire, "ip", name) == {frozenset({("ip", name)}): {CONNECTIONS: 1.0}}
        # One a second over Kafka's ten-second first window: ten served, the 11th held.
        seen = [_outcome(source, process.bootstrap) for _ in range(11)]
        assert seen == ["answered"] * 10 + ["closed"]
        process.kill9()
        process.restart()
        seen = [_outcome(source, process.bootstrap) for _ in range(11)]
        assert seen == ["answered"] * 10 + ["closed"]
        with Wire(process.bootstrap) as wire:
            assert _alter(wire, [("ip", name)], {CONNECTIONS: None}) == (0, None)
        assert _outcome(source, process.bootstrap) == "answered"
    finally:
        process.stop()
