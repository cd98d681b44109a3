"""Idempotency-Key: replay, conflict, in-flight twins, key rules, retention (contract §5)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from redcloud.db import Database
from redcloud.maintenance import purge_once
from redcloud.messages import idempotency, service
from redcloud.messages.models import IdempotencyRecord, Message
from tests.conftest import AppWith
from tests.factories import assert_core_error, send, send_body

SEND = "/api/core/messages/send"


async def message_count(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def test_same_key_same_payload_replays_the_stored_202(
    api: httpx.AsyncClient, db: Database, demo: None, auth: dict[str, str]
) -> None:
    first = await send(api, auth, send_body("num_abc123"), key="replay-me")
    count = await message_count(db)
    # Same parsed JSON, different key order and whitespace.
    raw = json.dumps(dict(reversed(list(send_body("num_abc123").items()))), indent=4)
    second = await api.post(
        SEND,
        content=raw,
        headers={**auth, "Idempotency-Key": "replay-me", "Content-Type": "application/json"},
    )
    assert second.status_code == 202
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await message_count(db) == count


async def test_canonical_demo_send_replays_the_documented_body(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    response = await send(api, auth, send_body("num_abc123"), key="idem_order_789")
    assert response.status_code == 202
    assert response.json() == {
        "results": [{"to": "+15551234567", "messageId": "msg_abc123", "status": "QUEUED"}],
        "errors": [],
    }


async def test_same_key_different_payload_is_409(
    api: httpx.AsyncClient, db: Database, demo: None, auth: dict[str, str]
) -> None:
    await send(api, auth, send_body("num_abc123"), key="k")
    count = await message_count(db)
    response = await send(api, auth, send_body("num_abc123", text="changed"), key="k")
    error = assert_core_error(response, 409, "CONFLICT")
    assert "different request payload" in error["message"]
    assert await message_count(db) == count


async def test_keys_are_scoped_per_client(
    api: httpx.AsyncClient, db: Database, demo: None, auth: dict[str, str]
) -> None:
    from tests.factories import make_client, make_number

    other = await make_client(db)
    number = await make_number(db, other.client_id)
    mine = await send(api, auth, send_body("num_abc123"), key="shared-key")
    theirs = await send(api, other.headers, send_body(number), key="shared-key")
    assert mine.status_code == theirs.status_code == 202
    assert mine.json()["results"][0]["messageId"] != theirs.json()["results"][0]["messageId"]


async def test_replay_survives_later_number_changes(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    first = await send(api, auth, send_body("num_abc123"), key="stable")
    await api.patch("/api/core/numbers/num_abc123", headers=auth, json={"smsEnabled": False})
    again = await send(api, auth, send_body("num_abc123"), key="stable")
    assert again.status_code == 202
    assert again.json() == first.json()
    fresh = await send(api, auth, send_body("num_abc123"), key="fresh")
    assert_core_error(fresh, 400, "INVALID_REQUEST")


@pytest.mark.parametrize("key", ["x" * 256, "caf\u00e9", "tab\tkey"])
async def test_malformed_keys_are_400(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str], key: str
) -> None:
    response = await api.post(
        SEND,
        json=send_body("num_abc123"),
        headers={**auth, "Idempotency-Key": key.encode("utf-8")},  # type: ignore[dict-item]
    )
    error = assert_core_error(response, 400, "INVALID_REQUEST")
    assert "Idempotency-Key" in error["message"]


async def test_longest_key_is_accepted(
    api: httpx.AsyncClient, demo: None, auth: dict[str, str]
) -> None:
    key = "k" * 254 + "~"
    assert (await send(api, auth, send_body("num_abc123"), key=key)).status_code == 202
    assert (await send(api, auth, send_body("num_abc123"), key=key)).headers[
        "idempotent-replayed"
    ] == "true"


async def test_twin_in_the_same_process_gets_409_in_progress(
    api: httpx.AsyncClient,
    db: Database,
    demo: None,
    auth: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    original = service.sending_number

    async def slow(*args: object, **kwargs: object) -> object:
        entered.set()
        await release.wait()
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "sending_number", slow)
    first = asyncio.create_task(send(api, auth, send_body("num_abc123"), key="twin"))
    await asyncio.wait_for(entered.wait(), 5)
    twin = await send(api, auth, send_body("num_abc123"), key="twin")
    error = assert_core_error(twin, 409, "CONFLICT", idempotency.IN_PROGRESS)
    release.set()
    assert (await first).status_code == 202
    replay = await send(api, auth, send_body("num_abc123"), key="twin")
    assert replay.headers["idempotent-replayed"] == "true"
    assert error["details"] == {"field": "Idempotency-Key"}


async def test_twin_in_another_process_never_sends_twice(
    app_with: AppWith,
    db: Database,
    demo: None,
    auth: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two API processes (separate in-process registries) sharing one database.

    PostgreSQL answers the twin 409 from the advisory lock; SQLite makes the twin wait for
    the write lock and then replays the stored response. Either way: one message.
    """
    first_api, second_api = app_with(), app_with()
    entered, release = asyncio.Event(), asyncio.Event()
    original = service.sending_number
    calls = 0

    async def slow_first(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            entered.set()
            await release.wait()
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "sending_number", slow_first)
    before = await message_count(db)
    first = asyncio.create_task(send(first_api, auth, send_body("num_abc123"), key="xproc"))
    await asyncio.wait_for(entered.wait(), 5)
    # The twin's batch opening its transaction means it has reached the database: on
    # SQLite it then waits for the write lock the first send holds.
    opened, twin_opened = db.transaction, asyncio.Event()

    def transaction(*args: Any, **kwargs: Any) -> Any:
        if entered.is_set():
            twin_opened.set()
        return opened(*args, **kwargs)

    monkeypatch.setattr(db, "transaction", transaction)
    twin_task = asyncio.create_task(send(second_api, auth, send_body("num_abc123"), key="xproc"))
    if db.dialect == "postgresql":
        await asyncio.wait_for(asyncio.shield(twin_task), 5)  # refused while the first holds
    else:
        await asyncio.wait_for(twin_opened.wait(), 5)
    release.set()
    first_response, twin = await first, await twin_task
    assert first_response.status_code == 202
    if db.dialect == "postgresql":
        assert_core_error(twin, 409, "CONFLICT", idempotency.IN_PROGRESS)
    else:
        assert twin.status_code == 202
        assert twin.headers["idempotent-replayed"] == "true"
        assert twin.json() == first_response.json()
    assert await message_count(db) == before + 1


async def test_keys_are_kept_24_hours_then_expire_and_are_purged(
    api: httpx.AsyncClient, db: Database, demo: None, auth: dict[str, str]
) -> None:
    await send(api, auth, send_body("num_abc123"), key="old")
    async with db.session() as session:
        record = await session.get(IdempotencyRecord, ("rc_test_client_123", "old"))
    assert record is not None
    retention = record.expires_at - record.created_at
    assert retention >= dt.timedelta(hours=24)

    async with db.session(write=True) as session:
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == "old")
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    # An expired key is free again: a different payload is a new send, not a conflict.
    reused = await send(api, auth, send_body("num_abc123", text="new day"), key="old")
    assert reused.status_code == 202
    assert "idempotent-replayed" not in reused.headers

    async with db.session(write=True) as session:
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == "old")
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    purged = await purge_once(db)
    assert purged.idempotency_records == 1
    async with db.session() as session:
        assert await session.get(IdempotencyRecord, ("rc_test_client_123", "old")) is None
        # The demo's canonical record is long-lived and survives the purge.
        assert await session.get(IdempotencyRecord, ("rc_test_client_123", "idem_order_789"))
