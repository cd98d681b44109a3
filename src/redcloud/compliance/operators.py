"""Operator actions on consent: entries added, removed, imported and listed; a client's
scope; the texts of automatic replies; messages flagged for review."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.auth.models import ApiClient
from redcloud.auth.provisioning import ProvisioningError
from redcloud.compliance import consent
from redcloud.compliance.keywords import Keyword
from redcloud.compliance.models import (
    CLIENT,
    NUMBER,
    OPERATOR,
    SCOPES,
    ConsentReply,
    ConsentReview,
    OptOut,
)
from redcloud.numbers.models import Number
from redcloud.phone import Rejection, normalize

EXPORT_COLUMNS = ("scope", "scopeId", "recipient", "apiClientId", "source", "keyword", "createdAt")


async def target(
    session: AsyncSession, number_id: str | None, client_id: str | None
) -> tuple[str, str, str | None]:
    """(scope, scope id, owning client) for `--number` or `--client`, checked."""
    if (number_id is None) == (client_id is None):
        raise ProvisioningError("Name exactly one of --number NUMBER_ID or --client CLIENT_ID.")
    if number_id is not None:
        number = await session.get(Number, number_id)
        if number is None:
            raise ProvisioningError(
                f"No number {number_id}; list them with `redcloud numbers list`."
            )
        return NUMBER, number.id, number.api_client_id
    assert client_id is not None
    if await session.get(ApiClient, client_id) is None:
        raise ProvisioningError(
            f"No API client {client_id}; list them with `redcloud clients list`."
        )
    return CLIENT, client_id, client_id


def recipient_of(raw: str) -> str:
    outcome = normalize(raw.strip())
    if isinstance(outcome, Rejection):
        raise ProvisioningError(f"{raw!r} is not an E.164 number (like +15551234567).")
    return outcome


async def add(
    session: AsyncSession,
    recipients: Iterable[str],
    number_id: str | None,
    client_id: str | None,
    source: str = OPERATOR,
) -> int:
    scope, scope_id, owner = await target(session, number_id, client_id)
    count = 0
    for raw in recipients:
        await consent.record(session, scope, scope_id, recipient_of(raw), owner, source)
        count += 1
    return count


async def remove(
    session: AsyncSession, recipient: str, number_id: str | None, client_id: str | None
) -> int:
    scope, scope_id, _ = await target(session, number_id, client_id)
    result = await session.execute(
        delete(OptOut).where(
            OptOut.scope == scope,
            OptOut.scope_id == scope_id,
            OptOut.recipient == recipient_of(recipient),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def entries(
    session: AsyncSession,
    number_id: str | None = None,
    client_id: str | None = None,
    recipient: str | None = None,
    limit: int | None = None,
) -> list[OptOut]:
    query = select(OptOut).order_by(OptOut.created_at, OptOut.recipient).limit(limit)
    if number_id:
        query = query.where(OptOut.scope == NUMBER, OptOut.scope_id == number_id)
    if client_id:
        query = query.where(OptOut.api_client_id == client_id)
    if recipient:
        query = query.where(OptOut.recipient == recipient_of(recipient))
    return list((await session.scalars(query)).all())


def recipients_from_csv(text: str) -> list[str]:
    """The first column of each row (a header row named `recipient` is skipped)."""
    rows = [row for row in csv.reader(io.StringIO(text)) if row and row[0].strip()]
    if rows and rows[0][0].strip().lower() == "recipient":
        rows = rows[1:]
    return [row[0] for row in rows]


def to_csv(found: list[OptOut]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in consent.as_rows(found):
        writer.writerow(row)
    return buffer.getvalue()


async def set_scope(session: AsyncSession, client_id: str, scope: str) -> None:
    if scope not in SCOPES:
        raise ProvisioningError("The scope is `number` (the default) or `client`.")
    client = await session.get(ApiClient, client_id)
    if client is None:
        raise ProvisioningError(
            f"No API client {client_id}; list them with `redcloud clients list`."
        )
    client.optout_scope = scope


async def set_reply(
    session: AsyncSession,
    kind: str,
    text: str | None,
    number_id: str | None,
    client_id: str | None,
) -> str:
    """Set (or, with no text, clear) a reply's text; the text now in force."""
    keyword = {k.value: k for k in Keyword}.get(kind)
    if keyword is None:
        raise ProvisioningError("The reply is one of opt-out, opt-in or help.")
    if text is not None and not 0 < len(text) <= 480:
        raise ProvisioningError("A reply is 1 to 480 characters (at most three SMS parts).")
    scope, scope_id, _ = await target(session, number_id, client_id)
    existing = await session.get(ConsentReply, (scope, scope_id, kind))
    if existing is not None:
        await session.delete(existing)
        await session.flush()
    if text is not None:
        session.add(ConsentReply(scope=scope, scope_id=scope_id, kind=kind, text=text))
        return text
    return consent.DEFAULT_REPLIES[keyword]


async def reviews(session: AsyncSession, limit: int = 100) -> list[ConsentReview]:
    query = select(ConsentReview).order_by(ConsentReview.id.desc()).limit(limit)
    return list((await session.scalars(query)).all())
