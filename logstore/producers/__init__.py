"""Producer ids, per-partition sequence de-duplication and the log side of transactions.

Owns idempotence state and what each partition knows of transactions (open ones, aborted
ones, the last stable offset). It must never touch sockets or parse frames.
"""
