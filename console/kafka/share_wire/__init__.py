"""Share-group admin messages (KIP-932) for kafka-python's network thread.

kafka-python 3 knows no share-group APIs, so this package describes the five the console
sends in its own JSON files, in the form its message loader reads: ShareGroupDescribe (77,
v1), DescribeShareGroupOffsets (90, v0-1), AlterShareGroupOffsets (91, v0),
DeleteShareGroupOffsets (92, v0) and ReadShareGroupState (84, v0). It owns the wire shapes only and must never send
anything: `console.kafka.shares` does.
"""

from __future__ import annotations

import sys
from typing import Any

from kafka.protocol.api_message import ApiMessage

_HERE = sys.modules[__name__]


def _message(name: str) -> Any:
    """The kafka-python message class read from this package's `<name>.json`."""
    return type(ApiMessage)(name, (ApiMessage,), {"__module__": __name__}, load_json=_HERE)


ShareGroupDescribeRequest = _message("ShareGroupDescribeRequest")
ShareGroupDescribeResponse = _message("ShareGroupDescribeResponse")
DescribeShareGroupOffsetsRequest = _message("DescribeShareGroupOffsetsRequest")
DescribeShareGroupOffsetsResponse = _message("DescribeShareGroupOffsetsResponse")
AlterShareGroupOffsetsRequest = _message("AlterShareGroupOffsetsRequest")
AlterShareGroupOffsetsResponse = _message("AlterShareGroupOffsetsResponse")
DeleteShareGroupOffsetsRequest = _message("DeleteShareGroupOffsetsRequest")
DeleteShareGroupOffsetsResponse = _message("DeleteShareGroupOffsetsResponse")
ReadShareGroupStateRequest = _message("ReadShareGroupStateRequest")
ReadShareGroupStateResponse = _message("ReadShareGroupStateResponse")
