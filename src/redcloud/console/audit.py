"""The audit log: every change an operator makes, written in the change's own transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.console.models import AuditEntry

CLI = "cli"  # the operator name of changes made with `redcloud operators`


def record(
    session: AsyncSession,
    operator: str,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    session.add(
        AuditEntry(
            operator=operator,
            action=action,
            target=target[:255],
            before=_plain(before),
            after=_plain(after),
        )
    )


def _plain(state: dict[str, Any] | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in state.items()}


async def entries(
    session: AsyncSession, *, before_id: int | None = None, limit: int = 50
) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list((await session.scalars(query)).all())
