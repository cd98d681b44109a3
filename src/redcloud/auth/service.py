"""Client authentication, token issuance and bearer resolution."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcloud.auth.models import ACTIVE, AccessToken, Account, ApiClient
from redcloud.auth.security import (
    dummy_secret_hash,
    new_access_token,
    token_digest,
    verify_secret,
)
from redcloud.db import utcnow

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

    @classmethod
    def of(cls, client: ApiClient) -> AuthenticatedClient:
        return cls(
            id=client.id,
            name=client.name,
            status=client.status,
            account_id=client.account_id,
            capabilities=tuple(client.capabilities),
            inbound_webhook_url=client.inbound_webhook_url,
            delivery_webhook_url=client.delivery_webhook_url,
        )


async def authenticate_client(
    session: AsyncSession, client_id: str, client_secret: str
) -> ApiClient | None:
    """The active client these credentials prove, or None; never says which part was wrong."""
    client = await session.get(ApiClient, client_id)
    stored = client.secret_hash if client is not None else dummy_secret_hash()
    # scrypt is deliberately slow: keep it off the event loop.
    matches = await asyncio.to_thread(verify_secret, client_secret, stored)
    if client is None or not matches:
        return None
    if client.status != ACTIVE or client.account.status != ACTIVE:
        return None
    return client


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


async def resolve_bearer(
    session: AsyncSession, token: str, *, allow_static: bool
) -> AuthenticatedClient | None:
    """The client a bearer token belongs to, if the token, client and account are all live."""
    row = (
        await session.execute(
            select(AccessToken, ApiClient, Account.status)
            .join(ApiClient, ApiClient.id == AccessToken.api_client_id)
            .join(Account, Account.id == ApiClient.account_id)
            .where(AccessToken.token_hash == token_digest(token))
        )
    ).first()
    if row is None:
        return None
    access, client, account_status = row
    if access.is_static:
        if not allow_static:
            return None
    elif access.expires_at is None or access.expires_at <= utcnow():
        return None
    if client.status != ACTIVE or account_status != ACTIVE:
        return None
    return AuthenticatedClient.of(client)


async def purge_expired_tokens(session: AsyncSession, now: dt.datetime | None = None) -> int:
    result = await session.execute(
        delete(AccessToken).where(AccessToken.expires_at < (now or utcnow()))
    )
    return int(getattr(result, "rowcount", 0) or 0)
