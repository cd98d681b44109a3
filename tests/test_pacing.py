"""Throughput caps per sender: held in the queue and released at the cap, across worker
processes, with nothing refused or lost."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from redcloud.db import Database
from redcloud.messages.models import Message
from redcloud.pacing import caps, slots
from redcloud.pipeline import Pipeline
from redcloud.providers.models import SandboxSubmission
from tests.factories import make_number, send, send_body
from tests.processes import spawn
from tests.receiver import Receiver
from tests.test_cli import as_json
from tests.test_pipeline import fast, pipeline
from tests.test_processes import api_server, env, send_many, settle

__all__ = ["api_server", "env", "fast", "pipeline"]  # fixtures


async def test_slots_are_spaced_by_the_cap_and_never_booked_far_ahead(db: Database) -> None:
    cap = slots.Cap("number:num_x", 2.0)
    taken = []
    for _ in range(4):
        async with db.transaction(write=True) as conn:
            taken.append(await slots.take(conn, cap, 1))
    starts = [slot.starts_in for slot in taken[:3]]
    assert starts[0] == pytest.approx(0.0, abs=0.05)
    assert starts[1] == pytest.approx(0.5, abs=0.05)
    assert starts[2] == pytest.approx(1.0, abs=0.05)  # within HOLD_SECONDS: waited for
    assert taken[3].starts_in is None  # 1.5 s ahead: back to the queue, nothing booked
    assert taken[3].retry_in == pytest.approx(0.5, abs=0.05)
    async with db.transaction(write=True) as conn:
        two_parts = await slots.take(conn, slots.Cap("number:num_y", 2.0), 2)
        after = await slots.take(conn, slots.Cap("number:num_y", 2.0), 1)
    assert two_parts.starts_in == pytest.approx(0.0, abs=0.05)
    assert after.starts_in == pytest.approx(1.0, abs=0.05)  # two segments cost a second


async def submission_rate(db: Database, ids: list[str]) -> float:
    async with db.session() as session:
        moments = sorted(
            (
                await session.scalars(
                    select(SandboxSubmission.received_at).where(
                        SandboxSubmission.message_id.in_(ids)
                    )
                )
            ).all()
        )
    assert len(moments) == len(ids)  # each submitted once
    return (len(moments) - 1) / (moments[-1] - moments[0]).total_seconds()


@pytest.mark.slow
async def test_a_number_cap_holds_across_two_worker_processes(
    api_server: str,
    env: dict[str, str],
    tmp_path: Path,
    receiver: Receiver,
    db: Database,
    cli: Any,
) -> None:
    shown = as_json(await cli("numbers", "set-throughput", "num_abc123", "5", "--json"))
    assert shown["segmentsPerSecond"] == 5.0
    workers = [spawn(["worker"], env, tmp_path / f"worker-{n}.log") for n in (1, 2)]
    try:
        await asyncio.sleep(1)  # both running before the burst
        ids = await send_many(api_server, 40, "capped")
        await settle(db, ids, receiver, timeout=60)
    finally:
        for worker in workers:
            worker.terminate()
    rate = await submission_rate(db, ids)
    print(f"a cap of 5/s across two worker processes: {rate:.2f} submits/s")
    assert 4.5 <= rate <= 5.5, rate  # within 10% of the cap
    async with db.session() as session:
        statuses = set(await session.scalars(select(Message.status).where(Message.id.in_(ids))))
    assert statuses == {"delivered"}  # none refused, none lost


@pytest.mark.slow
async def test_a_campaign_cap_spans_its_numbers(
    api: httpx.AsyncClient, auth: dict[str, str], db: Database, pipeline: Pipeline
) -> None:
    second = await make_number(db, "rc_test_client_123", campaign="CAMPAIGN_X")
    async with db.session(write=True) as session:
        await caps.set_campaign_cap(session, "CAMPAIGN_X", 4)
        number = await caps.set_number_cap(session, "num_abc123", 0)  # no cap of its own
        number.campaign_reg_id = "CAMPAIGN_X"
    ids = []
    for n in range(12):
        sender = "num_abc123" if n % 2 else second
        response = await send(api, auth, send_body(sender, to=["+15005550006"]), key=f"c{n}")
        assert response.status_code == 202, response.text
        ids.append(response.json()["results"][0]["messageId"])
    for _ in range(200):
        async with db.session() as session:
            done = await session.scalar(
                select(Message.id).where(Message.id.in_(ids), Message.status == "queued")
            )
        if done is None:
            break
        await asyncio.sleep(0.1)
    rate = await submission_rate(db, ids)
    assert rate <= 4.4, rate  # both numbers together, never over the campaign's cap


async def test_caps_are_checked(cli: Any, demo: None) -> None:
    refused = await cli("numbers", "set-throughput", "num_abc123", "20000", ok=False)
    assert "0 (none) to 10,000" in refused.output
    cleared = as_json(await cli("numbers", "set-throughput", "num_abc123", "0", "--json"))
    assert cleared["segmentsPerSecond"] is None
    done = await cli("numbers", "set-campaign-throughput", "CAMP1", "2.5")
    assert "CAMP1: 2.5 segments/s" in done.output
