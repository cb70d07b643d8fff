"""How much an ACL check costs on the hot path: cached decisions vs deciding afresh.

    .venv/bin/python bench/acl_check.py [--acls N]

Builds an authorizer over N bindings (prefixed and literal topic grants for many
principals) in a temporary directory and times `authorize` for a Produce-like pattern
(one principal, a few topics, checked again and again) and the first, uncached decision.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from logstore.security.acls import AclBinding, Operation, PatternType, Permission, ResourceType
from logstore.security.authorizer import Authorizer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--acls", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        auth = Authorizer.open(Path(tmp), ())
        auth.store.add(
            AclBinding(
                ResourceType.TOPIC,
                f"team{i}-",
                PatternType.PREFIXED if i % 2 else PatternType.LITERAL,
                f"User:app{i}",
                "*",
                Operation.WRITE,
                Permission.ALLOW,
            )
            for i in range(args.acls)
        )
        topics = [f"team{i}-orders" for i in range(1, 11, 2)]
        rounds = 200_000
        start = time.perf_counter()
        for n in range(rounds):
            auth.authorize(
                "User:app1", "127.0.0.1", Operation.WRITE, ResourceType.TOPIC, topics[n % 5]
            )
        cached = (time.perf_counter() - start) / rounds
        fresh_rounds = 200
        start = time.perf_counter()
        for n in range(fresh_rounds):
            auth._decide("User:app1", "127.0.0.1", Operation.WRITE, ResourceType.TOPIC, f"t{n}")
        fresh = (time.perf_counter() - start) / fresh_rounds
    print(f"{args.acls} ACLs: cached check {cached * 1e9:.0f} ns, uncached {fresh * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
