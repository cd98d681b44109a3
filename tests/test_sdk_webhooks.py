"""parse_event on real deliveries, and `redcloud listen` as a real process between the
platform and a developer's own endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from typing import Any

import httpx
import pytest

from redcloud.auth.models import ApiClient
from redcloud.db import Database
from redcloud.webhooks import signing
from redcloud_client import (
    AsyncRedCloud,
    InboundEvent,
    OutboundEvent,
    WebhookVerificationError,
    parse_event,
    verify_signature,
)
from tests.live import LiveServer, free_port
from tests.receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.one_database]

DEMO = ("rc_test_client_123", "rc_secret_abc123")
SECRET = "rc_webhook_secret_demo"
STATIC = {"Authorization": "Bearer rc_token_example"}


async def test_parse_event_reads_and_checks_real_deliveries(
    server: str, receiver: Receiver
) -> None:
    async with AsyncRedCloud(server, *DEMO) as rc:
        await rc.numbers.update(
            "num_abc123",
            webhook_delivery_override=receiver.url("/delivery"),
            webhook_inbound_override=receiver.url("/inbound"),
        )
        sent = await rc.messages.send(  # sent, then a failed delivery report
            "num_abc123", "+15005550002", "SMS", text="fails", external_reference="pe-1"
        )
    message_id = sent.results[0].message_id
    async with httpx.AsyncClient(base_url=server, headers=STATIC) as http:
        inbound = await http.post(
            "/api/sandbox/inbound",
            json={"from": "+15005550006", "to": "+15551234567", "text": "STOP"},
        )
    inbound_id = inbound.json()["messageId"]
    await receiver.wait_for(lambda r: len(r.of(message_id)) == 3 and r.of(inbound_id))

    events = [parse_event(d.raw, d.headers, SECRET) for d in receiver.deliveries]
    # The STOP also queues its automatic reply, another outbound message: not this one.
    outbound = sorted(
        (e for e in events if isinstance(e, OutboundEvent) and e.message_id == message_id),
        key=lambda e: e.sequence,
    )
    assert [e.event_type for e in outbound] == ["message.queued", "message.sent", "message.failed"]
    failed = outbound[-1]
    assert failed.data.status == "failed"
    assert failed.data.error is not None
    assert failed.data.error.code
    assert failed.data.provider_message_ref
    assert failed.data.provider_message_ref.startswith("sbx_")
    assert failed.data.external_reference == "pe-1"
    assert failed.data.send_from == "+15551234567"
    assert all(e.event_id.startswith("evt_") for e in events)
    assert len({e.event_id for e in events}) == len(events)
    assert failed.raw["data"]["status"] == "failed"
    (customer,) = [e for e in events if isinstance(e, InboundEvent)]
    assert (customer.data.from_, customer.data.to, customer.data.text) == (
        "+15005550006",
        "+15551234567",
        "STOP",
    )
    assert customer.data.number_id == "num_abc123"

    delivery = receiver.deliveries[0]
    timestamp = delivery.headers["X-RedCloud-Timestamp"]
    signature = delivery.headers["X-RedCloud-Signature"]
    assert verify_signature(delivery.raw, timestamp, signature, SECRET, tolerance=300)
    assert not verify_signature(delivery.raw, timestamp, signature, "another-secret-123")
    refusals = {
        "tampered body": (delivery.raw.replace(b"+1555", b"+1556"), delivery.headers, SECRET),
        "wrong secret": (delivery.raw, delivery.headers, "rc_webhook_secret_other"),
        "re-serialised JSON": (
            json.dumps(json.loads(delivery.raw), indent=1).encode(),
            delivery.headers,
            SECRET,
        ),
    }
    for name, (raw, headers, secret) in refusals.items():
        with pytest.raises(WebhookVerificationError) as refused:
            parse_event(raw, headers, secret)
        assert refused.value.code == "invalid_signature", name
    for header in ("X-RedCloud-Signature", "X-RedCloud-Timestamp"):
        without = {k: v for k, v in delivery.headers.items() if k != header}
        with pytest.raises(WebhookVerificationError) as missing:
            parse_event(delivery.raw, without, SECRET)
        assert missing.value.code == "missing_header"
        assert header in missing.value.message


def test_parse_event_refuses_old_timestamps_and_non_events() -> None:
    body = b'{"eventType": "message.sent"}'
    old = int(time.time()) - 3600
    headers = {"x-redcloud-timestamp": str(old), "x-redcloud-signature": sign(old, body)}
    with pytest.raises(WebhookVerificationError) as stale:
        parse_event(body, headers, SECRET)
    assert stale.value.code == "stale_timestamp"
    with pytest.raises(WebhookVerificationError) as malformed:  # signed, old allowed, no fields
        parse_event(body, headers, SECRET, tolerance=None)
    assert malformed.value.code == "malformed_body"
    odd = b'{"eventType": "account.closed"}'
    now = int(time.time())
    signed = {"X-RedCloud-Timestamp": str(now), "X-RedCloud-Signature": sign(now, odd)}
    with pytest.raises(WebhookVerificationError, match="unknown eventType"):
        parse_event(odd, signed, SECRET)
    with pytest.raises(TypeError):
        parse_event(odd.decode(), signed, SECRET)  # type: ignore[arg-type]
    assert not verify_signature(odd, "not-a-number", sign(now, odd), SECRET)


def sign(timestamp: int, body: bytes) -> str:
    return signing.sign(SECRET, timestamp, body)


async def start_listen(env: dict[str, str], *args: str) -> tuple[Any, str]:
    """Start `redcloud listen`; return the process and the URL it announced."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "redcloud",
        "listen",
        "--port",
        "0",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    while True:
        line = (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
        assert line, f"listen exited: {await process.wait()}"
        if "Listening on" in line:
            return process, line.split("Listening on", 1)[1].strip()


async def read_lines(process: Any, count: int) -> list[str]:
    return [(await asyncio.wait_for(process.stdout.readline(), 30)).decode() for _ in range(count)]


async def stop(process: Any) -> str:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr
    return str(stderr.decode())


async def test_listen_points_verifies_forwards_and_restores(
    live_server: LiveServer, receiver: Receiver
) -> None:
    process, url = await start_listen(
        live_server.env,
        "--number",
        "num_abc123",
        "--json",
        "--forward-to",
        receiver.url("/my-endpoint"),
    )
    try:
        async with AsyncRedCloud(live_server.base, *DEMO) as rc:
            (number,) = await rc.numbers.list()
            assert number.webhook_delivery_override == number.webhook_inbound_override == url
            sent = await rc.messages.send(
                "num_abc123", "+15005550006", "SMS", text="hi", external_reference="listen-1"
            )
            printed = [json.loads(line) for line in await read_lines(process, 3)]
            assert sorted(p["sequence"] for p in printed) == [1, 2, 3]
            assert {p["messageId"] for p in printed} == {sent.results[0].message_id}
            assert all(p["verified"] is True for p in printed)
            assert all(p["forward"]["status"] == 200 for p in printed)
            assert all(p["latencyMs"] >= 0 for p in printed)
            # The developer's endpoint got Red Cloud's bytes and signature unchanged.
            assert len(receiver.deliveries) == 3
            assert all(d.verified for d in receiver.deliveries)
            assert {d.event["eventType"] for d in receiver.deliveries} == {
                p["eventType"] for p in printed
            }

            forged = httpx.post(
                url,
                content=b'{"eventType": "message.delivery"}',
                headers={"X-RedCloud-Timestamp": "1", "X-RedCloud-Signature": "0" * 64},
            )
            assert forged.status_code == 400
            (line,) = await read_lines(process, 1)
            assert json.loads(line)["verified"] is False
            assert len(receiver.deliveries) == 3  # a forged delivery is not forwarded
        assert "restored the previous webhook URLs" in await stop(process)
        async with AsyncRedCloud(live_server.base, *DEMO) as rc:
            (number,) = await rc.numbers.list()
        assert number.webhook_delivery_override == "https://example.com/webhooks/delivery"
        assert number.webhook_inbound_override == "https://example.com/webhooks/inbound"
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_listen_prints_readable_lines_and_reports_a_down_endpoint() -> None:
    """Without a database: a given secret, no pointing, forwarding to a closed port."""
    closed = f"http://127.0.0.1:{free_port()}/gone"
    env = {"PATH": "/usr/bin:/bin", "REDCLOUD_DATA_DIR": "/nonexistent"}
    process, url = await start_listen(env, "--secret", SECRET, "--forward-to", closed)
    try:
        body = json.dumps(
            {
                "eventType": "message.failed",
                "messageId": "msg_x",
                "sequence": 3,
                "occurredAt": int(time.time() * 1000),
                "data": {"status": "failed", "error": {"code": "30003", "message": "gone"}},
            }
        ).encode()
        now = int(time.time())
        answer = httpx.post(
            url,
            content=body,
            headers={"X-RedCloud-Timestamp": str(now), "X-RedCloud-Signature": sign(now, body)},
        )
        assert answer.status_code == 502  # the developer's endpoint did not answer
        (line,) = await read_lines(process, 1)
        for part in ("message.failed", "msg_x", "seq 3", "failed", "[30003]", "signature ok"):
            assert part in line, line
        assert f"-> {closed} answered ClientConnectorError" in line
        assert "stopped after 1 deliveries" in await stop(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_listen_takes_over_a_clients_urls_and_gives_them_back(
    live_server: LiveServer, db: Database
) -> None:
    """--client points the API client's own URLs here (used when a number has no
    overrides) and restores them on exit."""
    async with db.session(write=True) as session:
        client = await session.get(ApiClient, "rc_test_client_123")
        assert client is not None
        before = (client.inbound_webhook_url, client.delivery_webhook_url)
    process, url = await start_listen(live_server.env, "--client", "rc_test_client_123", "--json")
    try:
        async with db.session() as session:
            client = await session.get(ApiClient, "rc_test_client_123")
            assert client is not None
            assert client.inbound_webhook_url == client.delivery_webhook_url == url
        async with AsyncRedCloud(live_server.base, *DEMO) as rc:
            await rc.numbers.update("num_abc123", webhook_delivery_override=None)
            sent = await rc.messages.send(
                "num_abc123", "+15005550006", "SMS", text="hi", external_reference="listen-2"
            )
        printed = [json.loads(line) for line in await read_lines(process, 3)]
        assert {p["messageId"] for p in printed} == {sent.results[0].message_id}
        assert all(p["verified"] is True for p in printed)  # the client's secret, from the db
        await stop(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    async with db.session() as session:
        client = await session.get(ApiClient, "rc_test_client_123")
        assert client is not None
        assert (client.inbound_webhook_url, client.delivery_webhook_url) == before
