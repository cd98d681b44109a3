"""The pipeline's floor: the same HTTP work as a send and its three webhooks, with no
database, no queue and no durability, served exactly as `redcloud serve` serves.

- POST /bare/accept: reads the JSON body (no pydantic model) and answers a send-shaped 202.
- POST /bare/relay: the same, then POSTs the message's three signed webhooks (queued, sent,
  delivery) in order to FLOOR_RECEIVER with one pooled aiohttp session, as the platform's
  webhook sender does.

Run: FLOOR_RECEIVER=http://127.0.0.1:PORT/delivery uvicorn bench.floor_app:app \
       --loop uvloop --http httptools --no-access-log
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from fastapi import FastAPI, Request
from fastapi.responses import Response

from redcloud.webhooks import signing

SECRET = os.environ.get("FLOOR_SECRET", "rc_webhook_secret_demo")
RECEIVER = os.environ.get("FLOOR_RECEIVER", "")
STATUSES = (
    ("message.queued", "queued"),
    ("message.sent", "sent"),
    ("message.delivery", "delivered"),
)
_session: aiohttp.ClientSession | None = None
_pending: set[asyncio.Task[None]] = set()


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    global _session
    _session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=100),
        timeout=aiohttp.ClientTimeout(total=10),
    )
    yield
    await _session.close()


app = FastAPI(lifespan=lifespan)


def _accepted(body: dict[str, Any]) -> tuple[str, bytes]:
    message_id = "msg_" + secrets.token_hex(10)
    answer = {
        "results": [{"to": body["to"][0], "messageId": message_id, "status": "QUEUED"}],
        "errors": [],
    }
    return message_id, json.dumps(answer, separators=(",", ":")).encode()


@app.post("/bare/accept")
async def accept(request: Request) -> Response:
    body = json.loads(await request.body())
    _, answer = _accepted(body)
    return Response(answer, status_code=202, media_type="application/json")


@app.post("/bare/relay")
async def relay(request: Request) -> Response:
    body = json.loads(await request.body())
    message_id, answer = _accepted(body)
    task = asyncio.create_task(_webhooks(message_id, body, int(time.time() * 1000)))
    _pending.add(task)
    task.add_done_callback(_pending.discard)
    return Response(answer, status_code=202, media_type="application/json")


async def _webhooks(message_id: str, body: dict[str, Any], accepted_ms: int) -> None:
    """The three events, in sequence, each signed afresh, as the pipeline sends them."""
    assert _session is not None
    for sequence, (event_type, status) in enumerate(STATUSES, start=1):
        occurred = accepted_ms if sequence == 1 else int(time.time() * 1000)
        event = {
            "eventType": event_type,
            "direction": "outbound",
            "occurredAt": occurred,
            "apiClientId": "rc_test_client_123",
            "messageId": message_id,
            "sequence": sequence,
            "data": {
                "messageId": message_id,
                "externalReference": body.get("externalReference"),
                "sendFrom": "+15551234567",
                "to": body["to"][0],
                "status": status,
                "providerMessageRef": None if sequence == 1 else "floor",
                "error": None,
            },
        }
        raw = json.dumps(event, separators=(",", ":")).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            signing.EVENT_ID_HEADER: f"evt_{message_id}_{sequence}",
            signing.TIMESTAMP_HEADER: str(timestamp),
            signing.SIGNATURE_HEADER: signing.sign(SECRET, timestamp, raw),
        }
        async with _session.post(RECEIVER, data=raw, headers=headers) as response:
            await response.read()
