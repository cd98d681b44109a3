"""`redcloud listen`: a local webhook receiver for integrators, like `stripe listen`.

It verifies each delivery's signature, prints the event readably (or as a JSON line), and
with a forward URL passes the raw body and Red Cloud's headers on unchanged to the
developer's own endpoint, answering Red Cloud with that endpoint's status — so a failing
endpoint sees the platform's real retries.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.auth.models import ApiClient
from redcloud.auth.provisioning import ProvisioningError, get_client
from redcloud.auth.security import SecretBox
from redcloud.numbers.provisioning import get_number
from redcloud.webhooks import signing

# Hop-by-hop and length headers belong to each connection, not to the delivery.
_NOT_FORWARDED = frozenset({"host", "content-length", "connection", "transfer-encoding"})


@dataclass
class Forwarded:
    url: str
    status: int | None
    latency_ms: int
    error: str | None


@dataclass
class Listener:
    """The receiver's behaviour; `app()` gives the aiohttp application to serve."""

    secret: str | None
    forward_to: str | None
    write: Callable[[str], None]
    as_json: bool = False
    timeout: float = 10.0
    received: int = 0
    _http: aiohttp.ClientSession | None = field(default=None, repr=False)

    def app(self) -> web.Application:
        application = web.Application(client_max_size=8 * 1024 * 1024)
        application.router.add_route("*", "/{tail:.*}", self.handle)
        application.on_cleanup.append(self._close)
        return application

    async def _close(self, _: web.Application) -> None:
        if self._http is not None:
            await self._http.close()

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        arrived_ms = time.time_ns() // 1_000_000
        verified = self._verify(request, raw)
        forwarded = await self._forward(request, raw) if verified is not False else None
        self.received += 1
        self.write(self._describe(request, raw, arrived_ms, verified, forwarded))
        if verified is False:
            return web.Response(status=400, text="signature verification failed\n")
        if forwarded is not None:
            return web.Response(status=forwarded.status or 502, text="forwarded\n")
        return web.Response(status=200, text="ok\n")

    def _verify(self, request: web.Request, raw: bytes) -> bool | None:
        """True or False when we have a secret to check with, None when we do not."""
        if self.secret is None:
            return None
        timestamp = request.headers.get(signing.TIMESTAMP_HEADER)
        signature = request.headers.get(signing.SIGNATURE_HEADER)
        if not timestamp or not signature:
            return False
        return signing.verify(self.secret, timestamp, raw, signature)

    async def _forward(self, request: web.Request, raw: bytes) -> Forwarded | None:
        if self.forward_to is None:
            return None
        if self._http is None:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            self._http = aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        started = time.perf_counter()
        try:
            async with self._http.post(
                self.forward_to, data=raw, headers=headers, allow_redirects=False
            ) as answer:
                await answer.read()
                status, error = answer.status, None
        except (aiohttp.ClientError, TimeoutError) as exc:
            status, error = None, f"{type(exc).__name__}: {exc}".rstrip(": ")
        latency = round((time.perf_counter() - started) * 1000)
        return Forwarded(self.forward_to, status, latency, error)

    def _describe(
        self,
        request: web.Request,
        raw: bytes,
        arrived_ms: int,
        verified: bool | None,
        forwarded: Forwarded | None,
    ) -> str:
        try:
            event: Any = json.loads(raw)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            event = {}
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        occurred = event.get("occurredAt")
        record = {
            "receivedAt": dt.datetime.fromtimestamp(arrived_ms / 1000, dt.UTC).isoformat(),
            "path": request.path,
            "eventId": request.headers.get(signing.EVENT_ID_HEADER),
            "eventType": event.get("eventType"),
            "messageId": event.get("messageId"),
            "sequence": event.get("sequence"),
            "status": data.get("status"),
            "error": data.get("error"),
            "latencyMs": arrived_ms - occurred if isinstance(occurred, int) else None,
            "verified": verified,
            "forward": None if forwarded is None else forwarded.__dict__,
        }
        if self.as_json:
            return json.dumps({**record, "event": event or raw.decode("utf-8", "replace")})
        return _line(record, data)


def _line(record: dict[str, Any], data: dict[str, Any]) -> str:
    """One readable line: time, type, message, sequence, status, latency, checks."""
    clock = record["receivedAt"][11:23]
    kind = record["eventType"] or "(not a Red Cloud event)"
    parts = [clock, f"{kind:<17}", str(record["messageId"] or "-"), f"seq {record['sequence']}"]
    if kind == "message.inbound":
        parts.append(f"from {data.get('from')}: {str(data.get('text') or '')[:60]!r}")
    else:
        parts.append(str(record["status"] or "-"))
    if record["error"]:
        parts.append(f"[{record['error'].get('code')}]")
    if record["latencyMs"] is not None:
        parts.append(f"{record['latencyMs']} ms after it happened")
    parts.append(
        {True: "signature ok", False: "SIGNATURE FAILED (answered 400)", None: "not verified"}[
            record["verified"]
        ]
    )
    forward = record["forward"]
    if forward is not None:
        answer = forward["status"] if forward["status"] is not None else forward["error"]
        parts.append(f"-> {forward['url']} answered {answer} in {forward['latency_ms']} ms")
    return "  ".join(parts)


@dataclass
class Redirect:
    """Where a client's or a number's webhooks pointed before `listen` took them over."""

    client_id: str | None
    number_id: str | None
    previous: dict[str, str | None] = field(default_factory=dict)


async def point_here(
    session: AsyncSession, redirect: Redirect, url: str, box: SecretBox
) -> str | None:
    """Point the client's (or number's) inbound and delivery URLs at `url`, remember the old
    ones, and return the signing secret of the API client the deliveries come from."""
    client: ApiClient | None = None
    if redirect.number_id is not None:
        number = await get_number(session, redirect.number_id)
        if number.api_client_id is None:
            raise ProvisioningError(f"Number {number.id} is not assigned to any API client.")
        redirect.previous["number.inbound"] = number.webhook_inbound_override
        redirect.previous["number.delivery"] = number.webhook_delivery_override
        number.webhook_inbound_override = number.webhook_delivery_override = url
        client = await get_client(session, number.api_client_id)
    if redirect.client_id is not None:
        client = await get_client(session, redirect.client_id)
        redirect.previous["client.inbound"] = client.inbound_webhook_url
        redirect.previous["client.delivery"] = client.delivery_webhook_url
        client.inbound_webhook_url = client.delivery_webhook_url = url
    await session.flush()
    if client is None or client.webhook_secret_encrypted is None:
        return None
    return box.decrypt(client.webhook_secret_encrypted)


async def restore(session: AsyncSession, redirect: Redirect) -> None:
    """Put back the URLs `point_here` replaced."""
    if redirect.number_id is not None and "number.inbound" in redirect.previous:
        number = await get_number(session, redirect.number_id)
        number.webhook_inbound_override = redirect.previous["number.inbound"]
        number.webhook_delivery_override = redirect.previous["number.delivery"]
    if redirect.client_id is not None and "client.inbound" in redirect.previous:
        client = await get_client(session, redirect.client_id)
        client.inbound_webhook_url = redirect.previous["client.inbound"]
        client.delivery_webhook_url = redirect.previous["client.delivery"]
    await session.flush()
