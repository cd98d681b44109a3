"""SMPP with real worker processes: two workers share one connector's binds through the
database, a SIGKILLed worker's bind is taken over, and a worker killed with a full window
loses nothing (the carrier may see duplicates: SMPP has no idempotency)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from redcloud.auth.security import SecretBox
from redcloud.db import Database
from redcloud.messages.models import Message
from redcloud.numbers.models import Number
from redcloud.providers import connectors
from redcloud.providers.smpp.models import SmppBind
from redcloud.providers.smpp.options import SmppOptions
from tests.processes import spawn
from tests.receiver import Receiver
from tests.smsc.peer import Smsc
from tests.test_processes import api_server, env, send_many, settle

pytestmark = pytest.mark.slow
__all__ = ["api_server", "env"]  # fixtures shared with the sandbox process tests


@pytest.fixture
async def smsc(request: pytest.FixtureRequest) -> AsyncIterator[Smsc]:
    marker = request.node.get_closest_marker("smsc")
    peer = await Smsc(receipts=True, quiet=False, **(marker.kwargs if marker else {})).start()
    yield peer
    await peer.stop()


@pytest.fixture
def smpp_env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "REDCLOUD_SMPP_LEASE_SECONDS": "2"}


async def route_through_smpp(db: Database, box: SecretBox, port: int, **options: object) -> None:
    async with db.session(write=True) as session:
        settings = SmppOptions(
            host="127.0.0.1",
            port=port,
            system_id="redcloud",
            password_encrypted=box.encrypt("secret").decode(),
            enquire_link_seconds=5,
            response_timeout_seconds=5.0,
            **options,  # type: ignore[arg-type]
        )
        await connectors.add_smpp(session, "carrier", settings)
        await session.execute(
            update(Number).where(Number.id == "num_abc123").values(connector="carrier")
        )


async def holders(db: Database) -> list[str | None]:
    async with db.session() as session:
        return list(await session.scalars(select(SmppBind.holder).order_by(SmppBind.slot)))


async def eventually(check: object, timeout: float = 20) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():  # type: ignore[operator]
        assert loop.time() < deadline, "the condition never held"
        await asyncio.sleep(0.2)


async def test_two_workers_share_the_binds_and_one_takes_over_a_killed_ones(
    api_server: str,
    smpp_env: dict[str, str],
    tmp_path: Path,
    receiver: Receiver,
    db: Database,
    box: SecretBox,
    smsc: Smsc,
) -> None:
    await route_through_smpp(db, box, smsc.port, binds=2)
    workers = [spawn(["worker"], smpp_env, tmp_path / f"worker-{n}.log") for n in (1, 2)]
    try:

        async def one_each() -> bool:
            held = await holders(db)
            return len(held) == 2 and None not in held and len(set(held)) == 2

        await eventually(one_each)
        ids = await send_many(api_server, 40, "shared")
        await settle(db, ids, receiver)
        stats = await smsc.stats()
        assert (stats["bound"], stats["maxBound"]) == (2, 2)  # never more than --binds
        workers[0].kill()

        async def taken_over() -> bool:
            held = await holders(db)
            return len(set(held)) == 1 and None not in held

        await eventually(taken_over)
        more = await send_many(api_server, 10, "after")
        await settle(db, more, receiver)
        stats = await smsc.stats()
        assert (stats["bound"], stats["maxBound"]) == (2, 2)
    finally:
        for worker in workers:
            worker.kill()
    async with db.session() as session:
        statuses = set(
            await session.scalars(select(Message.status).where(Message.id.in_(ids + more)))
        )
    assert statuses == {"delivered"}


@pytest.mark.smsc(respondDelayMs=1500)
async def test_sigkill_with_a_full_window_loses_nothing(
    api_server: str,
    smpp_env: dict[str, str],
    tmp_path: Path,
    receiver: Receiver,
    db: Database,
    box: SecretBox,
    smsc: Smsc,
) -> None:
    await route_through_smpp(db, box, smsc.port, window=16)
    worker = spawn(["worker"], smpp_env, tmp_path / "worker-1.log")
    try:
        ids = await send_many(api_server, 40, "window")
        await smsc.wait_for(lambda e: e["event"] == "submit" and e["outstanding"] >= 16, 30)
        worker.kill()  # sixteen submit_sm in flight, unanswered
    finally:
        worker.kill()
    restarted = spawn(["worker"], smpp_env, tmp_path / "worker-2.log")
    try:
        await settle(db, ids, receiver, timeout=120)
    finally:
        restarted.terminate()
    async with db.session() as session:
        statuses = set(await session.scalars(select(Message.status).where(Message.id.in_(ids))))
    assert statuses == {"delivered"}
    texts = [s["text"] for s in smsc.of("submit")]
    assert set(texts) == {f"message {i}" for i in range(40)}
    duplicates = len(texts) - 40
    print(f"SIGKILL with a full window: {duplicates} of 40 messages went to the carrier twice")
    # Only what was in the window when the worker died can have gone twice.
    assert 0 < duplicates <= 16, duplicates
