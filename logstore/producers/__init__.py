"""Producer ids, per-partition sequence de-duplication and (later) transactions.

Owns idempotence state. It must never touch sockets or parse frames.
"""
