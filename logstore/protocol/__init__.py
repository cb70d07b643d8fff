"""Sans-I/O Kafka protocol: frames in, typed requests out; typed responses in, bytes out.

Owns framing, request/response headers and the codec wrapper over kio. It must never do I/O.
"""
