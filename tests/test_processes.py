"""Real processes over real HTTP: SIGKILL in the middle of traffic, and two workers at once.

`redcloud serve --no-workers` accepts sends; `redcloud worker` processes run the pipeline;
a receiver on 127.0.0.1 verifies every signature. Whatever is killed, every accepted
message must reach a terminal state and every event must be delivered at least once.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from redcloud.db import Database
from redcloud.messages.models import Message, MessageEvent
from redcloud.numbers import inventory
from redcloud.providers.models import SandboxSubmission
from tests.processes import Proc, spawn, start_server
from tests.receiver import Receiver

pytestmark = pytest.mark.slow

AUTH = {"Authorization": "Bearer rc_token_example"}
TERMINAL = ("delivered", "failed")


@pytest.fixture
def env(database_url: str, data_dir: Path) -> dict[str, str]:
    return {
        "REDCLOUD_DATABASE_URL": database_url,
        "REDCLOUD_DATA_DIR": str(data_dir),
        "REDCLOUD_ALLOW_HTTP_WEBHOOKS": "true",
        "REDCLOUD_ALLOW_PRIVATE_WEBHOOKS": "true",
        "REDCLOUD_SANDBOX_DELIVERY_DELAY": "0.2",
        "REDCLOUD_SANDBOX_SUBMIT_LATENCY": "0.01",
        "REDCLOUD_WORKER_LEASE_SECONDS": "5",
        "REDCLOUD_WORKER_POLL_SECONDS": "0.2",
        "REDCLOUD_WEBHOOK_RETRY_SCHEDULE": "0.5,0.5,0.5,0.5",
    }


@pytest.fixture
async def api_server(
    db: Database, env: dict[str, str], tmp_path: Path, receiver: Receiver
) -> AsyncIterator[str]:
    """The API alone (--no-workers) in demo mode, its number's webhooks at the receiver."""
    async with db.session(write=True) as session:  # a small inventory keeps start-up quick
        await inventory.import_blocks(session, inventory.blocks_from_phonenumbers(["RI"]))
    proc, base = await asyncio.to_thread(
        start_server, ["--demo", "--no-workers"], env, tmp_path / "api.log"
    )
    async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=30) as client:
        response = await client.patch(
            "/api/core/numbers/num_abc123",
            json={
                "webhookDeliveryOverride": receiver.url("/delivery"),
                "webhookInboundOverride": receiver.url("/inbound"),
            },
        )
        assert response.status_code == 200, response.text
    yield base
    proc.terminate()


async def send_many(base: str, count: int, prefix: str) -> list[str]:
    async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=30) as client:

        async def one(i: int) -> str:
            response = await client.post(
                "/api/core/messages/send",
                headers={"Idempotency-Key": f"{prefix}-{i}"},
                json={
                    "sendFrom": "num_abc123",
                    "to": ["+15005550006"],
                    "messageType": "SMS",
                    "text": f"message {i}",
                    "externalReference": f"{prefix}-{i}",
                },
            )
            assert response.status_code == 202, response.text
            message_id: str = response.json()["results"][0]["messageId"]
            return message_id

        ids: list[str] = []
        for start in range(0, count, 10):
            ids += await asyncio.gather(*(one(i) for i in range(start, min(count, start + 10))))
        return ids


async def settle(db: Database, ids: list[str], receiver: Receiver, timeout: float = 90) -> None:
    """Wait until every message is terminal and every one of its events reached the receiver."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with db.session() as session:
            rows = await session.execute(
                select(Message.id, Message.status).where(Message.id.in_(ids))
            )
            statuses = {message_id: status for message_id, status in rows}
            event_ids = set(
                await session.scalars(
                    select(MessageEvent.id).where(MessageEvent.message_id.in_(ids))
                )
            )
        received = {d.headers["X-RedCloud-Event-Id"] for d in receiver.deliveries}
        done = all(statuses.get(i) in TERMINAL for i in ids) and event_ids <= received
        if done:
            return
        if loop.time() > deadline:
            waiting = [i for i in ids if statuses.get(i) not in TERMINAL]
            raise AssertionError(
                f"{len(waiting)} messages not terminal, {len(event_ids - received)} events "
                "never delivered"
            )
        await asyncio.sleep(0.25)


async def test_sigkill_mid_traffic_loses_nothing(
    api_server: str, env: dict[str, str], tmp_path: Path, receiver: Receiver, db: Database
) -> None:
    worker = spawn(["worker"], env, tmp_path / "worker-1.log")
    try:
        first = await send_many(api_server, 60, "before")
        await receiver.wait_for(lambda r: len(r.deliveries) >= 40, timeout=60)
        worker.kill()
        # Accepted while no worker runs at all: still owed a full lifecycle.
        second = await send_many(api_server, 20, "while-dead")
    finally:
        worker.kill()
    restarted = spawn(["worker"], env, tmp_path / "worker-2.log")
    try:
        ids = first + second
        await settle(db, ids, receiver)
    finally:
        restarted.terminate()
    async with db.session() as session:
        statuses = set(await session.scalars(select(Message.status).where(Message.id.in_(ids))))
        sequences = (
            await session.execute(
                select(MessageEvent.message_id, func.count())
                .where(MessageEvent.message_id.in_(ids))
                .group_by(MessageEvent.message_id)
            )
        ).all()
    assert statuses == {"delivered"}
    assert {count for _, count in sequences} == {3}  # queued, sent, delivery: no duplicates
    assert all(d.verified for d in receiver.deliveries)


def completed_jobs(proc: Proc) -> int:
    match = re.search(r"worker stopped\b.*\bcompleted=(\d+)", proc.output())
    assert match, proc.output()
    return int(match.group(1))


async def test_two_workers_share_one_queue_and_never_run_a_job_twice(
    api_server: str, env: dict[str, str], tmp_path: Path, receiver: Receiver, db: Database
) -> None:
    workers = [spawn(["worker"], env, tmp_path / f"worker-{n}.log") for n in (1, 2)]
    try:
        ids = await send_many(api_server, 120, "pair")
        await settle(db, ids, receiver)
        await asyncio.sleep(0.5)  # anything run twice would arrive now
    finally:
        codes = [w.terminate() for w in workers]
    assert codes == [0, 0]  # SIGTERM is a graceful stop
    shares = [completed_jobs(w) for w in workers]
    assert all(share > 0 for share in shares), shares
    async with db.session() as session:
        submissions = (
            await session.execute(
                select(SandboxSubmission.message_id, func.count())
                .where(SandboxSubmission.message_id.in_(ids))
                .group_by(SandboxSubmission.message_id)
            )
        ).all()
    assert len(submissions) == len(ids)
    assert {count for _, count in submissions} == {1}  # each message submitted once
    event_ids = [d.headers["X-RedCloud-Event-Id"] for d in receiver.deliveries]
    assert len(event_ids) == len(set(event_ids)) == 3 * len(ids)  # each event exactly once


def child_pids(parent: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent:
                children.append(int(stat.parent.name))
    return children


async def test_two_api_processes_and_a_worker_scale_out(
    db: Database, env: dict[str, str], tmp_path: Path, receiver: Receiver
) -> None:
    """`serve --no-workers --processes 2` beside `redcloud worker`: both API processes take
    requests on one port and every accepted message completes."""
    async with db.session(write=True) as session:
        await inventory.import_blocks(session, inventory.blocks_from_phonenumbers(["RI"]))
    api, base = await asyncio.to_thread(
        start_server,
        ["--demo", "--no-workers", "--processes", "2"],
        env,
        tmp_path / "api.log",
    )
    worker = spawn(["worker"], env, tmp_path / "worker.log")
    try:
        assert len(child_pids(api.process.pid)) >= 2, api.output()
        async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=30) as client:
            patched = await client.patch(
                "/api/core/numbers/num_abc123",
                json={"webhookDeliveryOverride": receiver.url("/delivery")},
            )
            assert patched.status_code == 200, patched.text
        ids = await send_many(base, 60, "scale")
        await settle(db, ids, receiver)
    finally:
        assert worker.terminate() == 0
        api.terminate()
    served_by = set(re.findall(r"Started server process \[(\d+)\]", api.output()))
    assert len(served_by) == 2, api.output()
