"""The address an ip quota entity names: the literal itself, or what its host name resolves to.

Kafka's broker takes an ip entity's name through `InetAddress.getByName` when it applies
the quota (an AlterClientQuotas, or replaying its metadata log at start): a name that
resolves is enforced for the first address the lookup gives (IPv4 before IPv6, as Java
prefers), and is not looked up again. This module owns those lookups, on two threads of
their own with a timeout, so slow or hostile names can hold up neither the event loop
nor the threads the broker writes files on. It must never decide what a quota is.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from logstore.quotas.enforcer import address_key

log = logging.getLogger("logstore.quotas")

# How long one name may take to resolve before it counts as unresolvable; also the most
# a broker's start waits for the names of its stored quotas.
RESOLVE_TIMEOUT_S = 5.0
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="quota-ip-lookup")


def _is_address(host: str) -> bool:
    # The enforcer's reading of an address (Java's, leading zeros and IPv4-mapped forms
    # included): a name it reads so is never looked up, as Kafka never looks it up.
    return address_key(host) is not None


def _first(answers: list[tuple[Any, ...]]) -> str | None:
    # getaddrinfo's entries: (family, type, proto, canonname, (address, port, ...)).
    ordered = sorted(answers, key=lambda a: a[0] != socket.AF_INET)
    return str(ordered[0][4][0]) if ordered else None


async def address_of(host: str) -> str | None:
    """`host` itself when it is an address, else the address it resolves to, or None when
    it does not resolve within RESOLVE_TIMEOUT_S."""
    if _is_address(host):
        return host
    lookup = functools.partial(socket.getaddrinfo, host, None, type=socket.SOCK_STREAM)
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            answers = await asyncio.get_running_loop().run_in_executor(_POOL, lookup)
    except (OSError, TimeoutError, UnicodeError, ValueError):
        return None
    return _first(answers)


async def addresses_of(names: Iterable[str]) -> dict[str, str]:
    """The addresses of the host names among `names` that resolve, all looked up at once,
    within RESOLVE_TIMEOUT_S in all (a broker's start waits for this). Names that do not
    resolve are logged: their quotas are not enforced."""
    hosts = sorted({n for n in names if not _is_address(n)})
    if not hosts:
        return {}
    tasks = {host: asyncio.ensure_future(address_of(host)) for host in hosts}
    await asyncio.wait(tasks.values(), timeout=RESOLVE_TIMEOUT_S)
    found: dict[str, str] = {}
    for host, task in tasks.items():
        address = task.result() if task.done() else None
        task.cancel()
        if address is None:
            log.warning("ip quota entity %r does not resolve; its quota is not enforced", host)
        else:
            found[host] = address
    return found
