"""Request handlers, one per API key: the only place that knows both protocol and state.

Owns what each request means. It must never touch sockets (server) or files (storage) directly.
"""
