"""Sans-I/O Kafka protocol: frames in, typed requests out; typed responses in, bytes out.

Owns framing, request/response headers and the codec wrapper over kio. It must never do I/O.

Every decoder is hostile-input surface, ours or a library's: nothing reaches kio unchecked.
`guard` walks each request frame against the schema kio will read it with and refuses any
length, count, varint, null or tagged field that does not fit the frame's own bytes, before
kio allocates anything; hand-written readers bound every length the same way.
"""
