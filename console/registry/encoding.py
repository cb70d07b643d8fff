"""Producing from the console with a registry schema: validate, encode, frame.

Owns turning a JSON document typed on the produce form into Confluent wire-format bytes
with the latest version of a chosen subject (Avro by fastavro, JSON Schema as JSON). It
must never send anything: the produce view does, through `console.kafka`.
"""

from __future__ import annotations

import io
import json

import fastavro

from console.registry import errors, formats, store, wire


def subjects_for(topic: str) -> list[str]:
    """Subjects a person may pick for `topic`'s values: its own `-value` subject first."""
    names = store.subjects()
    own = f"{topic}-value"
    return ([own] if own in names else []) + [n for n in names if n != own]


def encode(subject: str, text: str) -> bytes:
    """`text` (JSON) checked against and encoded with `subject`'s latest schema.

    Raises ValueError with the reasons a person can act on.
    """
    try:
        row = store.version(subject, store.LATEST)
    except errors.RegistryError as exc:
        raise ValueError(exc.message) from exc
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"a schema needs a JSON document ({exc})") from exc
    parsed = store.parsed_of(row.schema)
    problems = formats.validate_document(parsed, document)
    if problems:
        raise ValueError(f"does not fit {subject} v{row.version}: " + "; ".join(problems))
    if parsed.schema_type == formats.AVRO:
        out = io.BytesIO()
        fastavro.schemaless_writer(
            out, fastavro.parse_schema(json.loads(parsed.canonical)), document
        )
        payload = out.getvalue()
    else:
        payload = json.dumps(document, ensure_ascii=False).encode()
    return wire.frame(row.schema_id, payload)
