"""Consumer groups: classic and KIP-848 coordinators, committed offsets, share groups.

Owns group membership and offsets. It must never touch sockets or parse frames.
"""
