"""Group commit of sends: concurrent sends share a transaction, yet each is decided alone.

A refused send in a batch does not touch the others; a send the database cannot write fails
alone while the rest of its batch is written; a batch that cannot be written at all fails
its sends with the contract's 500 and writes nothing; every 202 has its rows committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from redcloud.db import Database
from redcloud.messages import service
from redcloud.messages.models import IdempotencyRecord, Message
from redcloud.messages.service import PlannedSend
from tests.factories import assert_core_error, make_client, make_number, send, send_body


async def count(db: Database, model: type[Message] | type[IdempotencyRecord]) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def record_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of sends each written batch carried."""
    sizes: list[int] = []
    original = service.write

    async def write(conn: object, planned: list[PlannedSend]) -> None:
        sizes.append(len(planned))
        await original(conn, planned)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "write", write)
    return sizes


async def test_concurrent_sends_share_batches_and_each_gets_its_own_message(
    api: httpx.AsyncClient,
    db: Database,
    demo: None,
    auth: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sizes = record_batches(monkeypatch)
    before = await count(db, Message)
    responses = await asyncio.gather(
        *(send(api, auth, send_body("num_abc123"), key=f"batch-{n}") for n in range(40))
    )
    assert [r.status_code for r in responses] == [202] * 40
    ids = {r.json()["results"][0]["messageId"] for r in responses}
    assert len(ids) == 40
    assert await count(db, Message) == before + 40
    assert sum(sizes) == 40
    assert max(sizes) > 1, sizes  # grouped, not one transaction per send


async def test_a_refused_send_does_not_touch_the_rest_of_its_batch(
    api: httpx.AsyncClient,
    db: Database,
    demo: None,
    auth: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key in ("mixed-reused", "mixed-replayed"):
        assert (await send(api, auth, send_body("num_abc123"), key=key)).status_code == 202
    sizes = record_batches(monkeypatch)
    before = await count(db, Message)
    good = [send(api, auth, send_body("num_abc123"), key=f"mixed-{n}") for n in range(10)]
    missing = send(api, auth, send_body("num_nope"), key="mixed-404")
    reused = send(api, auth, send_body("num_abc123", text="changed"), key="mixed-reused")
    replay = send(api, auth, send_body("num_abc123"), key="mixed-replayed")
    *accepted, not_found, conflict, replayed = await asyncio.gather(*good, missing, reused, replay)
    assert [r.status_code for r in accepted] == [202] * 10
    assert_core_error(not_found, 404, "NOT_FOUND")
    assert_core_error(conflict, 409, "CONFLICT")
    assert replayed.headers["idempotent-replayed"] == "true"
    assert await count(db, Message) == before + 10
    assert max(sizes) > 1, sizes


async def test_a_batch_that_cannot_be_written_fails_its_sends_and_writes_nothing(
    api: httpx.AsyncClient,
    db: Database,
    demo: None,
    auth: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = service.write

    async def write_always_fails(conn: object, planned: list[PlannedSend]) -> None:
        await original(conn, planned)  # type: ignore[arg-type]
        raise RuntimeError("the disk is full")  # after the INSERTs: rolled back

    monkeypatch.setattr(service, "write", write_always_fails)
    messages, records = await count(db, Message), await count(db, IdempotencyRecord)
    failed = await asyncio.gather(
        *(send(api, auth, send_body("num_abc123"), key=f"doomed-{n}") for n in range(5))
    )
    for response in failed:
        assert_core_error(response, 500, "SERVER_ERROR")
    assert await count(db, Message) == messages
    assert await count(db, IdempotencyRecord) == records
    # The same keys work afterwards: nothing of the failed batch was kept.
    monkeypatch.setattr(service, "write", original)
    again = await asyncio.gather(
        *(send(api, auth, send_body("num_abc123"), key=f"doomed-{n}") for n in range(5))
    )
    assert [r.status_code for r in again] == [202] * 5
    assert await count(db, Message) == messages + 5


@pytest.fixture
async def poisoned_text(db: Database) -> AsyncIterator[str]:
    """A database that refuses any message whose text is the returned value: a fault of
    the database itself, for one send, on either engine."""
    poison = "poisoned row"
    async with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            await conn.exec_driver_sql(
                "CREATE TRIGGER poison BEFORE INSERT ON messages "
                f"WHEN NEW.text = '{poison}' BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
            )
        else:
            await conn.exec_driver_sql(
                "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.text = '{poison}' THEN RAISE EXCEPTION 'poisoned'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            await conn.exec_driver_sql(
                "CREATE TRIGGER poison BEFORE INSERT ON messages "
                "FOR EACH ROW EXECUTE FUNCTION poison()"
            )
    yield poison
    async with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            await conn.exec_driver_sql("DROP TRIGGER poison")
        else:
            await conn.exec_driver_sql("DROP TRIGGER poison ON messages")
            await conn.exec_driver_sql("DROP FUNCTION poison()")


async def test_one_send_the_database_refuses_fails_alone_and_its_batch_is_written(
    api: httpx.AsyncClient,
    db: Database,
    demo: None,
    auth: dict[str, str],
    poisoned_text: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another client's send that the database refuses spoils no one else's send."""
    other = await make_client(db)
    number = await make_number(db, other.client_id)
    sizes = record_batches(monkeypatch)
    before = await count(db, Message)
    valid = [send(api, auth, send_body("num_abc123"), key=f"ok-{n}") for n in range(60)]
    bad = send(api, other.headers, send_body(number, text=poisoned_text), key="bad")
    *accepted, refused = await asyncio.gather(*valid[:30], *valid[30:], bad)
    assert [r.status_code for r in accepted] == [202] * 60
    assert_core_error(refused, 500, "SERVER_ERROR")
    assert await count(db, Message) == before + 60
    assert max(sizes) > 1, sizes  # the poisoned send really shared a batch with others
