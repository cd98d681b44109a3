"""Operator actions on connectors (the CLI and, later, the console use them).

The sandbox is the built-in connector `sandbox`: it always exists, may be disabled or made
not the default, and cannot be removed. Kinds with a link to a carrier (SMPP) add rows of
their own.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.auth.provisioning import ProvisioningError
from redcloud.numbers.models import Number
from redcloud.providers.models import CONNECTOR_STATUSES, ENABLED, SANDBOX, SMPP, Connector
from redcloud.providers.smpp import leases
from redcloud.providers.smpp.models import SmppBind, SmppMember, SmppPart
from redcloud.providers.smpp.options import SmppOptions

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
# Live counters summed over the workers running a connector.
SUMMED = (
    "bound_sessions",
    "in_flight",
    "submitted",
    "acked",
    "throttled",
    "failed",
    "requeued",
    "timeouts",
    "reconnects",
    "receipts",
    "receipts_unreadable",
    "inbound",
)


async def ensure_builtin(session: AsyncSession) -> None:
    """The built-in sandbox row, created if missing (the default if nothing else is)."""
    if await session.get(Connector, SANDBOX) is None:
        has_default = await session.scalar(
            select(func.count()).select_from(Connector).where(Connector.is_default.is_(True))
        )
        session.add(Connector(name=SANDBOX, kind=SANDBOX, is_default=not has_default, settings={}))
        await session.flush()


async def list_connectors(session: AsyncSession) -> list[Connector]:
    await ensure_builtin(session)
    return list((await session.scalars(select(Connector).order_by(Connector.name))).all())


async def get_connector(session: AsyncSession, name: str) -> Connector:
    await ensure_builtin(session)
    connector = await session.get(Connector, name)
    if connector is None:
        raise ProvisioningError(
            f"No connector {name!r}. List connectors with `redcloud connectors list`."
        )
    return connector


async def numbers_using(session: AsyncSession, name: str) -> int:
    count = await session.scalar(
        select(func.count()).select_from(Number).where(Number.connector == name)
    )
    return int(count or 0)


async def set_status(session: AsyncSession, name: str, status: str) -> Connector:
    """Enable or disable a connector. Messages for a disabled one wait in the queue (until
    their validity ends), they are not refused."""
    connector = await get_connector(session, name)
    if status not in CONNECTOR_STATUSES:
        raise ProvisioningError(f"Status must be one of {', '.join(CONNECTOR_STATUSES)}.")
    connector.status = status
    await session.flush()
    return connector


async def set_default(session: AsyncSession, name: str) -> Connector:
    """Carry the messages of numbers without a connector of their own."""
    connector = await get_connector(session, name)
    await session.execute(update(Connector).values(is_default=False))
    connector.is_default = True
    await session.flush()
    return connector


async def remove(session: AsyncSession, name: str) -> None:
    connector = await get_connector(session, name)
    if connector.kind == SANDBOX and connector.name == SANDBOX:
        raise ProvisioningError(
            "The built-in sandbox cannot be removed; disable it with "
            "`redcloud connectors set-status sandbox disabled`."
        )
    if connector.is_default:
        raise ProvisioningError(
            f"{name} is the default connector; make another the default first "
            "(`redcloud connectors set-default NAME`)."
        )
    using = await numbers_using(session, name)
    if using:
        raise ProvisioningError(
            f"{using} number(s) send through {name}; move them first "
            "(`redcloud numbers set-connector NUMBER_ID NAME`)."
        )
    await session.delete(connector)
    # Its bind leases and published state go with it; part ids stay for their retention.
    await session.execute(delete(SmppBind).where(SmppBind.connector == name))
    await session.execute(delete(SmppMember).where(SmppMember.connector == name))
    await session.flush()


async def add_smpp(session: AsyncSession, name: str, options: SmppOptions) -> Connector:
    """A new SMPP connector, enabled; running workers bind to it within seconds."""
    await ensure_builtin(session)
    if not NAME.fullmatch(name):
        raise ProvisioningError(
            "A connector name is 1 to 64 letters, digits, '-' or '_', starting with a letter."
        )
    if await session.get(Connector, name) is not None:
        raise ProvisioningError(
            f"A connector named {name!r} exists; remove it first or choose another name."
        )
    connector = Connector(
        name=name, kind=SMPP, status=ENABLED, is_default=False, settings=options.to_settings()
    )
    session.add(connector)
    await session.flush()
    return connector


async def update_smpp(session: AsyncSession, name: str, options: SmppOptions) -> Connector:
    """New options for an SMPP connector; running workers rebind with them within seconds."""
    connector = await get_connector(session, name)
    if connector.kind != SMPP:
        raise ProvisioningError(f"{name} is a {connector.kind} connector, not an SMPP one.")
    connector.settings = options.to_settings()
    await session.flush()
    return connector


async def live_state(
    session: AsyncSession, connector: Connector, lease_seconds: float
) -> dict[str, Any]:
    """What the workers running an SMPP connector report, summed, with each worker's own."""
    conn = await session.connection()
    workers = await leases.live_state(conn, connector.name, lease_seconds)
    waiting = await session.scalar(
        select(func.count())
        .select_from(SmppPart)
        .where(SmppPart.connector == connector.name, SmppPart.message_id.is_(None))
    )
    totals: dict[str, Any] = {key: 0 for key in SUMMED}
    for worker in workers:
        for key in SUMMED:
            totals[key] += int(worker.get(key) or 0)
    errors = sorted(
        (w for w in workers if w.get("last_error")), key=lambda w: w.get("last_error_at") or ""
    )
    return {
        "workers": len(workers),
        **totals,
        "receipts_waiting_or_unmatched": int(waiting or 0),
        "last_error": errors[-1]["last_error"] if errors else None,
        "last_error_at": errors[-1]["last_error_at"] if errors else None,
        "per_worker": workers,
    }
