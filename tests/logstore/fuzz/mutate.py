"""Structure-aware mutation of captured request frames.

Owns turning a corpus frame into a hostile one: lengths, counts and varints set to bombs,
nulls, off-by-ones and overlong encodings (aimed with `layout.spans`); null markers and
blob contents scrambled; truncations; headers with random API keys and versions; byte
flips; length prefixes that lie; plain random bytes. Deterministic for a given
`random.Random`. It must never send anything: the runner owns sockets.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Sequence

from tests.logstore.fuzz.layout import Kind, Span, spans

_LEGACY_VALUES = (0, 1, -1, -2, 0x7FFF, 0x7FFFFFFF, -0x80000000)
_UVARINTS = (
    b"\x00",  # null
    b"\x01",  # empty
    b"\x02",
    b"\x7f",
    b"\xff\xff\xff\xff\x0f",  # 2^32 - 1
    b"\xfe\xff\xff\xff\x0f",  # 2^32 - 2: the Metadata bomb
    b"\xff\xff\xff\xff\x7f",  # wider than 32 bits
    b"\x80\x80\x80\x80\x80\x01",  # six bytes
    b"\x80",  # truncated
    b"\xff\xff\xff\x07",
)


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class Mutator:
    """Hostile frames (length prefix included) derived from `corpus` bodies."""

    def __init__(self, corpus: Sequence[bytes], rng: random.Random) -> None:
        self.corpus = corpus
        self.rng = rng
        self._spans: dict[int, list[Span]] = {}
        self._strategies: list[tuple[Callable[[bytes, int], bytes], int]] = [
            (self.structural, 50),
            (self.truncate, 10),
            (self.header, 10),
            (self.flip, 12),
            (self.splice, 5),
            (self.random_body, 4),
            (self.unchanged, 4),
        ]
        self._weights = [w for _, w in self._strategies]

    def frame(self) -> bytes:
        index = self.rng.randrange(len(self.corpus))
        (strategy, _) = self.rng.choices(self._strategies, self._weights)[0]
        body = strategy(self.corpus[index], index)
        length = len(body)
        if self.rng.random() < 0.03:  # a prefix that lies about the body
            length = self.rng.choice((length - 1, length + 1, length * 2, 7, 0x7FFFFFFF))
        return struct.pack(">i", length) + body

    def _layout(self, body: bytes, index: int) -> list[Span]:
        if index not in self._spans:
            self._spans[index] = spans(body)
        return self._spans[index]

    def unchanged(self, body: bytes, index: int) -> bytes:
        return body

    def structural(self, body: bytes, index: int) -> bytes:
        layout = self._layout(body, index)
        if not layout:
            return self.flip(body, index)
        out = body
        for _ in range(self.rng.choice((1, 1, 1, 2, 3))):
            span = self.rng.choice(layout)
            if span.end > len(out):
                break
            out = out[: span.start] + self._replace(span, out) + out[span.end :]
        return out

    def _replace(self, span: Span, body: bytes) -> bytes:
        rng = self.rng
        old = body[span.start : span.end]
        if span.kind is Kind.LEN16:
            value = rng.choice((*_LEGACY_VALUES, struct.unpack(">h", old)[0] + 1))
            return struct.pack(">h", max(-0x8000, min(0x7FFF, value)))
        if span.kind is Kind.LEN32:
            value = rng.choice((*_LEGACY_VALUES, struct.unpack(">i", old)[0] + 1))
            return struct.pack(">i", max(-0x80000000, min(0x7FFFFFFF, value)))
        if span.kind is Kind.UVARINT:
            if rng.random() < 0.3:
                return _uvarint(rng.choice((0, 1, 2, 255, 1 << 20, rng.getrandbits(32))))
            return rng.choice(_UVARINTS)
        if span.kind is Kind.MARKER:
            return bytes([rng.choice((0x00, 0x01, 0x02, 0x7F, 0x80, 0xFE, 0xFF))])
        choice = rng.random()  # a blob's contents
        if choice < 0.3:
            return b"\xff\xfe\xc3\x28"[: len(old)]  # invalid UTF-8, same length
        if choice < 0.6:
            return rng.randbytes(len(old))
        return old + rng.randbytes(rng.randrange(1, 8))  # the length now lies

    def truncate(self, body: bytes, index: int) -> bytes:
        return body[: self.rng.randrange(0, len(body) + 1)]

    def header(self, body: bytes, index: int) -> bytes:
        rng = self.rng
        api_key = rng.choice((rng.randrange(0, 100), -1, 0x7FFF, rng.randrange(-0x8000, 0x8000)))
        version = rng.choice((rng.randrange(0, 20), -1, 0x7FFF, rng.randrange(-0x8000, 0x8000)))
        if rng.random() < 0.5:  # keep the key, only the version moves
            api_key = struct.unpack_from(">h", body)[0] if len(body) >= 2 else api_key
        return struct.pack(">hh", api_key, version) + body[4:]

    def flip(self, body: bytes, index: int) -> bytes:
        out = bytearray(body)
        for _ in range(self.rng.randrange(1, 5)):
            if not out:
                break
            at = self.rng.randrange(len(out))
            op = self.rng.random()
            if op < 0.6:
                out[at] = self.rng.randrange(256)
            elif op < 0.8:
                del out[at]
            else:
                out.insert(at, self.rng.randrange(256))
        return bytes(out)

    def splice(self, body: bytes, index: int) -> bytes:
        other = self.rng.choice(self.corpus)
        cut = self.rng.randrange(8, max(9, len(body)))
        return body[:cut] + other[self.rng.randrange(0, len(other)) :]

    def random_body(self, body: bytes, index: int) -> bytes:
        return body[:8] + self.rng.randbytes(self.rng.randrange(0, 64))
