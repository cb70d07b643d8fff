"""CPU time read from the kernel, for benchmarks that divide it by the work done.

Owns two counts: a running process's user + system time (`/proc/PID/stat`, every thread;
optionally its direct children too) and the benchmark's own client side (this process's
threads plus every child it has waited for, from `getrusage`). A count holds on a busy
machine where a rate does not. Also where those run: `pin_apart` puts brokers and clients
on separate CPUs. It never starts, stops or signals a broker or a client.
"""

from __future__ import annotations

import os
import resource
import subprocess
from pathlib import Path


def process_cpu_seconds(pid: int, *, children: bool = False) -> float:
    """User + system CPU of running process `pid` so far (and of its direct children)."""
    pids = [pid]
    if children:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    ticks = 0
    for p in pids:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def client_cpu_seconds() -> float:
    """User + system CPU of this process and of the children it has waited for.

    Around a load this is the client's CPU: a client library running in this process
    (its threads included) or a tool run with `subprocess.run` (JVM start included).
    Brokers started with Popen and still running are not in it.
    """
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def pin_apart(pids: list[int]) -> None:
    """Every thread of each broker process on the first CPU this process may use; this
    process, and so every client it starts from now on (kcat, the JVM tools, librdkafka's
    threads), on the second."""
    usable = sorted(os.sched_getaffinity(0))
    assert len(usable) >= 2, "--pin needs two CPUs"
    brokers_cpu, clients_cpu = usable[:2]
    for pid in pids:
        subprocess.run(
            ["taskset", "-a", "-p", "-c", str(brokers_cpu), str(pid)],
            check=True,
            capture_output=True,
        )
    os.sched_setaffinity(0, {clients_cpu})
