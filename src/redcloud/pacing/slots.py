"""Releasing messages at a sender's cap, across every worker process.

Each capped sender (a number; a campaign) has a row holding when its next segment may go.
A submit takes a slot by moving that time on by `segments / cap` seconds, in one
conditional UPDATE, and only when the slot starts within `HOLD_SECONDS`; it then waits for
its slot and goes. When the sender is booked further ahead, nothing is taken: the message
goes back to the queue until then (`wait_seconds`). So no slot is wasted, nothing over the
cap is sent, and nothing is refused or lost; a message still waiting when its validity
ends fails with VALIDITY_EXPIRED as any other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import bindparam, case, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from redcloud.db import table, upsert_into
from redcloud.pacing.models import SenderPace

HOLD_SECONDS = 1.0  # a submit waits in its worker for a slot this close, else requeues
_pace = table(SenderPace)
_TAKE = (
    update(_pace)
    .where(
        _pace.c.key == bindparam("pace_key"),
        _pace.c.next_at <= bindparam("now") + HOLD_SECONDS,
    )
    .values(
        next_at=case((_pace.c.next_at > bindparam("now"), _pace.c.next_at), else_=bindparam("now"))
        + bindparam("cost")
    )
    .returning(_pace.c.next_at)
)
_NEXT = select(_pace.c.next_at).where(_pace.c.key == bindparam("pace_key"))


@dataclass(frozen=True, slots=True)
class Cap:
    key: str  # "number:<id>" or "campaign:<id>"
    per_second: float


@dataclass(frozen=True, slots=True)
class Slot:
    """A slot taken (`starts_in` seconds from now, at most HOLD_SECONDS), or none and how
    long until one may be taken (`retry_in`)."""

    starts_in: float | None
    retry_in: float = 0.0


async def take(conn: AsyncConnection, cap: Cap, segments: int) -> Slot:
    now = time.time()
    first = upsert_into(conn.dialect.name, _pace).values(key=cap.key, next_at=0.0)
    await conn.execute(first.on_conflict_do_nothing())
    cost = max(1, segments) / cap.per_second
    booked = await conn.scalar(_TAKE, {"pace_key": cap.key, "now": now, "cost": cost})
    if booked is not None:
        return Slot(starts_in=max(0.0, float(booked) - cost - now))
    next_at = float(await conn.scalar(_NEXT, {"pace_key": cap.key}) or now)
    return Slot(starts_in=None, retry_in=max(0.05, next_at - now - HOLD_SECONDS))
