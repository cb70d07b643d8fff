"""Producing from the console with a registry schema: validate, encode, frame.

Owns turning a JSON document typed on the produce form into Confluent wire-format bytes
with the latest version of a chosen subject of the cluster's registry (Avro by fastavro,
JSON Schema as JSON). It must never send anything: the produce view does, through
`console.kafka`.
"""

from __future__ import annotations

import io
import json

import fastavro

from console.registry import formats, wire
from console.registry.chosen import Refused, Registry, RegistryUnavailable


def subjects_for(registry: Registry, topic: str) -> list[str]:
    """Subjects a person may pick for `topic`'s values: its own `-value` subject first.

    None when the registry does not answer: producing as text still works then.
    """
    try:
        names = registry.subjects()
    except RegistryUnavailable:
        return []
    own = f"{topic}-value"
    return ([own] if own in names else []) + [n for n in names if n != own]


def encode(registry: Registry, subject: str, text: str) -> bytes:
    """`text` (JSON) checked against and encoded with `subject`'s latest schema.

    Raises ValueError with the reasons a person can act on.
    """
    try:
        found = registry.versions(subject)
        if not found:
            raise ValueError(f"Subject '{subject}' not found.")
        latest = found[-1]
        parsed = registry.parsed(latest)
    except RegistryUnavailable as exc:
        raise ValueError(f"the schema registry did not answer ({exc})") from exc
    except Refused as exc:
        raise ValueError(str(exc)) from exc
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"a schema needs a JSON document ({exc})") from exc
    problems = formats.validate_document(parsed, document)
    if problems:
        raise ValueError(f"does not fit {subject} v{latest.version}: " + "; ".join(problems))
    if parsed.schema_type == formats.AVRO:
        out = io.BytesIO()
        fastavro.schemaless_writer(
            out, fastavro.parse_schema(json.loads(parsed.canonical)), document
        )
        payload = out.getvalue()
    else:
        payload = json.dumps(document, ensure_ascii=False).encode()
    return wire.frame(latest.schema_id, payload)
