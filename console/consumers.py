"""The live-tail websocket: one connection per viewer, fed by the shared tail of its topic.

Owns a viewer's side: who may connect (a logged-in session; the origin is checked by
`console.ws_origin` in `console.asgi`), the viewer's filters, the optional
"N records back" start, pause/resume, and turning the shared frames into what this viewer
sees. It must never read the cluster for live records itself (`console.kafka.tail` does,
once for every viewer), and never block the event loop: the backfill read runs in a thread.

Messages to the browser (JSON): `status` (state "live" | "error"), `rows` (rendered rows
plus counts: rows, seen, skipped by sampling, filtered out), `paused` (records passed so far
while paused, sent with each frame that passes), `resumed` (missed while paused).
Messages from the browser: `{"action": "pause"}`, `{"action": "resume"}`.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from console import message_pages
from console.browse import Query, RecordFilter
from console.clusters import ClusterNotFound, get_cluster
from console.inputs import InputError
from console.kafka import tail as tails
from console.kafka.config import ClusterConfig
from console.kafka.errors import ClusterError
from console.message_rows import tail_row_html
from console.registry import decoding

MAX_BACK = 500
READY_TIMEOUT = 15.0

# Close codes (4000-4999 are the application's): the browser shows the reason.
UNAUTHENTICATED = 4401
NOT_FOUND = 4404
BAD_REQUEST = 4400


def _params(scope: dict[str, Any]) -> dict[str, str]:
    raw = parse_qs(scope.get("query_string", b"").decode())
    return {name: values[-1] for name, values in raw.items()}


class TailConsumer(AsyncJsonWebsocketConsumer):
    tail: tails.Tail | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        route = self.scope["url_route"]["kwargs"]
        self.cluster_slug, self.topic = route["cluster"], route["topic"]
        params = _params(self.scope)
        self.paused = False
        self.missed = 0
        # Live records below these offsets were already sent by the backfill.
        self.floor: dict[int, int] = {}
        try:
            config = await database_sync_to_async(get_cluster)(self.cluster_slug)
        except ClusterNotFound:
            await self.close(code=NOT_FOUND)
            return
        await self.accept()
        try:
            self.filter = RecordFilter(
                text=params.get("q", ""),
                text_in=params.get("q_in", "any") or "any",
                json_path=params.get("jpath", ""),
                json_op=params.get("jop", "eq") or "eq",
                json_value=params.get("jval", ""),
            )
            back = min(max(int(params.get("back") or 0), 0), MAX_BACK)
        except ValueError as exc:
            await self.send_json({"type": "status", "state": "error", "error": str(exc)})
            await self.close(code=BAD_REQUEST)
            return
        render = decoding.bound(self.cluster_slug, tail_row_html)
        self.tail = await tails.join(
            config, self.topic, render, publish=self.channel_layer.group_send
        )
        await self.channel_layer.group_add(self.tail.group, self.channel_name)
        if not await self.tail.wait_ready(READY_TIMEOUT):
            await self.send_json(
                {"type": "status", "state": "error", "error": "the cluster did not answer in time"}
            )
            return
        if self.tail.error:
            await self.send_json({"type": "status", "state": "error", "error": self.tail.error})
            return
        if back:
            await self._backfill(config, back)
        await self.send_json({"type": "status", "state": "live", "topic": self.topic})

    async def _backfill(self, config: ClusterConfig, back: int) -> None:
        query = Query(self.topic, start="newest", limit=back, filter=self.filter)
        try:
            page = await asyncio.to_thread(message_pages.browse, config, query)
        except (ClusterError, InputError) as exc:
            await self.send_json({"type": "status", "state": "error", "error": str(exc)})
            return
        self.floor = {p: high for p, (_, high) in page.watermarks.items()}
        # Rendering may look schemas up in the database, which the event loop may not do.
        render = decoding.bound(self.cluster_slug, tail_row_html)
        html = await asyncio.to_thread(lambda: "".join(render(r) for r in page.records))
        await self.send_json(
            {"type": "rows", "html": html, "rows": len(page.records), "seen": len(page.records),
             "skipped": 0, "filtered_out": 0, "backfill": True}
        )  # fmt: skip

    async def disconnect(self, code: int) -> None:
        if self.tail is not None:
            await self.channel_layer.group_discard(self.tail.group, self.channel_name)
            tail, self.tail = self.tail, None
            await tails.leave(tail)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        action = content.get("action") if isinstance(content, dict) else None
        if action == "pause":
            self.paused = True
        elif action == "resume" and self.paused:
            self.paused = False
            await self.send_json({"type": "resumed", "missed": self.missed})
            self.missed = 0

    async def tail_frame(self, event: dict[str, Any]) -> None:
        items = event["items"]
        if self.paused:
            self.missed += event["seen"]
            await self.send_json({"type": "paused", "missed": self.missed})
            return
        shown, filtered_out = [], 0
        for item in items:
            partition, offset = item[0], item[1]
            if offset < self.floor.get(partition, 0):
                continue
            if self.filter.active and not self.filter.matches(tails.item_record(item)):
                filtered_out += 1
                continue
            shown.append(item[-1])
        await self.send_json(
            {
                "type": "rows",
                "html": "".join(shown),
                "rows": len(shown),
                "seen": event["seen"],
                "skipped": event["skipped"],
                "filtered_out": filtered_out,
            }
        )

    async def tail_status(self, event: dict[str, Any]) -> None:
        await self.send_json({**event, "type": "status"})
