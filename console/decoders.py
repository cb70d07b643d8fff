"""Turning a record's key or value bytes into something a person can read.

Owns the decoder interface and the built-in decoders (JSON, UTF-8 text, hex) plus the
auto-detection order. A decoder is a pure function of bytes: it must never reach a
cluster or a schema registry itself; an Avro or Protobuf decoder that needs one is handed
its client when it is registered, and joins `DECODERS` under its own name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

# Modes a person can pick in the browser; "auto" tries DETECTION_ORDER.
AUTO = "auto"


@dataclass(frozen=True)
class Decoded:
    """One decoded key or value.

    `kind` is the decoder that produced `text` ("json", "text", "hex") or "null" for a
    missing key/value. `data` is the parsed JSON document when `kind == "json"`. `error`
    explains why a decoder the person forced could not read the bytes (we then show hex).
    """

    kind: str
    text: str
    size: int
    data: Any = None
    error: str = ""
    # Which registry schema read the bytes ("schema 3 · users-value v2"), when one did.
    schema: str = ""

    @property
    def is_null(self) -> bool:
        return self.kind == "null"


class Decoder(Protocol):
    """A way of reading bytes. `accepts` must be cheap: auto-detection calls it per record."""

    name: str
    label: str

    def accepts(self, raw: bytes) -> bool: ...

    def decode(self, raw: bytes) -> Decoded: ...


class JsonDecoder:
    name = "json"
    label = "JSON"

    def accepts(self, raw: bytes) -> bool:
        # Only objects and arrays count as JSON for auto-detection: `42` or `true` read
        # just as well as text, and calling every number "JSON" would be noise.
        head = raw.lstrip()[:1]
        if head not in (b"{", b"["):
            return False
        try:
            json.loads(raw)
        except ValueError:
            return False
        return True

    def decode(self, raw: bytes) -> Decoded:
        data = json.loads(raw)
        text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False)
        return Decoded(kind=self.name, text=text, size=len(raw), data=data)


class TextDecoder:
    name = "text"
    label = "Text (UTF-8)"

    def accepts(self, raw: bytes) -> bool:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return False
        # Control characters other than whitespace mean binary that happens to be UTF-8.
        return all(ch >= " " or ch in "\t\n\r" for ch in text)

    def decode(self, raw: bytes) -> Decoded:
        return Decoded(kind=self.name, text=raw.decode("utf-8"), size=len(raw))


class HexDecoder:
    name = "hex"
    label = "Hex"

    def accepts(self, raw: bytes) -> bool:
        return True

    def decode(self, raw: bytes) -> Decoded:
        return Decoded(kind=self.name, text=raw.hex(" "), size=len(raw))


DECODERS: dict[str, Decoder] = {d.name: d for d in (JsonDecoder(), TextDecoder(), HexDecoder())}
DETECTION_ORDER: tuple[str, ...] = ("json", "text", "hex")


def choices() -> list[tuple[str, str]]:
    """(name, label) pairs for a decoder picker, "auto" first."""
    return [(AUTO, "Auto-detect"), *((d.name, d.label) for d in DECODERS.values())]


def decode(raw: bytes | None, mode: str = AUTO) -> Decoded:
    """Decode `raw` with decoder `mode`, or the first that accepts it when `mode` is auto.

    A forced decoder that cannot read the bytes falls back to hex and says why, so a wrong
    override never hides the data.
    """
    if raw is None:
        return Decoded(kind="null", text="", size=0)
    if mode == AUTO:
        for name in DETECTION_ORDER:
            decoder = DECODERS[name]
            if decoder.accepts(raw):
                try:
                    return decoder.decode(raw)
                except (ValueError, UnicodeDecodeError):
                    # Framed bytes that still do not read: let the next decoder try.
                    continue
    if mode not in DECODERS:
        raise ValueError(f"unknown decoder {mode!r}; choose one of {', '.join(DECODERS)}")
    decoder = DECODERS[mode]
    try:
        return decoder.decode(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        fallback = DECODERS["hex"].decode(raw)
        return Decoded(
            kind=fallback.kind,
            text=fallback.text,
            size=fallback.size,
            error=f"not {decoder.label}: {exc}",
        )
