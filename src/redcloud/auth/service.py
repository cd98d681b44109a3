"""Client authentication, token issuance and bearer resolution."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from redcloud.auth.models import ACTIVE, AccessToken, Account, ApiClient
from redcloud.auth.security import (
    dummy_secret_hash,
    new_access_token,
    token_digest,
    verify_secret,
)
from redcloud.db import table, utcnow

NUMBERS_READ = "numbers:read"
NUMBERS_SEARCH = "numbers:search"
NUMBERS_UPDATE = "numbers:update"
CAPABILITIES = (NUMBERS_READ, NUMBERS_SEARCH, NUMBERS_UPDATE)


@dataclass(frozen=True, slots=True)
class AuthenticatedClient:
    """The API client behind a valid bearer token, as routes see it."""

    id: str
    name: str
    status: str
    account_id: str
    capabilities: tuple[str, ...]
    inbound_webhook_url: str | None
    delivery_webhook_url: str | None
    requests_per_minute: int | None = None  # None: the platform's limit


async def authenticate_client(
    session: AsyncSession, client_id: str, client_secret: str
) -> tuple[ApiClient | None, str]:
    """The active client these credentials prove (or None) and, for the log only, why not;
    the caller never learns which part was wrong."""
    client = await session.get(ApiClient, client_id)
    stored = client.secret_hash if client is not None else dummy_secret_hash()
    # scrypt is deliberately slow: keep it off the event loop.
    matches = await asyncio.to_thread(verify_secret, client_secret, stored)
    if client is None:
        return None, "unknown client_id"
    if not matches:
        return None, "wrong client_secret"
    if client.status != ACTIVE:
        return None, "client is inactive"
    if client.account.status != ACTIVE:
        return None, "account is inactive"
    return client, "ok"


async def issue_token(session: AsyncSession, client: ApiClient, ttl_seconds: int) -> str:
    """Create an opaque bearer token; only its digest is stored."""
    token = new_access_token()
    now = utcnow()
    session.add(
        AccessToken(
            token_hash=token_digest(token),
            api_client_id=client.id,
            created_at=now,
            expires_at=now + dt.timedelta(seconds=ttl_seconds),
        )
    )
    return token


_tokens, _clients, _accounts = table(AccessToken), table(ApiClient), table(Account)
# Every request runs this: a Core statement, built once and compiled once (bench/NOTES.md).
_BEARER = (
    select(
        _tokens.c.is_static,
        _tokens.c.expires_at,
        _clients.c.id,
        _clients.c.name,
        _clients.c.status,
        _clients.c.account_id,
        _clients.c.capabilities,
        _clients.c.inbound_webhook_url,
        _clients.c.delivery_webhook_url,
        _clients.c.requests_per_minute,
        _accounts.c.status.label("account_status"),
    )
    .join(_clients, _clients.c.id == _tokens.c.api_client_id)
    .join(_accounts, _accounts.c.id == _clients.c.account_id)
    .where(_tokens.c.token_hash == bindparam("digest"))
)


async def resolve_bearer(
    conn: AsyncConnection, token: str, *, allow_static: bool
) -> AuthenticatedClient | None:
    """The client a bearer token belongs to, if the token, client and account are all live."""
    row = (await conn.execute(_BEARER, {"digest": token_digest(token)})).first()
    if row is None:
        return None
    if row.is_static:
        if not allow_static:
            return None
    elif row.expires_at is None or row.expires_at <= utcnow():
        return None
    if row.status != ACTIVE or row.account_status != ACTIVE:
        return None
    return AuthenticatedClient(
        id=row.id,
        name=row.name,
        status=row.status,
        account_id=row.account_id,
        capabilities=tuple(row.capabilities),
        inbound_webhook_url=row.inbound_webhook_url,
        delivery_webhook_url=row.delivery_webhook_url,
        requests_per_minute=row.requests_per_minute,
    )


async def purge_expired_tokens(session: AsyncSession, now: dt.datetime | None = None) -> int:
    result = await session.execute(
        delete(AccessToken).where(AccessToken.expires_at < (now or utcnow()))
    )
    return int(getattr(result, "rowcount", 0) or 0)
