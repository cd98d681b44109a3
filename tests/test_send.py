"""POST /api/core/messages/send: validation, per-recipient errors, one transaction (§5)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from redcloud.db import Database
from redcloud.jobs.models import Job
from redcloud.messages import idempotency
from redcloud.messages.models import IdempotencyRecord, Message, MessageEvent
from redcloud.numbers import provisioning
from tests.conftest import AppWith
from tests.factories import (
    assert_core_error,
    make_client,
    make_number,
    send,
    send_body,
)

SEND = "/api/core/messages/send"


async def counts(db: Database) -> dict[str, int]:
    async with db.session() as session:
        return {
            model.__tablename__: int(
                await session.scalar(select(func.count()).select_from(model)) or 0
            )
            for model in (Message, MessageEvent, Job, IdempotencyRecord)
        }


async def test_send_queues_one_message_per_recipient_with_event_and_job(
    api: httpx.AsyncClient, db: Database, demo: None, auth: dict[str, str]
) -> None:
    before = await counts(db)
    body = send_body("num_abc123", to=["+15551234567", "+15005550006"])
    response = await send(api, auth, body, key="idem_two")
    assert response.status_code == 202
    payload = response.json()
    assert payload["errors"] == []
    assert [r["to"] for r in payload["results"]] == ["+15551234567", "+15005550006"]
    for result in payload["results"]:
        assert set(result) == {"to", "messageId", "status"}
        assert result["status"] == "QUEUED"
        assert result["messageId"].startswith("msg_")
    assert "idempotent-replayed" not in response.headers
    after = await counts(db)
    assert {k: after[k] - before[k] for k in after} == {
        "messages": 2,
        "message_events": 2,
        "jobs": 4,  # per message: provider.submit, and webhook.deliver for its queued event
        "idempotency_records": 1,
    }
    ids = [r["messageId"] for r in payload["results"]]
    async with db.session() as session:
        messages = {
            m.id: m for m in await session.scalars(select(Message).where(Message.id.in_(ids)))
        }
        events = list(
            await session.scalars(select(MessageEvent).where(MessageEvent.message_id.in_(ids)))
        )
        jobs = list(await session.scalars(select(Job)))
    assert {m.status for m in messages.values()} == {"queued"}
    assert {m.send_from for m in messages.values()} == {"+15551234567"}
    submits = [j for j in jobs if j.kind == "provider.submit"]
    deliveries = [j for j in jobs if j.kind == "webhook.deliver"]
    assert {j.payload["messageId"] for j in submits} == set(ids)
    assert {j.payload["eventId"] for j in deliveries} == {e.id for e in events}
    for event in events:
        assert event.sequence == 1
        assert event.payload == {
            "eventType": "message.queued",
            "direction": "outbound",
            "occurredAt": event.occurred_at_ms,
            "apiClientId": "rc_test_client_123",
            "messageId": event.message_id,
            "sequence": 1,
            "data": {
                "messageId": event.message_id,
                "externalReference": "order_789",
                "sendFrom": "+15551234567",
                "to": messages[event.message_id].to,
                "status": "queued",
                "error": None,
            },
        }


async def test_missing_idempotency_key_is_the_documented_400(
    api: httpx.AsyncClient, db: Database, demo: None, auth: dict[str, str]
) -> None:
    before = await counts(db)
    response = await send(api, auth, send_body("num_abc123"), key=None)
    error = assert_core_error(
        response, 400, "INVALID_REQUEST", "Idempotency-Key header is required"
    )
    assert error["details"] == {}
    assert await counts(db) == before


async def test_mms_with_media_is_accepted(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    media = [
        {
            "storageKey": "storage_abc123",
            "mimeType": "image/jpeg",
            "byteLength": 182340,
            "sourceUrl": "https://example.com/files/catalog.jpg",
            "fileName": "catalog.jpg",
        }
    ]
    body = send_body("num_abc123", messageType="MMS", text="Catalog preview", media=media)
    response = await send(api, auth, body, key="idem_order_789_mms")
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (
            {
                "messageType": "SMS",
                "media": [{"mimeType": "image/png", "byteLength": 1, "storageKey": "k"}],
            },
            "media",
        ),
        ({"messageType": "MMS"}, "media"),
        ({"messageType": "MMS", "media": []}, "media"),
        ({"text": None}, "text"),
        ({"text": "x" * 1601}, "text"),
        ({"messageType": "sms"}, "messageType"),
        ({"to": []}, "to"),
        ({"to": "+15551234567"}, "to"),
        ({"to": [5]}, "to[0]"),
        ({"to": ["+1555123456" + str(i % 10) for i in range(101)]}, "to"),
        ({"externalReference": None}, "externalReference"),
        ({"externalReference": ""}, "externalReference"),
        ({"sendFrom": None}, "sendFrom"),
        ({"extra": True}, "extra"),
        (
            {
                "messageType": "MMS",
                "media": [{"mimeType": "image/png", "byteLength": 1, "storageKey": "k"}] * 11,
            },
            "media",
        ),
        ({"messageType": "MMS", "media": [{"mimeType": "image/png", "byteLength": 1}]}, "media[0]"),
        (
            {
                "messageType": "MMS",
                "media": [{"mimeType": "png", "byteLength": 1, "storageKey": "k"}],
            },
            "media[0].mimeType",
        ),
        (
            {
                "messageType": "MMS",
                "media": [{"mimeType": "image/png", "byteLength": 0, "storageKey": "k"}],
            },
            "media[0].byteLength",
        ),
        (
            {
                "messageType": "MMS",
                "media": [{"mimeType": "image/png", "byteLength": 1, "sourceUrl": "ftp://x/y"}],
            },
            "media[0].sourceUrl",
        ),
        (
            {
                "messageType": "MMS",
                "media": [{"mimeType": "image/png", "byteLength": 3_000_000, "storageKey": "k"}]
                * 2,
            },
            "media",
        ),
    ],
)
async def test_invalid_bodies_are_400_naming_the_field_and_write_nothing(
    api: httpx.AsyncClient,
    db: Database,
    demo: None,
    auth: dict[str, str],
    overrides: dict[str, Any],
    field: str,
) -> None:
    before = await counts(db)
    body = send_body("num_abc123")
    body.update(overrides)
    body = {k: v for k, v in body.items() if v is not None}
    response = await send(api, auth, body, key="bad-body")
    error = assert_core_error(response, 400, "INVALID_REQUEST")
    details = error["details"]
    fields = [e["field"] for e in details["errors"]] if "errors" in details else [details["field"]]
    assert field in fields, error
    assert await counts(db) == before


async def test_per_recipient_errors_do_not_fail_the_others(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    body = send_body(
        "num_abc123", to=["+15551234567", "invalid", "+1555", "+15551234567", "+15005550006"]
    )
    response = await send(api, auth, body, key="partial")
    assert response.status_code == 202
    payload = response.json()
    assert [r["to"] for r in payload["results"]] == ["+15551234567", "+15005550006"]
    assert payload["errors"][0] == {
        "to": "invalid",
        "error": {
            "code": "INVALID_RECIPIENT",
            "message": "Recipient must be a valid E.164 phone number",
            "details": {},
        },
    }
    assert payload["errors"][1]["to"] == "+1555"
    assert payload["errors"][1]["error"]["code"] == "INVALID_RECIPIENT"
    assert payload["errors"][2]["to"] == "+15551234567"
    assert payload["errors"][2]["error"]["code"] == "DUPLICATE_RECIPIENT"


async def test_no_acceptable_recipient_is_400_with_the_errors_in_details(
    api: httpx.AsyncClient, db: Database, demo: None, auth: dict[str, str]
) -> None:
    before = await counts(db)
    response = await send(api, auth, send_body("num_abc123", to=["bad", "+44"]), key="none-ok")
    error = assert_core_error(response, 400, "INVALID_REQUEST")
    assert [e["to"] for e in error["details"]["errors"]] == ["bad", "+44"]
    assert await counts(db) == before
    # A rejected request stores nothing, so the same key works once corrected.
    fixed = await send(api, auth, send_body("num_abc123"), key="none-ok")
    assert fixed.status_code == 202


async def test_canonical_recipient_passes_and_strict_mode_refuses_it(
    app_with: AppWith, demo: None, auth: dict[str, str]
) -> None:
    lenient = await send(app_with(), auth, send_body("num_abc123"), key="k-lenient")
    assert lenient.status_code == 202
    strict = app_with(strict_recipient_validation=True)
    response = await send(strict, auth, send_body("num_abc123"), key="k-strict")
    error = assert_core_error(response, 400, "INVALID_REQUEST")
    assert error["details"]["errors"][0]["error"]["details"] == {"reason": "not an assigned number"}
    valid = await send(strict, auth, send_body("num_abc123", to=["+12125550123"]), key="k-ok")
    assert valid.status_code == 202


async def test_send_from_phone_number_is_400_pointing_to_number_id(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    response = await send(api, auth, send_body("+15551234567"), key="phone")
    error = assert_core_error(response, 400, "INVALID_REQUEST")
    assert "numberId" in error["message"]
    assert error["details"]["field"] == "sendFrom"


async def test_unknown_number_is_404(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    response = await send(api, auth, send_body("num_missing"), key="k404")
    assert_core_error(response, 404, "NOT_FOUND")


async def test_anothers_number_is_the_documented_403(
    api: httpx.AsyncClient, db: Database, demo: None, auth: dict[str, str]
) -> None:
    other = await make_client(db)
    theirs = await make_number(db, other.client_id)
    response = await send(api, auth, send_body(theirs), key="k403")
    assert_core_error(response, 403, "FORBIDDEN", "sendFrom is not owned by this API client")


async def test_number_without_campaign_is_the_documented_400(
    api: httpx.AsyncClient, db: Database
) -> None:
    info = await make_client(db)
    number = await make_number(db, info.client_id, campaign=None)
    response = await send(api, info.headers, send_body(number), key="nocamp")
    assert_core_error(
        response, 400, "INVALID_REQUEST", "sendFrom must have campaignregId configured"
    )


@pytest.mark.parametrize(
    ("fields", "message_type", "needle"),
    [
        ({"status": "INACTIVE"}, "SMS", "INACTIVE"),
        ({"sms_enabled": False}, "SMS", "SMS"),
        ({"mms_enabled": False}, "MMS", "MMS"),
    ],
)
async def test_inactive_or_disabled_number_is_400_saying_which(
    api: httpx.AsyncClient, db: Database, fields: dict[str, Any], message_type: str, needle: str
) -> None:
    info = await make_client(db)
    number = await make_number(db, info.client_id, **fields)
    extra: dict[str, Any] = {"messageType": message_type}
    if message_type == "MMS":
        extra["media"] = [{"mimeType": "image/png", "byteLength": 10, "storageKey": "k"}]
    response = await send(api, info.headers, send_body(number, **extra), key="disabled")
    error = assert_core_error(response, 400, "INVALID_REQUEST")
    assert needle in error["message"]


async def test_released_number_is_404(api: httpx.AsyncClient, db: Database) -> None:
    info = await make_client(db)
    number = await make_number(db, info.client_id)
    async with db.session(write=True) as session:
        await provisioning.release(session, number)
    response = await send(api, info.headers, send_body(number), key="released")
    assert_core_error(response, 404, "NOT_FOUND")


async def test_failure_before_commit_leaves_nothing(
    api: httpx.AsyncClient,
    db: Database,
    demo: None,
    auth: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A crash after the rows are added but before commit: a 500, and no half-written send."""

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    before = await counts(db)
    monkeypatch.setattr(idempotency, "remember", explode)
    response = await send(api, auth, send_body("num_abc123"), key="crash")
    error = assert_core_error(response, 500, "SERVER_ERROR")
    assert "disk on fire" not in response.text
    assert "Traceback" not in response.text
    assert error["message"] == "Internal server error"
    assert await counts(db) == before
    monkeypatch.undo()
    assert (await send(api, auth, send_body("num_abc123"), key="crash")).status_code == 202


async def test_wrong_content_type_and_bad_json_are_400(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    headers = {**auth, "Idempotency-Key": "ct"}
    response = await api.post(
        SEND,
        content=b"sendFrom=num_abc123",
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    error = assert_core_error(
        response, 400, "INVALID_REQUEST", "Content-Type must be application/json"
    )
    response = await api.post(
        SEND, content=b'{"sendFrom": ', headers={**headers, "Content-Type": "application/json"}
    )
    assert_core_error(response, 400, "INVALID_REQUEST", "Request body is not valid JSON")
    response = await api.post(
        SEND, content=b"[]", headers={**headers, "Content-Type": "application/json"}
    )
    assert_core_error(response, 400, "INVALID_REQUEST", "Request body must be a JSON object")
    response = await api.post(SEND, headers=headers)
    error = assert_core_error(response, 400, "INVALID_REQUEST")
    assert error["details"]["field"] == "body"
