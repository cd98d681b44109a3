"""Bind slots shared by every worker: exactly `--binds` sessions per connector in the cluster.

Each worker running a connector is a member (a row it refreshes with its live state). Every
round it renews its slots' leases and moves toward its fair share, ceil(binds / members):
it takes free or expired slots while below it, and while above it closes the extra
sessions first and then hands their slots back. A worker that dies stops renewing; its
slots expire and the others take them over.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from redcloud.db import table, upsert_into, utcnow
from redcloud.providers.smpp.models import SmppBind, SmppMember

_binds, _members = table(SmppBind), table(SmppMember)


async def ensure_slots(conn: AsyncConnection, connector: str, binds: int) -> None:
    """Slots 0..binds-1 exist; slots beyond (binds was lowered) are gone."""
    rows = [{"connector": connector, "slot": slot} for slot in range(binds)]
    await conn.execute(upsert_into(conn.dialect.name, _binds).on_conflict_do_nothing(), rows)
    await conn.execute(
        delete(_binds).where(_binds.c.connector == connector, _binds.c.slot >= binds)
    )


async def round_(
    conn: AsyncConnection,
    connector: str,
    holder: str,
    binds: int,
    lease_seconds: float,
    state: dict[str, Any],
) -> tuple[set[int], int]:
    """One round for this member: publish its state, renew its leases, take free slots
    while below its share. The slots it holds afterwards, and its share: slots above the
    share are handed back with `release` once their sessions are closed, so the cluster
    never runs more than `binds` sessions, not even for a moment."""
    now = utcnow()
    expires = now + dt.timedelta(seconds=lease_seconds)
    member = upsert_into(conn.dialect.name, _members).values(
        connector=connector, holder=holder, seen_at=now, state=state
    )
    await conn.execute(
        member.on_conflict_do_update(
            index_elements=["connector", "holder"],
            set_={"seen_at": member.excluded.seen_at, "state": member.excluded.state},
        )
    )
    alive = now - dt.timedelta(seconds=lease_seconds)
    members = await conn.scalar(
        select(func.count()).where(_members.c.connector == connector, _members.c.seen_at >= alive)
    )
    share = math.ceil(binds / max(1, int(members or 1)))
    mine = _binds.c.connector == connector
    held = set(
        (
            await conn.scalars(
                update(_binds)
                .where(mine, _binds.c.holder == holder)
                .values(expires_at=expires)
                .returning(_binds.c.slot)
            )
        ).all()
    )
    if len(held) < share:
        free = or_(_binds.c.holder.is_(None), _binds.c.expires_at < now)
        candidates = (
            await conn.scalars(
                select(_binds.c.slot)
                .where(mine, free)
                .order_by(_binds.c.slot)
                .limit(share - len(held))
            )
        ).all()
        for slot in candidates:
            # Taken only if still free: another member may have taken it meanwhile.
            taken = await conn.scalar(
                update(_binds)
                .where(mine, _binds.c.slot == slot, free)
                .values(holder=holder, expires_at=expires)
                .returning(_binds.c.slot)
            )
            if taken is not None:
                held.add(int(taken))
    await conn.execute(
        delete(_members).where(
            _members.c.connector == connector,
            _members.c.seen_at < now - dt.timedelta(days=1),
        )
    )
    return held, share


async def release(conn: AsyncConnection, connector: str, holder: str, slots: set[int]) -> None:
    """Hand back slots whose sessions this member has closed."""
    await conn.execute(
        update(_binds)
        .where(
            _binds.c.connector == connector,
            _binds.c.holder == holder,
            _binds.c.slot.in_(sorted(slots)),
        )
        .values(holder=None, expires_at=None)
    )


async def leave(conn: AsyncConnection, connector: str, holder: str) -> None:
    """Hand back every slot and stop being a member (a clean shutdown)."""
    await conn.execute(
        update(_binds)
        .where(_binds.c.connector == connector, _binds.c.holder == holder)
        .values(holder=None, expires_at=None)
    )
    await conn.execute(
        delete(_members).where(_members.c.connector == connector, _members.c.holder == holder)
    )


_LIVE = select(_members.c.holder, _members.c.seen_at, _members.c.state).where(
    _members.c.connector == bindparam("connector"), _members.c.seen_at >= bindparam("alive")
)
_HELD = select(func.count()).where(
    _binds.c.connector == bindparam("connector"),
    and_(_binds.c.holder.is_not(None), _binds.c.expires_at >= bindparam("now")),
)


async def live_state(
    conn: AsyncConnection, connector: str, lease_seconds: float
) -> list[dict[str, Any]]:
    """Every live member's published state, for operators."""
    alive = utcnow() - dt.timedelta(seconds=lease_seconds)
    rows = (await conn.execute(_LIVE, {"connector": connector, "alive": alive})).all()
    return [{"worker": r.holder, "seen_at": r.seen_at.isoformat(), **r.state} for r in rows]
