"""Small builders for test data, written through the same services operators use."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

from redcloud import demo
from redcloud.auth import provisioning
from redcloud.auth.security import SecretBox
from redcloud.auth.service import CAPABILITIES, issue_token
from redcloud.db import Database
from redcloud.numbers import provisioning as numbers

_counter = itertools.count(1)


@dataclass
class ClientInfo:
    client_id: str
    secret: str
    token: str
    account_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def seed_demo(db: Database, box: SecretBox) -> None:
    async with db.session(write=True) as session:
        await demo.seed(session, box)


async def make_client(
    db: Database,
    *,
    capabilities: tuple[str, ...] = CAPABILITIES,
    account_id: str | None = None,
    ttl: int = 3600,
) -> ClientInfo:
    """An account (unless given), an API client and a fresh bearer token."""
    n = next(_counter)
    async with db.session(write=True) as session:
        if account_id is None:
            account_id = (await provisioning.create_account(session, f"Account {n}")).id
        client, secret = await provisioning.create_client(
            session, account_id=account_id, name=f"Client {n}", capabilities=capabilities
        )
        token = await issue_token(session, client, ttl)
    return ClientInfo(client.id, secret, token, account_id)


async def make_number(
    db: Database,
    client_id: str,
    *,
    e164: str | None = None,
    campaign: str | None = "CAMP1",
    **fields: Any,
) -> str:
    """A number assigned to `client_id`; returns its numberId."""
    e164 = e164 or f"+1512555{next(_counter):04d}"
    async with db.session(write=True) as session:
        number = await numbers.assign(session, e164, client_id, campaign=campaign)
        for name, value in fields.items():
            setattr(number, name, value)
        return number.id


def send_body(number_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sendFrom": number_id,
        "to": ["+15551234567"],
        "messageType": "SMS",
        "text": "Hello from Red Cloud",
        "externalReference": "order_789",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


async def send(
    api: httpx.AsyncClient,
    headers: dict[str, str],
    body: dict[str, Any],
    key: str | None = "key-1",
) -> httpx.Response:
    extra = {"Idempotency-Key": key} if key is not None else {}
    return await api.post("/api/core/messages/send", json=body, headers={**headers, **extra})


def assert_core_error(
    response: httpx.Response, status: int, code: str, message: str | None = None
) -> dict[str, Any]:
    """The CORE wrapper with this status and code (and message, if given)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "requestId"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["details"], dict)
    assert body["requestId"].startswith("req_")
    assert response.headers["x-request-id"] == body["requestId"]
    if message is not None:
        assert body["error"]["message"] == message
    error: dict[str, Any] = body["error"]
    return error
