"""The ceiling: a bare FastAPI JSON POST, served exactly as `redcloud serve` serves.

It parses the same request body into a pydantic model and answers a send-shaped 202, with
no middleware, no auth and no database — the framework's limit on this machine.
Run: uvicorn bench.ceiling_app:app --loop uvloop --http httptools --no-access-log
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Header
from pydantic import BaseModel

app = FastAPI()


class SendBody(BaseModel):
    sendFrom: str
    to: list[str]
    messageType: str
    text: str
    externalReference: str


@app.post("/api/core/messages/send", status_code=202)
async def send(body: SendBody, idempotency_key: str = Header()) -> dict[str, Any]:
    return {
        "results": [{"to": body.to[0], "messageId": "msg_ceiling", "status": "QUEUED"}],
        "errors": [],
    }
