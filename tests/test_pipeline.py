"""The pipeline in-process: lifecycle, sandbox scenarios, signed webhooks over real HTTP."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from redcloud.config import Settings
from redcloud.db import Database
from redcloud.messages import lifecycle
from redcloud.messages.models import Message, MessageEvent, UnroutedInbound
from redcloud.pipeline import Pipeline
from redcloud.providers.models import SandboxSubmission
from redcloud.webhooks import service as webhooks
from redcloud.webhooks.models import WebhookAttempt
from tests.factories import assert_core_error, make_client, make_number, send, send_body
from tests.receiver import Receiver

FAST = {
    "sandbox_delivery_delay": 0.05,
    "sandbox_submit_latency": 0.0,
    "webhook_retry_schedule": "0.05,0.05,0.05,0.05",
    "webhook_timeout_seconds": 2.0,
    "worker_poll_seconds": 0.1,
}


@pytest.fixture
def fast(settings: Settings) -> Settings:
    return settings.model_copy(update=FAST)


@pytest.fixture
async def pipeline(db: Database, fast: Settings, hooked: None) -> AsyncIterator[Pipeline]:
    p = Pipeline.build(db, fast)
    async with p.running():
        yield p


async def send_to(api: httpx.AsyncClient, auth: dict[str, str], to: str, key: str) -> str:
    response = await send(api, auth, send_body("num_abc123", to=[to]), key=key)
    assert response.status_code == 202, response.text
    message_id: str = response.json()["results"][0]["messageId"]
    return message_id


def last_event(receiver: Receiver, message_id: str) -> dict[str, Any]:
    """The message's event with the highest sequence the receiver got."""
    return max(receiver.of(message_id), key=lambda e: e["sequence"])


def types_of(receiver: Receiver, message_id: str) -> list[tuple[str, int]]:
    return sorted((e["eventType"], e["sequence"]) for e in receiver.of(message_id))


async def test_normal_send_yields_queued_sent_delivery_signed(
    api: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver, pipeline: Pipeline
) -> None:
    message_id = await send_to(api, auth, "+15005550006", "normal")
    await receiver.wait_for(lambda r: len(r.of(message_id)) == 3)
    assert types_of(receiver, message_id) == [
        ("message.delivery", 3),
        ("message.queued", 1),
        ("message.sent", 2),
    ]
    for delivery in receiver.deliveries:
        assert delivery.verified is True
        assert delivery.path == "/delivery"
        assert delivery.headers["Content-Type"] == "application/json"
        assert delivery.headers["X-RedCloud-Event-Id"].startswith("evt_")
        assert delivery.headers["X-RedCloud-Timestamp"].isdigit()
    final = next(e for e in receiver.of(message_id) if e["sequence"] == 3)
    assert final["direction"] == "outbound"
    assert final["apiClientId"] == "rc_test_client_123"
    assert final["data"]["status"] == "delivered"
    assert final["data"]["error"] is None
    assert final["data"]["sendFrom"] == "+15551234567"
    assert final["data"]["to"] == "+15005550006"
    assert final["data"]["externalReference"] == "order_789"
    assert final["data"]["providerMessageRef"].startswith("sbx_")
    assert isinstance(final["occurredAt"], int)
    assert final["occurredAt"] > 1_700_000_000_000
    # The receiver answers before the worker records the attempt; wait for the record.
    detail = await eventually(
        api,
        auth,
        message_id,
        lambda d: [e["webhook"]["status"] for e in d["events"]] == ["delivered"] * 3,
    )
    assert detail["status"] == "delivered"


def test_node_recipe_accepts_our_signatures(tmp_path: Any) -> None:
    """The public Node.js verification recipe, run by node, over bytes we signed."""
    from redcloud.webhooks.signing import sign

    body = json.dumps({"eventType": "message.sent", "text": "h\u00e9llo \u2713"}).encode()
    timestamp = 1775002218
    signature = sign("rc_webhook_secret_demo", timestamp, body)
    script = tmp_path / "verify.mjs"
    script.write_text(
        "import crypto from 'node:crypto';\n"
        "import fs from 'node:fs';\n"
        "const [secret, ts, sig, file] = process.argv.slice(2);\n"
        "const raw = fs.readFileSync(file);\n"
        "const expected = crypto.createHmac('sha256', secret).update(`${ts}.${raw}`)"
        ".digest('hex');\n"
        "const ok = expected.length === sig.length && "
        "crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(sig));\n"
        "process.exit(ok ? 0 : 1);\n"
    )
    raw = tmp_path / "body.json"
    raw.write_bytes(body)
    args = ["node", str(script), "rc_webhook_secret_demo", str(timestamp)]
    assert subprocess.run([*args, signature, str(raw)], check=False).returncode == 0
    assert subprocess.run([*args, "0" * 64, str(raw)], check=False).returncode == 1


@pytest.mark.parametrize(
    ("to", "expected", "error_code"),
    [
        ("+15005550001", [("message.failed", 2), ("message.queued", 1)], "30005"),
        (
            "+15005550002",
            [("message.failed", 3), ("message.queued", 1), ("message.sent", 2)],
            "30003",
        ),
        (
            "+15005550003",
            [("message.delivery", 3), ("message.queued", 1), ("message.sent", 2)],
            None,
        ),
    ],
)
async def test_sandbox_scenarios(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    receiver: Receiver,
    pipeline: Pipeline,
    db: Database,
    to: str,
    expected: list[tuple[str, int]],
    error_code: str | None,
) -> None:
    message_id = await send_to(api, auth, to, f"scenario-{to}")
    await receiver.wait_for(lambda r: len(r.of(message_id)) == len(expected), timeout=20)
    assert types_of(receiver, message_id) == expected
    final = last_event(receiver, message_id)
    if error_code:
        assert final["data"]["status"] == "failed"
        assert final["data"]["error"]["code"] == error_code
        assert final["data"]["error"]["message"]
    async with db.session() as session:
        attempts = list(
            await session.scalars(
                select(SandboxSubmission).where(SandboxSubmission.message_id == message_id)
            )
        )
    # +15005550003 fails once transiently, then is accepted on the retry.
    assert len(attempts) == (2 if to == "+15005550003" else 1)


async def test_never_reported_message_expires(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    receiver: Receiver,
    db: Database,
    fast: Settings,
    hooked: None,
) -> None:
    p = Pipeline.build(db, fast.model_copy(update={"delivery_report_timeout_seconds": 1}))
    async with p.running():
        message_id = await send_to(api, auth, "+15005550004", "silent")
        await receiver.wait_for(lambda r: len(r.of(message_id)) == 3, timeout=20)
    final = last_event(receiver, message_id)
    assert final["eventType"] == "message.failed"
    assert final["data"]["error"]["code"] == "DELIVERY_REPORT_TIMEOUT"


async def test_a_message_the_carrier_never_accepts_fails_when_its_validity_ends(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    receiver: Receiver,
    db: Database,
    fast: Settings,
    hooked: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A carrier that keeps answering "busy": the message waits, then fails for good."""
    from redcloud.providers.base import Rejected
    from redcloud.providers.sandbox import SandboxCarrier

    async def busy(self: SandboxCarrier, message: object) -> Rejected:
        return Rejected("BUSY", "try again later", retryable=True)

    monkeypatch.setattr(SandboxCarrier, "submit", busy)
    p = Pipeline.build(db, fast.model_copy(update={"message_validity_seconds": 1}))
    async with p.running():
        message_id = await send_to(api, auth, "+15005550006", "validity")
        await receiver.wait_for(lambda r: len(r.of(message_id)) == 2, timeout=20)
    final = last_event(receiver, message_id)
    assert final["eventType"] == "message.failed"
    assert final["data"]["error"]["code"] == "VALIDITY_EXPIRED"
    assert "validity" in final["data"]["error"]["message"]


async def test_a_submit_that_keeps_failing_fails_its_message_instead_of_parking_it(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    receiver: Receiver,
    db: Database,
    fast: Settings,
    hooked: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An outage or a bug in the carrier's adapter, not an answer: once the worker gives up
    the job, the message fails with its webhook instead of staying queued forever."""
    from sqlalchemy import update

    from redcloud.jobs import worker as worker_module
    from redcloud.jobs.models import Job
    from redcloud.providers.sandbox import SandboxCarrier

    async def broken(self: SandboxCarrier, message: object) -> None:
        raise ConnectionResetError("the carrier hung up")

    monkeypatch.setattr(SandboxCarrier, "submit", broken)
    monkeypatch.setattr(worker_module, "MAX_ATTEMPTS", 3)
    p = Pipeline.build(db, fast)
    async with p.running():
        message_id = await send_to(api, auth, "+15005550006", "give-up")
        for _ in range(200):  # make each backoff due at once
            async with db.session(write=True) as session:
                await session.execute(
                    update(Job)
                    .where(Job.status == "pending", Job.kind == "provider.submit")
                    .values(run_at=dt.datetime.now(dt.UTC))
                )
            if len(receiver.of(message_id)) == 2:
                break
            await asyncio.sleep(0.05)
        await receiver.wait_for(lambda r: len(r.of(message_id)) == 2, timeout=20)
    final = last_event(receiver, message_id)
    assert final["eventType"] == "message.failed"
    assert final["data"]["error"]["code"] == "SUBMIT_FAILED"
    async with db.session() as session:
        parked = await session.scalar(select(Job).where(Job.kind == "provider.submit"))
    assert parked is not None
    assert parked.status == "failed"
    assert parked.attempts == 3


async def test_retries_then_terminal_failure_after_exactly_five_attempts_and_redelivery(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    receiver: Receiver,
    pipeline: Pipeline,
    db: Database,
) -> None:
    receiver.status = 503
    message_id = await send_to(api, auth, "+15005550004", "always-fails")  # only queued+sent
    await receiver.wait_for(lambda r: len(r.deliveries) >= 10, timeout=20)
    async with db.session() as session:
        events = list(
            await session.scalars(select(MessageEvent).where(MessageEvent.message_id == message_id))
        )
    for _ in range(50):
        async with db.session() as session:
            states = [
                (await session.get(MessageEvent, e.id)).delivery_status  # type: ignore[union-attr]
                for e in events
            ]
        if set(states) == {"failed"}:
            break
        await receiver.wait_for(lambda r: True, timeout=0.1)
    assert set(states) == {"failed"}
    async with db.session() as session:
        for event in events:
            attempts = list(
                await session.scalars(
                    select(WebhookAttempt)
                    .where(WebhookAttempt.event_id == event.id)
                    .order_by(WebhookAttempt.id)
                )
            )
            assert [a.attempt for a in attempts] == [1, 2, 3, 4, 5]
            assert {a.status_code for a in attempts} == {503}
            assert all(a.url == receiver.url("/delivery") for a in attempts)
            assert all(a.latency_ms is not None for a in attempts)
    assert len(receiver.deliveries) == 10  # five each for queued and sent, and no more

    receiver.status = 200
    async with db.session(write=True) as session:
        assert await webhooks.redeliver_failed(session, "rc_test_client_123", _epoch()) == 2
    await receiver.wait_for(lambda r: len(r.deliveries) == 12)
    detail = await eventually(
        api,
        auth,
        message_id,
        lambda d: [e["webhook"]["status"] for e in d["events"]] == ["delivered", "delivered"],
    )
    assert [e["webhook"]["attempts"] for e in detail["events"]] == [6, 6]


async def test_failed_attempts_are_retried_until_success(
    api: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver, pipeline: Pipeline
) -> None:
    receiver.fail_first = 2
    message_id = await send_to(api, auth, "+15005550006", "flaky")
    # Two answers of 500, then every event once more: five requests for three events.
    await receiver.wait_for(lambda r: len(r.of(message_id)) == 5)
    await asyncio.sleep(0.3)  # and nothing more arrives
    ids = [d.headers["X-RedCloud-Event-Id"] for d in receiver.deliveries]
    # Each event keeps its id across attempts, so receivers can de-duplicate.
    assert len(set(ids)) == 3
    assert len(ids) == 5


async def test_event_without_destination_is_recorded_not_dropped(
    api: httpx.AsyncClient, db: Database, fast: Settings
) -> None:
    info = await make_client(db)
    number = await make_number(db, info.client_id)
    p = Pipeline.build(db, fast)
    async with p.running():
        response = await send(api, info.headers, send_body(number, to=["+15005550004"]), "nd")
        message_id = response.json()["results"][0]["messageId"]
        detail = await eventually(
            api,
            info.headers,
            message_id,
            lambda d: [e["webhook"]["status"] for e in d["events"]] == ["no_destination"] * 2,
        )
    assert [e["webhook"]["status"] for e in detail["events"]] == ["no_destination"] * 2
    assert "no webhook URL" in detail["events"][0]["webhook"]["lastAttempt"]["error"]


async def test_unsigned_when_the_client_has_no_secret(
    api: httpx.AsyncClient, db: Database, fast: Settings, receiver: Receiver
) -> None:
    info = await make_client(db)
    number = await make_number(db, info.client_id, webhook_delivery_override=receiver.url())
    async with Pipeline.build(db, fast).running():
        await send(api, info.headers, send_body(number, to=["+15005550004"]), "unsigned")
        await receiver.wait_for(lambda r: len(r.deliveries) >= 2)
    assert all("X-RedCloud-Signature" not in d.headers for d in receiver.deliveries)
    assert all("X-RedCloud-Event-Id" in d.headers for d in receiver.deliveries)


async def test_inbound_is_routed_to_the_owner_and_unowned_is_kept(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    receiver: Receiver,
    pipeline: Pipeline,
    db: Database,
) -> None:
    response = await api.post(
        "/api/sandbox/inbound",
        headers=auth,
        json={"from": "+15005550006", "to": "+15551234567", "text": "STOP"},
    )
    assert response.status_code == 202
    message_id = response.json()["messageId"]
    await receiver.wait_for(lambda r: len(r.of(message_id)) == 1)
    (delivery,) = [d for d in receiver.deliveries if d.event["messageId"] == message_id]
    assert delivery.path == "/inbound"
    assert delivery.verified is True
    assert delivery.event == {
        "eventType": "message.inbound",
        "direction": "inbound",
        "occurredAt": delivery.event["occurredAt"],
        "apiClientId": "rc_test_client_123",
        "messageId": message_id,
        "sequence": 1,
        "data": {
            "messageId": message_id,
            "from": "+15005550006",
            "to": "+15551234567",
            "numberId": "num_abc123",
            "messageType": "SMS",
            "text": "STOP",
            "media": None,
        },
    }
    async with db.session(write=True) as session:
        kept = await lifecycle.receive_inbound(
            session, from_e164="+15005550006", to_e164="+19995550000", text="anyone?"
        )
    assert isinstance(kept, UnroutedInbound)
    async with db.session() as session:
        row = await session.get(UnroutedInbound, kept.id)
    assert row is not None
    assert row.reason == "no such number"
    assert row.text == "anyone?"


async def test_sandbox_inbound_checks_ownership_and_input(
    api: httpx.AsyncClient, db: Database, demo: None, auth: dict[str, str]
) -> None:
    other = await make_client(db)
    theirs = await make_number(db, other.client_id, e164="+15125550999")
    ok_body = {"from": "+15005550006", "text": "hi"}
    assert_core_error(
        await api.post(
            "/api/sandbox/inbound", headers=auth, json={**ok_body, "to": "+15125550999"}
        ),
        403,
        "FORBIDDEN",
    )
    assert_core_error(
        await api.post(
            "/api/sandbox/inbound", headers=auth, json={**ok_body, "to": "+19995550000"}
        ),
        404,
        "NOT_FOUND",
    )
    assert_core_error(
        await api.post(
            "/api/sandbox/inbound",
            headers=auth,
            json={"from": "bad", "to": "+15551234567", "text": "x"},
        ),
        400,
        "INVALID_REQUEST",
    )
    assert theirs


async def test_stale_and_duplicate_reports_are_ignored(
    api: httpx.AsyncClient, auth: dict[str, str], db: Database, demo: None
) -> None:
    message_id = await send_to(api, auth, "+15005550006", "stale")
    async with db.transaction(write=True) as conn:
        assert await lifecycle.delivery_report(conn, message_id=message_id, status="delivered")
    async with db.transaction(write=True) as conn:
        # duplicate final report, then a stale 'sent', then a contradicting 'failed'
        assert not await lifecycle.delivery_report(conn, message_id=message_id, status="delivered")
        assert not await lifecycle.delivery_report(conn, message_id=message_id, status="sent")
        error = {"code": "30003", "message": "late"}
        assert not await lifecycle.delivery_report(
            conn, message_id=message_id, status="failed", error=error
        )
        assert not await lifecycle.delivery_report(conn, provider_ref="nope", status="delivered")
    async with db.session() as session:
        message = await session.get(Message, message_id)
        sequences = list(
            await session.scalars(
                select(MessageEvent.sequence)
                .where(MessageEvent.message_id == message_id)
                .order_by(MessageEvent.sequence)
            )
        )
    assert message is not None
    assert message.status == "delivered"
    # a report that overtook the submit recorded 'sent' first: 1 queued, 2 sent, 3 delivery
    assert sequences == [1, 2, 3]


async def test_message_lookup_and_list_with_filters_and_cursor(
    api: httpx.AsyncClient, auth: dict[str, str], db: Database, demo: None
) -> None:
    ids = []
    for i in range(5):
        body = send_body("num_abc123", to=["+15005550006"], externalReference=f"ref-{i % 2}")
        ids.append((await send(api, auth, body, key=f"list-{i}")).json()["results"][0]["messageId"])
    page = (await api.get("/api/core/messages", headers=auth, params={"limit": 2})).json()
    assert len(page["messages"]) == 2
    assert page["nextCursor"]
    seen = [m["messageId"] for m in page["messages"]]
    while page["nextCursor"]:
        page = (
            await api.get(
                "/api/core/messages",
                headers=auth,
                params={"limit": 2, "cursor": page["nextCursor"]},
            )
        ).json()
        seen += [m["messageId"] for m in page["messages"]]
    assert len(seen) == len(set(seen)) == 6  # five new ones and the demo's msg_abc123
    assert set(ids) <= set(seen)
    refs = (
        await api.get("/api/core/messages", headers=auth, params={"externalReference": "ref-1"})
    ).json()["messages"]
    assert {m["messageId"] for m in refs} == {ids[1], ids[3]}
    delivered = (
        await api.get("/api/core/messages", headers=auth, params={"status": "delivered"})
    ).json()["messages"]
    assert [m["messageId"] for m in delivered] == ["msg_abc123"]
    future = (
        await api.get("/api/core/messages", headers=auth, params={"since": "2999-01-01T00:00:00Z"})
    ).json()["messages"]
    assert future == []
    assert_core_error(
        await api.get("/api/core/messages", headers=auth, params={"cursor": "!!"}),
        400,
        "INVALID_REQUEST",
    )
    detail = (await api.get(f"/api/core/messages/{ids[0]}", headers=auth)).json()
    assert detail["status"] == "queued"
    assert detail["events"][0]["eventType"] == "message.queued"
    assert detail["events"][0]["webhook"] == {
        "status": "pending",
        "attempts": 0,
        "deliveredAt": None,
        "lastAttempt": None,
    }
    other = await make_client(db)
    assert_core_error(
        await api.get(f"/api/core/messages/{ids[0]}", headers=other.headers), 404, "NOT_FOUND"
    )


async def eventually(
    api: httpx.AsyncClient,
    headers: dict[str, str],
    message_id: str,
    predicate: Any,
    timeout: float = 15.0,
) -> dict[str, Any]:
    """GET the message until predicate(detail) holds; fail with the last detail if never."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        detail: dict[str, Any] = (
            await api.get(f"/api/core/messages/{message_id}", headers=headers)
        ).json()
        if predicate(detail):
            return detail
        if loop.time() > deadline:
            raise AssertionError(f"condition never held: {detail}")
        await asyncio.sleep(0.05)


def _epoch() -> Any:
    import datetime as dt

    return dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
